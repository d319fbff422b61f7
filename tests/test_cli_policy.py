"""The `canbao policy` command line: its JSON contract and its errors, as scripts see them."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from canbao.policy.loader import load_preset
from canbao.policy.schema import Policy

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


def show_json(policy: str) -> dict[str, Any]:
    done = canbao("policy", "show", policy, "--json")
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize(
    ("preset", "kinds"),
    [
        ("songming-2016", ["concentrated", "concentrated"]),
        ("wuming-2018", ["concentrated", "late", "newborn", "late"]),
        (
            "daligang-2020",
            ["concentrated", "extension", "extension", "newborn", "status_change"],
        ),
        ("chuxiong-2021", ["concentrated", "newborn", "newborn", "status_change"]),
        ("dazhu-2022", ["concentrated"]),
    ],
)
def test_show_json_marks_each_enrollment_rule_with_its_kind_of_window(
    preset: str, kinds: list[str]
) -> None:
    rules = show_json(preset)["enrollment"]
    assert [rule["kind"] for rule in rules] == kinds
    names = {"concentrated": "集中缴费期", "extension": "延期", "late": "补缴期"}
    names |= {"status_change": "身份变化", "newborn": "新生儿"}
    assert [rule["kind_name"] for rule in rules] == [names[kind] for kind in kinds]


def test_show_json_is_the_policy_itself() -> None:
    data = show_json("daligang-2020")
    assert data["contribution"] == {"personal_fen": 25000, "fiscal_subsidy_fen": "pending"}
    assert data["enrollment"][4]["within_days"] == 60
    assert data["enrollment"][4]["price"] == "full"
    assert data["work_funding"]["tiers"][0]["min_rate_percent"] == "95"
    for rule in data["enrollment"]:
        del rule["kind"], rule["kind_name"]
    assert Policy.model_validate(data) == load_preset("daligang-2020")


def test_show_json_derives_the_kind_from_the_rules_data_not_their_names(tmp_path: Path) -> None:
    text = (Path(__file__).parents[1] / "src/canbao/policy/presets/wuming-2018.toml").read_text(
        encoding="utf-8"
    )
    text = text.replace('name = "中断缴费及逾期缴费人员补办期"', 'name = "延长期"')
    text = text.replace('name = "出生未超过3个月的新生儿"', 'name = "补缴期"')
    # The late window now covers from 1 January: it prolongs the concentrated period.
    text = text.replace(
        'coverage = "next_month"\nnote = "中断', 'coverage = "year_start"\nnote = "中断'
    )
    path = tmp_path / "county.toml"
    path.write_text(text, encoding="utf-8")
    kinds = [rule["kind"] for rule in show_json(str(path))["enrollment"]]
    assert kinds == ["concentrated", "extension", "newborn", "late"]


def test_show_marks_each_rule_with_its_kind_in_chinese() -> None:
    done = canbao("policy", "show", "daligang-2020")
    assert "【延期】经批准延长期（未以户为单位参保）" in done.stdout
    assert "【身份变化】户籍或其他关系异动后60天内参保" in done.stdout


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
    assert result["refusal"] == {
        "code": "employee_insured",
        "message": "已参加职工基本医疗保险，不能参加城乡居民医保",
    }
    assert result["payable_fen"] is None and result["coverage_start"] is None


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
        ('{"years_lapsed": -1}', ["years_lapsed", "须不小于 0"]),
        ('{"years_repaid": -2}', ["years_repaid", "须不小于 0"]),
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
