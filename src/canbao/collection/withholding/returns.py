"""The bank's return file: each line classified, the successes recorded as payments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from canbao.campaigns.models import Campaign
from canbao.collection.models import (
    Channel,
    WithholdingBatch,
)
from canbao.collection.services import (
    PaymentError,
    PaymentRow,
    RecordOutcome,
    record_payments,
)
from canbao.collection.withholding.common import (
    CODE_TABLE,
    RETURN_COLUMNS,
    SUCCESS_TEXTS,
    TEXT_TABLE,
    Result,
    canonical_headers,
    header_texts,
    read_account,
    read_amount,
)
from canbao.registry.batches import (
    Context,
    ImportResult,
    Outcome,
    Progress,
    RowCheck,
    RowError,
    StageSpec,
    parse_date,
    run_import,
)
from canbao.registry.models import ImportBatch
from canbao.tabular import (
    Table,
    TableError,
)


def classify_return(code: str, message: str = "") -> str | None:
    """The result class of a bank's return line: the documented code table first, then the
    Chinese text (of either column), else ``other``. None when both are empty."""
    code, message = code.strip(), message.strip()
    if not code and not message:
        return None
    if code in CODE_TABLE:
        return CODE_TABLE[code]
    for text in (code, message):
        if not text:
            continue
        for words, result in TEXT_TABLE:
            if any(word in text for word in words):
                return result
        if text in SUCCESS_TEXTS:
            return Result.SUCCESS
    return Result.OTHER


RETURN_STAGE = StageSpec(
    name="canbao_stage_wh_returns",
    columns=(
        ("line", "integer"),
        ("batch_seq", "integer"),
        ("line_no", "integer"),
        ("account", "varchar(40)"),
        ("amount_fen", "bigint"),
        ("code", "varchar(20)"),
        ("message", "varchar(200)"),
        ("result", "varchar(24)"),
        ("paid_on", "date"),
        ("line_id", "bigint"),
        ("state", "varchar(10)"),
    ),
    indexes=(("batch_seq", "line_no"), ("line",)),
)


@dataclass
class ReturnSummary:
    """What a return file did beyond the import counts: lines per class, payments recorded."""

    results: dict[str, int] = field(default_factory=dict)
    payments: int = 0
    payments_fen: int = 0
    returned_batches: list[int] = field(default_factory=list)
    recorded: RecordOutcome | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "results": self.results,
            "payments": self.payments,
            "payments_fen": self.payments_fen,
            "returned_batches": self.returned_batches,
            "recorded": self.recorded.as_json() if self.recorded is not None else None,
        }


def import_returns(
    *,
    path: Path,
    campaign: Campaign,
    actor: AbstractBaseUser,
    dry_run: bool = False,
    today: date | None = None,
    progress: Progress | None = None,
    summary: ReturnSummary | None = None,
) -> ImportResult:
    """Import the bank's return file of a deduction batch (or several).

    Every line must match a line Canbao sent (批次号, 行号, 账号, 金额): any mismatch refuses the
    whole file. Each code is classified (``classify_return``); a success becomes a payment on the
    ``withholding`` channel with key ``"<批次号>-<行号>"`` dated 扣款日期 (default: today). A line
    returned before is unchanged if it says the same, refused if it says otherwise. A batch is
    marked returned when all its lines are. ``summary``, if given, is filled in.
    """
    day = today or timezone.localdate()
    summary = summary if summary is not None else ReturnSummary()
    return run_import(
        kind=ImportBatch.Kind.WITHHOLDING_RETURNS,
        path=path,
        columns=RETURN_COLUMNS,
        stage=RETURN_STAGE,
        make_check=lambda table: _return_check(table, day),
        apply=lambda ctx: _apply_returns(ctx, campaign, summary, actor),
        actor=actor,
        dry_run=dry_run,
        progress=progress,
        source=f"campaign:{campaign.pk}",
    )


def _return_check(table: Table, today: date) -> RowCheck:
    if "amount_fen" not in table.keys and "amount_yuan" not in table.keys:
        raise TableError("缺少金额列：请提供“金额（分）”或“金额（元）”列。", row=table.header_row)
    get = table.picker(RETURN_COLUMNS)
    h = header_texts(table, RETURN_COLUMNS)
    hc = canonical_headers(RETURN_COLUMNS) | h

    def check(
        number: int, values: tuple[str, ...], errors: list[RowError]
    ) -> tuple[Any, ...] | None:
        batch_text, line_text, account_text, fen_text, yuan_text, code, message, paid_text = get(
            values
        )
        failed = len(errors)
        numbers: list[int] = []
        for key, text in (("batch", batch_text), ("line", line_text)):
            if text.isdigit() and 0 < int(text) < 2**31:
                numbers.append(int(text))
            else:
                errors.append(
                    RowError(
                        number,
                        hc[key],
                        f"{key}_format",
                        f"{hc[key]}“{text}”应为正整数（照抄代扣文件中的{hc[key]}）。",
                    )
                )
        account = read_account(number, account_text, hc["account"], errors)
        amount = read_amount(number, fen_text, yuan_text, h, errors)
        result = classify_return(code, message)
        if result is None:
            errors.append(
                RowError(
                    number, hc["code"], "code_empty", "返回码和返回说明都为空，无法判断扣款结果。"
                )
            )
        paid_on: date | None = today
        try:
            paid_on = parse_date(paid_text) or today
        except ValueError:
            errors.append(
                RowError(
                    number,
                    hc["paid_on"],
                    "date_format",
                    f"扣款日期“{paid_text}”无法识别，请写成 YYYY-MM-DD。",
                )
            )
        if len(errors) > failed:
            return None
        return (
            number,
            numbers[0],
            numbers[1],
            account,
            amount,
            code[:20],
            message[:200],
            result,
            paid_on,
            None,
            "",
        )

    return check


def _apply_returns(
    ctx: Context,
    campaign: Campaign,
    summary: ReturnSummary,
    actor: AbstractBaseUser,
) -> Outcome:
    s = RETURN_STAGE.name
    h = ctx.header
    out = Outcome()
    for row, first_row, batch_seq, line_no in ctx.fetch(
        f"""SELECT a.line, m.first_row, a.batch_seq, a.line_no FROM {s} a
        JOIN (SELECT batch_seq, line_no, MIN(line) AS first_row FROM {s}
              GROUP BY batch_seq, line_no HAVING COUNT(*) > 1) m
          ON m.batch_seq = a.batch_seq AND m.line_no = a.line_no
        WHERE a.line <> m.first_row"""
    ):
        out.errors.append(
            RowError(
                row,
                h("line"),
                "duplicate_in_file",
                f"批次{batch_seq}第{line_no}笔与本文件第{first_row}行重复。",
            )
        )
    ctx.cursor.execute(
        f"""UPDATE {s} SET line_id = (
          SELECT l.id FROM collection_withholdingline l
          JOIN collection_withholdingbatch b ON b.id = l.batch_id
          WHERE b.campaign_id = %s AND b.sequence = {s}.batch_seq AND l.line_no = {s}.line_no)""",
        [campaign.pk],
    )
    for row, batch_seq, line_no in ctx.fetch(
        f"SELECT line, batch_seq, line_no FROM {s} WHERE line_id IS NULL ORDER BY line"
    ):
        out.errors.append(
            RowError(
                row,
                h("line"),
                "unknown_line",
                f"本系统没有发出过批次{batch_seq}第{line_no}笔代扣：回盘文件与代扣文件不符，"
                "请向银行核实。",
            )
        )
    amount_header = h("amount_fen") if "amount_fen" in ctx.table.keys else h("amount_yuan")
    for row, batch_seq, line_no, account, sent_account, amount, sent_amount in ctx.fetch(
        f"""SELECT s.line, s.batch_seq, s.line_no, s.account, ag.account_number,
          s.amount_fen, l.amount_fen
        FROM {s} s JOIN collection_withholdingline l ON l.id = s.line_id
        JOIN collection_withholdingagreement ag ON ag.id = l.agreement_id
        WHERE s.account <> ag.account_number OR s.amount_fen <> l.amount_fen ORDER BY s.line"""
    ):
        if account != sent_account:
            out.errors.append(
                RowError(
                    row,
                    h("account"),
                    "account_differs",
                    f"批次{batch_seq}第{line_no}笔发出的账号是{sent_account}，回盘是{account}："
                    "请向银行核实。",
                )
            )
        if amount != sent_amount:
            out.errors.append(
                RowError(
                    row,
                    amount_header,
                    "amount_differs",
                    f"批次{batch_seq}第{line_no}笔发出的金额是{sent_amount}分，回盘是{amount}分："
                    "请向银行核实。",
                )
            )
    ctx.cursor.execute(
        f"""UPDATE {s} SET state = CASE
          WHEN (SELECT l.result FROM collection_withholdingline l WHERE l.id = {s}.line_id) = ''
            THEN 'created'
          WHEN (SELECT l.result FROM collection_withholdingline l WHERE l.id = {s}.line_id)
               = {s}.result THEN 'unchanged'
          ELSE 'conflict' END
        WHERE line_id IS NOT NULL"""
    )
    labels = dict(Result.choices)
    for row, batch_seq, line_no, result, earlier in ctx.fetch(
        f"""SELECT s.line, s.batch_seq, s.line_no, s.result, l.result FROM {s} s
        JOIN collection_withholdingline l ON l.id = s.line_id
        WHERE s.state = 'conflict' ORDER BY s.line"""
    ):
        out.errors.append(
            RowError(
                row,
                h("code"),
                "already_returned",
                f"批次{batch_seq}第{line_no}笔已回盘为“{labels[earlier]}”，本文件为"
                f"“{labels[result]}”：同一笔不能有两个结果，请向银行核实。",
            )
        )
    counts = dict(ctx.fetch(f"SELECT state, COUNT(*) FROM {s} GROUP BY state"))
    out.created = int(counts.get("created", 0))
    out.unchanged = int(counts.get("unchanged", 0))
    summary.results = {
        str(result): int(n)
        for result, n in ctx.fetch(
            f"SELECT result, COUNT(*) FROM {s} WHERE state = 'created' GROUP BY result"
        )
    }
    if out.errors or not ctx.write:
        return out
    ctx.cursor.execute(
        f"""UPDATE collection_withholdingline SET result = t.result, bank_code = t.code,
          bank_message = t.message
        FROM (SELECT line_id, result, code, message FROM {s} WHERE state = 'created') t
        WHERE collection_withholdingline.id = t.line_id"""
    )
    ctx.cursor.execute(
        """UPDATE collection_withholdingbatch SET returned_at = %s
        WHERE campaign_id = %s AND returned_at IS NULL
          AND EXISTS (SELECT 1 FROM collection_withholdingline l
                      WHERE l.batch_id = collection_withholdingbatch.id)
          AND NOT EXISTS (SELECT 1 FROM collection_withholdingline l
                          WHERE l.batch_id = collection_withholdingbatch.id AND l.result = '')""",
        [ctx.now, campaign.pk],
    )
    summary.returned_batches = list(
        WithholdingBatch.objects.filter(campaign=campaign, returned_at=ctx.now)
        .order_by("sequence")
        .values_list("sequence", flat=True)
    )
    successes = ctx.fetch(
        f"""SELECT s.batch_seq, s.line_no, s.paid_on, s.amount_fen, r.id_number, r.name, ag.bank
        FROM {s} s JOIN collection_withholdingline l ON l.id = s.line_id
        JOIN registry_resident r ON r.id = l.resident_id
        JOIN collection_withholdingagreement ag ON ag.id = l.agreement_id
        WHERE s.state = 'created' AND s.result = 'success' ORDER BY s.batch_seq, s.line_no"""
    )
    if successes:
        try:
            summary.recorded = _record_successes(campaign, ctx.batch, successes, actor)
        except PaymentError as error:
            out.errors.append(RowError(0, "", error.code, f"扣款成功的记录无法入账：{error}"))
            return out
        summary.payments = len(successes)
        summary.payments_fen = sum(int(row[3]) for row in successes)
    return out


def _record_successes(
    campaign: Campaign,
    batch: ImportBatch,
    successes: list[tuple[Any, ...]],
    actor: AbstractBaseUser,
) -> RecordOutcome:
    """Successful deductions become payments through the payments engine (which applies them:
    enrollment, freezing the assessment, suspense), keyed ``"<批次号>-<行号>"``."""
    rows = [
        PaymentRow(
            key=f"{batch_seq}-{line_no}",
            paid_on=paid_on if isinstance(paid_on, date) else date.fromisoformat(str(paid_on)),
            amount_fen=int(amount),
            id_number=id_number,
            name=name,
            bank=bank,
        )
        for batch_seq, line_no, paid_on, amount, id_number, name, bank in successes
    ]
    return record_payments(
        campaign=campaign,
        channel=Channel.WITHHOLDING,
        rows=rows,
        batch=batch,
        actor=actor,
    )
