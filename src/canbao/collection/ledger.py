"""The ledger: each (campaign, resident)'s position, derived from the payments, and the accounting
equation, checked in one place.

A position is what one resident owes and what became of their money: due (the payable amount
and each funder's share), received (every amount that came in), reversed, paid by the person and
per funder (net of reversals), enrolled, and held with the reasons. Every reader of money (the
suspense list, withholding, four-match, bills, progress) reads positions, in Python through
``positions`` or in SQL through ``POSITIONS_SQL``, ``FUNDER_PAID_SQL`` and ``person_paid_sql``;
none adds payments up on its own.

The accounting equation: fen received = fen enrolled + fen held + fen reversed, for every
resident, for every payment whose person is unknown, and in total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import connection

from canbao.campaigns.models import Assessment, AssessmentShare, Campaign
from canbao.collection.closing import closed_days_off_the_ledger
from canbao.collection.models import Channel, Enrollment, Payment, Suspense
from canbao.registry.models import Resident

__all__ = [
    "FUNDER_PAID_SQL",
    "POSITIONS_SQL",
    "LedgerCheck",
    "Position",
    "check_ledger",
    "person_paid_sql",
    "position_params",
    "positions",
    "resident_statement",
]

# One row per resident who has an assessment, a payment, an enrollment or a hold in the
# campaign: what is due, what came in and what became of it. Parameters: position_params().
POSITIONS_SQL = """
SELECT x.resident_id,
       a.payable_fen AS due_fen,
       a.subsidy_fen AS subsidy_fen,
       COALESCE(m.received_fen, 0) AS received_fen,
       COALESCE(m.reversed_fen, 0) AS reversed_fen,
       COALESCE(m.person_fen, 0) AS person_fen,
       COALESCE(m.proxy_fen, 0) AS proxy_fen,
       COALESCE(e.paid_fen, 0) AS enrolled_fen,
       COALESCE(h.held_fen, 0) AS held_fen,
       e.id IS NOT NULL AS enrolled
FROM (
    SELECT resident_id FROM campaigns_assessment WHERE campaign_id = %(ledger_campaign)s
    UNION SELECT resident_id FROM collection_payment
          WHERE campaign_id = %(ledger_campaign)s AND resident_id IS NOT NULL
    UNION SELECT resident_id FROM collection_enrollment WHERE campaign_id = %(ledger_campaign)s
    UNION SELECT resident_id FROM collection_suspense
          WHERE campaign_id = %(ledger_campaign)s AND resident_id IS NOT NULL
) x
LEFT JOIN campaigns_assessment a
  ON a.campaign_id = %(ledger_campaign)s AND a.resident_id = x.resident_id
LEFT JOIN (
    SELECT resident_id,
           SUM(CASE WHEN amount_fen > 0 THEN amount_fen ELSE 0 END) AS received_fen,
           -SUM(CASE WHEN amount_fen < 0 THEN amount_fen ELSE 0 END) AS reversed_fen,
           SUM(CASE WHEN channel <> %(ledger_proxy)s THEN amount_fen ELSE 0 END) AS person_fen,
           SUM(CASE WHEN channel = %(ledger_proxy)s THEN amount_fen ELSE 0 END) AS proxy_fen
    FROM collection_payment
    WHERE campaign_id = %(ledger_campaign)s AND resident_id IS NOT NULL
    GROUP BY resident_id
) m ON m.resident_id = x.resident_id
LEFT JOIN collection_enrollment e
  ON e.campaign_id = %(ledger_campaign)s AND e.resident_id = x.resident_id
LEFT JOIN (
    SELECT resident_id, SUM(amount_fen) AS held_fen FROM collection_suspense
    WHERE campaign_id = %(ledger_campaign)s AND resident_id IS NOT NULL AND resolved_at IS NULL
    GROUP BY resident_id
) h ON h.resident_id = x.resident_id
"""


# What each resident's departments have paid, per funder, net of reversals.
FUNDER_PAID_SQL = """
SELECT resident_id, funder, SUM(amount_fen) AS fen FROM collection_payment
WHERE campaign_id = %(ledger_campaign)s AND channel = %(ledger_proxy)s AND resident_id IS NOT NULL
GROUP BY resident_id, funder
"""


def person_paid_sql(resident: str) -> str:
    """What one resident (an SQL expression for the id) has paid in person in the campaign, net
    of reversals: the position's ``person_fen`` for a reader that looks up a few residents."""
    return f"""COALESCE((SELECT SUM(lp.amount_fen) FROM collection_payment lp
        WHERE lp.campaign_id = %(ledger_campaign)s AND lp.resident_id = {resident}
          AND lp.channel <> %(ledger_proxy)s), 0)"""


def position_params(campaign: Campaign) -> dict[str, Any]:
    """The parameters POSITIONS_SQL names (to merge into a reader's own)."""
    return {"ledger_campaign": campaign.pk, "ledger_proxy": Channel.PROXY.value}


