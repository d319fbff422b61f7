"""Payments posted by a channel's integration (the tax bureau, a bank), one or a batch at a time,
through the same collection service as the channel's payment files.

The payment's ``key`` (the channel's transaction number) is its idempotency key. A key posted
again with the same content is answered exactly as the first time, from the answer kept in the
audit row of the post that recorded it, and records nothing; with other content it is a 409. A
key that a payment file recorded before is answered from the ledger as it stands, ``unchanged``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import HttpRequest
from ninja import Router

from canbao import idnumber
from canbao.accounts.scope import Permission
from canbao.api.auth import campaign_for, scope_of
from canbao.api.errors import FieldError, InvalidInput, Refused
from canbao.api.schemas import ErrorOut, PaymentIn, PaymentsIn, PaymentsOut
from canbao.campaigns.locks import lock_campaign
from canbao.campaigns.models import Campaign
from canbao.campaigns.selectors import campaign_policy
from canbao.collection.ledger import positions
from canbao.collection.models import Channel, Payment, Suspense
from canbao.collection.payment_values import PaymentLimits, payment_key
from canbao.collection.services import KEY_MAX, REVERSAL_PREFIX, PaymentRow, record_payments
from canbao.registry.batches import record_audit
from canbao.registry.models import AuditEntry, ImportBatch

router = Router(tags=["缴费"])

# The channels whose integrations post here: a cash payment needs its receipt, a department's
# its funder, a withholding its batch line; those come as files.
API_CHANNELS = (Channel.TAX, Channel.BANK)
AUDIT_ACTION = "api_post_payments"
UNKNOWN_HOLD = "登记库中没有与此证件号码和姓名相符的人员：款项已挂账，待县医保局核实。"
_FIELD_NAMES = {
    "paid_on": "缴费日期",
    "amount_fen": "金额",
    "id_number": "证件号码",
    "name": "姓名",
}


@dataclass(frozen=True)
class _Row:
    index: int
    payment: PaymentRow


@router.post(
    "/payments",
    response={
        200: PaymentsOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    operation_id="post_payments",
    summary="提交缴费（一笔或一批，按流水号幂等）",
    description="令牌所属渠道（税务或银行）的缴费，一次 1 至 1000 笔。流水号（key）是幂等键："
    "同一流水号、内容相同的再次提交，得到与第一次完全相同的应答，不重复入账；内容不同则 409 "
    "key_conflict，本次一笔也不入账。应答按提交顺序逐笔说明：是否对上登记库中的人员、是否已参保"
    "及待遇期、挂账金额及原因。",
)
def post_payments(request: HttpRequest, payload: PaymentsIn) -> dict[str, Any]:
    scope = scope_of(request)
    scope.require(Permission.POST_PAYMENTS)
    channel = scope.channel
    if payload.channel is not None and payload.channel != channel:
        raise Refused(
            403,
            "channel_not_permitted",
            f"本令牌只能提交“{Channel(channel).label}”渠道的缴费，不能提交其他渠道的缴费。",
        )
    if channel not in API_CHANNELS:
        raise Refused(
            403,
            "channel_not_supported",
            "接口只接收税务、银行代收的缴费；现金、部门代缴和委托代扣请以文件导入。",
        )
    campaign = campaign_for(payload.campaign)
    if campaign.status != Campaign.Status.OPEN:
        raise Refused(409, "campaign_closed", f"{campaign}已结束，不能再提交缴费。")
    rows = _rows(campaign, payload.payments)
    actor = scope.user
    with transaction.atomic():
        lock_campaign(campaign.pk)
        earlier = {
            p.key: p
            for p in Payment.objects.filter(
                campaign=campaign, channel=channel, key__in=[r.payment.key for r in rows]
            )
        }
        _refuse_conflicts(rows, earlier)
        new = [r.payment for r in rows if r.payment.key not in earlier]
        batch = None
        if new:
            batch = ImportBatch.objects.create(
                kind=ImportBatch.Kind.PAYMENTS,
                status=ImportBatch.Status.COMMITTED,
                file_name="接口提交",
                file_sha256=_digest(new),
                category=channel,
                source=f"campaign:{campaign.pk}",
                user=actor,
                username=actor.get_username(),
                rows=len(new),
            )
            outcome = record_payments(
                campaign=campaign, channel=channel, rows=new, batch=batch, actor=actor
            )
            batch.created, batch.unknown = outcome.created, len(outcome.unknown)
            batch.save(update_fields=["created", "unknown"])
        answers = _answers(campaign, channel, [row.key for row in new], "recorded")
        answers.update(_earlier_answers(campaign, channel, earlier.values()))
        record_audit(
            action=AUDIT_ACTION,
            actor=actor,
            batch=batch,
            details={
                "campaign": campaign.pk,
                "channel": channel,
                "answers": {row.key: answers[row.key] for row in new},
                "repeated": sorted(earlier),
            },
        )
    return {
        "campaign": campaign.pk,
        "channel": channel,
        "payments": [answers[r.payment.key] for r in rows],
    }


def _rows(campaign: Campaign, posted: list[PaymentIn]) -> list[_Row]:
    """The posted payments as the channel files' rows are recorded (keys without leading zeros,
    ID numbers normalised), checked as a file's rows are: an implausible amount or a day
    outside the campaign refuses the whole post, naming the field."""
    limits = PaymentLimits.of(campaign_policy(campaign))
    rows: list[_Row] = []
    errors: list[FieldError] = []
    first: dict[str, int] = {}
    for index, item in enumerate(posted):
        where = f"payments[{index}]"
        key = payment_key(item.key)
        if not key or len(key) > KEY_MAX or key.startswith(REVERSAL_PREFIX):
            errors.append(
                FieldError(
                    f"{where}.key",
                    "key_format",
                    f"流水号须为1至{KEY_MAX}个字符，且不能以“{REVERSAL_PREFIX}”开头",
                )
            )
        elif key in first:
            errors.append(
                FieldError(
                    f"{where}.key",
                    "duplicate_key",
                    f"流水号与 payments[{first[key]}] 相同：同一请求中每笔缴费的流水号须不同",
                )
            )
        else:
            first[key] = index
        number = idnumber.normalize(item.id_number)[:40]
        if not number:
            errors.append(FieldError(f"{where}.id_number", "id_number_empty", "证件号码为空"))
        name = item.name.strip()
        if not name:
            errors.append(FieldError(f"{where}.name", "name_empty", "姓名为空"))
        amount = limits.amount_problem(item.amount_fen, f"{item.amount_fen}分")
        if amount:
            errors.append(FieldError(f"{where}.amount_fen", "amount_implausible", amount))
        day = limits.date_problem(item.paid_on)
        if day:
            errors.append(FieldError(f"{where}.paid_on", "date_outside_campaign", day))
        rows.append(_Row(index, PaymentRow(key, item.paid_on, item.amount_fen, number, name)))
    if errors:
        raise InvalidInput(errors)
    return rows


def _refuse_conflicts(rows: list[_Row], earlier: dict[str, Payment]) -> None:
    errors: list[FieldError] = []
    for row in rows:
        known = earlier.get(row.payment.key)
        if known is None:
            continue
        differ = [
            label
            for name, label in _FIELD_NAMES.items()
            if getattr(known, name) != getattr(row.payment, name)
        ]
        if differ:
            errors.append(
                FieldError(
                    f"payments[{row.index}].key",
                    "key_conflict",
                    f"流水号{row.payment.key}已入账，本次的{'、'.join(differ)}与之不同："
                    "同一流水号不能入账两次；确需更正，请联系县医保局冲正原记录。",
                )
            )
    if errors:
        raise Refused(
            409,
            "key_conflict",
            f"有{len(errors)}笔缴费的流水号已入账但内容不同，本次提交未入账任何一笔。",
            errors,
        )


def _digest(rows: list[PaymentRow]) -> str:
    text = json.dumps(
        [[r.key, r.paid_on.isoformat(), r.amount_fen, r.id_number, r.name] for r in rows],
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _earlier_answers(
    campaign: Campaign, channel: str, payments: Iterable[Payment]
) -> dict[str, dict[str, Any]]:
    """The answers given when these payments were posted here; for those a file recorded, the
    ledger's answer now."""
    earlier = list(payments)
    kept: dict[str, dict[str, Any]] = {}
    batches = {p.batch_id for p in earlier if p.batch_id is not None}
    for details in AuditEntry.objects.filter(batch_id__in=batches, action=AUDIT_ACTION).values_list(
        "details", flat=True
    ):
        kept.update(details.get("answers", {}))
    answers = {p.key: kept[p.key] for p in earlier if p.key in kept}
    rest = [p.key for p in earlier if p.key not in kept]
    answers.update(_answers(campaign, channel, rest, "unchanged"))
    return answers


