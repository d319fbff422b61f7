"""Department subsidy bills (部门资助账单): per funder, the persons whose contribution it pays
for a campaign and how much, what it has already paid by proxy payment, and the balance.

The amounts owed are the campaign's assessment shares of the funder (``AssessmentShare``); what
was received is the sum of the proxy payments (channel ``proxy``) from that funder for each
person, reversals included. A person who received a proxy payment from the funder without a
share is listed too (owed 0, a negative balance), so that the bill accounts for every fen the
funder paid for a known person. Proxy payments for persons the registry does not know are
counted apart (``unattributed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xlsxwriter
from django.db import connection

from canbao.campaigns.models import Assessment, AssessmentShare, Campaign
from canbao.collection.ledger import FUNDER_PAID_SQL, position_params
from canbao.collection.models import Channel, Enrollment, Payment
from canbao.errors import InputError
from canbao.policy.codes import FUNDER_NAMES
from canbao.policy.money import yuan_decimal
from canbao.regions.models import Division
from canbao.registry.models import Resident


@dataclass(frozen=True)
class BillLine:
    name: str
    id_number: str
    village_code: str
    village_name: str
    township_code: str
    township_name: str
    attribute: str
    fen: int
    enrolled: bool
    received_fen: int

    @property
    def balance_fen(self) -> int:
        return self.fen - self.received_fen

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id_number": self.id_number,
            "village": self.village_code,
            "village_name": self.village_name,
            "township": self.township_code,
            "township_name": self.township_name,
            "attribute": self.attribute,
            "fen": self.fen,
            "enrolled": self.enrolled,
            "received_fen": self.received_fen,
            "balance_fen": self.balance_fen,
        }


@dataclass
class Subtotal:
    code: str
    name: str
    persons: int = 0
    enrolled: int = 0
    fen: int = 0
    received_fen: int = 0

    @property
    def balance_fen(self) -> int:
        return self.fen - self.received_fen

    def add(self, line: BillLine) -> None:
        self.persons += 1
        self.enrolled += line.enrolled
        self.fen += line.fen
        self.received_fen += line.received_fen

    def as_json(self) -> dict[str, Any]:
        return {
            "township": self.code,
            "township_name": self.name,
            "persons": self.persons,
            "enrolled": self.enrolled,
            "fen": self.fen,
            "received_fen": self.received_fen,
            "balance_fen": self.balance_fen,
        }


@dataclass
class Bill:
    campaign: int
    area_name: str
    coverage_year: int
    funder: str
    funder_name: str
    lines: list[BillLine] = field(default_factory=list)
    townships: list[Subtotal] = field(default_factory=list)
    total: Subtotal = field(default_factory=lambda: Subtotal(code="", name="合计"))
    unattributed_count: int = 0
    unattributed_fen: int = 0

    @property
    def title(self) -> str:
        return (
            f"{self.area_name}{self.coverage_year}年度城乡居民医保{self.funder_name}"
            "资助参保人员明细"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "funder": self.funder,
            "funder_name": self.funder_name,
            "persons": self.total.persons,
            "enrolled": self.total.enrolled,
            "total_fen": self.total.fen,
            "received_fen": self.total.received_fen,
            "balance_fen": self.total.balance_fen,
            "unattributed": {"count": self.unattributed_count, "fen": self.unattributed_fen},
            "townships": [township.as_json() for township in self.townships],
            "lines": [line.as_json() for line in self.lines],
        }


_BILL_SQL = """
WITH owed AS (
    SELECT a.resident_id, s.fen
    FROM {share} s JOIN {assessment} a ON a.id = s.assessment_id
    WHERE a.campaign_id = %(campaign)s AND s.funder = %(funder)s
), received AS (
    SELECT resident_id, fen FROM ({funder_paid}) f WHERE f.funder = %(funder)s
), people AS (
    SELECT resident_id FROM owed UNION SELECT resident_id FROM received
)
SELECT r.name, r.id_number, v.code, v.name, COALESCE(t.code, ''), COALESCE(t.name, ''),
       COALESCE(a.attribute, ''), COALESCE(o.fen, 0), e.id IS NOT NULL, COALESCE(p.fen, 0)
