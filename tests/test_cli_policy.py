"""The `canbao policy` command line: its JSON contract and its errors, as scripts see them."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

QUOTE_KEYS = {
    "eligible",
    "refusal",
    "categories",
    "attribute",
    "personal_fen",
    "subsidies",
    "subsidy_fen",
    "payable_fen",
    "coverage_start",
    "coverage_end",
    "pending",
    "explain",
}


def canbao(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("canbao")), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def quote(preset: str, facts: dict[str, Any], paid_on: str) -> dict[str, Any]:
    done = canbao(
        "policy", "quote", preset, "--facts", "-", "--paid-on", paid_on, stdin=json.dumps(facts)
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_it_lists_the_five_presets() -> None:
    done = canbao("policy", "list")
    assert done.returncode == 0
    assert [line.split("\t")[0] for line in done.stdout.splitlines()] == [
        "chuxiong-2021",
        "daligang-2020",
        "dazhu-2022",
        "songming-2016",
        "wuming-2018",
    ]


def test_it_shows_a_preset_in_chinese() -> None:
    done = canbao("policy", "show", "daligang-2020")
    assert done.returncode == 0
    assert "个人缴费标准：250 元/人·年" in done.stdout
    assert "贫困户（特困）" in done.stdout and "医疗救助资金 50%，县财政（余额）" in done.stdout


def test_it_quotes_one_json_object_with_the_documented_keys() -> None:
    result = quote(
        "daligang-2020", {"categories": ["safety_net_1", "registered_poor"]}, "2019-11-20"
    )
    assert set(result) == QUOTE_KEYS
    assert result["attribute"] == "兜底贫困户"
    assert result["subsidies"] == [
        {"funder": "medical_assistance", "fen": 12500},
        {"funder": "county_finance", "fen": 12500},
    ]
    assert (result["personal_fen"], result["subsidy_fen"], result["payable_fen"]) == (
        25000,
        25000,
        0,
    )
    assert (result["coverage_start"], result["coverage_end"]) == ("2020-01-01", "2020-12-31")
    assert result["refusal"] is None and result["pending"] == []


def test_it_reads_facts_from_a_file(tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"categories": ["registered_poor"]}), encoding="utf-8")
    done = canbao(
        "policy", "quote", "chuxiong-2021", "--facts", str(facts), "--paid-on", "2020-10-01"
    )
    assert json.loads(done.stdout)["payable_fen"] == 10000


def test_a_refusal_is_an_answer_not_an_error() -> None:
    result = quote("wuming-2018", {"employee_insured": True}, "2017-10-01")
    assert result["eligible"] is False
    assert result["refusal"]["code"] == "employee_insured"


def test_a_pending_amount_is_null_and_named() -> None:
    result = quote("dazhu-2022", {"categories": ["land_expropriated"]}, "2021-10-01")
    assert result["payable_fen"] is None and result["pending"] == ["subsidy:land_expropriated"]


@pytest.mark.parametrize(
    ("facts", "named"),
    [
        ('{"birthday": "2000-01-01"}', ["birthday", "不认识的键"]),
        ('{"categories": ["poor"]}', ["categories[1]", "'poor'"]),
        ('{"birth_date": "2021-02-30"}', ["birth_date"]),
        ('{"employee_insured": "yes"}', ["employee_insured", "true 或 false"]),
        ('{"event": {"kind": "newborn", "date": "2021-10-01"}}', ["birth_date"]),
        ("[1, 2]", ["JSON 对象"]),
    ],
)
def test_bad_facts_exit_2_naming_what_is_wrong(facts: str, named: list[str]) -> None:
    done = canbao(
        "policy", "quote", "dazhu-2022", "--facts", "-", "--paid-on", "2021-10-01", stdin=facts
    )
    assert done.returncode == 2
    for text in named:
        assert text in done.stderr


def test_a_malformed_payment_date_exits_2() -> None:
    done = canbao(
        "policy", "quote", "dazhu-2022", "--facts", "-", "--paid-on", "2021/10/01", stdin="{}"
    )
    assert done.returncode == 2 and "2021/10/01" in done.stderr


def test_an_unknown_preset_exits_2_listing_the_presets() -> None:
    done = canbao("policy", "show", "nowhere-2030")
    assert done.returncode == 2 and "daligang-2020" in done.stderr


def test_check_accepts_a_good_file_and_names_the_key_of_a_bad_one(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    source = Path(__file__).parents[1] / "src/canbao/policy/presets/chuxiong-2021.toml"
    good.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    assert canbao("policy", "check", str(good)).returncode == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(
        good.read_text(encoding="utf-8").replace("rate_percent = 96", "rate_percent = 196"),
        encoding="utf-8",
    )
    done = canbao("policy", "check", str(bad))
    assert done.returncode == 2
    assert "targets.rate_percent：须不大于 100" in done.stderr


def targets(*args: str) -> dict[str, Any]:
    done = canbao("policy", "targets", *args, "--json")
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_wuming_targets_come_out_exactly_as_printed() -> None:
    report = targets("wuming-2018")
    assert len(report["units"]) == 13
    assert all(u["computed_task"] == u["stated_task"] for u in report["units"])
    assert report["totals"]["task"] == 608897 and report["totals"]["population"] == 627728
    assert report["findings"] == []


def test_daligang_targets_flag_the_override_and_the_wrong_population_total() -> None:
    report = targets("daligang-2020")
    overrides = [
        (u["unit"], u["computed_task"], u["task"]) for u in report["units"] if u["override"]
    ]
    assert overrides == [("卢家村", 5200, 5100)]
    totals = report["totals"]
    assert (totals["stated_population"], totals["population"]) == (67845, 67949)
    assert totals["population_matches"] is False and totals["task_matches"] is True
    assert len(report["findings"]) == 2


def test_targets_read_a_bureaus_own_table_in_gb18030(tmp_path: Path) -> None:
    table = tmp_path / "任务分解表.csv"
    table.write_bytes(
        "武鸣区任务分解表\n单位名称,2016年底人口数（人）\n城厢镇,73769\n太平镇,40075\n".encode(
            "gb18030"
        )
    )
    report = targets("wuming-2018", "--table", str(table))
    assert [(u["unit"], u["task"]) for u in report["units"]] == [
        ("城厢镇", 71556),
        ("太平镇", 38873),
    ]


def test_targets_of_an_unreadable_table_exit_2_naming_the_problem(tmp_path: Path) -> None:
    table = tmp_path / "bad.csv"
    table.write_text("单位名称,人口数\n城厢镇,很多\n", encoding="utf-8")
    done = canbao("policy", "targets", "wuming-2018", "--table", str(table))
    assert done.returncode == 2 and "第2行" in done.stderr and "人口数" in done.stderr
