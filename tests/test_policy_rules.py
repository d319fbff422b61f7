"""Rules no seed switches on (waiting periods) and the refusal of broken policy files."""

import tomllib
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from canbao.policy.loader import PolicyError, load_policy_file, parse_policy
from canbao.policy.quote import Facts, quote
from canbao.policy.schema import Policy


def dazhu_data() -> dict[str, Any]:
    text = (resources.files("canbao.policy") / "presets" / "dazhu-2022.toml").read_text("utf-8")
    return tomllib.loads(text)


def with_waiting_periods() -> Policy:
    """Dazhu 2022 under the 2024 national guideline: waiting periods on, a year-round late window
    and a newborn window."""
    data = dazhu_data()
    data["waiting_period"] = {"enabled": True}
    data["enrollment"] += [
        {
            "name": "新生儿",
            "events": ["newborn"],
            "anchor": "birth",
            "within_days": 90,
            "coverage": "birth",
        },
        {
            "name": "集中期后参保",
            "paid_from": date(2022, 1, 1),
            "paid_until": date(2022, 12, 31),
            "coverage": "next_month",
        },
    ]
    return parse_policy(data, "test")


def start(paid_on: str, **facts: Any) -> str:
    q = quote(with_waiting_periods(), Facts.model_validate(facts), date.fromisoformat(paid_on))
    return str(q.coverage_start)


def test_it_sets_no_waiting_period_for_continuous_enrollees_of_the_concentrated_period() -> None:
    assert start("2021-10-01") == "2022-01-01"


def test_it_sets_a_fixed_3_month_wait_after_the_concentrated_period() -> None:
    assert start("2022-03-10") == "2022-07-01"  # next month (April) + 3 months


def test_each_lapsed_year_adds_a_month() -> None:
    assert start("2021-10-01", years_lapsed=2) == "2022-06-01"  # 3 + 2 months


def test_each_year_paid_back_takes_a_month_off() -> None:
    assert start("2021-10-01", years_lapsed=2, years_repaid=1) == "2022-05-01"
    assert start("2021-10-01", years_lapsed=2, years_repaid=5) == "2022-04-01"  # never below fixed


def test_four_or_more_lapsed_years_keep_at_least_6_months_after_repair() -> None:
    assert start("2021-10-01", years_lapsed=4, years_repaid=4) == "2022-07-01"
    assert start("2021-10-01", years_lapsed=5) == "2022-09-01"  # 3 + 5 = 8 months


def test_newborns_have_no_waiting_period() -> None:
    assert start("2022-05-10", birth_date="2022-04-20") == "2022-04-20"


def test_a_wait_that_ends_after_the_year_leaves_no_coverage_this_year() -> None:
    q = quote(with_waiting_periods(), Facts(), date(2022, 10, 5))
    assert q.eligible and q.coverage_start is None and q.coverage_end is None
    assert q.payable_fen == 32000
    assert "等待期届满已在参保年度之后，本年度不享受待遇" in q.explain


def test_a_wait_that_ends_on_31_december_covers_that_day() -> None:
    data = with_waiting_periods().model_dump()
    data["enrollment"][-1]["coverage"] = "payment_date"
    policy = parse_policy(data, "test")
    q = quote(policy, Facts(years_lapsed=1), date(2022, 8, 31))  # 3 + 1 months
    assert (str(q.coverage_start), str(q.coverage_end)) == ("2022-12-31", "2022-12-31")


def test_a_newborn_paying_in_the_late_window_has_no_waiting_period_either() -> None:
    newborn = {"birth_date": "2022-01-10", "event": {"kind": "newborn", "date": "2022-01-20"}}
    assert start("2022-06-10", **newborn) == "2022-07-01"  # past the 90 days: the late window
    q = quote(with_waiting_periods(), Facts.model_validate(newborn), date(2022, 6, 10))
    assert "待遇等待期：该类人员免设等待期" in q.explain


