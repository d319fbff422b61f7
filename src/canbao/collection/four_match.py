"""The four-match report (人、钱、票、册四相符) per village: persons enrolled, money received,
receipts used and roster lines agree, and every disagreement is named with its person or receipt.

What is compared (see docs/collection.md, "收款收据与四相符"):

- 人 persons: the village's residents enrolled for the campaign (``Enrollment``).
- 册 roster lines: the enrolled residents whose assessment says they may enroll. Persons and
  roster agree when every enrolled resident is on the roster.
- 钱 money: each resident's own payments (every channel but department proxy payments,
  reversals included) against the assessment's payable amount. An enrolled resident must have
  paid exactly what is payable; a resident who is not enrolled must have no money. Department
  proxy money pays subsidy shares: it is shown, and named where it exceeds the person's subsidy
  or arrived for a person who is not enrolled; what departments still owe is their bill's
  business (``canbao.collection.bills``).
- 票 receipts: every cash payment that stands (not reversed) has its own used receipt, and every
  used receipt belongs to a standing cash payment of a known resident of the village.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xlsxwriter
from django.db import connection

from canbao.campaigns.models import Assessment, Campaign
from canbao.collection.ledger import POSITIONS_SQL, position_params
from canbao.collection.models import Channel, Enrollment, Payment, Receipt, ReceiptBook
from canbao.collection.receipts import receipt_label
from canbao.divisions import DivisionCodeError, is_within, normalize_code
from canbao.errors import InputError
from canbao.policy.codes import pending_names
from canbao.policy.money import yuan, yuan_decimal
from canbao.regions.models import Division
from canbao.registry.models import Resident


@dataclass
class VillageMatch:
    village_code: str
    village_name: str
    township_code: str
    township_name: str
    persons: int = 0
    roster_lines: int = 0
    expected_fen: int = 0
    received_fen: int = 0
    proxy_fen: int = 0
    cash_payments: int = 0
    cash_fen: int = 0
    receipts_used: int = 0
    receipts_voided: int = 0
    books: int = 0
    mismatches: list[str] = field(default_factory=list)
    # Details collected while reading, assembled into ``mismatches`` in a fixed order.
    _persons: list[str] = field(default_factory=list, repr=False)
    _money: list[str] = field(default_factory=list, repr=False)
    _receipts: list[str] = field(default_factory=list, repr=False)

    @property
    def matches(self) -> bool:
        return not self.mismatches

    def as_json(self) -> dict[str, Any]:
        return {
            "village": self.village_code,
            "village_name": self.village_name,
            "township": self.township_code,
            "township_name": self.township_name,
            "persons": self.persons,
            "roster_lines": self.roster_lines,
            "expected_fen": self.expected_fen,
            "received_fen": self.received_fen,
            "proxy_fen": self.proxy_fen,
            "cash_payments": self.cash_payments,
            "cash_fen": self.cash_fen,
            "receipts_used": self.receipts_used,
            "receipts_voided": self.receipts_voided,
            "books": self.books,
            "matches": self.matches,
            "mismatches": list(self.mismatches),
        }

    def _assemble(self) -> None:
        lines: list[str] = []
        if self.persons != self.roster_lines:
            lines.append(
                f"参保 {self.persons} 人，花名册 {self.roster_lines} 人："
                f"{self.persons - self.roster_lines} 人已参保但不在花名册上"
            )
        lines.extend(self._persons)
        if self.received_fen != self.expected_fen:
            gap = self.received_fen - self.expected_fen
            lines.append(
                f"个人缴费实收 {yuan(self.received_fen)} 元，已参保人员应缴合计 "
                f"{yuan(self.expected_fen)} 元：{'多' if gap > 0 else '少'} "
                f"{yuan(abs(gap))} 元"
            )
        lines.extend(self._money)
        if self.cash_payments != self.receipts_used:
            gap = self.receipts_used - self.cash_payments
            lines.append(
                f"现金缴费 {self.cash_payments} 笔 {yuan(self.cash_fen)} 元，使用收据 "
                f"{self.receipts_used} 张：{'多' if gap > 0 else '缺'} {abs(gap)} 张"
            )
        lines.extend(self._receipts)
        self.mismatches = lines


def _who(name: str, id_number: str) -> str:
    return f"{name}（{id_number}）"


def _villages(campaign: Campaign, village_code: str | None) -> tuple[str, Division | None]:
    """The code prefix to report on, and the village asked for (if any)."""
    if village_code is None:
        return campaign.area.code, None
    try:
        code = normalize_code(village_code)
    except DivisionCodeError:
        raise InputError("unknown_village", f"“{village_code}”不是区划代码") from None
    village = Division.objects.filter(code=code, level=Division.Level.VILLAGE).first()
    if village is None:
        raise InputError("unknown_village", f"区划库中没有代码为 {code} 的村（社区）")
    if not is_within(code, campaign.area.code):
        raise InputError(
            "village_outside_area",
            f"{village.name}（{code}）不在本次参保缴费工作的统筹区 {campaign.area.name} 内",
        )
    return code, village


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


# Everyone with money or an enrollment in the campaign, from the ledger's positions.
_PEOPLE_SQL = """
SELECT r.name, r.id_number, d.code,
       p.enrolled, p.person_fen, p.proxy_fen,
       a.id IS NOT NULL, a.eligible, a.refusal, a.payable_fen, a.subsidy_fen, a.pending