@dataclass(frozen=True)
class Held:
    reason: str
    reason_label: str
    fen: int
    message: str


@dataclass
class Position:
    """One resident's position in a campaign, in fen."""

    resident_id: int
    due_fen: int | None = None
    subsidy_fen: int | None = None
    shares: dict[str, int] = field(default_factory=dict)
    received_fen: int = 0
    reversed_fen: int = 0
    person_fen: int = 0
    by_funder: dict[str, int] = field(default_factory=dict)
    enrolled_fen: int = 0
    enrolled_on: date | None = None
    coverage_start: date | None = None
    coverage_end: date | None = None
    held: list[Held] = field(default_factory=list)

    @property
    def held_fen(self) -> int:
        return sum(h.fen for h in self.held)

    @property
    def enrolled(self) -> bool:
        return self.enrolled_on is not None

    @property
    def balanced(self) -> bool:
        return self.received_fen == self.enrolled_fen + self.held_fen + self.reversed_fen

    def as_json(self) -> dict[str, Any]:
        return {
            "due_fen": self.due_fen,
            "subsidy_fen": self.subsidy_fen,
            "shares": [{"funder": f, "fen": fen} for f, fen in sorted(self.shares.items())],
            "received_fen": self.received_fen,
            "reversed_fen": self.reversed_fen,
            "person_fen": self.person_fen,
            "by_funder": [{"funder": f, "fen": fen} for f, fen in sorted(self.by_funder.items())],
            "enrolled": self.enrolled,
            "enrolled_fen": self.enrolled_fen,
            "enrolled_on": _iso(self.enrolled_on),
            "coverage_start": _iso(self.coverage_start),
            "coverage_end": _iso(self.coverage_end),
            "held_fen": self.held_fen,
            "held": [
                {
                    "reason": h.reason,
                    "reason_label": h.reason_label,
                    "fen": h.fen,
                    "message": h.message,
                }
                for h in self.held
            ],
            "balanced": self.balanced,
        }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def positions(*, campaign: Campaign, resident_ids: Sequence[int]) -> dict[int, Position]:
    """The positions of these residents (an empty position for one without any record)."""
    ids = sorted(set(resident_ids))
    found = {r: Position(resident_id=r) for r in ids}
    for start in range(0, len(ids), 5_000):
        chunk = ids[start : start + 5_000]
        _read_chunk(campaign, chunk, found)
    return found


def _read_chunk(campaign: Campaign, ids: list[int], found: dict[int, Position]) -> None:
    for resident_id, payable, subsidy in Assessment.objects.filter(
        campaign=campaign, resident_id__in=ids
    ).values_list("resident_id", "payable_fen", "subsidy_fen"):
        found[resident_id].due_fen, found[resident_id].subsidy_fen = payable, subsidy
    for resident_id, funder, fen in AssessmentShare.objects.filter(
        assessment__campaign=campaign, assessment__resident_id__in=ids
    ).values_list("assessment__resident_id", "funder", "fen"):
        found[resident_id].shares[funder] = fen
    for resident_id, channel, funder, amount in Payment.objects.filter(
        campaign=campaign, resident_id__in=ids
    ).values_list("resident_id", "channel", "funder", "amount_fen"):
        assert resident_id is not None
        p = found[resident_id]
        if amount > 0:
            p.received_fen += amount
        else:
            p.reversed_fen -= amount
        if channel == Channel.PROXY:
            p.by_funder[funder] = p.by_funder.get(funder, 0) + amount
        else:
            p.person_fen += amount
    for resident_id, fen, on, start, end in Enrollment.objects.filter(
        campaign=campaign, resident_id__in=ids
    ).values_list("resident_id", "paid_fen", "enrolled_on", "coverage_start", "coverage_end"):
        p = found[resident_id]
        p.enrolled_fen, p.enrolled_on, p.coverage_start, p.coverage_end = fen, on, start, end
    labels = dict(Suspense.Reason.choices)
    for resident_id, reason, fen, message in (
        Suspense.objects.filter(campaign=campaign, resident_id__in=ids, resolved_at__isnull=True)
        .order_by("pk")
        .values_list("resident_id", "reason", "amount_fen", "message")
    ):
        assert resident_id is not None
        found[resident_id].held.append(Held(reason, labels[reason], fen, message))


def resident_statement(*, campaign: Campaign, resident: Resident) -> dict[str, Any]:
    """A resident's position with the payments behind it, as ``payments position`` shows it."""
    position = positions(campaign=campaign, resident_ids=[resident.pk])[resident.pk]
    payments = Payment.objects.filter(campaign=campaign, resident=resident).order_by(
        "paid_on", "pk"
    )
    return {
        "campaign": campaign.pk,
        "resident": {"id_number": resident.id_number, "name": resident.name},
        "position": position.as_json(),
        "payments": [
            {
                "channel": p.channel,
                "channel_label": p.get_channel_display(),
                "key": p.key,
                "paid_on": p.paid_on.isoformat(),
                "amount_fen": p.amount_fen,
                "funder": p.funder,
                "reversal": p.reverses_id is not None,
            }
            for p in payments
        ],
    }


