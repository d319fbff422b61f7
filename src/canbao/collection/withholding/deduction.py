"""Deduction files for the bank: the first round, and retries of the retryable failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xlsxwriter
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Max

from canbao.campaigns.locks import lock_campaign
from canbao.campaigns.models import Campaign
from canbao.collection.ledger import person_paid_sql, position_params
from canbao.collection.models import (
    WithholdingBatch,
    WithholdingLine,
)
from canbao.collection.withholding.common import (
    BATCH_HEADER,
    RETRYABLE,
    WithholdingError,
)
from canbao.policy.money import yuan
from canbao.registry.batches import (
    record_audit,
)
from canbao.tabular import (
    OutputError,
    check_output,
    write_csv,
)


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
    actor: AbstractBaseUser,
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
        encoding=encoding,
        force=force,
        retry=False,
    )


def create_retry(
    *,
    campaign: Campaign,
    out: Path,
    actor: AbstractBaseUser,
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
        encoding=encoding,
        force=force,
        retry=True,
    )


def _make_batch(
    *,
    campaign: Campaign,
    out: Path,
    actor: AbstractBaseUser,
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
    who = actor.get_username()
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
        # Tens of thousands of lines in a district's round: rows, not model instances.
        with connection.cursor() as cursor:
            cursor.executemany(
                """INSERT INTO collection_withholdingline (batch_id, line_no, agreement_id,
                  resident_id, amount_fen, result, bank_code, bank_message)
                VALUES (%s, %s, %s, %s, %s, '', '', '')""",
                [
                    (batch.pk, number, row[0], row[1], row[2])
                    for number, row in enumerate(picked, start=1)
                ],
            )
        total = sum(int(row[2]) for row in picked)
        source_sequences = sorted(
            WithholdingBatch.objects.filter(pk__in=sources).values_list("sequence", flat=True)
        )
        record_audit(
            action="withholding_retry" if retry else "withholding_batch",
            actor=actor,
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
    return [
        [batch.sequence, *line]
        for line in WithholdingLine.objects.filter(batch=batch)
        .order_by("line_no")
        .values_list(
            "line_no",
            "resident__name",
            "resident__id_number",
            "agreement__bank",
            "agreement__account_number",
            "agreement__account_name",
            "amount_fen",
        )
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