FROM ({positions}) p
JOIN {resident} r ON r.id = p.resident_id
JOIN {division} d ON d.id = r.village_id
LEFT JOIN {assessment} a ON a.campaign_id = %(campaign)s AND a.resident_id = r.id
WHERE d.code LIKE %(codes)s AND (p.received_fen <> 0 OR p.enrolled)
ORDER BY d.code, r.id_number
"""

_ASSESSED_SQL = """
SELECT DISTINCT d.code
FROM {assessment} a
JOIN {resident} r ON r.id = a.resident_id
JOIN {division} d ON d.id = r.village_id
WHERE a.campaign_id = %(campaign)s AND d.code LIKE %(codes)s
"""

_CASH_SQL = """
SELECT p.key, p.channel, p.amount_fen, p.name, p.id_number, r.name, r.id_number,
       rd.code, c.number, bd.code,
       EXISTS (SELECT 1 FROM {payment} v WHERE v.reverses_id = p.id)
FROM {payment} p
LEFT JOIN {resident} r ON r.id = p.resident_id
LEFT JOIN {division} rd ON rd.id = r.village_id
LEFT JOIN {receipt} c ON c.id = p.receipt_id
LEFT JOIN {book} b ON b.id = c.book_id
LEFT JOIN {division} bd ON bd.id = b.village_id
WHERE p.campaign_id = %(campaign)s AND p.reverses_id IS NULL
  AND (p.channel = %(cash)s OR p.receipt_id IS NOT NULL)
  AND COALESCE(rd.code, bd.code) LIKE %(codes)s
ORDER BY p.paid_on, p.key
"""

_RECEIPTS_SQL = """
SELECT bd.code, c.number, c.status,
       NOT EXISTS (SELECT 1 FROM {payment} p WHERE p.receipt_id = c.id)
