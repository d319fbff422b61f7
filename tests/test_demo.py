"""`canbao demo`, the README's main job, end to end on a fresh SQLite file."""

import os
import re
import subprocess
import sys
from pathlib import Path


def run_demo(tmp_path: Path, *preset: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(Path(sys.executable).with_name("canbao")),
            "demo",
            "--no-serve",
            "--residents",
            "3000",
            *(("--preset", *preset) if preset else ()),
        ],
        env={
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
            "XDG_DATA_HOME": str(tmp_path / "data"),
        },
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_demo_builds_a_county_imports_it_and_quotes_its_residents(tmp_path: Path) -> None:
    done = run_demo(tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "桃江县（430922）：" in out
    assert "residents residents.csv：已导入" in out and "共3000行，新增3000" in out
    assert "整批未导入" in out and "在登记库中的姓名是" in out and "name_mismatch" not in out
    assert "== 登记情况" in out and "特困人员" in out
    for preset in ("songming-2016", "wuming-2018", "daligang-2020", "chuxiong-2021"):
        assert f"（{preset}）\n样例居民" in out
    assert "五保户 | 250 | 250 | 0 | 2020-01-01" in out
    # Without --preset the season is Daligang's, on the preset itself.
    assert "$ canbao campaign open --area 430922 --policy daligang-2020 --as demo_admin\n" in out


def test_the_demo_runs_a_collection_season_through_the_commands(tmp_path: Path) -> None:
    done = run_demo(tmp_path, "daligang-2020")
    assert done.returncode == 0, done.stderr
    season = done.stdout.split("== 参保缴费")[1]
    assert "$ canbao campaign open --area 430922 --policy daligang-2020" in season
    assert "已开始：桃江县 2020年度（daligang-2020），编号 1" in season
    assert "政策中仍待公布的金额：财政补助标准" in season and "金额待公布 0 人" in season
    assert season.count("$ canbao import payments --channel tax") == 5
    assert "（重发）.csv --campaign 1 --as demo_clerk\n  该文件已于" in season
    for reason in ("金额不足 1 笔", "金额超出 1 笔", "查无此人 1 笔"):
        assert reason in season.split("== 挂账清单")[1]
    cash = season.split("== 现金收款")[1].split("== 部门代缴")[0]
    assert "--collector 刘会计" in cash and "--from 1001 --to 1100" in cash
    assert "新参保 " in cash
    # The notice has no bank withholding.
    assert "withholding" not in season
    reconciliation = season.split("== 每日对账")[1].split("== 挂账清单")[0]
    assert reconciliation.count("已结账（账平）") == 3
    assert "未对平：差异1项" in reconciliation and "差异1已说明：" in reconciliation
    assert "已结账（1项差异均已说明）" in reconciliation
    assert "相符" in season.split("== 人、钱、票、册四相符")[1]
    bills = season.split("== 部门资助账单")[1].split("== 参保进度")[0]
    for funder in ("医疗救助资金", "县财政", "残联", "退役军人事务局"):
        assert f"\n  {funder}\n" in bills
    assert bills.count("合计：") == 4
    progress = season.split("== 参保进度")[1]
    assert "桃花江镇（430922100）：已参保 " in progress and "全县已参保 " in progress
    assert "账目平衡：收到 " in season.split("== 账目核对")[1]


def test_running_the_demo_again_changes_nothing(tmp_path: Path) -> None:
    assert run_demo(tmp_path, "daligang-2020").returncode == 0
    again = run_demo(tmp_path, "daligang-2020")
    assert again.returncode == 0, again.stderr
    assert "新增" not in again.stdout.split("== 登记情况")[0].split("改正后重新导入")[1]
    assert again.stdout.count("本次未作任何改动") >= 2
    season = again.stdout.split("== 参保缴费")[1]
    assert "未执行：桃江县 2020 年度的参保缴费工作已开始" in season
    assert not re.search(r"新入账 \d+ 笔", season) and "新增" not in season.split("== 缴费季")[1]
    assert "未执行：收据号码 No.0001001–No.0001100 与已发放的" in season
    assert season.count("结账，本次未作改动") == 4
    assert "金额不足 1 笔" in season


def test_wuming_pays_by_bank_withholding_on_a_county_policy_file(tmp_path: Path) -> None:
    done = run_demo(tmp_path, "wuming-2018")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "武鸣区（450110）：" in out and "城厢镇（450110100）" in out
    season = out.split("== 参保缴费")[1]
    assert "本工作按县级政策文件 wuming-2018.toml（由内置政策 wuming-2018 派生" in season
    assert "财政补助：每人每年 490 元" in season
    assert "低保户（rural_dibao）：资助个人缴费的 50%（90 元），民政部门出资" in season
    assert "$ canbao campaign open --area 450110 --policy wuming-2018.toml" in season
    assert "已开始：武鸣区 2018年度（wuming-2018-demo）" in season
    assert "金额待公布 0 人" in season
    assert "--channel tax" not in season and "--channel cash" not in season
    withholding = season.split("== 银行委托代扣")[1].split("== 部门代缴")[0]
    assert "余额不足" in withholding and "账户已销户 1 笔" in withholding
    assert "重扣批次2：" in withholding and "回盘" in withholding.split("重扣批次2：")[1]
    assert withholding.rstrip().endswith("失败跟进名单 2 人：账户已销户 1 人，户名不符 1 人")
    assert "没有每日税务明细可对账" in season.split("== 每日对账")[1]
    again = run_demo(tmp_path, "wuming-2018").stdout.split("== 参保缴费")[1]
    assert "没有需要代扣的协议" in again and "没有需要重新扣款的失败记录" in again
    assert not re.search(r"新入账 \d+ 笔", again)
