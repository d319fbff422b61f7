"""Bank withholding (银行委托代扣) under three-party agreements (resident, bank, bureau).

The round trip, as Wuming's notice describes it:

1. ``import_agreements``: the villages' signed agreements (姓名, 公民身份号码, 开户银行, 账号, 户名,
   签订日期) enter as one import batch; one active agreement per resident.
2. ``create_batch``: a deduction file for the bank, one line per active agreement not yet sent in
   this campaign whose resident owes something and is not enrolled.
3. ``import_returns``: the bank's return file; each line's code is classified
   (``classify_return``); successes become payments through
   ``canbao.collection.services.record_payments`` (channel ``withholding``, key
   ``"<批次号>-<行号>"``).
4. ``followup``: the failures the townships must chase, insufficient balance first.
5. ``create_retry``: a new batch (``retry_of`` set) of the retryable failures only.

Money is integer fen throughout. Every write is atomic and leaves an audit row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import xlsxwriter
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from canbao import idnumber
from canbao.campaigns.locks import lock_campaign
from canbao.campaigns.models import Campaign
from canbao.collection.ledger import person_paid_sql, position_params
from canbao.collection.models import (
    Channel,
    Enrollment,
    WithholdingBatch,
    WithholdingLine,
)
from canbao.collection.payment_imports import parse_fen, parse_yuan
from canbao.collection.services import (
    PaymentError,
    PaymentRow,
    RecordOutcome,
    record_payments,
)
from canbao.errors import InputError
from canbao.policy.money import yuan
from canbao.registry.batches import (
    Context,
    ImportResult,
    Outcome,
    Progress,
    RowCheck,
    RowError,
    StageSpec,
    acting_username,
    parse_date,
    record_audit,
    run_import,
)
from canbao.registry.models import ImportBatch
from canbao.tabular import (
    Column,
    OutputError,
    Table,
    TableError,
    check_output,
    write_csv,
)

Result = WithholdingLine.Result

__all__ = [
    "AGREEMENT_COLUMNS",
    "BATCH_HEADER",
    "CODE_TABLE",
    "FOLLOWUP_ORDER",
    "NEEDS_NEW_AGREEMENT",
    "RETRYABLE",
    "RETURN_COLUMNS",
    "BatchResult",
    "FollowupRow",
    "WithholdingError",
    "classify_return",
    "create_batch",
    "create_retry",
    "followup",
    "import_agreements",
    "import_returns",
    "write_followup_xlsx",
]

ID_ALIASES = ("公民身份号码", "身份证号", "身份证号码", "证件号码")

AGREEMENT_COLUMNS = (
    Column("name", ("姓名",)),
    Column("id_number", ID_ALIASES),
    Column("bank", ("开户银行", "银行")),
    Column("account", ("账号", "银行账号", "卡号")),
    Column("account_name", ("户名", "账户名称")),
    Column("signed_on", ("签订日期", "签约日期")),
)

RETURN_COLUMNS = (
    Column("batch", ("批次号",)),
    Column("line", ("行号",)),
    Column("account", ("账号", "银行账号", "卡号")),
    Column("amount_fen", ("金额（分）", "扣款金额（分）"), required=False),
    Column("amount_yuan", ("金额（元）", "扣款金额（元）", "金额"), required=False),
    Column("code", ("返回码", "响应码")),
    Column("message", ("返回说明", "返回信息", "响应信息"), required=False),
    Column("paid_on", ("扣款日期", "交易日期"), required=False),
)

# The deduction file sent to the bank.
BATCH_HEADER = ("批次号", "行号", "姓名", "公民身份号码", "开户银行", "账号", "户名", "金额（分）")

# The bank's return codes. Banks differ; these are the codes Canbao documents for the return file
# (docs/collection.md), and any other code is classified by its text, else as "other".
CODE_TABLE: dict[str, str] = {
    "0000": Result.SUCCESS,
    "1001": Result.INSUFFICIENT_BALANCE,
    "1002": Result.ACCOUNT_CLOSED,
    "1003": Result.ACCOUNT_FROZEN,
    "1004": Result.NAME_MISMATCH,
    "1005": Result.ACCOUNT_NOT_FOUND,
}
# Texts banks write, checked in this order (failures before success: "扣款不成功" is no success).
TEXT_TABLE: tuple[tuple[tuple[str, ...], str], ...] = (
    (("余额不足", "资金不足", "可用余额不足"), Result.INSUFFICIENT_BALANCE),
    (("销户", "已注销", "账户注销", "卡已注销"), Result.ACCOUNT_CLOSED),
    (("冻结", "止付"), Result.ACCOUNT_FROZEN),
    (("户名不符", "户名不一致", "户名错误", "姓名不符", "账户名称不符"), Result.NAME_MISMATCH),
    (("账号不存在", "账户不存在", "无此账户", "无此账号", "卡号不存在"), Result.ACCOUNT_NOT_FOUND),
)
SUCCESS_TEXTS = frozenset({"成功", "扣款成功", "交易成功", "处理成功", "代扣成功"})

# Failures a new deduction may cure (the resident tops up, the bank lifts a freeze, a passing
# fault); the others need a new agreement and are never retried.
RETRYABLE = (Result.INSUFFICIENT_BALANCE, Result.ACCOUNT_FROZEN, Result.OTHER)
NEEDS_NEW_AGREEMENT = (Result.ACCOUNT_CLOSED, Result.NAME_MISMATCH, Result.ACCOUNT_NOT_FOUND)
# The follow-up list's order: what the township can fix fastest first.
FOLLOWUP_ORDER = (
    Result.INSUFFICIENT_BALANCE,
    Result.ACCOUNT_FROZEN,
    Result.OTHER,
    Result.ACCOUNT_CLOSED,
    Result.NAME_MISMATCH,
    Result.ACCOUNT_NOT_FOUND,
)
FOLLOWUP_ACTIONS: dict[str, str] = {
    Result.INSUFFICIENT_BALANCE: "通知本人存足余额，待重新扣款",
    Result.ACCOUNT_FROZEN: "通知本人到银行解除冻结，待重新扣款",
    Result.OTHER: "核实原因，待重新扣款",
    Result.ACCOUNT_CLOSED: "账户已销户：重新签订三方协议（新账号）",
    Result.NAME_MISMATCH: "户名不符：核对户名后重新签订三方协议",
    Result.ACCOUNT_NOT_FOUND: "账号不存在：核对账号后重新签订三方协议",
}

_ACCOUNT = re.compile(r"[0-9]{6,32}")
_SEPARATORS = str.maketrans("", "", " -\u3000\t'")


class WithholdingError(InputError):
    """A withholding action refused as asked (nothing written): code and Chinese message."""


# --- cells ----------------------------------------------------------------------------------


def _amount(
    number: int, fen_text: str, yuan_text: str, headers: dict[str, str], errors: list[RowError]
) -> int | None:
    """The row's amount from 金额（分） if the file has it, else 金额（元）."""
    key, text = ("amount_fen", fen_text) if "amount_fen" in headers else ("amount_yuan", yuan_text)
    try:
        fen = parse_fen(text) if key == "amount_fen" else parse_yuan(text)
    except ValueError as error:
        errors.append(RowError(number, headers[key], "amount_format", str(error)))
        return None
    if fen <= 0:
        errors.append(RowError(number, headers[key], "amount_zero", "金额须大于零。"))
        return None
    return fen


