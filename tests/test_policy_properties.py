"""Properties of identity resolution and quotes that hold for any resident of any preset."""

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from canbao.policy.codes import CATEGORY_NAMES
from canbao.policy.identity import subsidy_shares
from canbao.policy.loader import load_preset, preset_ids
from canbao.policy.quote import Event, Facts, quote
from canbao.policy.schema import FunderShare, Subsidy

POLICIES = {preset: load_preset(preset) for preset in preset_ids()}
CODES = sorted(CATEGORY_NAMES)

events = st.builds(
    Event,
    kind=st.sampled_from(["newborn", "hukou_move_in", "graduate", "demobilized"]),
    date=st.dates(date(2015, 1, 1), date(2022, 12, 31)),
)


@st.composite
def facts(draw: st.DrawFn) -> Facts:
    birth_date = draw(st.one_of(st.none(), st.dates(date(1930, 1, 1), date(2022, 12, 31))))
    event = draw(st.one_of(st.none(), events))
    if birth_date is None and event is not None and event.kind == "newborn":
        event = None
    return Facts(
        birth_date=birth_date,
        categories=draw(st.lists(st.sampled_from(CODES), unique=True, max_size=5)),
        by_household=draw(st.one_of(st.none(), st.booleans())),
        parents_enrolled=draw(st.booleans()),
        event=event,
    )


paid_days = st.dates(date(2015, 6, 1), date(2022, 12, 31))


@given(preset=st.sampled_from(sorted(POLICIES)), person=facts(), paid_on=paid_days)
def test_payable_plus_subsidies_is_the_personal_due_and_nothing_is_negative(
    preset: str, person: Facts, paid_on: date
) -> None:
    q = quote(POLICIES[preset], person, paid_on)
    if not q.eligible:
        assert q.payable_fen is None and q.coverage_start is None
        return
    assert all(share.fen > 0 for share in q.subsidies)
    if q.payable_fen is not None:
        assert q.personal_fen is not None and q.subsidy_fen is not None
        assert q.payable_fen + q.subsidy_fen == q.personal_fen
        assert sum(share.fen for share in q.subsidies) == q.subsidy_fen
        assert q.payable_fen >= 0
    else:
        assert q.pending, "an unknown amount must say what is pending"
    if q.coverage_start is not None:
        year = POLICIES[preset].coverage_year
        assert date(year, 1, 1) <= q.coverage_start <= date(year, 12, 31)
        assert person.birth_date is None or q.coverage_start >= person.birth_date


@given(preset=st.sampled_from(sorted(POLICIES)), person=facts())
def test_a_person_is_never_subsidised_twice(preset: str, person: Facts) -> None:
    """Every share comes from the one category that decided the attribute."""
    policy = POLICIES[preset]
    concentrated = next(rule for rule in policy.enrollment if rule.concentrated)
    assert concentrated.paid_until is not None
    q = quote(policy, person.model_copy(update={"event": None}), concentrated.paid_until)
    if not q.subsidies:
        return
    deciders = [
        c
        for c in policy.identity.categories
        if c.subsidy
        and not c.subsidy.pending
        and subsidy_shares(c.subsidy, policy.contribution.personal_fen) == q.subsidies
        and c.code in person.categories
    ]
    assert deciders, f"{q.subsidies} is not the subsidy of one category held"
    assert sum(share.fen for share in q.subsidies) <= policy.contribution.personal_fen


@given(categories=st.lists(st.sampled_from(CODES), unique=True, min_size=1, max_size=6))
def test_priority_mode_marks_the_first_held_category_of_the_table(categories: list[str]) -> None:
    policy = POLICIES["daligang-2020"]
    q = quote(policy, Facts(categories=categories, birth_date=date(2010, 6, 1)), date(2019, 11, 1))
    order = [c for c in policy.identity.categories if c.code in categories]
    if not order:
        assert q.attribute == policy.identity.ordinary_label
        return
    first = order[0]
    poor = "registered_poor" in categories
    expected = (
        (first.poor_label if poor and first.poor_label else None)
        or first.label
        or (CATEGORY_NAMES[first.code])
    )
    assert q.attribute == expected


@given(categories=st.lists(st.sampled_from(CODES), unique=True, min_size=1, max_size=6))
def test_highest_mode_pays_the_largest_subsidy_held(categories: list[str]) -> None:
    policy = POLICIES["chuxiong-2021"]
    q = quote(policy, Facts(categories=[*categories, "rural_dibao"]), date(2020, 10, 1))
    known = [
        c.subsidy.fen
        for c in policy.identity.categories
        if c.code in q.categories
        and c.subsidy
        and c.subsidy.fen is not None
        and not (c.requires_any and not set(c.requires_any) & set(q.categories))
    ]
    expected = max(known)
    assert sum(share.fen for share in q.subsidies) == expected


@given(
    personal=st.integers(1, 10_000_00),
    percent=st.integers(1, 100),
    first=st.integers(0, 100),
)
def test_a_split_subsidy_keeps_its_sum(personal: int, percent: int, first: int) -> None:
    from decimal import Decimal

    first = min(first, percent)
    shares = [
        FunderShare(funder="medical_assistance", percent=Decimal(first) or None),
        FunderShare(funder="county_finance"),
    ]
    if first == 0:
        shares = shares[1:]
    subsidy = Subsidy(percent=Decimal(percent), funders=shares)
    split = subsidy_shares(subsidy, personal)
    total = sum(share.fen for share in split)
    assert total == (personal * percent * 2 + 100) // 200  # half up, in integers
    assert all(share.fen > 0 for share in split)
