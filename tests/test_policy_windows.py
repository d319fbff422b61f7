"""The windows of each notice at their edges: the day a window opens, the day of birth or of the
status change itself, which day a relative window runs from, and ties between rules."""

import tomllib
from datetime import date
from importlib import resources

import pytest

from canbao.policy.loader import parse_policy
from canbao.policy.quote import Facts, quote

from .policy_helpers import quote_for

STATUS_CHANGES = [
    "hukou_move_in",
    "demobilized",
    "graduate",
    "welfare_infant",
    "released_prisoner",
    "employee_insurance_ended",
    "newly_registered_poor",
]


# The day a status-change window runs from


@pytest.mark.parametrize("kind", STATUS_CHANGES)
def test_daligang_60_days_run_from_the_status_change_of_an_adult_with_a_birth_date(
    kind: str,
) -> None:
    q = quote_for(
        "daligang-2020",
        "2020-08-14",  # the 60th day after 15 June
        birth_date="1988-02-11",
        event={"kind": kind, "date": "2020-06-15"},
    )
    assert q.refusal is None and str(q.coverage_start) == "2020-09-01"
    assert q.pending == ("fiscal_subsidy",)
    late = quote_for(
        "daligang-2020",
        "2020-08-15",
        birth_date="1988-02-11",
        event={"kind": kind, "date": "2020-06-15"},
    )
    assert late.refusal is not None and late.refusal.code == "window_closed"


def test_daligang_a_status_change_paid_on_the_day_itself_is_covered_next_month() -> None:
    q = quote_for(
        "daligang-2020",
        "2020-06-15",
        birth_date="1988-02-11",
        event={"kind": "demobilized", "date": "2020-06-15"},
    )
    assert str(q.coverage_start) == "2020-07-01"
    early = quote_for(
        "daligang-2020",
        "2020-06-14",
        birth_date="1988-02-11",
        event={"kind": "demobilized", "date": "2020-06-15"},
    )
    assert early.refusal is not None and early.refusal.code == "window_closed"


def test_daligang_a_welfare_infant_is_a_newborn_within_28_days_of_birth() -> None:
    infant = {"birth_date": "2020-03-01", "event": {"kind": "welfare_infant", "date": "2020-03-10"}}
    q = quote_for("daligang-2020", "2020-03-20", **infant)
    assert str(q.coverage_start) == "2020-03-01" and q.payable_fen == 25000


def test_daligang_a_welfare_infant_past_60_days_of_birth_still_has_60_days_from_intake() -> None:
    infant = {"birth_date": "2020-03-01", "event": {"kind": "welfare_infant", "date": "2020-03-10"}}
    q = quote_for("daligang-2020", "2020-05-05", **infant)  # day 65 of life, day 56 at the home
    assert str(q.coverage_start) == "2020-06-01" and q.pending == ("fiscal_subsidy",)
    assert any("社会福利机构新接收的弃婴于 2020-03-10" in line for line in q.explain)


def test_daligang_newborn_28_days_run_from_birth_and_60_days_from_hukou_registration() -> None:
    newborn = {"birth_date": "2020-03-01", "event": {"kind": "newborn", "date": "2020-03-25"}}
    assert str(quote_for("daligang-2020", "2020-03-29", **newborn).coverage_start) == "2020-03-01"
    q = quote_for("daligang-2020", "2020-05-24", **newborn)  # day 84 of life, day 60 of hukou
    assert str(q.coverage_start) == "2020-06-01" and q.personal_fen is None
    assert any("落户于 2020-03-25" in line for line in q.explain)


def test_daligang_a_newborn_paid_on_the_day_of_birth_is_covered_from_that_day() -> None:
    q = quote_for("daligang-2020", "2020-03-01", birth_date="2020-03-01")
    assert str(q.coverage_start) == "2020-03-01" and q.payable_fen == 25000


@pytest.mark.parametrize(
    ("kind", "born"), [("graduate", "1998-07-01"), ("demobilized", "1995-03-08")]
)
def test_chuxiong_graduates_and_soldiers_with_a_birth_date_are_not_bound_by_the_period(
    kind: str, born: str
) -> None:
    q = quote_for(
        "chuxiong-2021", "2021-07-10", birth_date=born, event={"kind": kind, "date": "2021-06-30"}
    )
    assert str(q.coverage_start) == "2021-08-01" and q.payable_fen == 28000


