"""The channel files of payment details (缴费明细) and their import: tax and bank daily details,
department proxy payments, cash with receipts. Built on ``canbao.registry.batches.run_import``:
file hash, dry run, per-row errors, staging table, all or nothing.

A row that cannot be read refuses the whole file (amount, date, key), and so does a row no
person could have paid (``PaymentLimits``: an amount over ten times the policy's full price, a
date outside the campaign). A row that can be read is money received: an unknown ID number, a
name that differs from the registry or a wrong amount is recorded all the same and held in the
suspense list, never dropped.

A file is a repeat when the same bytes were imported before into the same campaign on the same
channel (nothing is done; the money of the earlier import is reported as unchanged); imported
before into the same campaign on another channel, it is refused.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from canbao import idnumber
from canbao.campaigns.locks import lock_campaign
from canbao.campaigns.models import Campaign
from canbao.campaigns.selectors import campaign_policy
from canbao.collection.models import Channel, Receipt
from canbao.collection.payment_values import (
    RECEIPT_DIGITS_MAX,
    SCIENTIFIC,
    PaymentLimits,
    parse_fen,
    parse_yuan,
    payment_key,
    receipt_number,
)
from canbao.collection.receipts import claim_receipts
from canbao.collection.services import (
    KEY_MAX,
    PAYMENT_STAGE,
    REVERSAL_PREFIX,
    RecordOutcome,
    post_staged,
    staged_problems,
)
from canbao.policy.codes import FUNDER_NAMES
from canbao.policy.money import yuan_decimal
from canbao.registry.batches import (
    ID_ALIASES,
    Context,
    ImportResult,
    ImportUsageError,
    Outcome,
    Progress,
    RowCheck,
    RowError,
    parse_date,
    record_audit,
    run_import,
)
from canbao.registry.models import AuditEntry, ImportBatch
from canbao.tabular import Column, Table, TableError

# parse_fen and parse_yuan (canbao.collection.payment_values) are named here too: reconciliation
# and withholding read their files with them.
__all__ = [
    "FILE_CHANNELS",
    "PaymentImportResult",
    "import_payments",
    "parse_fen",
    "parse_yuan",
    "payment_row_check",
]

FILE_CHANNELS = (Channel.TAX, Channel.BANK, Channel.PROXY, Channel.CASH)
DATE = Column("paid_on", ("缴费日期", "交易日期"))
NAME = Column("name", ("姓名",))
ID_NUMBER = Column("id_number", ID_ALIASES)
AMOUNT_YUAN = Column("amount_yuan", ("金额（元）", "缴费金额（元）", "金额"), required=False)
AMOUNT_FEN = Column("amount_fen", ("金额（分）", "缴费金额（分）"), required=False)

COLUMNS: dict[str, tuple[Column, ...]] = {
    Channel.TAX: (
        DATE,
        Column("key", ("交易流水号", "电子税票号码", "银行流水号", "流水号")),
        NAME,
        ID_NUMBER,
        AMOUNT_YUAN,
        AMOUNT_FEN,
        Column("method", ("缴费渠道",), required=False),
        Column("bank", ("银行", "代收银行"), required=False),
    ),
    Channel.PROXY: (
        Column("funder", ("代缴部门", "资助部门"), required=False),
        Column("key", ("批次行号", "流水号")),
        DATE,
        NAME,
        ID_NUMBER,
        AMOUNT_YUAN,
        AMOUNT_FEN,
    ),
    Channel.CASH: (
        Column("key", ("收据号码", "收据号")),
        DATE,
        NAME,
        ID_NUMBER,
        AMOUNT_YUAN,
        AMOUNT_FEN,
        Column("collector", ("收款人",), required=False),
    ),
}
COLUMNS[Channel.BANK] = COLUMNS[Channel.TAX]

FUNDER_CODES: dict[str, str] = {
    **{code: code for code in FUNDER_NAMES},
    **{name: code for code, name in FUNDER_NAMES.items()},
}


@dataclass
class PaymentImportResult(ImportResult):
    """An import's result plus the money: ``file_fen`` = the amounts of the file's rows =
    ``created_fen`` (newly recorded) + ``unchanged_fen`` (keys already recorded)."""

    campaign: int = 0
    channel: str = ""
    file_fen: int = 0
    created_fen: int = 0
    unchanged_fen: int = 0
    enrolled: int = 0
    withdrawn: int = 0
    suspended: dict[str, int] = field(default_factory=dict)
    resolved: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            **super().as_json(),
            "campaign": self.campaign,
            "channel": self.channel,
            "file_fen": self.file_fen,
            "created_fen": self.created_fen,
            "unchanged_fen": self.unchanged_fen,
            "enrolled": self.enrolled,
            "withdrawn": self.withdrawn,
            "suspended": dict(sorted(self.suspended.items())),
            "resolved": self.resolved,
        }


def import_payments(
    *,
    path: Path,
    campaign: Campaign,
    channel: str,
    funder: str | None = None,
    actor: AbstractBaseUser,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> PaymentImportResult:
    """Import one channel's payment details into a campaign (see docs/collection.md)."""
    if channel not in FILE_CHANNELS:
        raise ImportUsageError(
            f"不能从文件导入“{channel}”渠道的缴费，可选：{'、'.join(FILE_CHANNELS)}"
            "（委托代扣请导入银行回盘文件）。"
        )
    if funder is not None and channel != Channel.PROXY:
        raise ImportUsageError("只有部门代缴（--channel proxy）才能指定代缴部门。")
    if funder is not None and funder not in FUNDER_NAMES:
        raise ImportUsageError(f"未知的代缴部门“{funder}”，可选：{'、'.join(FUNDER_NAMES)}。")
    if campaign.status != Campaign.Status.OPEN:
        raise ImportUsageError(f"{campaign}已结束，不能再导入缴费。")
    columns = COLUMNS[channel]
    collectors: dict[int, str] = {}
    recorded: list[RecordOutcome] = []
    limits = PaymentLimits.of(campaign_policy(campaign))

    def apply(ctx: Context) -> Outcome:
        return _apply(ctx, campaign, channel, collectors, recorded, actor)

    def check(table: Table) -> RowCheck:
        return payment_row_check(table, columns, channel, funder, collectors, limits=limits)

    result = run_import(
        kind=ImportBatch.Kind.PAYMENTS,
        path=path,
        columns=columns,
        stage=PAYMENT_STAGE,
        make_check=check,
        apply=apply,
        actor=actor,
        dry_run=dry_run,
        progress=progress,
        category=channel,
        source=f"campaign:{campaign.pk}",
        other_category=lambda earlier: _on_other_channel(earlier, channel),
    )
    out = PaymentImportResult(**result.__dict__, campaign=campaign.pk, channel=channel)
    if result.repeated:
        # The earlier import's rows are all recorded now: its whole money is unchanged.
        earlier = (
            AuditEntry.objects.filter(batch_id=result.batch, action="record_payments")
            .values_list("details", flat=True)
            .first()
        ) or {}
        out.file_fen = out.unchanged_fen = earlier.get("created_fen", 0) + earlier.get(
            "unchanged_fen", 0
        )
        out.message += _money_sentence(out) + "。"
    elif recorded and not result.errors:
        money = recorded[-1]
        out.created_fen, out.unchanged_fen = money.created_fen, money.unchanged_fen
        out.file_fen = money.created_fen + money.unchanged_fen
        out.enrolled, out.withdrawn = money.enrolled, money.withdrawn
        out.suspended, out.resolved = dict(money.suspended), money.resolved
        out.message += _money_sentence(out)
        if not dry_run:
            held = sum(out.suspended.values())
            out.message += f"；新参保{out.enrolled}人" + (f"，挂账{held}笔" if held else "")
            if out.withdrawn:
                out.message += f"，撤销参保{out.withdrawn}人"
            if out.resolved:
                out.message += f"，挂账已处理{out.resolved}笔"
        out.message += "。"
    return out