def _account(number: int, text: str, header: str, errors: list[RowError]) -> str | None:
    s = text.translate(_SEPARATORS)
    if "E" in s.upper() and "+" in s:
        errors.append(
            RowError(
                number,
                header,
                "account_scientific_notation",
                f"账号“{text}”被 Excel 改成了科学计数法，末几位已丢失："
                "请把该列设为文本后重新填写。",
            )
        )
        return None
    if not _ACCOUNT.fullmatch(s):
        errors.append(
            RowError(
                number,
                header,
                "account_format",
                f"账号“{text}”不是有效的银行账号（应为6至32位数字）。",
            )
        )
        return None
    return s


def _headers(table: Table, columns: Sequence[Column]) -> dict[str, str]:
    """Header text per key: as the file writes it, else the canonical one (absent columns are
    left out, so ``key in headers`` says whether the file has the column)."""
    return {c.key: table.headers[c.key] for c in columns if c.key in table.headers}


def _canonical(columns: Sequence[Column]) -> dict[str, str]:
    return {c.key: c.aliases[0] for c in columns}


# --- agreements -----------------------------------------------------------------------------

AGREEMENT_STAGE = StageSpec(
    name="canbao_stage_wh_agreements",
    columns=(
        ("line", "integer"),
        ("id_number", "varchar(20)"),
        ("name", "varchar(100)"),
        ("bank", "varchar(60)"),
        ("account", "varchar(40)"),
        ("account_name", "varchar(100)"),
        ("signed_on", "date"),
        ("resident_id", "bigint"),
        ("current_id", "bigint"),
        ("state", "varchar(10)"),
    ),
    indexes=(("id_number",), ("line",)),
)