def test_chuxiong_covers_a_graduate_on_the_day_of_graduation_from_the_next_month() -> None:
    q = quote_for("chuxiong-2021", "2021-06-30", event={"kind": "graduate", "date": "2021-06-30"})
    assert str(q.coverage_start) == "2021-07-01"
    early = quote_for(
        "chuxiong-2021", "2021-06-29", event={"kind": "graduate", "date": "2021-06-30"}
    )
    assert early.refusal is not None and early.refusal.code == "window_closed"


def test_wuming_3_months_run_from_birth_even_when_the_hukou_came_later() -> None:
    newborn = {"birth_date": "2018-06-15", "event": {"kind": "newborn", "date": "2018-07-10"}}
    assert str(quote_for("wuming-2018", "2018-09-15", **newborn).coverage_start) == "2018-06-15"
    assert not quote_for("wuming-2018", "2018-09-16", **newborn).eligible


def test_wuming_has_no_status_change_window_in_the_closed_months() -> None:
    q = quote_for(
        "wuming-2018",
        "2018-08-01",
        birth_date="1990-05-05",
        event={"kind": "hukou_move_in", "date": "2018-07-20"},
    )
    assert q.refusal is not None and q.refusal.code == "window_closed"


# The first day of a window


@pytest.mark.parametrize(
    ("preset", "first_day", "day_before", "start"),
    [
        ("songming-2016", "2015-09-21", "2015-09-20", "2016-01-01"),
        ("wuming-2018", "2017-09-01", "2017-08-31", "2018-01-01"),
        ("chuxiong-2021", "2020-09-01", "2020-08-31", "2021-01-01"),
        ("dazhu-2022", "2021-09-01", "2021-08-31", "2022-01-01"),
    ],
)
def test_the_concentrated_period_opens_on_its_first_day(
    preset: str, first_day: str, day_before: str, start: str
) -> None:
    assert str(quote_for(preset, first_day).coverage_start) == start
    before = quote_for(preset, day_before)
    assert before.refusal is not None and before.refusal.code == "window_closed"


def test_wuming_late_window_opens_on_1_january_and_covers_from_february() -> None:
    q = quote_for("wuming-2018", "2018-01-01")
    assert str(q.coverage_start) == "2018-02-01" and q.payable_fen == 18000


def test_wuming_needy_groups_window_opens_on_1_july() -> None:
    q = quote_for("wuming-2018", "2018-07-01", categories=["registered_poor"])
    assert str(q.coverage_start) == "2018-08-01"


def test_daligang_extension_opens_on_1_january_for_individual_enrollees() -> None:
    q = quote_for("daligang-2020", "2020-01-01", by_household=False)
    assert str(q.coverage_start) == "2020-02-01"


# Enrollment unit left to the policy


def test_daligang_enrolls_by_household_unless_told_otherwise() -> None:
    assert str(quote_for("daligang-2020", "2020-02-15").coverage_start) == "2020-01-01"


def test_songming_rural_households_are_the_default_and_close_on_25_october() -> None:
    assert str(quote_for("songming-2016", "2015-10-25").coverage_start) == "2016-01-01"
    late = quote_for("songming-2016", "2015-10-26")
    assert late.refusal is not None and late.refusal.code == "window_closed"


# Ties, newborns of other years, the end of the coverage year


def test_chuxiong_a_baby_of_enrolled_parents_paying_in_february_pays_nothing() -> None:
    """The concentrated period and the newborn rule both cover from birth: the free one wins."""
    q = quote_for(
        "chuxiong-2021",
        "2021-02-10",
        birth_date="2021-01-10",
        parents_enrolled=True,
        event={"kind": "newborn", "date": "2021-01-20"},
    )
    assert str(q.coverage_start) == "2021-01-10"
    assert (q.personal_fen, q.subsidy_fen, q.payable_fen) == (0, 0, 0)
    assert q.rule is not None and q.rule.name == "新生儿落户后90天内参保"


