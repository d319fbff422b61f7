"""Songming 2016, Wuming 2018, Chuxiong 2021 and Dazhu 2022: each rule with the notices' numbers."""

import pytest

from canbao.policy.funding import UnitProgress, work_funding
from canbao.policy.loader import load_preset, preset_ids
from canbao.policy.targets import task_for

from .policy_helpers import funders, quote_for


def test_the_five_seed_notices_are_built_in_presets() -> None:
    assert preset_ids() == [
        "chuxiong-2021",
        "daligang-2020",
        "dazhu-2022",
        "songming-2016",
        "wuming-2018",
    ]


@pytest.mark.parametrize(
    ("preset", "paid_on", "fen", "year"),
    [
        ("songming-2016", "2015-10-01", 12000, 2016),
        ("wuming-2018", "2017-10-01", 18000, 2018),
        ("daligang-2020", "2019-11-01", 25000, 2020),
        ("chuxiong-2021", "2020-10-01", 28000, 2021),
        ("dazhu-2022", "2021-10-01", 32000, 2022),
    ],
)
def test_each_notice_charges_its_personal_contribution_for_its_coverage_year(
    preset: str, paid_on: str, fen: int, year: int
) -> None:
    q = quote_for(preset, paid_on)
    assert q.payable_fen == fen
    assert (str(q.coverage_start), str(q.coverage_end)) == (f"{year}-01-01", f"{year}-12-31")


# Songming 2016 (嵩政办通〔2015〕74号)


def test_songming_rural_households_enroll_by_25_october() -> None:
    assert quote_for("songming-2016", "2015-10-25", by_household=True).eligible
    late = quote_for("songming-2016", "2015-10-26", by_household=True)
    assert late.refusal is not None and late.refusal.code == "window_closed"


def test_songming_urban_residents_and_students_enroll_individually_by_25_december() -> None:
    assert quote_for("songming-2016", "2015-12-25", by_household=False).eligible
    assert not quote_for("songming-2016", "2015-12-26", by_household=False).eligible


def test_songming_admits_migrant_workers_with_valid_documents_and_local_students() -> None:
    migrant = quote_for(
        "songming-2016", "2015-10-01", hukou_local=False, document="residence_permit"
    )
    student = quote_for(
        "songming-2016", "2015-10-01", hukou_local=False, document="school_enrollment"
    )
    assert migrant.eligible and student.eligible
    assert not quote_for(
        "songming-2016", "2015-10-01", hukou_local=False, document="hk_macau_permit"
    ).eligible


def test_songming_department_groups_are_marked_and_their_amount_is_pending() -> None:
    q = quote_for("songming-2016", "2015-10-01", categories=["extreme_poverty"])
    assert q.attribute == "农村五保供养对象"
    assert q.subsidy_fen is None and q.payable_fen is None
    assert q.pending == ("subsidy:extreme_poverty",)


def test_songming_one_child_children_count_only_under_18() -> None:
    young = quote_for(
        "songming-2016", "2015-10-01", categories=["only_child"], birth_date="1998-06-01"
    )  # 17 on 1 Jan 2016
    adult = quote_for(
        "songming-2016", "2015-10-01", categories=["only_child"], birth_date="1997-06-01"
    )
    assert young.attribute == "不满18周岁的独生子女"
    assert adult.attribute == "城乡居民" and adult.payable_fen == 12000


# Wuming 2018 (南武政办〔2017〕142号)


def test_wuming_concentrated_period_runs_from_1_september_to_31_december() -> None:
    assert str(quote_for("wuming-2018", "2017-12-31").coverage_start) == "2018-01-01"
    assert not quote_for("wuming-2018", "2017-08-31").eligible


def test_wuming_late_and_lapsed_payers_enroll_from_january_to_june() -> None:
    q = quote_for("wuming-2018", "2018-06-30")
    assert q.payable_fen == 18000 and str(q.coverage_start) == "2018-07-01"


def test_wuming_closes_enrollment_from_1_july() -> None:
    q = quote_for("wuming-2018", "2018-07-01")
    assert q.refusal is not None and q.refusal.code == "window_closed"
    assert "7月1日至12月31日" in q.refusal.message


