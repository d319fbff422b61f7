"""Daligang 2020 (大政发〔2019〕69号): every rule of the notice, with its own numbers."""

import pytest

from canbao.policy.funding import UnitProgress, work_funding
from canbao.policy.loader import load_preset
from canbao.policy.targets import task_for

from .policy_helpers import funders, quote_for

P = "daligang-2020"
IN_PERIOD = "2019-11-20"


def test_it_charges_250_yuan_in_the_concentrated_period_and_covers_the_whole_year() -> None:
    q = quote_for(P, "2019-12-31")
    assert (q.personal_fen, q.subsidy_fen, q.payable_fen) == (25000, 0, 25000)
    assert (str(q.coverage_start), str(q.coverage_end)) == ("2020-01-01", "2020-12-31")
    assert q.attribute == "一般农户、城镇居民"


def test_it_covers_household_enrollees_of_the_approved_extension_from_new_year() -> None:
    q = quote_for(P, "2020-02-29", by_household=True)
    assert str(q.coverage_start) == "2020-01-01"


def test_it_covers_individual_enrollees_of_the_extension_from_the_month_after_payment() -> None:
    q = quote_for(P, "2020-02-15", by_household=False)
    assert str(q.coverage_start) == "2020-03-01"
    assert q.payable_fen == 25000


def test_it_refuses_late_payment_after_the_extension() -> None:
    q = quote_for(P, "2020-03-01")
    assert q.refusal is not None and q.refusal.code == "window_closed"
    assert "原则上不予补办" in q.refusal.message
    assert q.coverage_start is None and q.payable_fen is None


def test_it_covers_a_newborn_from_birth_when_paid_within_28_days_inclusive() -> None:
    q = quote_for(P, "2020-03-29", birth_date="2020-03-01")
    assert str(q.coverage_start) == "2020-03-01"
    assert q.payable_fen == 25000


def test_a_newborn_paid_on_day_29_falls_under_the_60_day_full_price_rule() -> None:
    q = quote_for(P, "2020-03-30", birth_date="2020-03-01")
    assert str(q.coverage_start) == "2020-04-01"
    # The full price is the personal part plus the fiscal subsidy, which the notice does not state.
    assert q.personal_fen is None and q.payable_fen is None
    assert q.pending == ("fiscal_subsidy",)


@pytest.mark.parametrize(
    "kind",
    [
        "hukou_move_in",
        "demobilized",
        "graduate",
        "welfare_infant",
        "released_prisoner",
        "employee_insurance_ended",
        "newly_registered_poor",
    ],
)
def test_a_status_change_within_60_days_pays_in_full_and_is_covered_next_month(kind: str) -> None:
    q = quote_for(P, "2020-06-09", event={"kind": kind, "date": "2020-04-10"})
    assert q.eligible
    assert str(q.coverage_start) == "2020-07-01"
    assert "fiscal_subsidy" in q.pending


def test_a_status_change_after_61_days_is_refused() -> None:
    q = quote_for(P, "2020-06-10", event={"kind": "hukou_move_in", "date": "2020-04-10"})
    assert q.refusal is not None and q.refusal.code == "window_closed"


def test_a_status_change_in_the_concentrated_period_pays_the_ordinary_price() -> None:
    q = quote_for(P, "2019-12-20", event={"kind": "hukou_move_in", "date": "2019-12-01"})
    assert q.payable_fen == 25000 and str(q.coverage_start) == "2020-01-01"


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("extreme_poverty", {"medical_assistance": 25000}),
        ("urban_dibao", {"medical_assistance": 25000}),
        ("orphan", {"medical_assistance": 25000}),
        ("rural_dibao", {"medical_assistance": 12500}),
        ("registered_poor", {"county_finance": 12500}),
        ("priority_veteran", {"veterans_affairs": 25000}),
        ("disabled_1_2", {"disabled_federation": 25000}),
        ("disabled_3_4", {"disabled_federation": 12500}),
        ("fp_complication", {"county_finance": 25000}),
        ("fp_special_support", {"county_finance": 25000}),
        ("land_expropriated", {"county_finance": 25000}),
        ("safety_net_1", {"medical_assistance": 12500, "county_finance": 12500}),
    ],
)
def test_each_department_pays_its_share_of_the_personal_contribution(
    category: str, expected: dict[str, int]
) -> None:
    q = quote_for(P, IN_PERIOD, categories=[category])
    assert funders(q) == expected
    assert q.payable_fen == 25000 - sum(expected.values())