def _money_sentence(out: PaymentImportResult) -> str:
    return (
        f"金额合计{yuan_decimal(out.file_fen):,}元，其中新入账{yuan_decimal(out.created_fen):,}元、"
        f"已入账未变{yuan_decimal(out.unchanged_fen):,}元"
    )


def _on_other_channel(earlier: ImportBatch, channel: str) -> RowError:
    labels = dict(Channel.choices)
    return RowError(
        0,
        "",
        "file_on_other_channel",
        f"该文件已于{timezone.localtime(earlier.created_at):%Y-%m-%d %H:%M}由{earlier.username}"
        f"作为“{labels.get(earlier.category, earlier.category)}”缴费明细导入本次参保缴费工作"
        f"（批次{earlier.pk}），不能再作为“{labels[channel]}”导入，否则同一笔钱会记两次；"
        "请核对文件和渠道。",
    )


def payment_row_check(
    table: Table,
    columns: tuple[Column, ...],
    channel: str,
    funder: str | None,
    collectors: dict[int, str],
    *,
    limits: PaymentLimits | None = None,
) -> RowCheck:
    """The check of one row of a channel file: its staged tuple, or None with its errors added.
    With ``limits``, an implausible amount or date is an error too; without, the rows are taken
    as the file says (daily reconciliation compares the tax bureau's lines, it records nothing).
    """
    present = set(table.keys)
    if "amount_yuan" in present and "amount_fen" in present:
        raise TableError("文件同时有“金额（元）”和“金额（分）”两列，请只保留一列。")
    if "amount_yuan" not in present and "amount_fen" not in present:
        raise TableError("文件缺少金额列：请用“金额（元）”或“金额（分）”作列名。")
    if channel == Channel.PROXY and funder is None and "funder" not in present:
        raise TableError("部门代缴文件缺少“代缴部门”列：请加上此列，或在命令中用 --funder 指定。")
    positions = {key: table.keys.index(key) for key in table.keys}
    headers = table.column_names(columns)
    amount_key = "amount_yuan" if "amount_yuan" in present else "amount_fen"
    read_amount: Callable[[str], int] = parse_yuan if amount_key == "amount_yuan" else parse_fen

    good_dates: dict[str, date] = {}
    good_amounts: dict[str, int] = {}

    def get(values: tuple[str, ...], key: str) -> str:
        position = positions.get(key)
        return values[position] if position is not None else ""

    def check(
        number: int, values: tuple[str, ...], errors: list[RowError]
    ) -> tuple[Any, ...] | None:
        failed = len(errors)
        written = get(values, "key")
        key = payment_key(written)
        if channel == Channel.CASH and key and receipt_number(key) is None:
            errors.append(
                RowError(
                    number,
                    headers["key"],
                    "receipt_number",
                    f"收据号码“{written}”须为收据上印的正整数号码（至多{RECEIPT_DIGITS_MAX}位）。",
                )
            )
        elif not key:
            errors.append(
                RowError(number, headers["key"], "key_empty", f"{headers['key']}为空，请填写。")
            )
        elif SCIENTIFIC.match(key):
            errors.append(
                RowError(
                    number,
                    headers["key"],
                    "key_format",
                    f"{headers['key']}“{written}”是被 Excel 改成科学计数法的数字，末几位已丢失："
                    "请在原始文件中把这一列设为文本后重新导出。",
                )
            )
        elif len(key) > KEY_MAX or key.startswith(REVERSAL_PREFIX):
            errors.append(
                RowError(
                    number,
                    headers["key"],
                    "key_format",
                    f"{headers['key']}“{key[:20]}…”须不超过{KEY_MAX}个字符，"
                    f"且不能以“{REVERSAL_PREFIX}”开头。",
                )
            )
        paid_on: date | None = None
        text = get(values, "paid_on")
        with contextlib.suppress(ValueError):
            paid_on = parse_date(text)
        if paid_on is None:
            errors.append(
                RowError(
                    number,
                    headers["paid_on"],
                    "date_format",
                    f"缴费日期“{text}”无法识别，请写成 YYYY-MM-DD，例如 2019-11-20。",
                )
            )
        elif limits is not None and (problem := limits.date_problem(paid_on)):
            errors.append(RowError(number, headers["paid_on"], "date_outside_campaign", problem))
        amount = 0
        text = get(values, amount_key)
        negative = text.strip().startswith("-")
        try:
            amount = read_amount(text.strip().lstrip("-"))
        except ValueError as error:
            errors.append(RowError(number, headers[amount_key], "amount_format", str(error)))
        else:
            if negative or amount <= 0:
                errors.append(
                    RowError(
                        number,
                        headers[amount_key],
                        "amount_not_positive",
                        f"金额“{text}”须大于0；退费、更正请对原记录做冲正。",
                    )
                )
            elif limits is not None and (problem := limits.amount_problem(amount, text)):
                errors.append(RowError(number, headers[amount_key], "amount_implausible", problem))
        payer = ""
        if channel == Channel.PROXY:
            written = get(values, "funder")
            if written:
                code = FUNDER_CODES.get(written)
                if code is None:
                    errors.append(
                        RowError(
                            number,
                            headers["funder"],
                            "funder_unknown",
                            f"代缴部门“{written}”无法识别，可填："
                            + "、".join(f"{n}（{c}）" for c, n in FUNDER_NAMES.items())
                            + "。",
                        )
                    )
                elif funder is not None and code != funder:
                    errors.append(
                        RowError(
                            number,
                            headers["funder"],
                            "funder_mismatch",
                            f"本行代缴部门是“{written}”，与命令指定的{FUNDER_NAMES[funder]}"
                            "不符，请核对。",
                        )
                    )
                else:
                    payer = code
            elif funder is not None:
                payer = funder
            else:
                errors.append(
                    RowError(
                        number,
                        headers["funder"],
                        "funder_empty",
                        "代缴部门为空：请填写，或在命令中用 --funder 指定。",
                    )
                )
        bank = "／".join(v for v in (get(values, "bank"), get(values, "method")) if v)[:60]
        if channel == Channel.CASH and get(values, "collector"):
            collectors[number] = get(values, "collector")
        if len(errors) > failed:
            return None
        assert paid_on is not None
        good_dates[get(values, "paid_on")] = paid_on
        good_amounts[get(values, amount_key)] = amount
        return (
            number,
            key,
            paid_on,
            amount,
            idnumber.normalize(get(values, "id_number"))[:40],
            get(values, "name")[:100],
            payer,
            bank,
            None,
            "new",
        )

    if channel not in (Channel.TAX, Channel.BANK):
        return check
    # A tax or bank file has a few hundred distinct dates and amounts in a million rows: a row
    # whose date and amount texts were read good before, with a well-formed key, is staged
    # here; anything else goes through ``check``, which words the errors.
    normalize_id = idnumber.normalize
    at_key, at_date, at_amount = positions["key"], positions["paid_on"], positions[amount_key]
    at_id, at_name = positions["id_number"], positions["name"]
    at_bank, at_method = positions.get("bank"), positions.get("method")

    def fast_check(
        number: int, values: tuple[str, ...], errors: list[RowError]
    ) -> tuple[Any, ...] | None:
        key = values[at_key]
        paid_on = good_dates.get(values[at_date])
        amount = good_amounts.get(values[at_amount])
        # An ASCII key as ``payment_key`` makes it: digits without their leading zeros, or one
        # starting with a letter (never Excel's 3.4E+17). Any other goes to ``check``.
        if paid_on is None or amount is None or not key.isascii() or not 0 < len(key) <= KEY_MAX:
            return check(number, values, errors)
        if key.isdigit():
            key = key.lstrip("0") or "0"
        elif key[0].isdigit() or key.startswith(REVERSAL_PREFIX):
            return check(number, values, errors)
        bank = values[at_bank] if at_bank is not None else ""
        method = values[at_method] if at_method is not None else ""
        return (
            number,
            key,
            paid_on,
            amount,
            normalize_id(values[at_id])[:40],
            values[at_name][:100],
            "",
            (f"{bank}／{method}" if bank and method else bank or method)[:60],
            None,
            "new",
        )

    return fast_check


