"""`canbao policy check` and `campaign open` warn of amounts no notice would state (yuan typed as
fen); `policy quote` answers an empty or broken facts input in one line of Chinese."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from canbao.policy.loader import implausible_amounts, load_preset, preset_ids
from tests.conftest import add_admin

PRESETS = Path("src/canbao/policy/presets")


def canbao(
    *args: str, stdin: str = "", database: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if database is not None:
        env["DATABASE_URL"] = f"sqlite:///{database}"
    return subprocess.run(
        [str(Path(sys.executable).with_name("canbao")), *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def daligang(tmp_path: Path, old: str, new: str) -> Path:
    """Daligang's notice with the first `old` line changed."""
    text = (PRESETS / "daligang-2020.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "my-county.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize("preset", preset_ids())
def test_the_five_notices_amounts_are_all_plausible(preset: str) -> None:
    assert implausible_amounts(load_preset(preset)) == []


def test_a_personal_contribution_typed_in_yuan_is_warned_of(tmp_path: Path) -> None:
    path = daligang(tmp_path, "personal_fen = 25000", "personal_fen = 250")
    done = canbao("policy", "check", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"{path}：政策 daligang-2020（大栗港镇2020年度城乡居民基本医疗保险参保缴费工作方案）"
        "通过检查，但有 1 处金额不合常理，请核对：",
        "  - contribution.personal_fen = 250：个人缴费每人每年只有 2.5 元，不到 10 元；"
        "金额须以分为单位，250 元应写作 25000",
    ]


def test_a_fiscal_subsidy_with_zeros_too_many_is_warned_of(tmp_path: Path) -> None:
    path = daligang(tmp_path, 'fiscal_subsidy_fen = "pending"', "fiscal_subsidy_fen = 5500000")
    warnings = canbao("policy", "check", str(path)).stdout.splitlines()[1:]
    assert warnings == [
        "  - contribution.fiscal_subsidy_fen = 5500000：财政补助每人每年 55000 元，超过 2000 元；"
        "金额以分为单位，请核对是否多写了零"
    ]


def test_a_special_group_subsidy_typed_in_yuan_is_warned_of(tmp_path: Path) -> None:
    # Daligang's 五保户 are subsidised in full; the file says 250 "fen" instead.
    path = daligang(
        tmp_path,
        'subsidy = { percent = 100, funders = [{ funder = "medical_assistance" }] }',
        'subsidy = { fen = 250, funders = [{ funder = "medical_assistance" }] }',
    )
    warnings = canbao("policy", "check", str(path)).stdout.splitlines()[1:]
    assert warnings == [
        "  - identity.categories[1].subsidy.fen = 250：五保户的资助每人每年只有 2.5 元，"
        "不到 10 元；金额须以分为单位，250 元应写作 25000"
    ]


def test_opening_a_campaign_on_such_a_policy_warns_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "db.sqlite3"
    assert canbao("init", database=database).returncode == 0
    add_admin(f"sqlite:///{database}")
    monkeypatch.setenv("CANBAO_AS", "admin")
    divisions = tmp_path / "divisions.csv"
    divisions.write_text("区划代码,名称\n430922,桃江县\n", encoding="utf-8")
    assert canbao("import", "divisions", str(divisions), database=database).returncode == 0
    path = daligang(tmp_path, "personal_fen = 25000", "personal_fen = 250")
    opened = canbao(
        "campaign", "open", "--area", "430922", "--policy", str(path), "--json", database=database
    )
    assert opened.returncode == 0, opened.stderr
    assert json.loads(opened.stdout)["warnings"] == [
        "contribution.personal_fen = 250：个人缴费每人每年只有 2.5 元，不到 10 元；"
        "金额须以分为单位，250 元应写作 25000"
    ]


@pytest.mark.parametrize(
    ("facts", "answer"),
    [
        ("", "标准输入没有事实数据：须给出一个 JSON 对象，如 {} 或 "),
        ("  \n", "标准输入没有事实数据：须给出一个 JSON 对象，如 {} 或 "),
        ("{'categories': []}", "标准输入不是合法的 JSON（第1行第2列附近）：请检查引号、逗号和括号"),
        ('{"categories": ["orphan"],}', "标准输入不是合法的 JSON（第1行第27列附近）："),
    ],
)
def test_empty_or_broken_facts_are_answered_in_one_line(facts: str, answer: str) -> None:
    done = canbao(
        "policy", "quote", "daligang-2020", "--facts", "-", "--paid-on", "2019-11-20", stdin=facts
    )
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(answer) and "EOF" not in line and "Traceback" not in line
