"""What a quote tells the clerk, line by line: the rule applied and why, the attribute, the
subsidy and its funders, the price and the coverage period, in the notices' own words."""

import tomllib
from datetime import date
from importlib import resources
from typing import Any

import pytest
from pydantic import ValidationError

from canbao.policy.loader import parse_policy
from canbao.policy.quote import Facts, quote

from .policy_helpers import quote_for


def preset_data(preset: str) -> dict[str, Any]:
    text = (resources.files("canbao.policy") / "presets" / f"{preset}.toml").read_text("utf-8")
    return tomllib.loads(text)


def explain(preset: str, paid_on: str, **facts: Any) -> tuple[str, ...]:
    return quote_for(preset, paid_on, **facts).explain


# The rule applied, with the day its window runs from


def test_a_daligang_newborn_within_28_days() -> None:
    assert explain("daligang-2020", "2020-03-15", birth_date="2020-03-01") == (
        "适用：新生儿出生28天内参保（出生于 2020-03-01，28 天内缴费）",
        "新生儿在出生28天内（含28天）取得户籍并缴费的，自出生之日起享受待遇",
        "个人缴费标准 250 元",
        "待遇享受期 2020-03-01 至 2020-12-31",
    )


def test_a_wuming_newborn_within_3_months() -> None:
    assert explain("wuming-2018", "2018-09-15", birth_date="2018-06-15") == (
        "适用：出生未超过3个月的新生儿（出生于 2018-06-15，3 个月内缴费）",
        "出生未超过3个月的新生儿不受7月1日至12月31日停办限制；方案未载明待遇起始日，按出生之日起",
        "个人缴费标准 180 元",
        "待遇享受期 2018-06-15 至 2018-12-31",
    )


def test_a_chuxiong_newborn_past_90_days_has_no_time_limit_to_state() -> None:
    newborn = {"birth_date": "2021-03-01", "event": {"kind": "newborn", "date": "2021-03-20"}}
    assert explain("chuxiong-2021", "2021-06-19", **newborn) == (
        "适用：新生儿超过90天参保（落户于 2021-03-20）",
        "出生后超过90天办理参保缴费的，自缴费次月起享受待遇",
        "个人缴费标准 280 元",
        "待遇享受期 2021-07-01 至 2021-12-31",
    )


def test_a_chuxiong_newborn_of_enrolled_parents() -> None:
    newborn = {"birth_date": "2021-03-01", "event": {"kind": "newborn", "date": "2021-03-20"}}
    assert explain("chuxiong-2021", "2021-04-01", parents_enrolled=True, **newborn) == (
        "适用：新生儿落户后90天内参保（落户于 2021-03-20，90 天内缴费）",
        "当年出生的新生儿落户后90天内登记缴费，自出生之日起享受待遇；"
        "父母双方均已参保并符合计划生育政策的，出生当年不用缴费",
        "父母均已参保的新生儿，出生当年免缴个人费用",
        "待遇享受期 2021-03-01 至 2021-12-31",
    )


def test_a_daligang_status_change_at_the_full_price_not_stated() -> None:
    demobilised = {"kind": "demobilized", "date": "2020-06-15"}
    assert explain("daligang-2020", "2020-07-20", birth_date="1988-02-11", event=demobilised) == (
        "适用：户籍或其他关系异动后60天内参保（复员转业退役军人于 2020-06-15，60 天内缴费）",
        "因户籍变动等特殊情形未能按时参保的，异动后60天内按个人缴费与财政补助之和足额缴纳，"
        "从缴费的下个月起享受待遇",
        "须按个人缴费与财政补助之和足额缴纳，本政策未载明财政补助标准",
        "待遇享受期 2020-08-01 至 2020-12-31",
    )


# The attribute and the subsidy