def test_chuxiong_a_baby_of_enrolled_parents_with_a_subsidy_still_pays_nothing() -> None:
    q = quote_for(
        "chuxiong-2021",
        "2021-02-10",
        birth_date="2021-01-10",
        categories=["only_child"],
        parents_enrolled=True,
        event={"kind": "newborn", "date": "2021-01-20"},
    )
    assert (q.payable_fen, q.subsidies, q.pending) == (0, (), ())


def test_chuxiong_a_baby_of_parents_not_enrolled_pays_280_yuan_from_birth() -> None:
    q = quote_for(
        "chuxiong-2021",
        "2021-02-10",
        birth_date="2021-01-10",
        event={"kind": "newborn", "date": "2021-01-20"},
    )
    assert str(q.coverage_start) == "2021-01-10" and q.payable_fen == 28000


def test_chuxiong_newborn_rules_are_for_children_born_in_2021() -> None:
    """当年出生的新生儿: a child born in 2020 had the concentrated period, which closed 28 Feb."""
    born_2020 = {"birth_date": "2020-12-20", "event": {"kind": "newborn", "date": "2021-01-05"}}
    assert str(quote_for("chuxiong-2021", "2021-02-28", **born_2020).coverage_start) == "2021-01-01"
    within_90_days = quote_for("chuxiong-2021", "2021-03-20", parents_enrolled=True, **born_2020)
    assert within_90_days.refusal is not None
    assert within_90_days.refusal.code == "window_closed"
    born_october = {"birth_date": "2020-10-01", "event": {"kind": "newborn", "date": "2020-10-10"}}
    later = quote_for("chuxiong-2021", "2021-05-01", **born_october)
    assert later.refusal is not None and later.refusal.code == "window_closed"


def test_wuming_a_child_born_in_2017_pays_as_a_late_payer_not_as_a_newborn() -> None:
    q = quote_for("wuming-2018", "2018-02-10", birth_date="2017-11-15")  # within 3 months
    assert str(q.coverage_start) == "2018-03-01"


def test_wuming_a_child_born_on_31_december_is_covered_for_that_day() -> None:
    q = quote_for("wuming-2018", "2018-12-31", birth_date="2018-12-31")
    assert (str(q.coverage_start), str(q.coverage_end)) == ("2018-12-31", "2018-12-31")
    after_new_year = quote_for("wuming-2018", "2019-01-10", birth_date="2018-12-31")
    assert str(after_new_year.coverage_start) == "2018-12-31"


def test_chuxiong_a_graduate_paying_in_december_would_be_covered_next_year_and_is_refused() -> None:
    q = quote_for("chuxiong-2021", "2021-12-20", event={"kind": "graduate", "date": "2021-12-01"})
    assert q.refusal is not None and q.refusal.code == "window_closed"
    november = quote_for(
        "chuxiong-2021", "2021-11-30", event={"kind": "graduate", "date": "2021-11-01"}
    )
    assert str(november.coverage_start) == "2021-12-01"


def test_the_cheaper_of_two_rules_covering_from_the_same_day_wins_wherever_it_is_listed() -> None:
    """Daligang with its 60-day full-price rule listed first: a status change in December is
    paid at the ordinary price of the concentrated period, both covering from 1 January."""
    text = (resources.files("canbao.policy") / "presets" / "daligang-2020.toml").read_text("utf-8")
    data = tomllib.loads(text)
    data["enrollment"].insert(0, data["enrollment"].pop())
    policy = parse_policy(data, "daligang-reordered")
    facts = Facts.model_validate({"event": {"kind": "hukou_move_in", "date": "2019-12-01"}})
    q = quote(policy, facts, date(2019, 12, 20))
    assert q.rule is not None and q.rule.name == "集中缴费期"
    assert q.payable_fen == 25000 and str(q.coverage_start) == "2020-01-01"


def test_of_two_rules_alike_the_first_listed_wins() -> None:
    """Born 10 December 2019, paid on the 20th: both rules cover from 1 January at 250 yuan."""
    q = quote_for("daligang-2020", "2019-12-20", birth_date="2019-12-10")
    assert q.rule is not None and q.rule.name == "集中缴费期"
    assert "适用：集中缴费期" in q.explain and str(q.coverage_start) == "2020-01-01"