@pytest.mark.parametrize(
    ("category", "ordinary", "poor"),
    [
        ("extreme_poverty", "五保户", "贫困户（特困）"),
        ("orphan", "孤儿", "贫困户（孤儿）"),
        ("priority_veteran", "优抚对象", "贫困户（优抚对象）"),
        ("urban_dibao", "低保户（城镇）", "贫困低保户（城镇）"),
        ("fp_complication", "计生后遗症人员", "贫困户（计生后遗症）"),
        ("fp_special_support", "计生特扶对象", "贫困户（计生特扶）"),
        ("safety_net_1", "社会兜底保障一类对象", "兜底贫困户"),
        ("land_expropriated", "被征地农民", "贫困户（被征地农民）"),
        ("disabled_1_2", "一二级残疾人", "贫困残疾人"),
        ("rural_dibao", "低保户", "贫困低保户"),
        ("disabled_3_4", "三四级残疾人", "贫困户（三四级残）"),
    ],
)
def test_it_marks_the_attribute_of_attachment_2_with_its_registered_poor_variant(
    category: str, ordinary: str, poor: str
) -> None:
    assert quote_for(P, IN_PERIOD, categories=[category]).attribute == ordinary
    marked = quote_for(P, IN_PERIOD, categories=[category, "registered_poor"])
    assert marked.attribute == poor


def test_a_registered_poor_non_dibao_person_is_marked_poor_household_with_half_paid() -> None:
    q = quote_for(P, IN_PERIOD, categories=["registered_poor"])
    assert q.attribute == "贫困户"
    assert funders(q) == {"county_finance": 12500}


def test_five_guarantee_and_severely_disabled_is_marked_five_guarantee() -> None:
    """The notice's own example: 既是五保户又是一二级残疾人的，需五保户进行标识."""
    q = quote_for(P, IN_PERIOD, categories=["disabled_1_2", "extreme_poverty"])
    assert q.attribute == "五保户"
    assert funders(q) == {"medical_assistance": 25000}


def test_five_guarantee_and_registered_poor_is_marked_poor_extreme() -> None:
    """The notice's own example: 既是五保户又是贫困户的，需按贫困户（特困）标识."""
    q = quote_for(P, IN_PERIOD, categories=["registered_poor", "extreme_poverty"])
    assert q.attribute == "贫困户（特困）"
    assert q.payable_fen == 0


def test_rural_dibao_outranks_registered_poor_and_is_paid_once() -> None:
    q = quote_for(P, IN_PERIOD, categories=["registered_poor", "rural_dibao"])
    assert q.attribute == "贫困低保户"
    assert funders(q) == {"medical_assistance": 12500}


def test_the_priority_follows_attachment_2_from_top_to_bottom() -> None:
    order = [c.code for c in load_preset(P).identity.categories]
    assert order == [
        "extreme_poverty",
        "orphan",
        "priority_veteran",
        "urban_dibao",
        "fp_complication",
        "fp_special_support",
        "only_child",
        "safety_net_1",
        "land_expropriated",
        "disabled_1_2",
        "rural_dibao",
        "disabled_3_4",
        "registered_poor",
    ]


def test_an_only_child_is_marked_between_4_and_14_without_subsidy() -> None:
    child = quote_for(P, IN_PERIOD, categories=["only_child"], birth_date="2010-06-01")
    assert child.attribute == "14周岁以下独生子女"
    assert child.subsidy_fen == 0 and child.payable_fen == 25000
    toddler = quote_for(P, IN_PERIOD, categories=["only_child"], birth_date="2017-06-01")
    assert toddler.attribute == "一般农户、城镇居民"
    assert any("年龄范围" in line for line in toddler.explain)


def test_the_payment_is_frozen_under_the_attribute_marked_at_payment_time() -> None:
    """缴费后身份发生变化不再补退: a quote depends only on the categories held when paying."""
    before = quote_for(P, IN_PERIOD, categories=[])
    after = quote_for(P, IN_PERIOD, categories=["extreme_poverty"])
    assert (before.payable_fen, after.payable_fen) == (25000, 0)


def test_employee_insured_and_insured_elsewhere_cannot_enroll() -> None:
    assert quote_for(P, IN_PERIOD, employee_insured=True).refusal.code == "employee_insured"  # type: ignore[union-attr]
    elsewhere = quote_for(P, IN_PERIOD, insured_elsewhere=True)
    assert elsewhere.refusal is not None and elsewhere.refusal.code == "insured_elsewhere"