FROM {receipt} c
JOIN {book} b ON b.id = c.book_id
JOIN {division} bd ON bd.id = b.village_id
WHERE c.campaign_id = %(campaign)s AND bd.code LIKE %(codes)s
ORDER BY c.number
"""

_BOOKS_SQL = """
SELECT bd.code, COUNT(*) FROM {book} b JOIN {division} bd ON bd.id = b.village_id
WHERE b.campaign_id = %(campaign)s AND bd.code LIKE %(codes)s GROUP BY bd.code
"""


def four_match(campaign: Campaign, village_code: str | None = None) -> list[VillageMatch]:
    """The four-match of every village of the campaign's area that has assessed residents,
    enrollments, payments or receipt books (or of the one village asked for), by code."""
    prefix, asked = _villages(campaign, village_code)
    tables = {
        "payment": _table(Payment),
        "enrollment": _table(Enrollment),
        "resident": _table(Resident),
        "division": _table(Division),
        "assessment": _table(Assessment),
        "receipt": _table(Receipt),
        "book": _table(ReceiptBook),
        "positions": POSITIONS_SQL,
    }
    params: dict[str, Any] = {
        "campaign": campaign.pk,
        "codes": prefix if asked is not None else f"{prefix}%",
        "cash": Channel.CASH.value,
        **position_params(campaign),
    }
    villages: dict[str, VillageMatch] = {}
    divisions: dict[str, Division] = {}

    def village(code: str) -> VillageMatch:
        found = villages.get(code)
        if found is None:
            division = divisions.get(code)
            if division is None:
                division = Division.objects.select_related("parent").get(code=code)
                divisions[code] = division
            township = division.parent
            found = VillageMatch(
                village_code=code,
                village_name=division.name,
                township_code=township.code if township else "",
                township_name=township.name if township else "",
            )
            villages[code] = found
        return found

    divisions.update(
        (d.code, d)
        for d in Division.objects.select_related("parent").filter(
            level=Division.Level.VILLAGE,
            code__startswith=prefix,
        )
    )
    if asked is not None:
        village(asked.code)

    with connection.cursor() as cursor:
        cursor.execute(_ASSESSED_SQL.format(**tables), params)
        for (code,) in cursor.fetchall():
            village(code)
        cursor.execute(_BOOKS_SQL.format(**tables), params)
        for code, books in cursor.fetchall():
            village(code).books = books
        cursor.execute(_PEOPLE_SQL.format(**tables), params)
        for row in cursor.fetchall():
            _person(village(row[2]), row)
        cursor.execute(_CASH_SQL.format(**tables), params)
        for row in cursor.fetchall():
            _cash(village, row)
        cursor.execute(_RECEIPTS_SQL.format(**tables), params)
        for code, number, status, orphan in cursor.fetchall():
            match = village(code)
            if status == Receipt.Status.VOIDED:
                match.receipts_voided += 1
            elif orphan:
                match.receipts_used += 1
                match._receipts.append(f"收据 {receipt_label(number)} 已使用但没有对应的缴费记录")
    result = [villages[code] for code in sorted(villages)]
    for match in result:
        match._assemble()
    return result


def _person(match: VillageMatch, row: tuple[Any, ...]) -> None:
    (name, id_number, _code, enrolled) = row[:4]
    # SUM of bigint is numeric on PostgreSQL: back to int fen.
    personal, proxy = int(row[4]), int(row[5])
    (assessed, eligible, refusal, payable, subsidy, pending) = row[6:]
    who = _who(name, id_number)
    match.received_fen += personal
    match.proxy_fen += proxy
    if enrolled:
        match.persons += 1
        if not assessed:
            match._persons.append(f"{who}已参保但没有核定记录，不在花名册上")
        elif not eligible:
            match._persons.append(f"{who}已参保但核定为不能参保（{refusal}），不在花名册上")
        else:
            match.roster_lines += 1
        if assessed and payable is not None:
            match.expected_fen += payable
        if assessed and payable is None:
            match._money.append(
                f"{who}已参保但应缴金额尚未公布（{pending_names(pending)}），"
                f"已缴 {yuan(personal)} 元"
            )
        elif assessed and personal != payable:
            gap = personal - payable
            match._money.append(
                f"{who}已参保，应缴 {yuan(payable)} 元，实缴 {yuan(personal)} 元："
                f"{'多缴' if gap > 0 else '少缴'} {yuan(abs(gap))} 元"
            )
    elif personal != 0:
        match._money.append(
            f"{who}已缴 {yuan(personal)} 元但未参保："
            f"{_why_not_enrolled(personal, assessed, eligible, refusal, payable, pending)}"
        )
    if proxy != 0 and not enrolled:
        match._money.append(f"{who}有部门代缴 {yuan(proxy)} 元但未参保")
    elif proxy > (subsidy or 0) and enrolled:
        match._money.append(f"{who}部门代缴 {yuan(proxy)} 元，超出核定资助 {yuan(subsidy or 0)} 元")


def _why_not_enrolled(
    personal: int,
    assessed: bool,
    eligible: bool | None,
    refusal: str | None,
    payable: int | None,
    pending: str | None,
) -> str:
    if personal < 0:
        return "冲正金额大于缴费金额"
    if not assessed:
        return "尚未核定"
    if not eligible:
        return f"不符合参保条件（{refusal}）"
    if payable is None:
        return f"应缴金额尚未公布（{pending_names(pending or '')}）"
    if personal < payable:
        return f"金额不足，应缴 {yuan(payable)} 元，还差 {yuan(payable - personal)} 元"
    if personal > payable:
        return f"金额超出，应缴 {yuan(payable)} 元，多 {yuan(personal - payable)} 元"
    return f"金额已足（应缴 {yuan(payable)} 元）但未登记参保，请核实"


def _cash(village: Any, row: tuple[Any, ...]) -> None:
    (key, channel, amount, paid_name, paid_id, name, id_number) = row[:7]
    (resident_code, number, book_code, reversed_) = row[7:]
    code = resident_code or book_code
    match: VillageMatch = village(code)
    known = resident_code is not None
    who = _who(name, id_number) if known else _who(paid_name, paid_id)
    if channel == Channel.CASH and not reversed_:
        match.cash_payments += 1
        match.cash_fen += amount
    if number is None:
        if not reversed_:
            match._receipts.append(f"{who}现金缴费 {yuan(amount)} 元（流水号 {key}）没有收据")
        return
    label = receipt_label(number)
    match.receipts_used += 1
    if reversed_:
        match._receipts.append(
            f"收据 {label} 已使用但对应缴费已冲正（{who}，{yuan(amount)} 元，流水号 {key}）"
        )
    if not known:
        match._receipts.append(
            f"收据 {label} 对应的现金缴费（{who}，{yuan(amount)} 元）查无此人，待核实"
        )
    elif book_code is not None and book_code != resident_code:
        match._receipts.append(
            f"收据 {label} 属于区划 {book_code} 的收据本，却用于本村居民{who}的缴费"
        )
    if channel != Channel.CASH:
        match._receipts.append(
            f"收据 {label} 用于非现金缴费（{Channel(channel).label}，流水号 {key}）"
        )


_SUMMARY_HEADER = (
    "乡镇",
    "村（社区）代码",
    "村（社区）",
    "参保人数",
    "花名册人数",
    "应收个人缴费（元）",
    "实收个人缴费（元）",
    "部门代缴（元）",
    "现金缴费笔数",
    "现金缴费金额（元）",
    "使用收据（张）",
    "作废收据（张）",
    "四相符",
    "不相符项",
)


def write_four_match_xlsx(matches: list[VillageMatch], path: Path, title: str) -> None:
    """The report as .xlsx: one summary line per village, then every mismatch named."""
    with xlsxwriter.Workbook(str(path)) as workbook:
        bold = workbook.add_format({"bold": True})
        money = workbook.add_format({"num_format": "0.00"})
        sheet = workbook.add_worksheet("四相符")
        sheet.write_string(0, 0, title, bold)
        sheet.write_row(1, 0, _SUMMARY_HEADER, bold)
        for offset, match in enumerate(matches, start=2):
            sheet.write_string(offset, 0, match.township_name)
            sheet.write_string(offset, 1, match.village_code)
            sheet.write_string(offset, 2, match.village_name)
            sheet.write_number(offset, 3, match.persons)
            sheet.write_number(offset, 4, match.roster_lines)
            sheet.write_number(offset, 5, yuan_decimal(match.expected_fen), money)
            sheet.write_number(offset, 6, yuan_decimal(match.received_fen), money)
            sheet.write_number(offset, 7, yuan_decimal(match.proxy_fen), money)
            sheet.write_number(offset, 8, match.cash_payments)
            sheet.write_number(offset, 9, yuan_decimal(match.cash_fen), money)
            sheet.write_number(offset, 10, match.receipts_used)
            sheet.write_number(offset, 11, match.receipts_voided)
            sheet.write_string(offset, 12, "相符" if match.matches else "不相符")
            sheet.write_number(offset, 13, len(match.mismatches))
        sheet.set_column(0, 2, 16)
        sheet.set_column(3, 13, 12)
        details = workbook.add_worksheet("不相符明细")
        details.write_string(0, 0, f"{title}：不相符明细", bold)
        details.write_row(1, 0, ("村（社区）代码", "村（社区）", "说明"), bold)
        row = 2
        for match in matches:
            for line in match.mismatches:
                details.write_string(row, 0, match.village_code)
                details.write_string(row, 1, match.village_name)
                details.write_string(row, 2, line)
                row += 1
        details.set_column(0, 1, 16)
        details.set_column(2, 2, 80)
