"""The policy's key of the facts: two residents with equal keys get equal quotes on any day a
rule accepts payment, under every preset (so callers may quote each class once)."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from canbao.policy.keys import QuoteKeys, birth_matters_from
from canbao.policy.loader import load_preset, preset_ids
from canbao.policy.quote import Facts, quote

POLICIES = {p: load_preset(p) for p in preset_ids()}
CATEGORIES = ["extreme_poverty", "rural_dibao", "only_child", "registered_poor", "disabled_3_4"]


def first_and_last_day(preset: str) -> tuple[date, date]:
    policy = POLICIES[preset]
    return birth_matters_from(policy), date(policy.coverage_year, 12, 31)


@settings(max_examples=300, deadline=None)
@given(
    preset=st.sampled_from(sorted(POLICIES)),
    births=st.tuples(st.dates(date(1930, 1, 1), date(2022, 12, 31)), st.integers(1, 3000)),
    categories=st.lists(st.sampled_from(CATEGORIES), unique=True, max_size=2),
    offset=st.integers(0, 900),
)
def test_residents_of_equal_keys_get_equal_quotes(
    preset: str, births: tuple[date, int], categories: list[str], offset: int
) -> None:
    policy = POLICIES[preset]
    keys = QuoteKeys(policy)
    one = Facts(birth_date=births[0], categories=categories)  # type: ignore[arg-type]
    other = Facts(
        birth_date=births[0] - timedelta(days=births[1]),
        categories=categories,  # type: ignore[arg-type]
    )
    first, last = first_and_last_day(preset)
    # Any day a rule may accept payment, and days just after either birth (newborn windows).
    days = {first + timedelta(days=offset)}
    days |= {b + timedelta(days=offset % 120) for b in (one.birth_date, other.birth_date) if b}
    if keys.of(one) == keys.of(other):
        for day in sorted(d for d in days if first <= d <= last):
            assert quote(policy, one, day).as_json() == quote(policy, other, day).as_json()


def test_the_young_and_the_age_limited_keep_their_birth_date() -> None:
    policy = POLICIES["daligang-2020"]
    keys = QuoteKeys(policy)
    assert keys.birth(date(1980, 5, 17), []) is None
    assert keys.birth(date(2019, 11, 2), []) == date(2019, 11, 2)  # a newborn window may apply
    # Daligang's only children count from 4 to 14 years: the birth date decides the subsidy.
    assert keys.birth(date(2010, 3, 1), ["only_child"]) == date(2010, 3, 1)