def test_residence_permit_holders_may_enroll_but_other_outsiders_may_not() -> None:
    assert quote_for(P, IN_PERIOD, hukou_local=False, document="residence_permit").eligible
    q = quote_for(P, IN_PERIOD, hukou_local=False, document="id_card")
    assert q.refusal is not None and q.refusal.code == "not_eligible"


def test_village_tasks_are_95_percent_of_population_rounded_half_up() -> None:
    targets = load_preset(P).targets
    assert task_for(5021, targets.rate_percent, targets.rounding) == 4770
    assert task_for(3053, targets.rate_percent, targets.rounding) == 2900
    assert task_for(256, targets.rate_percent, targets.rounding) == 243


def village(enrolled: int, complete: bool) -> UnitProgress:
    return UnitProgress(
        name="大栗港社区",
        base=5021,
        enrolled=enrolled,
        paid_records=enrolled,
        special_groups_complete=complete,
    )


def test_a_village_at_95_percent_with_special_groups_complete_gets_3_plus_2_yuan() -> None:
    result = work_funding(load_preset(P), village(4770, complete=True))  # 95.0%
    assert result.total_fen("unit") == 4770 * 300 + 4770 * 200 + 4770 * 100
    assert not result.accountable


def test_a_village_at_95_percent_with_a_special_group_short_gets_3_yuan_and_is_accountable() -> (
    None
):
    result = work_funding(load_preset(P), village(4770, complete=False))
    assert result.total_fen("unit") == 4770 * 300 + 4770 * 100
    assert result.accountable and result.reasons == ("特殊群体参保率未达100%",)


def test_a_village_between_90_and_95_percent_gets_3_yuan() -> None:
    result = work_funding(load_preset(P), village(4769, complete=True))  # 94.98%
    assert [line.fen_each for line in result.lines] == [300, 100]
    assert not result.accountable


def test_a_village_below_90_percent_gets_2_yuan_and_is_accountable() -> None:
    result = work_funding(load_preset(P), village(4518, complete=True))  # 89.98%
    assert [line.fen_each for line in result.lines] == [200, 100]
    assert result.accountable and "低于 90%" in result.reasons[0]


def test_data_entry_is_paid_per_record_the_tax_system_shows_as_paid() -> None:
    progress = UnitProgress(
        "童子山", base=3305, enrolled=3200, paid_records=3150, special_groups_complete=True
    )
    entry = [x for x in work_funding(load_preset(P), progress).lines if "录入" in x.name]
    assert [(x.count, x.fen) for x in entry] == [(3150, 315000)]


def test_an_adult_with_a_birth_date_has_60_days_from_the_status_change_itself() -> None:
    """Demobilised on 15 June 2020, paying on 20 July: the window runs from the event, not birth."""
    q = quote_for(
        P,
        "2020-07-20",
        birth_date="1988-02-11",
        event={"kind": "demobilized", "date": "2020-06-15"},
    )
    assert q.refusal is None
    assert str(q.coverage_start) == "2020-08-01"
    assert (q.personal_fen, q.payable_fen, q.pending) == (None, None, ("fiscal_subsidy",))
    assert any("复员转业退役军人于 2020-06-15" in line for line in q.explain)


def test_a_quote_reads_as_one_json_object() -> None:
    q = quote_for(P, IN_PERIOD, categories=["safety_net_1", "registered_poor"])
    assert q.as_json() == {
        "eligible": True,
        "refusal": None,
        "categories": ["safety_net_1", "registered_poor"],
        "attribute": "兜底贫困户",
        "personal_fen": 25000,
        "subsidies": [
            {"funder": "medical_assistance", "fen": 12500},
            {"funder": "county_finance", "fen": 12500},
        ],
        "subsidy_fen": 25000,
        "payable_fen": 0,
        "coverage_start": "2020-01-01",
        "coverage_end": "2020-12-31",
        "pending": [],
        "explain": list(q.explain),
    }
    refused = quote_for(P, "2020-03-01").as_json()
    assert refused["eligible"] is False
    assert refused["refusal"] == {
        "code": "window_closed",
        "message": "2020-03-01 不在可参保缴费的期间："
        "未在规定的参保缴费期内办理参保缴费的，原则上不予补办，不得享受基本医疗保险待遇",
    }
    assert (refused["coverage_start"], refused["coverage_end"]) == (None, None)