def test_a_wait_exactly_at_the_floor_is_not_raised_to_it() -> None:
    q = quote(with_waiting_periods(), Facts(years_lapsed=4, years_repaid=1), date(2021, 10, 1))
    assert str(q.coverage_start) == "2022-07-01"  # 3 + 4 - 1 = 6 months
    assert "待遇等待期：固定 3 个月 + 变动 3 个月（断保 4 年，补缴 1 年）" in q.explain


def test_the_seed_presets_switch_waiting_periods_off() -> None:
    assert parse_policy(dazhu_data(), "dazhu").waiting_period.enabled is False


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def broken(tmp_path: Path, old: str, new: str, preset: str = "daligang-2020") -> list[str]:
    text = (resources.files("canbao.policy") / "presets" / f"{preset}.toml").read_text("utf-8")
    assert old in text
    with pytest.raises(PolicyError) as caught:
        load_policy_file(write(tmp_path, text.replace(old, new, 1)))
    return caught.value.problems


def test_it_names_a_misspelt_key(tmp_path: Path) -> None:
    problems = broken(tmp_path, "paid_until = 2019-12-31", "paid_untill = 2019-12-31")
    assert problems == ["enrollment[1].paid_untill：不认识的键（请检查拼写）"]


def test_it_refuses_money_that_is_not_integer_fen(tmp_path: Path) -> None:
    problems = broken(tmp_path, "personal_fen = 25000", "personal_fen = 250.5")
    assert problems == ["contribution.personal_fen：须为整数（实际为 250.5）"]


def test_it_refuses_an_unknown_category_code(tmp_path: Path) -> None:
    problems = broken(tmp_path, 'code = "orphan"', 'code = "orphans"')
    assert len(problems) == 1
    assert problems[0].startswith("identity.categories[2].code：取值不在允许范围内")


def test_it_refuses_a_split_without_a_remainder_funder(tmp_path: Path) -> None:
    problems = broken(
        tmp_path,
        '{ funder = "county_finance" },\n]',
        '{ funder = "county_finance", percent = 40 },\n]',
    )
    assert problems == [
        "identity.categories[8].subsidy：funders 中须恰有一个不写份额的出资方，承担余额"
    ]


def test_it_refuses_a_policy_without_a_concentrated_period(tmp_path: Path) -> None:
    problems = broken(tmp_path, "concentrated = true\n", "")
    assert problems == ["（文件顶层）：enrollment 中须有一条 concentrated = true 的集中缴费期规则"]


def test_it_refuses_a_toml_syntax_error_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy_file(write(tmp_path, 'id = "x"\ntitle = \n'))
    assert caught.value.problems[0].startswith("TOML 语法错误")
    assert "line 2" in caught.value.problems[0]


def test_it_lists_every_missing_key_at_once(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy_file(write(tmp_path, 'id = "mini-2024"\n'))
    missing = {p.split("：")[0] for p in caught.value.problems}
    assert {"title", "contribution", "enrollment", "identity", "targets"} <= missing


def test_it_refuses_a_newborn_rule_that_would_take_every_birth_date_for_a_newborn(
    tmp_path: Path,
) -> None:
    problems = broken(
        tmp_path,
        'born_in_coverage_year = true\ncoverage = "next_month"\nfree_when_parents_enrolled',
        'coverage = "next_month"\nfree_when_parents_enrolled',
        preset="chuxiong-2021",
    )
    assert problems == [
        "enrollment[3]：新生儿规则须写 within_days/within_months 或 born_in_coverage_year = true"
    ]


def test_it_keeps_free_newborns_to_children_born_in_the_coverage_year(tmp_path: Path) -> None:
    problems = broken(
        tmp_path,
        "within_days = 90\nborn_in_coverage_year = true\n",
        "within_days = 90\n",
        preset="chuxiong-2021",
    )
    assert problems == [
        'enrollment[2]：free_when_parents_enrolled 只适用于 events = ["newborn"] 且 '
        "born_in_coverage_year = true 的规则（出生当年免缴）"
    ]
