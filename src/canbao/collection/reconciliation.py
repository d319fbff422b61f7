"""Daily reconciliation (每日对账): for one day, the tax bureau's payment detail against what
Canbao recorded on the tax channel, and against the banks' credits to the treasury pending
account (待报解账户).

- The tax detail file (same format as the tax channel's payment file) is READ, not recorded, and
  compared line by line, by transaction key (交易流水号), with the tax-channel payments Canbao
  recorded for that day: ``missing_in_canbao``, ``missing_in_tax``, ``amount_differs``,
  ``duplicate`` (a key twice in the tax file).
- The bank credit file (日期, 银行, 入账金额, 笔数) is imported as ``BankCredit`` rows (its own
  import batch, idempotent); per bank, the tax detail lines of that bank must add up to the
  bank's credit for the day (amount and count): else ``bank_total_differs``.

The day's figures are kept on ``ReconciliationDay``, the differences as ``Difference`` rows. A
later run for an open day replaces its unexplained differences; an explained difference is kept
when it still occurs with the same amounts. A day is closed only when every difference is
explained (a balanced day has none); a closed day is never reopened by a later run (closing and
reopening: ``canbao.collection.closing``).

Amounts: ``expected_fen`` is the reference side, ``actual_fen`` the side checked against it --
for lines, tax (expected) against Canbao (actual); for bank totals, the bank's credit (expected)
against the tax detail (actual). Null where a side has nothing. All in fen, exact.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from canbao.campaigns.locks import lock_campaign
from canbao.campaigns.models import Campaign
from canbao.collection.bank_credits import import_bank_credits
from canbao.collection.models import (
    RECONCILED_CHANNEL,
    BankCredit,
    Channel,
    Difference,
    Payment,
    ReconciliationDay,
)
from canbao.collection.payment_imports import COLUMNS, payment_row_check
from canbao.errors import InputError
from canbao.policy.money import yuan
from canbao.registry.batches import (
    ImportUsageError,
    RowError,
    record_audit,
)
from canbao.tabular import TableError, read_table

Kind = Difference.Kind

__all__ = [
    "NO_BANK",
    "DayResult",
    "DifferenceView",
    "ReconciliationError",
    "figures",
    "reconcile_day",
    "recorded_for_day",
]

NO_BANK = "（未填银行）"
TAX_COLUMNS = COLUMNS[Channel.TAX]


class ReconciliationError(InputError):
    """A reconciliation action refused as asked (nothing written): code and Chinese message."""


# --- the day --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DifferenceView:
    id: int
    kind: str
    label: str
    key: str
    expected_fen: int | None
    actual_fen: int | None
    detail: str
    explanation: str
    explained_by: str

    @classmethod
    def of(cls, d: Difference) -> DifferenceView:
        return cls(
            id=d.pk,
            kind=d.kind,
            label=Kind(d.kind).label,
            key=d.key,
            expected_fen=d.expected_fen,
            actual_fen=d.actual_fen,
            detail=d.detail,
            explanation=d.explanation,
            explained_by=d.explained_by,
        )

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class DayResult:
    campaign: int
    day: date
    status: str = ReconciliationDay.Status.OPEN
    tax_fen: int = 0
    tax_count: int = 0
    bank_fen: int = 0
    recorded_fen: int = 0
    recorded_count: int = 0
    other_day_lines: int = 0
    differences: list[DifferenceView] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    bank_import: dict[str, Any] | None = None
    refused: bool = False
    message: str = ""

    @property
    def unexplained(self) -> list[DifferenceView]:
        return [d for d in self.differences if not d.explanation]

    @property
    def balanced(self) -> bool:
        return not self.refused and not self.differences

    def as_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "day": self.day.isoformat(),
            "status": self.status,
            "balanced": self.balanced,
            "tax_fen": self.tax_fen,
            "tax_count": self.tax_count,
            "bank_fen": self.bank_fen,
            "recorded_fen": self.recorded_fen,
            "recorded_count": self.recorded_count,
            "other_day_lines": self.other_day_lines,
            "differences": [d.as_json() for d in self.differences],
            "unexplained": len(self.unexplained),
            "bank_import": self.bank_import,
            "errors": [e.as_json() for e in self.errors],
            "message": self.message,
        }


@dataclass(frozen=True)
class _TaxLine:
    row: int
    key: str
    amount_fen: int
    bank: str
    name: str
    id_number: str


@dataclass(frozen=True)
class _Found:
    kind: str
    key: str
    expected_fen: int | None
    actual_fen: int | None
    detail: str


def _read_tax(path: Path, day: date) -> tuple[list[_TaxLine], int, list[RowError]]:
    """The tax detail lines of ``day`` (the file may hold other days: counted, skipped), with
    the tax channel import's own row checks."""
    if not path.is_file():
        raise ImportUsageError(f"找不到文件：{path}")
    errors: list[RowError] = []
    lines: list[_TaxLine] = []
    other_days = 0
    try:
        table = read_table(path, TAX_COLUMNS)
        check = payment_row_check(table, TAX_COLUMNS, Channel.TAX, None, {})
        bank_at = table.keys.index("bank") if "bank" in table.keys else None
        for number, values in table.rows():
            staged = check(number, values, errors)
            if staged is None:
                continue
            _, key, paid_on, amount, id_number, name = staged[:6]
            if paid_on != day:
                other_days += 1
                continue
            bank = values[bank_at].strip() if bank_at is not None else ""
            lines.append(_TaxLine(number, key, amount, bank or NO_BANK, name, id_number))
    except TableError as error:
        errors.append(RowError(error.row or 0, error.column or "", "table", error.message))
    return lines, other_days, sorted(errors)


