"""Reads of the money: the suspense list, enrollment counts by village or township, money totals
by day and channel. ``within`` (a division) narrows each read to a township or village."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from django.db.models import Count, Q, QuerySet, Sum

from canbao.campaigns.models import Campaign
from canbao.collection.ledger import check_ledger
from canbao.collection.models import Enrollment, Payment, Suspense
from canbao.regions.models import Division

__all__ = ["enrollment_counts", "money_summary", "money_totals", "suspense_list"]


def suspense_list(
    *,
    campaign: Campaign,
    open_only: bool = True,
    reason: str | None = None,
    within: Division | None = None,
) -> list[dict[str, Any]]:
    """Held amounts, oldest first: the reason, the amount, whose it is (the resident, or for an
    unknown person the payment as the channel reported it) and the resident's village."""
    rows: QuerySet[Suspense] = Suspense.objects.filter(campaign=campaign)
    if open_only:
        rows = rows.filter(resolved_at__isnull=True)
    if reason:
        rows = rows.filter(reason=reason)
    if within is not None:
        rows = rows.filter(resident__village__code__startswith=within.code)
    result = []
    for item in rows.select_related("resident__village", "payment").order_by("created_at", "pk"):
        resident, payment = item.resident, item.payment
        # An unknown person's hold names the payment; a resident's, the resident.
        whose: Any = resident if resident is not None else payment
        result.append(
            {
                "id": item.pk,
                "reason": item.reason,
                "reason_label": item.get_reason_display(),
                "message": item.message,
                "amount_fen": item.amount_fen,
                "resident": item.resident_id,
                "id_number": whose.id_number,
                "name": whose.name,
                "village": resident.village.code if resident else None,
                "village_name": resident.village.name if resident else None,
                "payment": None
                if payment is None
                else {
                    "channel": payment.channel,
                    "key": payment.key,
                    "paid_on": payment.paid_on.isoformat(),
                    "amount_fen": payment.amount_fen,
                    "funder": payment.funder,
                },
                "created_at": item.created_at.isoformat(),
                "resolved_at": item.resolved_at.isoformat() if item.resolved_at else None,
                "resolution": item.resolution,
            }
        )
    return result


def enrollment_counts(
    *,
    campaign: Campaign,
    level: Literal["village", "township"] = "village",
    within: Division | None = None,
) -> list[dict[str, Any]]:
    """Enrolled residents and their money per village (or township), by division code."""
    path = "resident__village" if level == "village" else "resident__village__parent"
    rows = Enrollment.objects.filter(campaign=campaign)
    if within is not None:
        rows = rows.filter(resident__village__code__startswith=within.code)
    return [
        {"code": code, "name": name, "enrolled": enrolled, "paid_fen": int(paid or 0)}
        for code, name, enrolled, paid in rows.values_list(f"{path}__code", f"{path}__name")
        .annotate(enrolled=Count("pk"), paid=Sum("paid_fen"))
        .order_by(f"{path}__code")
    ]


def money_totals(
    *, campaign: Campaign, day: date | None = None, channel: str | None = None
) -> list[dict[str, Any]]:
    """Per day and channel: payments received (count, fen), reversals (count, fen, negative) and
    the net, as recorded. Reversals count on the day they were made."""
    rows = Payment.objects.filter(campaign=campaign)
    if day is not None:
        rows = rows.filter(paid_on=day)
    if channel is not None:
        rows = rows.filter(channel=channel)
    received = Q(amount_fen__gt=0)
    return [
        {
            "day": paid_on.isoformat(),
            "channel": kind,
            "count": count,
            "received_fen": int(received_fen or 0),
            "reversals": reversals,
            "reversed_fen": int(reversed_fen or 0),
            "net_fen": int(received_fen or 0) + int(reversed_fen or 0),
        }
        for paid_on, kind, count, received_fen, reversals, reversed_fen in rows.values_list(
            "paid_on", "channel"
        )
        .annotate(
            count=Count("pk", filter=received),
            received_fen=Sum("amount_fen", filter=received),
            reversals=Count("pk", filter=~received),
            reversed_fen=Sum("amount_fen", filter=~received),
        )
        .order_by("paid_on", "channel")
    ]


def money_summary(*, campaign: Campaign) -> dict[str, int]:
    """The campaign's money in one line, from the ledger: received, reversed, net, enrolled (count
    and fen) and held (open holds and fen)."""
    check = check_ledger(campaign)
    return {
        "received_fen": check.received_fen,
        "reversed_fen": check.reversed_fen,
        "net_fen": check.received_fen - check.reversed_fen,
        "enrolled": Enrollment.objects.filter(campaign=campaign).count(),
        "enrolled_fen": check.enrolled_fen,
        "suspense": Suspense.objects.filter(campaign=campaign, resolved_at__isnull=True).count(),
        "suspense_fen": check.held_fen,
    }