# --- the accounting equation -----------------------------------------------------------------

# Payments whose person the registry does not know: each original with its reversal, against
# the amount held for it.
_UNKNOWN_SQL = """
SELECT m.payment_id, m.id_number, m.name, m.received_fen, m.reversed_fen,
       COALESCE(h.held_fen, 0)
FROM (
    SELECT COALESCE(reverses_id, id) AS payment_id, MAX(id_number) AS id_number,
           MAX(name) AS name,
           SUM(CASE WHEN amount_fen > 0 THEN amount_fen ELSE 0 END) AS received_fen,
           -SUM(CASE WHEN amount_fen < 0 THEN amount_fen ELSE 0 END) AS reversed_fen
    FROM collection_payment WHERE campaign_id = %(ledger_campaign)s AND resident_id IS NULL
    GROUP BY COALESCE(reverses_id, id)
) m
LEFT JOIN (
    SELECT payment_id, SUM(amount_fen) AS held_fen FROM collection_suspense
    WHERE campaign_id = %(ledger_campaign)s AND resident_id IS NULL AND resolved_at IS NULL
    GROUP BY payment_id
) h ON h.payment_id = m.payment_id
"""


@dataclass
class LedgerCheck:
    """The accounting equation of one campaign, in total and per resident or unknown payment."""

    campaign: int
    received_fen: int = 0
    enrolled_fen: int = 0
    held_fen: int = 0
    reversed_fen: int = 0
    residents: int = 0
    unknown_payments: int = 0
    # Each resident (or unknown payment) whose money does not add up.
    unbalanced: list[dict[str, Any]] = field(default_factory=list)
    # Closed reconciliation days whose figures no longer agree with the payments.
    closed_days: list[dict[str, Any]] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        total = self.enrolled_fen + self.held_fen + self.reversed_fen
        return self.received_fen == total and not self.unbalanced and not self.closed_days

    def as_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "balanced": self.balanced,
            "received_fen": self.received_fen,
            "enrolled_fen": self.enrolled_fen,
            "held_fen": self.held_fen,
            "reversed_fen": self.reversed_fen,
            "residents": self.residents,
            "unknown_payments": self.unknown_payments,
            "unbalanced": self.unbalanced,
            "closed_days": self.closed_days,
        }


def check_ledger(campaign: Campaign) -> LedgerCheck:
    """Check fen received = fen enrolled + fen held + fen reversed for the campaign: for every
    resident, every payment of an unknown person, and in total; and that every closed
    reconciliation day still agrees with the payments. Reads only."""
    check = LedgerCheck(campaign=campaign.pk)
    params = position_params(campaign)
    residents: list[tuple[int, int, int, int, int]] = []
    unknown: list[dict[str, Any]] = []
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT resident_id, received_fen, enrolled_fen, held_fen, reversed_fen
            FROM ({POSITIONS_SQL}) p
            WHERE received_fen <> 0 OR enrolled_fen <> 0 OR held_fen <> 0
            ORDER BY resident_id""",
            params,
        )
        for resident_id, *money in cursor.fetchall():
            received, enrolled, held, reversed_ = map(int, money)  # numeric on PostgreSQL
            check.residents += 1
            check.received_fen += received
            check.enrolled_fen += enrolled
            check.held_fen += held
            check.reversed_fen += reversed_
            if received != enrolled + held + reversed_:
                residents.append((resident_id, received, enrolled, held, reversed_))
        cursor.execute(_UNKNOWN_SQL + " ORDER BY m.payment_id", params)
        for payment_id, id_number, name, *money in cursor.fetchall():
            received, reversed_, held = map(int, money)
            check.unknown_payments += 1
            check.received_fen += received
            check.held_fen += held
            check.reversed_fen += reversed_
            if received != held + reversed_:
                unknown.append(
                    _line(None, payment_id, id_number, name, received, 0, held, reversed_)
                )
    names = dict(
        (pk, (id_number, name))
        for pk, id_number, name in Resident.objects.filter(
            pk__in=[row[0] for row in residents]
        ).values_list("pk", "id_number", "name")
    )
    check.unbalanced = [
        _line(resident_id, None, *names[resident_id], received, enrolled, held, reversed_)
        for resident_id, received, enrolled, held, reversed_ in residents
    ] + unknown
    check.closed_days = closed_days_off_the_ledger(campaign)
    return check


def _line(
    resident_id: int | None,
    payment_id: int | None,
    id_number: str,
    name: str,
    received: int,
    enrolled: int,
    held: int,
    reversed_: int,
) -> dict[str, Any]:
    return {
        "resident": resident_id,
        "payment": payment_id,
        "id_number": id_number,
        "name": name,
        "received_fen": received,
        "enrolled_fen": enrolled,
        "held_fen": held,
        "reversed_fen": reversed_,
        "difference_fen": received - enrolled - held - reversed_,
    }