FROM people x
JOIN {resident} r ON r.id = x.resident_id
JOIN {division} v ON v.id = r.village_id
LEFT JOIN {division} t ON t.id = v.parent_id
LEFT JOIN {assessment} a ON a.campaign_id = %(campaign)s AND a.resident_id = r.id
LEFT JOIN owed o ON o.resident_id = r.id
LEFT JOIN received p ON p.resident_id = r.id
LEFT JOIN {enrollment} e ON e.campaign_id = %(campaign)s AND e.resident_id = r.id
ORDER BY t.code, v.code, r.id_number
"""


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def funder_bill(campaign: Campaign, funder: str) -> Bill:
    """The bill of one funder for a campaign: its persons by township and village, with
    subtotals per township and the total, all in fen."""
    if funder not in FUNDER_NAMES:
        raise InputError(
            "unknown_funder", f"未知的资助方“{funder}”，可选：{'、'.join(FUNDER_NAMES)}"
        )
    bill = Bill(
        campaign=campaign.pk,
        area_name=campaign.area.name,
        coverage_year=campaign.coverage_year,
        funder=funder,
        funder_name=FUNDER_NAMES[funder],
    )
    tables = {
        "share": _table(AssessmentShare),
        "assessment": _table(Assessment),
        "payment": _table(Payment),
        "resident": _table(Resident),
        "division": _table(Division),
        "enrollment": _table(Enrollment),
        "funder_paid": FUNDER_PAID_SQL,
    }
    params: dict[str, Any] = {
        "campaign": campaign.pk,
        "funder": funder,
        **position_params(campaign),
    }
    townships: dict[str, Subtotal] = {}
    with connection.cursor() as cursor:
        cursor.execute(_BILL_SQL.format(**tables), params)
        for row in cursor.fetchall():
            name, id_number, village, village_name, township_code, township_name = row[:6]
            line = BillLine(
                name=name,
                id_number=id_number,
                village_code=village,
                village_name=village_name,
                township_code=township_code,
                township_name=township_name,
                attribute=row[6],
                fen=int(row[7]),
                enrolled=bool(row[8]),
                received_fen=int(row[9]),  # SUM is numeric on PostgreSQL
            )
            bill.lines.append(line)
            township = townships.get(line.township_code)
            if township is None:
                township = Subtotal(code=line.township_code, name=line.township_name)
                townships[line.township_code] = township
                bill.townships.append(township)
            township.add(line)
            bill.total.add(line)
    unattributed = Payment.objects.filter(
        campaign=campaign, channel=Channel.PROXY, funder=funder, resident__isnull=True
    ).values_list("amount_fen", flat=True)
    amounts = list(unattributed)
    bill.unattributed_count = len(amounts)
    bill.unattributed_fen = sum(amounts)
    return bill


BILL_HEADER = (
    "序号",
    "乡镇",
    "村（社区）",
    "姓名",
    "证件号码",
    "身份属性",
    "是否参保",
    "应资助金额（元）",
    "已代缴金额（元）",
    "未缴余额（元）",
)


def write_bill_xlsx(bill: Bill, path: Path) -> None:
    """The bill as .xlsx: a title row, the Chinese header, one line per person with a subtotal
    line after each township, and the total line. Amounts are numbers in yuan with two
    decimals, computed exactly from fen."""
    with xlsxwriter.Workbook(str(path), {"constant_memory": True}) as workbook:
        bold = workbook.add_format({"bold": True})
        money = workbook.add_format({"num_format": "0.00"})
        bold_money = workbook.add_format({"num_format": "0.00", "bold": True})
        sheet = workbook.add_worksheet("资助明细")
        sheet.set_column(0, 0, 6)
        sheet.set_column(1, 3, 14)
        sheet.set_column(4, 4, 20)
        sheet.set_column(5, 5, 18)
        sheet.set_column(6, 9, 14)
        sheet.write_string(0, 0, bill.title, bold)
        sheet.write_row(1, 0, BILL_HEADER, bold)
        row = 2

        def amounts(at: int, fen: int, received: int, balance: int, style: Any) -> None:
            sheet.write_number(at, 7, yuan_decimal(fen), style)
            sheet.write_number(at, 8, yuan_decimal(received), style)
            sheet.write_number(at, 9, yuan_decimal(balance), style)

        subtotals = {township.code: township for township in bill.townships}
        for index, line in enumerate(bill.lines):
            sheet.write_number(row, 0, index + 1)
            sheet.write_string(row, 1, line.township_name)
            sheet.write_string(row, 2, line.village_name)
            sheet.write_string(row, 3, line.name)
            sheet.write_string(row, 4, line.id_number)
            sheet.write_string(row, 5, line.attribute)
            sheet.write_string(row, 6, "是" if line.enrolled else "否")
            amounts(row, line.fen, line.received_fen, line.balance_fen, money)
            row += 1
            following = bill.lines[index + 1] if index + 1 < len(bill.lines) else None
            if following is None or following.township_code != line.township_code:
                township = subtotals[line.township_code]
                sheet.write_string(row, 1, f"{township.name}小计", bold)
                sheet.write_string(row, 3, f"{township.persons} 人", bold)
                amounts(row, township.fen, township.received_fen, township.balance_fen, bold_money)
                row += 1
        total = bill.total
        sheet.write_string(row, 1, "合计", bold)
        sheet.write_string(row, 3, f"{total.persons} 人", bold)
        amounts(row, total.fen, total.received_fen, total.balance_fen, bold_money)
