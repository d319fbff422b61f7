"""Which facts a quote depends on, so that callers quoting many residents quote each class once.

Most residents of a county share their quote: the birth date changes it only for a person
young enough that a newborn window or a coverage start at birth can still apply, or for a
holder of a category with an age limit. The policy knows both, so the key is the policy's.
"""

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from canbao.policy.quote import Facts
from canbao.policy.schema import Policy

__all__ = ["QuoteKeys", "birth_matters_from"]


def birth_matters_from(policy: Policy) -> date:
    """Residents born before this day have the quote of everyone with their other facts
    (unless they hold an age-limited category): no window counted from birth is open on any
    day from the first a rule accepts payment, and they were not born in the coverage year."""
    first_day = min(
        (r.paid_from for r in policy.enrollment if r.paid_from is not None),
        default=date(policy.coverage_year - 1, 1, 1),
    )
    longest = max(
        (
            (r.within_days or 0) + 31 * (r.within_months or 0)
            for r in policy.enrollment
            if "newborn" in r.events
        ),
        default=0,
    )
    return min(first_day - timedelta(days=longest + 1), date(policy.coverage_year, 1, 1))


class QuoteKeys:
    """The policy's key of the facts, worked out once per policy: callers that cache on a
    registry's raw facts reduce the birth date with ``birth`` and build Facts only on a miss."""

    def __init__(self, policy: Policy) -> None:
        self.cutoff = birth_matters_from(policy)
        self.aged = policy.identity.aged_categories()

    def birth(self, birth_date: date | None, categories: Iterable[str]) -> date | None:
        """The birth date as far as the quote depends on it (None: it does not)."""
        if birth_date is None or birth_date >= self.cutoff or self.aged.intersection(categories):
            return birth_date
        return None

    def of(self, facts: Facts) -> tuple[Any, ...]:
        """A key equal for two sets of facts exactly when they get the same quote on any day."""
        return (
            self.birth(facts.birth_date, facts.categories),
            tuple(sorted(facts.categories)),
            facts.employee_insured,
            facts.insured_elsewhere,
            facts.by_household,
            facts.parents_enrolled,
            facts.hukou_local,
            facts.document,
            (facts.event.kind, facts.event.date) if facts.event is not None else None,
            facts.years_lapsed,
            facts.years_repaid,
        )