def recorded_for_day(campaign: Campaign, day: date) -> dict[str, tuple[int, int]]:
    """Tax-channel payments recorded for ``day``: key -> (amount net of its reversals, pk)."""
    payments = {
        pk: (key, amount)
        for pk, key, amount in Payment.objects.filter(
            campaign=campaign, channel=RECONCILED_CHANNEL, paid_on=day, reverses__isnull=True
        ).values_list("pk", "key", "amount_fen")
    }
    reversed_fen: dict[int, int] = defaultdict(int)
    for original, amount in Payment.objects.filter(reverses__in=list(payments)).values_list(
        "reverses_id", "amount_fen"
    ):
        if original is not None:
            reversed_fen[original] += amount
    return {key: (amount + reversed_fen[pk], pk) for pk, (key, amount) in payments.items()}


def _compare(
    campaign: Campaign, day: date, lines: list[_TaxLine], recorded: dict[str, tuple[int, int]]
) -> list[_Found]:
    found: list[_Found] = []
    by_key: dict[str, list[_TaxLine]] = defaultdict(list)
    for line in lines:
        by_key[line.key].append(line)
    for key, same in by_key.items():
        if len(same) > 1:
            rows = "、".join(str(line.row) for line in same)
            found.append(
                _Found(
                    Kind.DUPLICATE,
                    key,
                    same[0].amount_fen,
                    sum(line.amount_fen for line in same),
                    f"交易流水号{key}在税务明细中出现{len(same)}次（第{rows}行），"
                    f"合计{yuan(sum(line.amount_fen for line in same))}元",
                )
            )
    missing = [key for key in by_key if key not in recorded]
    elsewhere = dict(
        Payment.objects.filter(campaign=campaign, channel=Channel.TAX, key__in=missing)
        .exclude(paid_on=day)
        .values_list("key", "paid_on")
    )
    for key, same in by_key.items():
        first = same[0]
        who = f"{first.name} {first.id_number}"
        if key not in recorded:
            note = f"；本系统以{elsewhere[key].isoformat()}入账" if key in elsewhere else ""
            found.append(
                _Found(
                    Kind.MISSING_IN_CANBAO,
                    key,
                    first.amount_fen,
                    None,
                    f"税务明细第{first.row}行（{who}，{yuan(first.amount_fen)}元）"
                    f"本系统当日无此流水{note}",
                )
            )
        elif recorded[key][0] != first.amount_fen:
            found.append(
                _Found(
                    Kind.AMOUNT_DIFFERS,
                    key,
                    first.amount_fen,
                    recorded[key][0],
                    f"{who}：税务{yuan(first.amount_fen)}元，本系统{yuan(recorded[key][0])}元",
                )
            )
    extra = [key for key in recorded if key not in by_key]
    details = {
        key: (name, id_number)
        for key, name, id_number in Payment.objects.filter(
            campaign=campaign, channel=Channel.TAX, key__in=extra
        ).values_list("key", "name", "id_number")
    }
    for key in extra:
        name, id_number = details.get(key, ("", ""))
        found.append(
            _Found(
                Kind.MISSING_IN_TAX,
                key,
                None,
                recorded[key][0],
                f"本系统{day.isoformat()}入账（{name} {id_number}，{yuan(recorded[key][0])}元），"
                "税务明细中无此流水",
            )
        )
    return found


