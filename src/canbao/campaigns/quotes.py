"""What the registry knows of a resident as the policy engine's facts, and the policy's quotes
for them, memoized by the policy's own key (``canbao.policy.keys.QuoteKeys``): the assessment
and the settlement of payments quote each class of residents once, not each resident."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from canbao.policy.keys import QuoteKeys
from canbao.policy.quote import Facts, Quote, quote
from canbao.policy.schema import Policy

__all__ = ["DOCUMENT_OF_ID_TYPE", "QuoteBook", "ResidentQuotes", "facts_of"]

# Residents without a mainland ID card enroll under the document they hold.
DOCUMENT_OF_ID_TYPE = {
    "resident_id": "id_card",
    "hk_macau_permit": "hk_macau_permit",
    "taiwan_permit": "taiwan_permit",
    "foreign_permanent_residence": "foreign_permanent_residence",
    "hk_macau_residence_permit": "residence_permit",
    "taiwan_residence_permit": "residence_permit",
}


def facts_of(
    *,
    birth_date: date | None,
    categories: list[str],
    employee_insured: bool,
    insured_elsewhere: bool,
    id_type: str,
    by_household: bool | None = None,
) -> Facts:
    """What the registry knows of a resident, as the policy engine's facts. Residents with a
    mainland ID card are the area's hukou residents; others enroll under their document."""
    document = DOCUMENT_OF_ID_TYPE[id_type]
    return Facts(
        birth_date=birth_date,
        categories=categories,
        employee_insured=employee_insured,
        insured_elsewhere=insured_elsewhere,
        by_household=by_household,
        hukou_local=document == "id_card",
        document=document,
    )


@dataclass(frozen=True)
class ResidentQuotes:
    """A resident's class (``key``) and the policy's quote for it on a given day (``at``)."""

    key: tuple[Any, ...]
    at: Callable[[date], Quote]


class QuoteBook:
    """The policy's quotes for the registry's residents, memoized by class and day."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.keys = QuoteKeys(policy)
        self.quotes: dict[tuple[Any, ...], Quote] = {}

    def resident(
        self,
        *,
        birth_date: date | None,
        categories: list[str],
        employee_insured: bool,
        insured_elsewhere: bool,
        id_type: str,
    ) -> ResidentQuotes:
        # The registry's facts reduced as the policy's key reduces them: Facts, a validated
        # model, is built once per class and day, when its quote is missing.
        held = tuple(sorted(categories))
        key = (
            self.keys.birth(birth_date, held),
            held,
            employee_insured,
            insured_elsewhere,
            id_type,
        )

        def at(day: date) -> Quote:
            found = self.quotes.get((key, day))
            if found is None:
                facts = facts_of(
                    birth_date=birth_date,
                    categories=list(held),
                    employee_insured=employee_insured,
                    insured_elsewhere=insured_elsewhere,
                    id_type=id_type,
                )
                found = self.quotes[(key, day)] = quote(self.policy, facts, day)
            return found

        return ResidentQuotes(key, at)