def _answers(
    campaign: Campaign, channel: str, keys: list[str], status: str
) -> dict[str, dict[str, Any]]:
    """Each payment's answer from the ledger: its person's enrollment and holds (a known
    person), or its own hold (a person the registry does not know), as JSON."""
    if not keys:
        return {}
    payments = list(Payment.objects.filter(campaign=campaign, channel=channel, key__in=keys))
    found = positions(
        campaign=campaign, resident_ids=[p.resident_id for p in payments if p.resident_id]
    )
    unknown_held = dict(
        Suspense.objects.filter(
            payment__in=[p for p in payments if p.resident_id is None], resolved_at__isnull=True
        ).values_list("payment_id", "amount_fen")
    )
    answers: dict[str, dict[str, Any]] = {}
    for p in payments:
        enrolled_on: date | None = None
        start = end = None
        if p.resident_id is not None:
            position = found[p.resident_id]
            enrolled_on, start, end = (
                position.enrolled_on,
                position.coverage_start,
                position.coverage_end,
            )
            held = [_held(h.reason, h.fen, h.message) for h in position.held]
        elif p.pk in unknown_held:
            held = [_held(Suspense.Reason.UNKNOWN_PERSON, unknown_held[p.pk], UNKNOWN_HOLD)]
        else:
            held = []
        answer = {
            "key": p.key,
            "status": status,
            "matched": p.resident_id is not None,
            "amount_fen": p.amount_fen,
            "paid_on": p.paid_on,
            "recorded_at": p.recorded_at,
            "enrolled": enrolled_on is not None,
            "enrolled_on": enrolled_on,
            "coverage_start": start,
            "coverage_end": end,
            "held": held,
        }
        # As JSON text and back: the audit row keeps it so, and a repeat is answered from it.
        answers[p.key] = json.loads(json.dumps(answer, cls=DjangoJSONEncoder))
    return answers


def _held(reason: str, fen: int, message: str) -> dict[str, Any]:
    return {
        "reason": str(reason),
        "reason_label": Suspense.Reason(reason).label,
        "fen": fen,
        "message": message,
    }