def test_wuming_newborns_under_3_months_may_enroll_in_the_closed_months() -> None:
    q = quote_for("wuming-2018", "2018-09-15", birth_date="2018-06-15")
    assert str(q.coverage_start) == "2018-06-15"
    assert not quote_for("wuming-2018", "2018-09-16", birth_date="2018-06-15").eligible


def test_wuming_needy_groups_may_enroll_in_the_closed_months() -> None:
    q = quote_for("wuming-2018", "2018-08-10", categories=["rural_dibao"])
    assert q.eligible and str(q.coverage_start) == "2018-09-01"
    assert q.pending == ("subsidy:rural_dibao",)


def test_wuming_admits_students_of_every_level_without_local_hukou() -> None:
    assert quote_for(
        "wuming-2018", "2017-10-01", hukou_local=False, document="school_enrollment"
    ).eligible
    assert not quote_for(
        "wuming-2018", "2017-10-01", hukou_local=False, document="residence_permit"
    ).eligible


def test_wuming_task_is_97_percent_rounded_half_up() -> None:
    t = load_preset("wuming-2018").targets
    assert task_for(73769, t.rate_percent, t.rounding) == 71556  # 城厢镇
    assert task_for(41237, t.rate_percent, t.rounding) == 40000  # 仙湖镇


def test_wuming_pays_townships_1_5_yuan_per_enrolled_person_when_on_time() -> None:
    policy = load_preset("wuming-2018")
    done = UnitProgress("城厢镇", base=73769, enrolled=71600, paid_records=71600, task_met=True)
    result = work_funding(policy, done)
    assert result.total_fen("unit") == 71600 * 150  # 107,400 yuan
    assert result.total_fen("bureau") == 71600 * 50  # 0.5 yuan per record to the bureau
    late = UnitProgress("城厢镇", base=73769, enrolled=70000, paid_records=70000, task_met=False)
    assert work_funding(policy, late).total_fen("unit") == 0


# Chuxiong 2021


@pytest.mark.parametrize(
    ("category", "fen"),
    [
        ("extreme_poverty", 28000),
        ("orphan", 28000),
        ("registered_poor", 18000),
        ("disabled_1_2", 12000),
        ("disabled_3_mental", 12000),
        ("urban_dibao", 12000),
        ("rural_dibao", 12000),
    ],
)
def test_chuxiong_pays_fixed_subsidies_from_medical_assistance(category: str, fen: int) -> None:
    q = quote_for("chuxiong-2021", "2020-10-01", categories=[category])
    assert funders(q) == {"medical_assistance": fen}
    assert q.payable_fen == 28000 - fen


def test_chuxiong_gives_only_the_highest_subsidy() -> None:
    q = quote_for("chuxiong-2021", "2020-10-01", categories=["rural_dibao", "registered_poor"])
    assert q.attribute == "建档立卡贫困人口"
    assert q.subsidy_fen == 18000 and q.payable_fen == 10000
    assert any("就高" in line for line in q.explain)


def test_chuxiong_health_bureau_subsidies_are_pending_unless_already_fully_paid() -> None:
    pending = quote_for("chuxiong-2021", "2020-10-01", categories=["only_child_parent"])
    assert pending.payable_fen is None and pending.pending == ("subsidy:only_child_parent",)
    full = quote_for(
        "chuxiong-2021", "2020-10-01", categories=["only_child_parent", "extreme_poverty"]
    )
    assert full.payable_fen == 0 and full.pending == ()


def test_chuxiong_veterans_are_subsidised_only_within_rural_dibao_or_extreme_poverty() -> None:
    alone = quote_for("chuxiong-2021", "2020-10-01", categories=["priority_veteran"])
    assert alone.attribute == "城乡居民" and alone.payable_fen == 28000
    with_dibao = quote_for(
        "chuxiong-2021", "2020-10-01", categories=["priority_veteran", "rural_dibao"]
    )
    assert funders(with_dibao) == {"medical_assistance": 12000}
    assert with_dibao.pending == ("subsidy:priority_veteran",)


