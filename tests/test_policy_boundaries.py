"""The notices' rules exactly at their boundaries: rates at a funding or accountability threshold,
age limits on 1 January, the full price with a stated fiscal subsidy, which label wins, and facts
no person can have."""

import tomllib
from datetime import date
from importlib import resources
from typing import Any

import pytest
from pydantic import ValidationError

from canbao.policy.funding import FundingLine, UnitProgress, work_funding
from canbao.policy.loader import load_preset, parse_policy
from canbao.policy.quote import Facts, quote
from canbao.policy.schema import Policy

from .policy_helpers import funders, quote_for


def preset_data(preset: str) -> dict[str, Any]:
    text = (resources.files("canbao.policy") / "presets" / f"{preset}.toml").read_text("utf-8")
    return tomllib.loads(text)


# Work funding and accountability: 先锋桥村, 2,000 residents (Daligang's attachment 1)


def xianfengqiao(enrolled: int, *, complete: bool = True) -> UnitProgress:
    return UnitProgress(
        "先锋桥",
        base=2000,
        enrolled=enrolled,
        paid_records=enrolled,
        special_groups_complete=complete,
    )


def test_a_village_at_exactly_95_percent_with_special_groups_complete_gets_the_reward() -> None:
    result = work_funding(load_preset("daligang-2020"), xianfengqiao(1900))
    assert [(line.name, line.fen_each) for line in result.lines] == [
        ("参保率95%以上且建档立卡贫困人口、特困人员、农村低保对象、贫困残疾人参保率100%", 300),
        (
            "参保率95%以上且建档立卡贫困人口、特困人员、农村低保对象、贫困残疾人参保率100%：奖励",
            200,
        ),
        ("信息采集、录入（税务系统缴费成功人数）", 100),
    ]
    assert result.total_fen("unit") == 1900 * 600 and not result.accountable


def test_a_village_one_person_short_of_95_percent_gets_3_yuan() -> None:
    result = work_funding(load_preset("daligang-2020"), xianfengqiao(1899))
    assert result.lines[0].name == "参保率90%—95%（不含95%）"
    assert result.total_fen("unit") == 1899 * 400


def test_a_village_at_exactly_90_percent_gets_3_yuan_and_answers_for_nothing() -> None:
    result = work_funding(load_preset("daligang-2020"), xianfengqiao(1800))
    assert [line.fen_each for line in result.lines] == [300, 100]
    assert not result.accountable and result.reasons == ()


def test_a_village_one_person_under_90_percent_gets_2_yuan_and_is_accountable() -> None:
    result = work_funding(load_preset("daligang-2020"), xianfengqiao(1799))
    assert [line.fen_each for line in result.lines] == [200, 100]
    assert result.accountable and result.reasons == ("参保率 1799/2000 低于 90%",)


def test_special_groups_count_as_incomplete_unless_said_otherwise() -> None:
    progress = UnitProgress("先锋桥", base=2000, enrolled=1900, paid_records=1900)
    result = work_funding(load_preset("daligang-2020"), progress)
    assert result.accountable and result.reasons == ("特殊群体参保率未达100%",)
    assert [line.fen_each for line in result.lines] == [300, 100]


def test_a_village_short_on_two_counts_is_told_both() -> None:
    result = work_funding(load_preset("daligang-2020"), xianfengqiao(1899, complete=False))
    assert result.notes == (
        "不适用“参保率95%以上且建档立卡贫困人口、特困人员、农村低保对象、贫困残疾人参保率100%”："
        "参保率 94.95%（1899/2000）低于 95%；特殊群体参保率未达100%",
    )


def test_a_unit_without_a_population_base_is_counted_in_people() -> None:
    assert UnitProgress("新建社区", base=0, enrolled=12, paid_records=12).rate_text() == (
        "参保 12 人（人口基数为 0）"
    )


def test_a_funding_line_without_figures_behind_it_reads_as_its_sum() -> None:
    line = FundingLine("bureau", "人社部门审核录入参保信息", count=71600, fen_each=50)
    assert line.explain() == "人社部门审核录入参保信息：71600 人 × 0.5 元 = 35800 元"


def test_wuming_pays_no_township_that_has_not_said_it_met_its_task() -> None:
    progress = UnitProgress("城厢镇", base=73769, enrolled=71600, paid_records=71000)
    result = work_funding(load_preset("wuming-2018"), progress)
    assert result.total_fen("unit") == 0
    # The bureau's 0.5 yuan is per enrolled person, not per paid record.
    assert result.total_fen("bureau") == 71600 * 50


# Age limits: full years on 1 January of the coverage year


@pytest.mark.parametrize(
    ("born", "age"),
    [
        ("2016-01-01", 4),  # 4 on 1 January 2020: counted
        ("2016-01-02", 3),
        ("2005-01-02", 14),  # still 14 on 1 January 2020: counted
        ("2005-01-01", 15),
    ],
)
def test_daligang_only_children_count_from_4_to_14_on_1_january(born: str, age: int) -> None:
    q = quote_for("daligang-2020", "2019-11-20", categories=["only_child"], birth_date=born)
    if 4 <= age <= 14:
        assert q.attribute == "14周岁以下独生子女"
        assert q.explain[0] == "身份属性标识为“14周岁以下独生子女”"
    else:
        assert q.attribute == "一般农户、城镇居民"
        assert q.explain[0] == f"独生子女：2020-01-01 时 {age} 周岁，不在本类别的年龄范围（4–14）"