def import_agreements(
    *,
    path: Path,
    actor: AbstractBaseUser | None = None,
    username: str | None = None,
    dry_run: bool = False,
    today: date | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import signed three-party withholding agreements.

    Each row names a registered resident (ID number and name must match the registry) and the
    account to debit. A resident has at most one active agreement: the same agreement again is
    unchanged; a different one is refused unless the active one is dead (its last deduction came
    back account closed, name mismatch or account not found), which the new one then replaces.
    Any error refuses the whole file; the same file twice changes nothing.
    """
    day = today or timezone.localdate()
    return run_import(
        kind=ImportBatch.Kind.WITHHOLDING_AGREEMENTS,
        path=path,
        columns=AGREEMENT_COLUMNS,
        stage=AGREEMENT_STAGE,
        make_check=lambda table: _agreement_check(table, day),
        apply=_apply_agreements,
        actor=actor,
        username=username,
        dry_run=dry_run,
        progress=progress,
    )


def _agreement_check(table: Table, today: date) -> RowCheck:
    get = table.picker(AGREEMENT_COLUMNS)
    h = _canonical(AGREEMENT_COLUMNS) | _headers(table, AGREEMENT_COLUMNS)

    def check(
        number: int, values: tuple[str, ...], errors: list[RowError]
    ) -> tuple[Any, ...] | None:
        name, id_raw, bank, account_text, account_name, signed_text = get(values)
        failed = len(errors)
        for key, text, what in (
            ("name", name, "姓名"),
            ("bank", bank, "开户银行"),
            ("account_name", account_name, "户名"),
        ):
            if not text:
                errors.append(RowError(number, h[key], f"{key}_empty", f"{what}为空，请填写。"))
        id_number = ""
        try:
            id_number = idnumber.parse(id_raw, today).number
        except idnumber.IdNumberError as error:
            errors.append(RowError(number, h["id_number"], error.code, error.message))
        account = _account(number, account_text, h["account"], errors)
        signed_on: date | None = None
        try:
            signed_on = parse_date(signed_text)
        except ValueError:
            errors.append(
                RowError(
                    number,
                    h["signed_on"],
                    "date_format",
                    f"签订日期“{signed_text}”无法识别，请写成 YYYY-MM-DD，例如 2017-09-15。",
                )
            )
        else:
            if signed_on is None:
                errors.append(
                    RowError(number, h["signed_on"], "date_empty", "签订日期为空，请填写。")
                )
            elif signed_on > today:
                errors.append(
                    RowError(
                        number,
                        h["signed_on"],
                        "date_future",
                        f"签订日期{signed_on.isoformat()}晚于今天，请核对。",
                    )
                )
        if len(errors) > failed:
            return None
        return (number, id_number, name, bank, account, account_name, signed_on, None, None, "")

    return check


def _apply_agreements(ctx: Context) -> Outcome:
    s = AGREEMENT_STAGE.name
    h = ctx.header
    out = Outcome()
    for row, first_row, id_number in ctx.fetch(
        f"""SELECT a.line, m.first_row, a.id_number FROM {s} a
        JOIN (SELECT id_number, MIN(line) AS first_row FROM {s}
              GROUP BY id_number HAVING COUNT(*) > 1) m ON m.id_number = a.id_number
        WHERE a.line <> m.first_row"""
    ):
        out.errors.append(
            RowError(
                row,
                h("id_number"),
                "duplicate_in_file",
                f"身份证号码{id_number}与第{first_row}行重复：一人只能有一份有效协议。",
            )
        )
    ctx.cursor.execute(
        f"""UPDATE {s} SET
          resident_id = (SELECT r.id FROM registry_resident r
                         WHERE r.id_type = 'resident_id' AND r.id_number = {s}.id_number),
          current_id = (SELECT ag.id FROM collection_withholdingagreement ag
                        JOIN registry_resident r ON r.id = ag.resident_id
                        WHERE r.id_type = 'resident_id' AND r.id_number = {s}.id_number
                          AND ag.active = %s)""",
        [True],
    )
    for row, id_number, name in ctx.fetch(
        f"SELECT line, id_number, name FROM {s} WHERE resident_id IS NULL ORDER BY line"
    ):
        out.errors.append(
            RowError(
                row,
                h("id_number"),
                "unknown_person",
                f"身份证号码{id_number}（{name}）不在登记库中：请先登记户籍，再签订代扣协议。",
            )
        )
    for row, id_number, name, known in ctx.fetch(
        f"""SELECT s.line, s.id_number, s.name, r.name FROM {s} s
        JOIN registry_resident r ON r.id = s.resident_id WHERE r.name <> s.name"""
    ):
        out.errors.append(
            RowError(
                row,
                h("name"),
                "name_mismatch",
                f"身份证号码{id_number}在登记库中的姓名是“{known}”，协议上是“{name}”：请核对。",
            )
        )
    dead = ", ".join(f"'{r}'" for r in NEEDS_NEW_AGREEMENT)
    ctx.cursor.execute(
        f"""UPDATE {s} SET state = CASE
          WHEN current_id IS NULL THEN 'created'
          WHEN EXISTS (SELECT 1 FROM collection_withholdingagreement ag
                       WHERE ag.id = {s}.current_id AND ag.bank = {s}.bank
                         AND ag.account_number = {s}.account
                         AND ag.account_name = {s}.account_name
                         AND ag.signed_on = {s}.signed_on) THEN 'unchanged'
          WHEN (SELECT l.result FROM collection_withholdingline l
                WHERE l.agreement_id = {s}.current_id AND l.result <> ''
                ORDER BY l.id DESC LIMIT 1) IN ({dead}) THEN 'replaces'
          ELSE 'conflict' END
        WHERE resident_id IS NOT NULL"""
    )
    for row, id_number, bank, account, signed_on in ctx.fetch(
        f"""SELECT s.line, s.id_number, ag.bank, ag.account_number, ag.signed_on FROM {s} s
        JOIN collection_withholdingagreement ag ON ag.id = s.current_id
        WHERE s.state = 'conflict' ORDER BY s.line"""
    ):
        out.errors.append(
            RowError(
                row,
                h("account"),
                "second_agreement",
                f"身份证号码{id_number}已有有效的代扣协议（{bank} {account}，"
                f"签订于{_day(signed_on)}）：一人只能有一份有效协议。只有原账户扣款返回"
                "已销户、户名不符或账号不存在时，才可用新协议替换。",
            )
        )
    counts = dict(ctx.fetch(f"SELECT state, COUNT(*) FROM {s} GROUP BY state"))
    out.created = int(counts.get("created", 0))
    out.updated = int(counts.get("replaces", 0))
    out.unchanged = int(counts.get("unchanged", 0))
    if out.errors or not ctx.write:
        return out
    ctx.cursor.execute(
        f"""UPDATE collection_withholdingagreement SET active = %s
        WHERE id IN (SELECT current_id FROM {s} WHERE state = 'replaces')""",
        [False],
    )
    ctx.cursor.execute(
        f"""INSERT INTO collection_withholdingagreement
          (resident_id, bank, account_number, account_name, signed_on, active, batch_id)
        SELECT resident_id, bank, account, account_name, signed_on, %s, %s FROM {s}
        WHERE state IN ('created', 'replaces') ORDER BY line""",
        [True, ctx.batch.pk],
    )
    return out


def _day(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


# --- deduction batches ----------------------------------------------------------------------


@dataclass
class BatchResult:
    batch: int | None
    sequence: int | None
    retry_of: int | None
    lines: int
    total_fen: int
    out: str | None
    message: str
    sources: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "sequence": self.sequence,
            "retry_of": self.retry_of,
            "lines": self.lines,
            "total_fen": self.total_fen,
            "out": self.out,
            "sources": self.sources,
            "message": self.message,
        }


# The amount still owed: the assessment's payable less what the resident has already paid in
# person (the ledger's position). A line is made only when it is above zero.
_OWED = f"(a.payable_fen - {person_paid_sql('r.id')})"

# Conditions every line (first round or retry) meets: the resident is active, eligible, owes
# something, is not enrolled, was never successfully debited in this campaign, and has no line
# waiting at the bank.
_COMMON = f"""
  ag.active = %(true)s AND r.status = 'active'
  AND a.campaign_id = %(campaign)s AND a.eligible = %(true)s AND a.payable_fen IS NOT NULL
  AND {_OWED} > 0
  AND NOT EXISTS (SELECT 1 FROM collection_enrollment e
                  WHERE e.campaign_id = %(campaign)s AND e.resident_id = r.id)
  AND NOT EXISTS (SELECT 1 FROM collection_withholdingline x
                  JOIN collection_withholdingbatch xb ON xb.id = x.batch_id
                  WHERE xb.campaign_id = %(campaign)s AND x.resident_id = r.id
                    AND (x.result = 'success' OR x.result = ''))
"""

_FIRST_ROUND = f"""
SELECT ag.id, r.id, {_OWED}, v.code, hh.number, r.id_number
FROM collection_withholdingagreement ag
JOIN registry_resident r ON r.id = ag.resident_id
JOIN registry_household hh ON hh.id = r.household_id
JOIN regions_division v ON v.id = r.village_id
JOIN campaigns_assessment a ON a.resident_id = r.id
WHERE {_COMMON}
  AND NOT EXISTS (SELECT 1 FROM collection_withholdingline y
                  JOIN collection_withholdingbatch yb ON yb.id = y.batch_id
                  WHERE yb.campaign_id = %(campaign)s AND y.agreement_id = ag.id)
"""

_RETRYABLE_SQL = ", ".join(f"'{r}'" for r in RETRYABLE)

_RETRY = f"""
SELECT ag.id, r.id, {_OWED}, v.code, hh.number, r.id_number, l.batch_id
FROM collection_withholdingline l
JOIN collection_withholdingbatch b ON b.id = l.batch_id
JOIN collection_withholdingagreement ag ON ag.id = l.agreement_id
JOIN registry_resident r ON r.id = l.resident_id
JOIN registry_household hh ON hh.id = r.household_id
JOIN regions_division v ON v.id = r.village_id
JOIN campaigns_assessment a ON a.resident_id = r.id
WHERE b.campaign_id = %(campaign)s AND l.result IN ({_RETRYABLE_SQL})
  AND l.id = (SELECT MAX(z.id) FROM collection_withholdingline z
              JOIN collection_withholdingbatch zb ON zb.id = z.batch_id
              WHERE zb.campaign_id = %(campaign)s AND z.agreement_id = l.agreement_id)
  AND {_COMMON}
"""


def create_batch(
    *,
    campaign: Campaign,
    out: Path,
    actor: AbstractBaseUser | None = None,
    username: str | None = None,
    encoding: str = "utf-8-sig",
    force: bool = False,
) -> BatchResult:
    """The first-round deduction file: one line per active agreement not yet sent in this
    campaign, whose resident is eligible, owes something (payable less what is already paid), is
    not enrolled and has no line waiting at the bank. Lines are numbered by village, household
    and ID number. Nothing to send -> no batch and no file."""
    return _make_batch(
        campaign=campaign,
        out=out,
        actor=actor,
        username=username,
        encoding=encoding,
        force=force,
        retry=False,
    )


def create_retry(
    *,
    campaign: Campaign,
    out: Path,
    actor: AbstractBaseUser | None = None,
    username: str | None = None,
    encoding: str = "utf-8-sig",
    force: bool = False,
) -> BatchResult:
    """A retry batch: the agreements whose latest line came back insufficient balance, account
    frozen or other, whose resident still owes and is not enrolled. Never a success, never a
    closed account, name mismatch or unknown account (those need a new agreement). ``retry_of``
    names the latest batch the failures come from; ``sources`` lists them all."""
    return _make_batch(
        campaign=campaign,
        out=out,
        actor=actor,
        username=username,
        encoding=encoding,
        force=force,
        retry=True,
    )


def _make_batch(
    *,
    campaign: Campaign,
    out: Path,
    actor: AbstractBaseUser | None,
    username: str | None,
    encoding: str,
    force: bool,
    retry: bool,
) -> BatchResult:
    if out.suffix.lower() not in (".csv", ".xlsx"):
        raise WithholdingError("out_format", f"代扣文件须为 .csv 或 .xlsx：{out.name}")
    try:
        check_output(out, force=force)
    except OutputError as error:
        raise WithholdingError(error.code, error.message) from None
    who = acting_username(actor, username)
    params: dict[str, Any] = {
        "campaign": campaign.pk,
        "true": True,
        **position_params(campaign),
    }
    what = "重扣批次" if retry else "代扣批次"
    tmp = out.with_name(f".{out.name}.part")
    with transaction.atomic():
        # One batch at a time per campaign, numbered from what the ledger says is owed.
        lock_campaign(campaign.pk)
        with connection.cursor() as cursor:
            cursor.execute(_RETRY if retry else _FIRST_ROUND, params)
            picked = sorted(cursor.fetchall(), key=lambda row: (row[3], row[4], row[5]))
        if not picked:
            return BatchResult(
                batch=None,
                sequence=None,
                retry_of=None,
                lines=0,
                total_fen=0,
                out=None,
                sources=[],
                message=(
                    "没有需要重新扣款的失败记录，未生成文件。"
                    if retry
                    else "没有需要代扣的协议（均已参保、已发送或无应缴金额），未生成文件。"
                ),
            )
        sources = sorted({row[6] for row in picked}) if retry else []
        last = WithholdingBatch.objects.filter(campaign=campaign).aggregate(n=Max("sequence"))
        batch = WithholdingBatch.objects.create(
            campaign=campaign,
            sequence=(last["n"] or 0) + 1,
            retry_of_id=max(sources) if sources else None,
            created_by=who,
        )
        # A few thousand lines at most per round: one multi-row insert, in chunks.
        WithholdingLine.objects.bulk_create(
            [
                WithholdingLine(
                    batch=batch,
                    line_no=number,
                    agreement_id=row[0],
                    resident_id=row[1],
                    amount_fen=row[2],
                )
                for number, row in enumerate(picked, start=1)
            ],
            batch_size=2000,
        )
        total = sum(int(row[2]) for row in picked)
        source_sequences = sorted(
            WithholdingBatch.objects.filter(pk__in=sources).values_list("sequence", flat=True)
        )
        record_audit(
            action="withholding_retry" if retry else "withholding_batch",
            actor=actor,
            username=who,
            details={
                "campaign": campaign.pk,
                "batch": batch.pk,
                "sequence": batch.sequence,
                "lines": len(picked),
                "total_fen": total,
                "retry_of_sequences": source_sequences,
                "file": out.name,
            },
        )
        try:
            _write_batch_file(batch, tmp, encoding)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    tmp.replace(out)
    retry_of = (
        WithholdingBatch.objects.get(pk=batch.retry_of_id).sequence if batch.retry_of_id else None
    )
    return BatchResult(
        batch=batch.pk,
        sequence=batch.sequence,
        retry_of=retry_of,
        lines=len(picked),
        total_fen=total,
        out=str(out),
        sources=source_sequences,
        message=(
            f"已生成{what}{batch.sequence}：{len(picked)}笔，合计{yuan(total)}元（{total}分），"
            f"文件 {out}"
            + (f"；重扣来源批次：{'、'.join(map(str, source_sequences))}" if retry else "")
            + "。"
        ),
    )


def _batch_rows(batch: WithholdingBatch) -> list[list[Any]]:
    lines = (
        WithholdingLine.objects.filter(batch=batch)
        .select_related("agreement", "resident")
        .order_by("line_no")
    )
    return [
        [
            batch.sequence,
            line.line_no,
            line.resident.name,
            line.resident.id_number,
            line.agreement.bank,
            line.agreement.account_number,
            line.agreement.account_name,
            line.amount_fen,
        ]
        for line in lines
    ]


def _write_batch_file(batch: WithholdingBatch, path: Path, encoding: str) -> None:
    rows = _batch_rows(batch)
    if path.name.lower().endswith(".xlsx.part"):
        with xlsxwriter.Workbook(str(path)) as workbook:
            sheet = workbook.add_worksheet("代扣明细")
            bold = workbook.add_format({"bold": True})
            sheet.write_row(0, 0, BATCH_HEADER, bold)
            sheet.set_column(2, 6, 22)
            for offset, row in enumerate(rows, start=1):
                for column, value in enumerate(row):
                    if isinstance(value, int):
                        sheet.write_number(offset, column, value)
                    else:  # ID and account numbers stay text: Excel would round them
                        sheet.write_string(offset, column, value)
        return
    with path.open("w", encoding=encoding, newline="") as stream:
        write_csv(stream, [BATCH_HEADER, *rows])


# --- return files ---------------------------------------------------------------------------


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
    actor: AbstractBaseUser | None = None,
    username: str | None = None,
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
    who = acting_username(actor, username)
    return run_import(
        kind=ImportBatch.Kind.WITHHOLDING_RETURNS,
        path=path,
        columns=RETURN_COLUMNS,
        stage=RETURN_STAGE,
        make_check=lambda table: _return_check(table, day),
        apply=lambda ctx: _apply_returns(ctx, campaign, summary, actor, who),
        actor=actor,
        username=username,
        dry_run=dry_run,
        progress=progress,
        source=f"campaign:{campaign.pk}",
    )


def _return_check(table: Table, today: date) -> RowCheck:
    if "amount_fen" not in table.keys and "amount_yuan" not in table.keys:
        raise TableError("缺少金额列：请提供“金额（分）”或“金额（元）”列。", row=table.header_row)
    get = table.picker(RETURN_COLUMNS)
    h = _headers(table, RETURN_COLUMNS)
    hc = _canonical(RETURN_COLUMNS) | h

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
        account = _account(number, account_text, hc["account"], errors)
        amount = _amount(number, fen_text, yuan_text, h, errors)
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
    actor: AbstractBaseUser | None,
    who: str,
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
            summary.recorded = _record_successes(campaign, ctx.batch, successes, actor, who)
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
    actor: AbstractBaseUser | None,
    who: str,
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
        username=who,
        actor=actor,
    )


# --- follow-up ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowupRow:
    township_code: str
    township: str
    village_code: str
    village: str
    name: str
    id_number: str
    phone: str
    bank: str
    account: str
    account_name: str
    amount_fen: int
    result: str
    reason: str
    bank_code: str
    bank_message: str
    line: str
    action: str
    retryable: bool
    pending: str = ""

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def followup(*, campaign: Campaign, township: str | None = None) -> list[FollowupRow]:
    """The failed deductions the townships must chase, by township and class (insufficient
    balance first), then village and name: per agreement its latest returned line, when that line
    failed, the agreement is still active and the resident is not enrolled. A resident whose
    retry is at the bank stays listed, with ``pending`` naming the retry line; one who signed a
    new agreement after a dead account is off the list (the new agreement waits for the next
    batch)."""
    latest = (
        WithholdingLine.objects.filter(
            batch__campaign=campaign, agreement_id=OuterRef("agreement_id")
        )
        .exclude(result="")
        .order_by("-id")
        .values("id")[:1]
    )
    enrolled = Enrollment.objects.filter(campaign=campaign).values("resident_id")
    lines = (
        WithholdingLine.objects.filter(batch__campaign=campaign, agreement__active=True)
        .exclude(result__in=["", Result.SUCCESS])
        .filter(id=Subquery(latest))
        .exclude(resident_id__in=enrolled)
        .select_related("batch", "agreement", "resident__village__parent")
    )
    if township:
        lines = lines.filter(resident__village__parent__code=township)
    labels = dict(Result.choices)
    pending = {
        agreement: f"{sequence}-{line_no}"
        for agreement, sequence, line_no in WithholdingLine.objects.filter(
            batch__campaign=campaign, result=""
        ).values_list("agreement_id", "batch__sequence", "line_no")
    }
    rows = []
    for line in lines:
        village = line.resident.village
        waiting = pending.get(line.agreement_id, "")
        parent = village.parent
        rows.append(
            FollowupRow(
                township_code=parent.code if parent else "",
                township=parent.name if parent else "",
                village_code=village.code,
                village=village.name,
                name=line.resident.name,
                id_number=line.resident.id_number,
                phone=line.resident.phone,
                bank=line.agreement.bank,
                account=line.agreement.account_number,
                account_name=line.agreement.account_name,
                amount_fen=line.amount_fen,
                result=line.result,
                reason=labels[line.result],
                bank_code=line.bank_code,
                bank_message=line.bank_message,
                line=f"{line.batch.sequence}-{line.line_no}",
                action=(
                    f"已在重扣（{waiting}），{FOLLOWUP_ACTIONS[line.result]}"
                    if waiting
                    else FOLLOWUP_ACTIONS[line.result]
                ),
                retryable=line.result in RETRYABLE,
                pending=waiting,
            )
        )
    order = {str(result): rank for rank, result in enumerate(FOLLOWUP_ORDER)}
    rows.sort(key=lambda r: (r.township_code, order[r.result], r.village_code, r.id_number))
    return rows


FOLLOWUP_HEADER = (
    "乡镇",
    "村(社区)",
    "姓名",
    "公民身份号码",
    "联系电话",
    "开户银行",
    "账号",
    "户名",
    "金额（元）",
    "失败原因",
    "银行返回码",
    "银行返回说明",
    "批次-行号",
    "需办理",
)


def write_followup_xlsx(rows: Sequence[FollowupRow], path: Path) -> Path:
    """The follow-up list as a workbook: a summary sheet (township x class) and the list."""
    with xlsxwriter.Workbook(str(path)) as workbook:
        bold = workbook.add_format({"bold": True})
        summary = workbook.add_worksheet("汇总")
        labels = dict(Result.choices)
        summary.write_row(0, 0, ["乡镇", *(labels[r] for r in FOLLOWUP_ORDER), "合计"], bold)
        townships: dict[tuple[str, str], dict[str, int]] = {}
        for row in rows:
            counts = townships.setdefault((row.township_code, row.township), {})
            counts[row.result] = counts.get(row.result, 0) + 1
        for offset, ((_, name), counts) in enumerate(sorted(townships.items()), start=1):
            summary.write_string(offset, 0, name)
            for column, result in enumerate(FOLLOWUP_ORDER, start=1):
                summary.write_number(offset, column, counts.get(result, 0))
            summary.write_number(offset, len(FOLLOWUP_ORDER) + 1, sum(counts.values()))
        summary.set_column(0, 0, 16)
        sheet = workbook.add_worksheet("代扣失败跟进")
        sheet.write_row(0, 0, FOLLOWUP_HEADER, bold)
        sheet.set_column(0, 1, 16)
        sheet.set_column(2, 7, 20)
        sheet.set_column(13, 13, 36)
        for offset, row in enumerate(rows, start=1):
            values = (
                row.township,
                row.village,
                row.name,
                row.id_number,
                row.phone,
                row.bank,
                row.account,
                row.account_name,
                yuan(row.amount_fen),
                row.reason,
                row.bank_code,
                row.bank_message,
                row.line,
                row.action,
            )
            for column, value in enumerate(values):
                sheet.write_string(offset, column, value)
    return path