def _apply(
    ctx: Context,
    campaign: Campaign,
    channel: str,
    collectors: dict[int, str],
    recorded: list[RecordOutcome],
    actor: AbstractBaseUser,
) -> Outcome:
    out = Outcome()
    lock_campaign(campaign.pk)
    column_key = {"key": "key"}
    for problem in staged_problems(ctx.cursor, campaign, channel):
        out.errors.append(
            RowError(
                problem.line,
                ctx.header(column_key.get(problem.column, problem.column)),
                problem.code,
                problem.message,
            )
        )
    if channel == Channel.CASH and not out.errors:
        out.errors.extend(_claim(ctx, campaign, collectors, actor))
    if out.errors:
        return out
    money = post_staged(
        ctx.cursor,
        campaign=campaign,
        channel=channel,
        batch=ctx.batch,
        actor=actor,
        now=ctx.now,
        write=ctx.write,
    )
    out.created, out.unchanged = money.created, money.unchanged
    out.unknown = [
        {"row": row, "id_number": id_number, "name": name} for row, id_number, name in money.unknown
    ]
    recorded.append(money)
    if ctx.write:
        record_audit(
            action="record_payments",
            actor=actor,
            batch=ctx.batch,
            details={"campaign": campaign.pk, "channel": channel, **money.as_json()},
        )
    return out


