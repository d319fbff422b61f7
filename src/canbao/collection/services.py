"""Money as it arrives: recording payments from every channel, applying them to enrollments and
the suspense list, and reversing them.

Payments are append-only (a database trigger refuses UPDATE). Each channel gives each payment a
key of its own (tax transaction id, bank serial, receipt number, withholding batch line,
department batch line); a key already recorded for the campaign and channel is skipped as
unchanged, so the same rows may arrive twice, in one file or in two, and nothing changes.

Recording is set-based: the rows go into a temporary staging table (executemany on SQLite, COPY
on PostgreSQL, as every import does), the resident is matched there, and one INSERT ... SELECT
writes the payments. Enrollment and held amounts are then derived by the settlement rule
(``canbao.collection.posting``): they are state, not money, and are derived again whenever a
payment or a reversal changes a person's money.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from canbao.campaigns.locks import lock_campaign
from canbao.campaigns.models import Campaign
from canbao.collection.models import (
    RECONCILED_CHANNEL,
    Channel,
    Payment,
    Receipt,
    ReconciliationDay,
    Suspense,
)
from canbao.collection.payment_values import payment_key
from canbao.collection.posting import SETTLED, ApplyOutcome, apply_payments, post_common
from canbao.errors import InputError
from canbao.policy.codes import FUNDER_NAMES
from canbao.policy.money import yuan
from canbao.registry.batches import StageSpec, record_audit
from canbao.registry.models import ImportBatch, Resident

__all__ = [
    "PERSON_CHANNELS",
    "PaymentError",
    "PaymentRow",
    "RecordOutcome",
    "recheck_held_payments",
    "record_payments",
    "reverse_payment",
]

KEY_MAX = 90  # leaves room for the "reversal:" prefix within Payment.key's 100 characters
REVERSAL_PREFIX = "reversal:"
PERSON_CHANNELS = frozenset({Channel.TAX, Channel.BANK, Channel.CASH, Channel.WITHHOLDING})
OTHER_ID_TYPES = tuple(t for t in Resident.IdType.values if t != Resident.IdType.RESIDENT_ID)

Reason = Suspense.Reason


class PaymentError(InputError):
    """A payment operation refused as asked (unknown key, reversed twice, conflicting key)."""


@dataclass(frozen=True)
class PaymentRow:
    """One payment as a channel reports it. ``receipt``: a cash receipt already validated and
    claimed by ``canbao.collection.receipts``."""

    key: str
    paid_on: date
    amount_fen: int
    id_number: str
    name: str
    funder: str = ""
    bank: str = ""
    receipt: Receipt | None = None


@dataclass
class RecordOutcome:
    """What recording did: rows new and already recorded, their money, and what applying the new
    ones changed (enrollments made or withdrawn, suspense rows opened by reason, resolved)."""

    created: int = 0
    unchanged: int = 0
    created_fen: int = 0
    unchanged_fen: int = 0
    enrolled: int = 0
    withdrawn: int = 0
    suspended: dict[str, int] = field(default_factory=dict)
    resolved: int = 0
    # The new rows whose person the registry does not know (line, ID number, name): held.
    unknown: list[tuple[int, str, str]] = field(default_factory=list)

    def take(self, applied: ApplyOutcome) -> None:
        self.enrolled += applied.enrolled
        self.withdrawn += applied.withdrawn
        self.resolved += applied.resolved
        for reason, count in applied.suspended.items():
            self.suspended[reason] = self.suspended.get(reason, 0) + count

    def as_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "unchanged": self.unchanged,
            "created_fen": self.created_fen,
            "unchanged_fen": self.unchanged_fen,
            "enrolled": self.enrolled,
            "withdrawn": self.withdrawn,
            "suspended": dict(sorted(self.suspended.items())),
            "resolved": self.resolved,
        }


# --- the staging table shared by record_payments and the channel file imports ---------------

PAYMENT_STAGE = StageSpec(
    name="canbao_stage_payments",
    columns=(
        ("line", "integer"),
        ("pkey", "varchar(100)"),
        ("paid_on", "date"),
        ("amount_fen", "bigint"),
        ("id_number", "varchar(40)"),
        ("name", "varchar(100)"),
        ("funder", "varchar(40)"),
        ("bank", "varchar(60)"),
        ("receipt_id", "bigint"),
        ("state", "varchar(10)"),
    ),
    indexes=(("pkey",), ("line",)),
)
# The registry's resident of each new staged row with a known ID number: written once, beside
# the staging table (rewriting a million staged rows costs more than the lookup itself).
MATCH_STAGE = StageSpec(
    name="canbao_stage_payment_match",
    columns=(
        ("line", "integer"),
        ("candidate_id", "bigint"),
        ("known_name", "varchar(100)"),
        ("resident_id", "bigint"),
        # What the quote of the common case needs of the resident (see posting.post_common).
        ("birth_date", "date"),
        ("employee_insured", "boolean"),
        ("insured_elsewhere", "boolean"),
        ("id_type", "varchar(40)"),
    ),
    indexes=(("line",),),
)


def staged_row(line: int, row: PaymentRow) -> tuple[Any, ...]:
    """A payment row as the staging table holds it."""
    return (
        line,
        row.key,
        row.paid_on,
        row.amount_fen,
        row.id_number,
        row.name,
        row.funder,
        row.bank,
        row.receipt.pk if row.receipt is not None else None,
        "new",
    )


@dataclass(frozen=True)
class StagedProblem:
    """A staged row that cannot be recorded: the line, the column key, a code, a message."""

    line: int
    column: str
    code: str
    message: str


def staged_problems(cursor: Any, campaign: Campaign, channel: str) -> list[StagedProblem]:
    """Keys repeated within the staged rows, keys already recorded with other content, and new
    payments of a day already reconciled and closed."""
    s = PAYMENT_STAGE.name
    problems: list[StagedProblem] = []
    if channel == RECONCILED_CHANNEL:
        cursor.execute(
            f"""SELECT s.line, s.paid_on FROM {s} s
            JOIN collection_reconciliationday d
              ON d.campaign_id = %s AND d.day = s.paid_on AND d.status = %s
            WHERE NOT EXISTS (SELECT 1 FROM collection_payment p
                              WHERE p.campaign_id = %s AND p.channel = %s AND p."key" = s.pkey)
            ORDER BY s.line""",
            [campaign.pk, ReconciliationDay.Status.CLOSED, campaign.pk, channel],
        )
        problems.extend(
            StagedProblem(line, "paid_on", "day_closed", _closed_message(paid_on))
            for line, paid_on in cursor.fetchall()
        )
    cursor.execute(
        f"""SELECT a.line, f.line, a.pkey,
          CASE WHEN a.paid_on = f.paid_on AND a.amount_fen = f.amount_fen
                AND a.id_number = f.id_number AND a.name = f.name AND a.funder = f.funder
               THEN 1 ELSE 0 END
        FROM {s} a
        JOIN (SELECT pkey, MIN(line) AS first_line FROM {s} GROUP BY pkey
              HAVING COUNT(*) > 1) m ON m.pkey = a.pkey
        JOIN {s} f ON f.line = m.first_line
        WHERE a.line <> m.first_line ORDER BY a.line"""
    )
    for line, first_line, key, same in cursor.fetchall():
        what = "内容相同，是重复的行，请删除" if same else "但内容不同，请核对"
        problems.append(
            StagedProblem(
                line, "key", "duplicate_in_file", f"流水号{key}与第{first_line}行重复，{what}。"
            )
        )
    cursor.execute(
        f"""SELECT s.line, s.pkey, p.paid_on, p.amount_fen, p.id_number, p.name, p.batch_id
        FROM {s} s JOIN collection_payment p
          ON p.campaign_id = %s AND p.channel = %s AND p."key" = s.pkey
        WHERE p.paid_on <> s.paid_on OR p.amount_fen <> s.amount_fen
           OR p.id_number <> s.id_number OR p.name <> s.name OR p.funder <> s.funder
        ORDER BY s.line""",
        [campaign.pk, channel],
    )
    for line, key, paid_on, amount, id_number, name, batch_id in cursor.fetchall():
        where = f"批次{batch_id}" if batch_id else "此前"
        problems.append(
            StagedProblem(
                line,
                "key",
                "key_conflict",
                f"流水号{key}已于{where}入账（{paid_on} {name} {id_number} {yuan(amount)}元），"
                "本行内容与之不同：同一流水号不能入账两次，更正请先冲正原记录。",
            )
        )
    return problems


def _closed_message(day: Any) -> str:
    text = day if isinstance(day, str) else day.isoformat()
    return (
        f"{text}已对账结账，不能再入账或冲正该日的税务缴费；确需补录或冲正，"
        f"请先重新打开该日（canbao reconcile reopen --date {text} --reason 原因），"
        "之后重新对账、结账。"
    )


def post_staged(
    cursor: Any,
    *,
    campaign: Campaign,
    channel: str,
    batch: ImportBatch | None,
    actor: AbstractBaseUser,
    now: datetime,
    write: bool = True,
) -> RecordOutcome:
    """Record the staged rows whose key is new, match their residents, hold the unknown ones in
    suspense and apply the rest. With ``write`` false, only count (and list the unknown). The
    caller has checked ``staged_problems`` and holds the transaction."""
    s, m = PAYMENT_STAGE.name, MATCH_STAGE.name
    # Rows are staged as 'new' (staged_row); this rewrites only the rows already recorded.
    cursor.execute(
        f"""UPDATE {s} SET state = 'unchanged' WHERE EXISTS (
          SELECT 1 FROM collection_payment p
          WHERE p.campaign_id = %s AND p.channel = %s AND p."key" = {s}.pkey)""",
        [campaign.pk, channel],
    )
    out = RecordOutcome()
    cursor.execute(f"SELECT state, COUNT(*), SUM(amount_fen) FROM {s} GROUP BY state")
    for state, count, fen in cursor.fetchall():
        if state == "new":
            out.created, out.created_fen = int(count), int(fen or 0)
        else:
            out.unchanged, out.unchanged_fen = int(count), int(fen or 0)
    if out.created == 0:
        return out
    # The resident: by resident ID card number first, then by the other document types; the
    # payment is theirs when the name is the registry's too.
    MATCH_STAGE.create(cursor)
    marks = ", ".join(["%s"] * len(OTHER_ID_TYPES))
    cursor.execute(
        f"""INSERT INTO {m} ({", ".join(name for name, _ in MATCH_STAGE.columns)})
        SELECT s.line, r.id, r.name, CASE WHEN r.name = s.name THEN r.id END,
          r.birth_date, r.employee_insured, r.insured_elsewhere, r.id_type
        FROM {s} s JOIN registry_resident r ON r.id_type = %s AND r.id_number = s.id_number
        WHERE s.state = 'new'
        UNION ALL
        SELECT s.line, r.id, r.name, CASE WHEN r.name = s.name THEN r.id END,
          r.birth_date, r.employee_insured, r.insured_elsewhere, r.id_type
        FROM {s} s
          JOIN (SELECT id_number, MIN(id) AS id FROM registry_resident
                WHERE id_type IN ({marks}) GROUP BY id_number) o ON o.id_number = s.id_number
          JOIN registry_resident r ON r.id = o.id
        WHERE s.state = 'new' AND NOT EXISTS (
          SELECT 1 FROM registry_resident x WHERE x.id_type = %s AND x.id_number = s.id_number)""",
        [Resident.IdType.RESIDENT_ID, *OTHER_ID_TYPES, Resident.IdType.RESIDENT_ID],
    )
    MATCH_STAGE.index(cursor)
    out.unknown = [
        (int(line), id_number, name)
        for line, id_number, name in _fetch(
            cursor,
            f"""SELECT s.line, s.id_number, s.name FROM {s} s LEFT JOIN {m} m ON m.line = s.line
            WHERE s.state = 'new' AND m.resident_id IS NULL ORDER BY s.line""",
        )
    ]
    if not write:
        MATCH_STAGE.drop(cursor)
        return out
    common = ApplyOutcome()
    settled = ""
    if channel in PERSON_CHANNELS:
        common, table = post_common(cursor, campaign=campaign, payments=s, matches=m, now=now)
        settled = f"AND resident_id NOT IN (SELECT resident_id FROM {table})"
    cursor.execute(
        f"""INSERT INTO collection_payment (
          campaign_id, channel, "key", paid_on, amount_fen, id_number, name, resident_id,
          funder, bank, receipt_id, reverses_id, batch_id, recorded_at, recorded_by)
        SELECT %s, %s, s.pkey, s.paid_on, s.amount_fen, s.id_number, s.name, m.resident_id,
          s.funder, s.bank, s.receipt_id, NULL, %s, %s, %s
        FROM {s} s LEFT JOIN {m} m ON m.line = s.line
        WHERE s.state = 'new' ORDER BY s.line""",
        [campaign.pk, channel, batch.pk if batch is not None else None, now, actor.get_username()],
    )
    out.take(common)
    # Unknown persons, and known ID numbers under another name: recorded, held on their own.
    if out.unknown:
        cursor.execute(
            f"""INSERT INTO collection_suspense (campaign_id, resident_id, payment_id, reason,
              amount_fen, message, created_at, resolved_at, resolved_by, resolution)
            SELECT %s, NULL, p.id, %s, p.amount_fen, CASE
                WHEN m.candidate_id IS NULL
                  THEN '登记库中没有证件号码为' || s.id_number || '的人员（缴费记录姓名：'
                       || s.name || '）'
                ELSE '证件号码' || s.id_number || '在登记库中的姓名是“' || m.known_name
                     || '”，缴费记录上是“' || s.name || '”，请核对后处理'
              END, %s, NULL, '', ''
            FROM {s} s LEFT JOIN {m} m ON m.line = s.line
              JOIN collection_payment p
              ON p.campaign_id = %s AND p.channel = %s AND p."key" = s.pkey
            WHERE s.state = 'new' AND m.resident_id IS NULL""",
            [campaign.pk, Reason.UNKNOWN_PERSON, now, campaign.pk, channel],
        )
        if cursor.rowcount:
            out.take(ApplyOutcome(suspended={str(Reason.UNKNOWN_PERSON): cursor.rowcount}))
    residents = [
        int(r)
        for (r,) in _fetch(
            cursor,
            f"SELECT DISTINCT resident_id FROM {m} WHERE resident_id IS NOT NULL {settled}",
        )
    ]
    for table in (MATCH_STAGE.name, SETTLED):
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
    out.take(apply_payments(campaign=campaign, resident_ids=residents, now=now, actor=actor))
    return out


def _fetch(cursor: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    cursor.execute(sql, params)
    return list(cursor.fetchall())


def record_payments(
    *,
    campaign: Campaign,
    channel: str,
    rows: Iterable[PaymentRow],
    batch: ImportBatch | None,
    actor: AbstractBaseUser,
    now: datetime | None = None,
) -> RecordOutcome:
    """Record payments of one channel; rows whose key the channel already recorded for the
    campaign are skipped as unchanged. A key repeated among ``rows``, or recorded before with
    other content, refuses the whole call (``PaymentError``), nothing written."""
    if channel not in Channel.values:
        raise PaymentError("unknown_channel", f"未知的缴费渠道“{channel}”")
    now = now or timezone.now()
    staged: list[tuple[Any, ...]] = []
    for line, row in enumerate(rows, start=1):
        _check_row(line, row, channel)
        staged.append(staged_row(line, row))
    with transaction.atomic(), connection.cursor() as cursor:
        lock_campaign(campaign.pk)
        PAYMENT_STAGE.create(cursor)
        for start in range(0, len(staged), 20_000):
            PAYMENT_STAGE.load(cursor, staged[start : start + 20_000])
        PAYMENT_STAGE.index(cursor)
        problems = staged_problems(cursor, campaign, channel)
        if problems:
            raise PaymentError(
                problems[0].code, "；".join(f"第{p.line}笔：{p.message}" for p in problems[:20])
            )
        out = post_staged(
            cursor, campaign=campaign, channel=channel, batch=batch, actor=actor, now=now
        )
        PAYMENT_STAGE.drop(cursor)
        record_audit(
            action="record_payments",
            actor=actor,
            batch=batch,
            details={"campaign": campaign.pk, "channel": channel, **out.as_json()},
        )
    return out


def _check_row(line: int, row: PaymentRow, channel: str) -> None:
    problem = ""
    if not row.key or len(row.key) > KEY_MAX:
        problem = f"流水号须为1至{KEY_MAX}个字符"
    elif row.key.startswith(REVERSAL_PREFIX):
        problem = f"流水号不能以“{REVERSAL_PREFIX}”开头（冲正记录专用）"
    elif row.amount_fen <= 0:
        problem = "金额须大于0（更正请做冲正）"
    elif channel == Channel.PROXY and row.funder not in FUNDER_NAMES:
        problem = f"部门代缴须注明代缴部门，“{row.funder}”不是资助方代码"
    elif channel != Channel.PROXY and row.funder:
        problem = "只有部门代缴才有代缴部门"
    elif (row.receipt is not None) != (channel == Channel.CASH):
        problem = "现金缴费须有收款收据，其他渠道不能有"
    if problem:
        raise PaymentError("payment_row", f"第{line}笔（流水号{row.key}）：{problem}")


def recheck_held_payments(
    *,
    campaign: Campaign,
    actor: AbstractBaseUser,
    now: datetime | None = None,
) -> ApplyOutcome:
    """Apply again the payments of every known resident with an open suspense row: after an
    assessment (not_assessed), a policy amount announced (pending_amount) or a registry fix."""
    now = now or timezone.now()
    with transaction.atomic():
        lock_campaign(campaign.pk)
        residents = (
            Suspense.objects.filter(
                campaign=campaign, resolved_at__isnull=True, resident__isnull=False
            )
            .values_list("resident_id", flat=True)
            .distinct()
        )
        ids = [r for r in residents if r is not None]
        out = apply_payments(campaign=campaign, resident_ids=ids, now=now, actor=actor)
        record_audit(
            action="recheck_held_payments",
            actor=actor,
            details={
                "campaign": campaign.pk,
                "residents": len(ids),
                "enrolled": out.enrolled,
                "resolved": out.resolved,
                "suspended": out.suspended,
            },
        )
    return out


# --- reversal --------------------------------------------------------------------------------


def reverse_payment(
    *,
    campaign: Campaign,
    channel: str,
    key: str,
    reason: str,
    actor: AbstractBaseUser,
    now: datetime | None = None,
) -> Payment:
    """Reverse a recorded payment: a payment of the opposite amount, key ``reversal:<key>``, that
    names the original; its suspense is resolved and the person's enrollment derived again."""
    reason = reason.strip()
    if not reason:
        raise PaymentError("reason_required", "冲正须写明原因")
    key = payment_key(key)  # as the key was recorded: 0034300001 on the ticket is 34300001
    who = actor.get_username()
    now = now or timezone.now()
    with transaction.atomic():
        lock_campaign(campaign.pk)
        original = (
            Payment.objects.select_for_update()
            .filter(campaign=campaign, channel=channel, key=key)
            .first()
        )
        if original is None:
            raise PaymentError(
                "unknown_payment",
                f"本工作中没有{Channel(channel).label if channel in Channel.values else channel}"
                f"渠道流水号为{key}的缴费",
            )
        if original.reverses_id is not None:
            raise PaymentError("reversal_of_reversal", f"{key}本身是冲正记录，不能再冲正")
        if (
            original.channel == RECONCILED_CHANNEL
            and ReconciliationDay.objects.filter(
                campaign=campaign, day=original.paid_on, status=ReconciliationDay.Status.CLOSED
            ).exists()
        ):
            raise PaymentError("day_closed", _closed_message(original.paid_on))
        done = Payment.objects.filter(reverses=original).first()
        if done is not None:
            raise PaymentError(
                "already_reversed",
                f"流水号{key}已于{timezone.localtime(done.recorded_at):%Y-%m-%d %H:%M}"
                f"由{done.recorded_by}冲正，不能重复冲正",
            )
        reversal = Payment.objects.create(
            campaign=campaign,
            channel=channel,
            key=f"{REVERSAL_PREFIX}{key}",
            paid_on=timezone.localdate(now),
            amount_fen=-original.amount_fen,
            id_number=original.id_number,
            name=original.name,
            resident_id=original.resident_id,
            funder=original.funder,
            bank=original.bank,
            reverses=original,
            recorded_at=now,
            recorded_by=who,
        )
        # A payment held on its own (unknown person) is resolved here; a resident's holds are
        # settled again below.
        Suspense.objects.filter(payment=original, resolved_at__isnull=True).update(
            resolved_at=now, resolved_by=who, resolution=f"该笔缴费已冲正：{reason}"[:300]
        )
        if original.resident_id is not None:
            apply_payments(
                campaign=campaign, resident_ids=[original.resident_id], now=now, actor=actor
            )
        record_audit(
            action="reverse_payment",
            actor=actor,
            resident_id=original.resident_id,
            details={
                "campaign": campaign.pk,
                "channel": channel,
                "key": key,
                "amount_fen": original.amount_fen,
                "payment": original.pk,
                "reversal": reversal.pk,
                "reason": reason,
            },
        )
    return reversal