def _compare_banks(campaign: Campaign, day: date, lines: list[_TaxLine]) -> list[_Found]:
    tax: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in lines:
        tax[line.bank][0] += line.amount_fen
        tax[line.bank][1] += 1
    credits = {
        bank: (amount, count)
        for bank, amount, count in BankCredit.objects.filter(
            campaign=campaign, day=day
        ).values_list("bank", "amount_fen", "count")
    }
    found = []
    for bank in sorted(set(tax) | set(credits)):
        tax_fen, tax_n = tax.get(bank, [0, 0])
        credit = credits.get(bank)
        if credit is not None and credit == (tax_fen, tax_n):
            continue
        if credit is None:
            detail = f"{bank}：税务明细{tax_n}笔{yuan(tax_fen)}元，未导入该银行当日的入账"
        else:
            detail = (
                f"{bank}：银行入账{credit[1]}笔{yuan(credit[0])}元，"
                f"税务明细{tax_n}笔{yuan(tax_fen)}元"
            )
            if credit[0] != tax_fen:
                detail += f"，相差{yuan(abs(credit[0] - tax_fen))}元"
        found.append(
            _Found(
                Kind.BANK_TOTAL_DIFFERS,
                bank,
                credit[0] if credit is not None else None,
                tax_fen,
                detail,
            )
        )
    return found


def _views(day: ReconciliationDay) -> list[DifferenceView]:
    order = {kind: rank for rank, kind in enumerate(Kind.values)}
    rows = sorted(day.differences.all(), key=lambda d: (order[d.kind], d.key, d.pk))
    return [DifferenceView.of(d) for d in rows]


def figures(result: DayResult, day: ReconciliationDay) -> DayResult:
    result.status = day.status
    result.tax_fen, result.tax_count = day.tax_fen, day.tax_count
    result.bank_fen = day.bank_fen
    result.recorded_fen, result.recorded_count = day.recorded_fen, day.recorded_count
    result.differences = _views(day)
    return result


