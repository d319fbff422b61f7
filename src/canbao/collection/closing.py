"""Closing a reconciled day, and reopening one with a reason.

A day closes only when every difference is explained and the tax payments recorded for it have
not changed since it was reconciled. A closed day's payments are neither recorded nor reversed
(``canbao.collection.services`` refuses them) until the day is reopened, visibly, with a reason
kept in the audit; ``closed_days_off_the_ledger`` lets the ledger check that no closed day's
figures disagree with the payments.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from canbao.campaigns.locks import lock_campaign
from canbao.campaigns.models import Campaign
from canbao.collection.models import Difference, ReconciliationDay
from canbao.collection.reconciliation import (
    DayResult,
    DifferenceView,
    ReconciliationError,
    figures,
    recorded_for_day,
)
from canbao.policy.money import yuan
from canbao.registry.batches import RowError, record_audit

__all__ = ["close_day", "closed_days_off_the_ledger", "explain_difference", "reopen_day"]


def explain_difference(
    *,
    difference_id: int,
    reason: str,
    actor: AbstractBaseUser,
    now: datetime | None = None,
) -> DifferenceView:
    """Record why a difference exists (e.g. "税务次日补传", "银行手续费"); the day must be open."""
    reason = reason.strip()
    if not reason:
        raise ReconciliationError("reason_required", "请写明差异原因。")
    if len(reason) > 300:
        raise ReconciliationError("reason_long", "差异原因不能超过300个字。")
    who = actor.get_username()
    with transaction.atomic():
        difference = (
            Difference.objects.select_for_update().select_related("day").filter(pk=difference_id)
        ).first()
        if difference is None:
            raise ReconciliationError(
                "unknown_difference", f"没有编号为{difference_id}的对账差异。"
            )
        if difference.day.status == ReconciliationDay.Status.CLOSED:
            raise ReconciliationError(
                "day_closed", f"{difference.day.day.isoformat()}已结账，差异说明不能再修改。"
            )
        difference.explanation = reason
        difference.explained_by = who
        difference.explained_at = now or timezone.now()
        difference.save(update_fields=["explanation", "explained_by", "explained_at"])
        record_audit(
            action="explain_difference",
            actor=actor,
            details={
                "difference": difference.pk,
                "day": difference.day.day.isoformat(),
                "kind": difference.kind,
                "key": difference.key,
                "reason": reason,
            },
        )
    return DifferenceView.of(difference)


def close_day(
    *,
    campaign: Campaign,
    day: date,
    actor: AbstractBaseUser,
    now: datetime | None = None,
) -> DayResult:
    """Close a reconciled day: refused (``refused``, the unexplained differences listed) while a
    difference is unexplained, or when the tax payments recorded for the day changed since it
    was reconciled. Closing a closed day changes nothing and says so."""
    who = actor.get_username()
    now = now or timezone.now()
    result = DayResult(campaign=campaign.pk, day=day)
    with transaction.atomic():
        record = _locked_day(campaign, day)
        if record is None:
            raise ReconciliationError(
                "not_reconciled", f"{day.isoformat()}尚未对账：请先运行对账，再结账。"
            )
        figures(result, record)
        if record.status == ReconciliationDay.Status.CLOSED:
            result.message = (
                f"{day.isoformat()}已于{timezone.localtime(record.closed_at or now):%Y-%m-%d %H:%M}"
                f"由{record.closed_by}结账，本次未作改动。"
            )
            return result
        now_fen, now_count = _recorded_now(campaign, record)
        if (now_fen, now_count) != (record.recorded_fen, record.recorded_count):
            result.refused = True
            result.errors = [
                RowError(
                    0,
                    "",
                    "stale",
                    f"对账后本系统当日税务入账已变动（对账时{record.recorded_count}笔"
                    f"{yuan(record.recorded_fen)}元，现在{now_count}笔{yuan(now_fen)}元）："
                    "请重新对账后再结账。",
                )
            ]
            result.message = result.errors[0].message
            return result
        unexplained = result.unexplained
        if unexplained:
            result.refused = True
            result.errors = [
                RowError(0, "", "unexplained", f"差异{d.id}（{d.label} {d.key}）未说明：{d.detail}")
                for d in unexplained
            ]
            result.message = (
                f"{day.isoformat()}还有{len(unexplained)}项差异未说明，不能结账；"
                "请逐项说明（reconcile explain 差异编号 --reason 原因）。"
            )
            return result
        record.status = ReconciliationDay.Status.CLOSED
        record.closed_at = now
        record.closed_by = who
        record.save(update_fields=["status", "closed_at", "closed_by"])
        record_audit(
            action="close_day",
            actor=actor,
            details={
                "campaign": campaign.pk,
                "day": day.isoformat(),
                "differences": len(result.differences),
                "recorded_fen": record.recorded_fen,
            },
        )
    result.status = record.status
    result.message = (
        f"{day.isoformat()}已结账"
        + (f"（{len(result.differences)}项差异均已说明）" if result.differences else "（账平）")
        + "。"
    )
    return result


def reopen_day(
    *,
    campaign: Campaign,
    day: date,
    reason: str,
    actor: AbstractBaseUser,
    now: datetime | None = None,
) -> DayResult:
    """Reopen a closed day, with a reason kept in the audit: its payments may then be recorded
    or reversed again, and the day must be reconciled and closed anew."""
    reason = reason.strip()
    if not reason:
        raise ReconciliationError("reason_required", "重新打开已结账的日期须写明原因")
    now = now or timezone.now()
    result = DayResult(campaign=campaign.pk, day=day)
    with transaction.atomic():
        record = _locked_day(campaign, day)
        if record is None or record.status != ReconciliationDay.Status.CLOSED:
            raise ReconciliationError("not_closed", f"{day.isoformat()}尚未结账，无需重新打开。")
        closed_by, closed_at = record.closed_by, record.closed_at
        record.status = ReconciliationDay.Status.OPEN
        record.closed_at = None
        record.closed_by = ""
        record.save(update_fields=["status", "closed_at", "closed_by"])
        record_audit(
            action="reopen_day",
            actor=actor,
            details={
                "campaign": campaign.pk,
                "day": day.isoformat(),
                "reason": reason,
                "closed_by": closed_by,
                "closed_at": closed_at.isoformat() if closed_at else None,
            },
        )
        figures(result, record)
    result.status = record.status
    result.message = (
        f"{day.isoformat()}已重新打开（原因：{reason}），补录或冲正后请重新对账、结账。"
    )
    return result


def closed_days_off_the_ledger(campaign: Campaign) -> list[dict[str, Any]]:
    """Closed days whose figures no longer agree with the payments recorded for them."""
    drift = []
    for record in ReconciliationDay.objects.filter(
        campaign=campaign, status=ReconciliationDay.Status.CLOSED
    ).order_by("day"):
        now_fen, now_count = _recorded_now(campaign, record)
        if (now_fen, now_count) != (record.recorded_fen, record.recorded_count):
            drift.append(
                {
                    "day": record.day.isoformat(),
                    "closed_fen": record.recorded_fen,
                    "closed_count": record.recorded_count,
                    "ledger_fen": now_fen,
                    "ledger_count": now_count,
                }
            )
    return drift


def _locked_day(campaign: Campaign, day: date) -> ReconciliationDay | None:
    """The day's record, locked, after the campaign's lock (no payment of it can land meanwhile)."""
    lock_campaign(campaign.pk)
    return ReconciliationDay.objects.select_for_update().filter(campaign=campaign, day=day).first()


def _recorded_now(campaign: Campaign, record: ReconciliationDay) -> tuple[int, int]:
    """The tax payments recorded for the day now (fen, count), to compare with the day's figures
    as reconciled."""
    recorded = recorded_for_day(campaign, record.day)
    return sum(a for a, _ in recorded.values()), len(recorded)