def _claim(
    ctx: Context, campaign: Campaign, collectors: dict[int, str], actor: AbstractBaseUser
) -> list[RowError]:
    """Claim the receipts of the rows not recorded yet; their problems are row errors."""
    s = PAYMENT_STAGE.name
    rows = ctx.fetch(
        f"""SELECT line, pkey FROM {s} WHERE NOT EXISTS (
          SELECT 1 FROM collection_payment p
          WHERE p.campaign_id = %s AND p.channel = %s AND p."key" = {s}.pkey)
        ORDER BY line""",
        [campaign.pk, Channel.CASH],
    )
    line_of = {int(key): int(line) for line, key in rows}
    header = ctx.header("key")
    receipts, problems = claim_receipts(campaign=campaign, numbers=list(line_of), actor=actor)
    errors = [RowError(line_of[p.number], header, p.code, p.message) for p in problems]
    if errors:
        return errors
    collector_of = dict(
        Receipt.objects.filter(pk__in=[r.pk for r in receipts.values()]).values_list(
            "number", "book__collector"
        )
    )
    for number, line in line_of.items():
        written = collectors.get(line, "")
        if written and written != collector_of.get(number):
            errors.append(
                RowError(
                    line,
                    ctx.header("collector"),
                    "collector_mismatch",
                    f"收据{number}发放给收款人“{collector_of.get(number)}”，本行收款人是"
                    f"“{written}”，请核对。",
                )
            )
    if errors:
        return errors
    ctx.cursor.executemany(
        f"UPDATE {s} SET receipt_id = %s WHERE pkey = %s",
        [(receipt.pk, str(number)) for number, receipt in receipts.items()],
    )
    return []