def test_a_daligang_rural_dibao_individual_in_the_extension() -> None:
    assert explain(
        "daligang-2020", "2020-02-15", by_household=False, categories=["rural_dibao"]
    ) == (
        "身份属性标识为“低保户”",
        "资助个人缴费 125 元（50%）：医疗救助资金 125 元",
        "适用：经批准延长期（未以户为单位参保）",
        "特殊情况经批准延长至2020年2月29日：未以户为单位参保的从缴费的下个月起享受待遇",
        "个人缴费标准 250 元",
        "待遇享受期 2020-03-01 至 2020-12-31",
    )


def test_daligang_marks_one_attribute_by_its_order_and_says_so() -> None:
    held = ["disabled_1_2", "registered_poor", "extreme_poverty"]
    assert explain("daligang-2020", "2019-11-20", categories=held)[:3] == (
        "按标识优先顺序，特困人员先于一二级残疾人、建档立卡贫困人口，不重复享受",
        "身份属性标识为“贫困户（特困）”",
        "资助个人缴费 250 元（100%）：医疗救助资金 250 元",
    )


def test_daligang_safety_net_class_1_is_paid_by_two_funders() -> None:
    assert explain("daligang-2020", "2019-11-20", categories=["safety_net_1"])[:2] == (
        "身份属性标识为“社会兜底保障一类对象”",
        "资助个人缴费 250 元（100%）：医疗救助资金 125 元，县财政 125 元",
    )


def test_chuxiong_lists_every_subsidy_held_before_taking_the_highest() -> None:
    held = ["rural_dibao", "registered_poor"]
    assert explain("chuxiong-2021", "2020-10-01", categories=held)[:3] == (
        "符合多种资助条件（建档立卡贫困人口 180 元、农村低保对象 120 元），按就高原则只享受一项",
        "身份属性标识为“建档立卡贫困人口”",
        "资助个人缴费 180 元（定额 180 元）：医疗救助资金 180 元",
    )


def test_chuxiong_one_subsidy_is_not_a_choice() -> None:
    assert explain("chuxiong-2021", "2020-10-01", categories=["registered_poor"]) == (
        "身份属性标识为“建档立卡贫困人口”",
        "资助个人缴费 180 元（定额 180 元）：医疗救助资金 180 元",
        "适用：集中缴费期",
        "个人缴费标准 280 元",
        "待遇享受期 2021-01-01 至 2021-12-31",
    )


def test_categories_not_counted_are_named_with_the_reason() -> None:
    held = ["priority_veteran", "student"]
    assert explain("chuxiong-2021", "2020-10-01", categories=held)[:2] == (
        "在校学生：本政策未设此类别，不予认定",
        "重点优抚对象：须同时为农村低保对象、特困人员方予资助，不予认定",
    )
    adult = explain(
        "songming-2016", "2015-10-01", categories=["only_child"], birth_date="1997-06-01"
    )
    assert adult[0] == "独生子女：2016-01-01 时 18 周岁，不在本类别的年龄范围（0–17）"


def test_an_age_limit_without_an_upper_bound_says_so() -> None:
    data = preset_data("daligang-2020")
    only_child = next(c for c in data["identity"]["categories"] if c["code"] == "only_child")
    del only_child["max_age"]
    policy = parse_policy(data, "daligang-like")
    facts = Facts.model_validate({"categories": ["only_child"], "birth_date": "2017-06-01"})
    assert quote(policy, facts, date(2019, 11, 20)).explain[0] == (
        "独生子女：2020-01-01 时 2 周岁，不在本类别的年龄范围（4–不限）"
    )
    grown = Facts.model_validate({"categories": ["only_child"], "birth_date": "1990-06-01"})
    assert quote(policy, grown, date(2019, 11, 20)).attribute == "14周岁以下独生子女"


def test_a_pending_subsidy_gives_the_notices_reason() -> None:
    assert explain("chuxiong-2021", "2020-10-01", categories=["only_child_parent"])[:2] == (
        "身份属性标识为“农村独生子女父母”",
        "农村独生子女父母的资助金额尚未公布：卫生健康局根据政策据实补助，金额未在通知中载明",
    )


