"""`canbao demo`, the README's main job, end to end on a fresh SQLite file."""

import os
import subprocess
import sys
from pathlib import Path


def run_demo(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(Path(sys.executable).with_name("canbao")),
            "demo",
            "--residents",
            "3000",
            "--preset",
            "daligang-2020",
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
    assert "residents residents.csv：已导入" in out and "共3000行，新增3000" in out
    assert "整批未导入" in out and "(name_mismatch)" not in out and "（name_mismatch）" in out
    assert "== 登记情况" in out and "特困人员" in out
    assert "五保户 | 250 | 250 | 0 | 2020-01-01" in out


def test_the_demo_runs_a_collection_season_through_the_commands(tmp_path: Path) -> None:
    done = run_demo(tmp_path)
    assert done.returncode == 0, done.stderr
    season = done.stdout.split("== 参保缴费")[1]
    assert "$ canbao campaign open --area 430922 --policy daligang-2020" in season
    assert "已开始：桃江县 2020年度（daligang-2020），编号 1" in season
    assert season.count("$ canbao import payments --channel tax") == 5
    assert "（重发）.csv --campaign 1\n  该文件已于" in season
    for reason in (
        "金额不足（partial） 1 笔",
        "金额超出（excess） 1 笔",
        "（unknown_person） 1 笔",
    ):
        assert reason in season.split("== 挂账清单")[1]
    withholding = season.split("== 银行委托代扣")[1].split("== 每日对账")[0]
    assert "余额不足" in withholding and "账户已销户 1 笔" in withholding
    assert "重扣批次2：" in withholding and "回盘" in withholding.split("重扣批次2：")[1]
    assert withholding.rstrip().endswith("失败跟进名单 2 人：账户已销户 1 人，户名不符 1 人")
    reconciliation = season.split("== 每日对账")[1].split("== 挂账清单")[0]
    assert reconciliation.count("已结账（账平）") == 3
    assert (
        "未对平：差异1项" in reconciliation
        and "差异1已说明：农业银行当日入账少1笔" in reconciliation
    )
    assert "已结账（1项差异均已说明）" in reconciliation
    assert "相符" in season.split("== 人、钱、票、册四相符")[1]
    assert "医疗救助资金" in season and "合计：" in season.split("== 医疗救助资金资助账单")[1]
    progress = season.split("== 参保进度")[1]
    assert "桃花江镇（430922100）：已参保 " in progress and "全县已参保 " in progress


def test_running_the_demo_again_changes_nothing(tmp_path: Path) -> None:
    assert run_demo(tmp_path).returncode == 0
    again = run_demo(tmp_path)
    assert again.returncode == 0, again.stderr
    assert "新增" not in again.stdout.split("== 登记情况")[0].split("改正后重新导入")[1]
    assert again.stdout.count("本次未作任何改动") >= 2
    season = again.stdout.split("== 参保缴费")[1]
    assert "未执行：桃江县 2020 年度的参保缴费工作已开始" in season
    assert "新入账" not in season and "新增" not in season.split("== 缴费季")[1]
    assert "未执行：收据号码 No.0001001–No.0001100 与已发放的" in season
    assert "没有需要代扣的协议" in season and "没有需要重新扣款的失败记录" in season
    assert season.count("结账，本次未作改动") == 4
    assert "金额不足（partial） 1 笔" in season
