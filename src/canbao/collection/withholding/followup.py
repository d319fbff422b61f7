"""The failed deductions the townships must chase (代扣失败跟进名单)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter
from django.db.models import OuterRef, Subquery

from canbao.campaigns.models import Campaign
from canbao.collection.models import (
    Enrollment,
    WithholdingLine,
)
from canbao.collection.withholding.common import (
    FOLLOWUP_ACTIONS,
    FOLLOWUP_ORDER,
    RETRYABLE,
    Result,
)
from canbao.policy.money import yuan


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