def test_an_age_limited_category_counts_when_the_birth_date_is_not_known() -> None:
    q = quote_for("daligang-2020", "2019-11-20", categories=["only_child"])
    assert q.attribute == "14周岁以下独生子女"


# The full price with a stated fiscal subsidy


def dazhu_with_status_changes() -> Policy:
    """Dazhu 2022 (320 yuan personal + 580 yuan fiscal subsidy) with Daligang's 60-day rule."""
    data = preset_data("dazhu-2022")
    data["enrollment"].append(
        {
            "name": "户籍或其他关系异动后60天内参保",
            "events": ["hukou_move_in", "demobilized"],
            "within_days": 60,
            "price": "full",
            "coverage": "next_month",
        }
    )
    return parse_policy(data, "dazhu-like")


def test_a_status_change_payer_pays_320_plus_580_yuan() -> None:
    facts = Facts.model_validate(
        {"birth_date": "1990-05-05", "event": {"kind": "hukou_move_in", "date": "2022-03-01"}}
    )
    q = quote(dazhu_with_status_changes(), facts, date(2022, 3, 20))
    assert (q.personal_fen, q.subsidy_fen, q.payable_fen) == (90000, 0, 90000)
    assert q.pending == () and str(q.coverage_start) == "2022-04-01"
    assert "须足额缴纳：个人缴费 320 元 + 财政补助 580 元" in q.explain


def test_a_subsidised_status_change_payer_owes_the_full_price_less_the_subsidy() -> None:
    data = preset_data("dazhu-2022")
    data["enrollment"] = dazhu_with_status_changes().model_dump()["enrollment"]
    data["identity"]["categories"][0]["subsidy"] = {
        "fen": 16000,
        "funders": [{"funder": "medical_assistance"}],
    }
    facts = Facts.model_validate(
        {"categories": ["lifted_poverty"], "event": {"kind": "demobilized", "date": "2022-03-01"}}
    )
    q = quote(parse_policy(data, "dazhu-like"), facts, date(2022, 3, 20))
    assert (q.personal_fen, q.subsidy_fen, q.payable_fen) == (90000, 16000, 74000)
    assert funders(q) == {"medical_assistance": 16000}


# Which label wins


def test_songming_a_student_has_a_label_but_no_subsidy() -> None:
    q = quote_for("songming-2016", "2015-10-01", categories=["student"])
    assert q.attribute == "中等专业学校学生"
    assert (q.subsidy_fen, q.payable_fen, q.subsidies) == (0, 12000, ())
    assert "“中等专业学校学生”在本政策中无个人缴费资助" in q.explain


def test_a_pending_subsidy_outranks_no_subsidy_at_all() -> None:
    q = quote_for("wuming-2018", "2017-10-01", categories=["student", "only_child"])
    assert q.attribute == "独生子女户"
    assert (q.subsidy_fen, q.payable_fen, q.pending) == (None, None, ("subsidy:only_child",))


def test_among_pending_subsidies_the_first_of_the_policy_labels_them_all_pending() -> None:
    q = quote_for("wuming-2018", "2017-10-01", categories=["rural_dibao", "extreme_poverty"])
    assert q.attribute == "五保户"
    assert q.pending == ("subsidy:extreme_poverty", "subsidy:rural_dibao")
    assert q.subsidy_fen is None and q.payable_fen is None
    assert (
        "符合多种资助条件（特困人员 金额未公布、农村低保对象 金额未公布），按就高原则只享受一项"
        in q.explain
    )


def test_a_known_subsidy_below_the_contribution_leaves_a_pending_one_open() -> None:
    q = quote_for("chuxiong-2021", "2020-10-01", categories=["only_child_parent", "rural_dibao"])
    assert q.attribute == "农村低保对象"
    assert (q.subsidy_fen, q.payable_fen, q.pending) == (None, None, ("subsidy:only_child_parent",))


def test_without_any_subsidy_the_first_category_of_the_policy_labels_the_person() -> None:
    data = preset_data("songming-2016")
    only_child = next(c for c in data["identity"]["categories"] if c["code"] == "only_child")
    del only_child["subsidy"]
    policy = parse_policy(data, "songming-like")
    for held in (["student", "only_child"], ["only_child", "student"]):
        facts = Facts.model_validate({"categories": held, "birth_date": "2005-03-03"})
        q = quote(policy, facts, date(2015, 10, 1))
        assert q.attribute == "不满18周岁的独生子女"
        assert (q.subsidy_fen, q.payable_fen) == (0, 12000)


def test_a_category_the_policy_does_not_define_is_not_counted() -> None:
    q = quote_for("dazhu-2022", "2021-10-01", categories=["student"])
    assert q.attribute == "城乡居民" and q.payable_fen == 32000
    assert q.explain[0] == "在校学生：本政策未设此类别，不予认定"


# Facts no person can have


@pytest.mark.parametrize("key", ["years_lapsed", "years_repaid"])
def test_negative_years_are_refused(key: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Facts.model_validate({key: -1})
    assert caught.value.errors()[0]["loc"] == (key,)
    assert Facts.model_validate({key: 0}).model_dump()[key] == 0