def reconcile_day(
    *,
    campaign: Campaign,
    day: date,
    tax_file: Path,
    bank_file: Path | None = None,
    actor: AbstractBaseUser,
    now: datetime | None = None,
) -> DayResult:
    """Reconcile one day (see the module's docstring). Refused (``refused``, ``errors``, nothing
    written) when the day is closed or a file has errors; the bank file, when given, is imported
    first as its own batch. Raises ``ImportUsageError`` for a missing file."""
    now = now or timezone.now()
    result = DayResult(campaign=campaign.pk, day=day)
    existing = ReconciliationDay.objects.filter(campaign=campaign, day=day).first()
    if existing is not None and existing.status == ReconciliationDay.Status.CLOSED:
        closed_at = timezone.localtime(existing.closed_at or now)
        result.refused = True
        result.errors = [
            RowError(
                0,
                "",
                "day_closed",
                f"{day.isoformat()}已于{closed_at:%Y-%m-%d %H:%M}由{existing.closed_by}结账，"
                "不再重新对账（结账后不重开）。",
            )
        ]
        result.message = result.errors[0].message
        return figures(result, existing)
    lines, result.other_day_lines, errors = _read_tax(tax_file, day)
    if errors:
        result.refused, result.errors = True, errors
        result.message = f"税务明细有{len(errors)}处错误，未对账；请改正后重新对账。"
        return result
    if bank_file is not None:
        imported = import_bank_credits(path=bank_file, campaign=campaign, actor=actor)
        result.bank_import = imported.as_json()
        if imported.errors:
            result.refused, result.errors = True, imported.errors
            result.message = f"银行入账文件有{len(imported.errors)}处错误，未导入、未对账。"
            return result
    with transaction.atomic():
        lock_campaign(campaign.pk)
        recorded = recorded_for_day(campaign, day)
        found = _compare(campaign, day, lines, recorded) + _compare_banks(campaign, day, lines)
        record, _ = ReconciliationDay.objects.select_for_update().get_or_create(
            campaign=campaign, day=day
        )
        if record.status == ReconciliationDay.Status.CLOSED:  # closed meanwhile
            raise ReconciliationError("day_closed", f"{day.isoformat()}已结账，不再重新对账。")
        record.tax_fen = sum(line.amount_fen for line in lines)
        record.tax_count = len(lines)
        record.bank_fen = (
            BankCredit.objects.filter(campaign=campaign, day=day).aggregate(s=Sum("amount_fen"))[
                "s"
            ]
            or 0
        )
        record.recorded_fen = sum(amount for amount, _ in recorded.values())
        record.recorded_count = len(recorded)
        record.checked_at = now
        record.save()
        kept: set[tuple[str, str, int | None, int | None]] = set()
        stale: list[int] = []
        for d in record.differences.all():
            signature = (d.kind, d.key, d.expected_fen, d.actual_fen)
            if d.explanation and any(
                (f.kind, f.key, f.expected_fen, f.actual_fen) == signature for f in found
            ):
                kept.add(signature)
            else:
                stale.append(d.pk)
        Difference.objects.filter(pk__in=stale).delete()
        Difference.objects.bulk_create(
            [
                Difference(
                    day=record,
                    kind=f.kind,
                    key=f.key[:100],
                    expected_fen=f.expected_fen,
                    actual_fen=f.actual_fen,
                    detail=f.detail[:300],
                )
                for f in found
                if (f.kind, f.key, f.expected_fen, f.actual_fen) not in kept
            ],
            batch_size=1000,
        )
        record_audit(
            action="reconcile_day",
            actor=actor,
            details={
                "campaign": campaign.pk,
                "day": day.isoformat(),
                "tax_file": tax_file.name,
                "bank_file": bank_file.name if bank_file is not None else None,
                "tax_fen": record.tax_fen,
                "tax_count": record.tax_count,
                "bank_fen": record.bank_fen,
                "recorded_fen": record.recorded_fen,
                "recorded_count": record.recorded_count,
                "differences": len(found),
                "kept_explained": len(kept),
            },
        )
    figures(result, record)
    if result.balanced:
        result.message = (
            f"{day.isoformat()}已对平：税务明细{record.tax_count}笔{yuan(record.tax_fen)}元，"
            f"银行入账{yuan(record.bank_fen)}元，本系统{record.recorded_count}笔"
            f"{yuan(record.recorded_fen)}元；可以结账。"
        )
    else:
        open_count = len(result.unexplained)
        result.message = (
            f"{day.isoformat()}未对平：差异{len(result.differences)}项，其中{open_count}项"
            "未说明；逐项说明后方可结账。"
        )
    return result