def test_chuxiong_refuses_payment_after_28_february() -> None:
    assert quote_for("chuxiong-2021", "2021-02-28").eligible
    q = quote_for("chuxiong-2021", "2021-03-01")
    assert q.refusal is not None and q.refusal.code == "window_closed"


def test_chuxiong_newborn_within_90_days_of_hukou_is_covered_from_birth() -> None:
    q = quote_for(
        "chuxiong-2021",
        "2021-06-18",
        birth_date="2021-03-01",
        event={"kind": "newborn", "date": "2021-03-20"},
    )  # 90 days after hukou
    assert str(q.coverage_start) == "2021-03-01" and q.payable_fen == 28000


def test_chuxiong_newborn_of_enrolled_parents_pays_nothing_in_the_birth_year() -> None:
    q = quote_for(
        "chuxiong-2021",
        "2021-04-01",
        birth_date="2021-03-01",
        parents_enrolled=True,
        event={"kind": "newborn", "date": "2021-03-20"},
    )
    assert (q.personal_fen, q.payable_fen) == (0, 0)


def test_chuxiong_newborn_after_90_days_is_covered_from_the_month_after_payment() -> None:
    q = quote_for(
        "chuxiong-2021",
        "2021-06-19",
        birth_date="2021-03-01",
        event={"kind": "newborn", "date": "2021-03-20"},
    )
    assert str(q.coverage_start) == "2021-07-01" and q.payable_fen == 28000


def test_chuxiong_graduates_and_demobilised_soldiers_are_not_bound_by_the_period() -> None:
    for kind in ("graduate", "demobilized"):
        q = quote_for("chuxiong-2021", "2021-07-10", event={"kind": kind, "date": "2021-06-30"})
        assert str(q.coverage_start) == "2021-08-01"


def test_chuxiong_admits_residents_regardless_of_hukou_and_foreign_permanent_residents() -> None:
    for document in (
        "id_card",
        "hk_macau_permit",
        "taiwan_permit",
        "foreign_permanent_residence",
        "village_certificate",
    ):
        assert quote_for(
            "chuxiong-2021", "2020-10-01", hukou_local=False, document=document
        ).eligible


def test_chuxiong_enrolls_by_person() -> None:
    assert load_preset("chuxiong-2021").enrollment_unit == "person"


# Dazhu 2022


def test_dazhu_states_personal_320_and_fiscal_580_yuan() -> None:
    c = load_preset("dazhu-2022").contribution
    assert (c.personal_fen, c.fiscal_subsidy_fen) == (32000, 58000)


@pytest.mark.parametrize(
    "category",
    [
        "lifted_poverty",
        "extreme_poverty",
        "orphan",
        "urban_dibao",
        "rural_dibao",
        "priority_veteran",
        "disabled_1_2",
        "land_expropriated",
    ],
)
def test_dazhu_special_group_subsidies_are_pending_not_invented(category: str) -> None:
    q = quote_for("dazhu-2022", "2021-10-01", categories=[category])
    assert q.eligible and q.personal_fen == 32000
    assert q.subsidy_fen is None and q.payable_fen is None
    assert q.pending == (f"subsidy:{category}",)


def test_dazhu_concentrated_period_ends_25_december() -> None:
    assert quote_for("dazhu-2022", "2021-12-25").eligible
    q = quote_for("dazhu-2022", "2021-12-26")
    assert q.refusal is not None and "达州市城乡居民基本医疗保险管理办法" in q.refusal.message


def test_dazhu_admits_non_hukou_people_living_or_studying_here() -> None:
    assert quote_for("dazhu-2022", "2021-10-01", hukou_local=False).eligible
    assert not quote_for(
        "dazhu-2022", "2021-10-01", hukou_local=False, document="taiwan_permit"
    ).eligible


def test_dazhu_holds_townships_below_90_percent_accountable() -> None:
    policy = load_preset("dazhu-2022")
    below = work_funding(
        policy, UnitProgress("竹阳街道", base=79063, enrolled=71000, paid_records=71000)
    )
    above = work_funding(
        policy, UnitProgress("竹阳街道", base=79063, enrolled=71157, paid_records=71157)
    )
    assert below.accountable and not above.accountable
    assert below.lines == ()