def test_a_pending_subsidy_without_a_reason_says_only_that_it_is_pending() -> None:
    data = preset_data("dazhu-2022")
    land = next(c for c in data["identity"]["categories"] if c["code"] == "land_expropriated")
    del land["subsidy"]["note"]
    facts = Facts.model_validate({"categories": ["land_expropriated"]})
    q = quote(parse_policy(data, "dazhu-like"), facts, date(2021, 10, 1))
    assert q.explain[:2] == ("身份属性标识为“被征地农民”", "被征地农民的资助金额尚未公布")


# Refusals


def test_refusals_say_why() -> None:
    assert explain("dazhu-2022", "2021-10-01", insured_elsewhere=True) == (
        "已在其他统筹区参加基本医疗保险，不得重复参保",
    )
    outsider = quote_for("dazhu-2022", "2021-10-01", hukou_local=False, document="hk_macau_permit")
    assert outsider.refusal is not None
    assert outsider.refusal.message == (
        "非本地户籍，持港澳居民来往内地通行证不属参保范围：大竹县户籍、未纳入职工医保的城乡居民；"
        "在本县投资、经商、务工、居住、上学且未在县外参保的非本县户籍人员"
    )
    assert outsider.explain == (outsider.refusal.message,)


def test_a_newborn_event_without_a_birth_date_is_refused_naming_it() -> None:
    with pytest.raises(ValidationError) as caught:
        Facts.model_validate({"event": {"kind": "newborn", "date": "2021-10-01"}})
    assert (
        caught.value.errors()[0]["msg"] == "Value error, event.kind 为 newborn 时须提供 birth_date"
    )


# Waiting periods (2024 national guideline)


def with_waiting_periods() -> dict[str, Any]:
    data = preset_data("dazhu-2022")
    data["waiting_period"] = {"enabled": True}
    return data


def test_a_continuous_enrollee_of_the_concentrated_period_is_told_nothing_of_waiting() -> None:
    q = quote(parse_policy(with_waiting_periods(), "dazhu-waiting"), Facts(), date(2021, 10, 1))
    assert q.explain == (
        "适用：集中办理期",
        "个人缴费标准 320 元",
        "待遇享受期 2022-01-01 至 2022-12-31",
    )


def test_a_wait_raised_to_its_floor_says_why() -> None:
    policy = parse_policy(with_waiting_periods(), "dazhu-waiting")
    q = quote(policy, Facts(years_lapsed=4, years_repaid=4), date(2021, 10, 1))
    assert q.explain[2:] == (
        "待遇等待期：固定 3 个月 + 变动 0 个月，连续断保 4 年，不少于 6 个月"
        "（断保 4 年，补缴 4 年）",
        "待遇享受期 2022-07-01 至 2022-12-31",
    )


def test_without_waiting_periods_a_quote_says_nothing_of_them() -> None:
    assert explain("dazhu-2022", "2021-10-01") == (
        "适用：集中办理期",
        "个人缴费标准 320 元",
        "待遇享受期 2022-01-01 至 2022-12-31",
    )


def test_the_notices_own_example_of_two_categories_marked_once() -> None:
    """既是五保户又是一二级残疾人的，需五保户进行标识."""
    held = ["disabled_1_2", "extreme_poverty"]
    assert explain("daligang-2020", "2019-11-20", categories=held)[:2] == (
        "按标识优先顺序，特困人员先于一二级残疾人，不重复享受",
        "身份属性标识为“五保户”",
    )


def test_two_subsidies_held_are_weighed_in_the_policys_order() -> None:
    held = ["extreme_poverty", "disabled_1_2"]
    assert explain("chuxiong-2021", "2020-10-01", categories=held)[:2] == (
        "符合多种资助条件（特困人员 280 元、一二级残疾人 120 元），按就高原则只享受一项",
        "身份属性标识为“特困供养人员”",
    )
