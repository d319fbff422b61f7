"""The documents villages print: a village's follow-up list (催缴名单) and its households' payment
notices (缴费通知单), as data, PDF (text layer and embedded font read back with pypdf) and xlsx
(read back with python-calamine, number formats from the workbook's styles); with Daligang
2020's numbers: 250 yuan, 五保户 paid in full by medical assistance, 农村低保 half."""

import re
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from pypdf import PdfReader
from python_calamine import CalamineWorkbook

from canbao.campaigns.models import Campaign
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.errors import InputError
from canbao.policy.loader import load_preset, preset_ids
from canbao.regions.models import Division
from canbao.registry.rosters import import_roster
from canbao.registry.services import import_residents
from canbao.reports.documents import fonts
from canbao.reports.documents.followup_list import (
    build_followup_list,
    write_followup_pdf,
    write_followup_xlsx,
)
from canbao.reports.documents.formats import count_text, rate_text, yuan_text
from canbao.reports.documents.notices import build_notices, write_notices_pdf, write_notices_xlsx
from tests import test_collection_withholding as bank
from tests.conftest import COUNTY, VILLAGE, csv_file, person_id, resident, staff
from tests.test_collection_payments import pay

pytestmark = pytest.mark.django_db

# Wuming 2018's bank withholding, up to the bank's first return.
wuming, agreements, returned = bank.wuming, bank.agreements, bank.returned

ZHANG = person_id(11)  # 户主 of H1, pays 250 yuan: enrolled
LI = person_id(12, "F")  # H1, pays 100 of 250: held as partial
WANG = person_id(13)  # 五保户 (H2): owes 0, medical assistance owes 250
ZHAO = person_id(14)  # H3, employee insured: cannot enroll
QIAN = person_id(15, "F")  # 农村低保 (H4): owes 125, medical assistance 125
SUN = person_id(16)  # 德茂园, pays 250: enrolled

# --- reading the documents back -------------------------------------------------------------


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def pdf_fonts(path: Path) -> dict[str, bool]:
    """Each font the PDF's pages use: whether its file is embedded (/FontFile2 or /FontFile3)."""
    found: dict[str, bool] = {}
    for page in PdfReader(path).pages:
        resources: Any = page["/Resources"]
        for font in resources["/Font"].values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", [font]):
                descriptor = descendant.get_object()["/FontDescriptor"].get_object()
                embedded = "/FontFile2" in descriptor or "/FontFile3" in descriptor
                found[str(descriptor["/FontName"])] = embedded
    return found


def sheet_rows(path: Path, sheet: str) -> list[list[Any]]:
    rows: list[list[Any]] = (
        CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()
    )
    return rows


def cell_format(path: Path, sheet_number: int, cell: str) -> str:
    """The number format of a cell (e.g. "K6") of the workbook's n-th sheet (1-based)."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(path) as archive:
        styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
        sheet = ElementTree.fromstring(archive.read(f"xl/worksheets/sheet{sheet_number}.xml"))
    codes = {
        f.get("numFmtId"): f.get("formatCode") for f in styles.iterfind("m:numFmts/m:numFmt", ns)
    }
    xfs = list(styles.iterfind("m:cellXfs/m:xf", ns))
    node = sheet.find(f".//m:c[@r='{cell}']", ns)
    assert node is not None, f"no cell {cell}"
    xf = xfs[int(node.get("s", "0"))]
    return codes.get(xf.get("numFmtId"), "General")


def column_of(rows: list[list[Any]], header: str) -> int:
    for row in rows:
        if header in row:
            return row.index(header)
    raise AssertionError(f"no column {header}")


def excel_cell(row: int, column: int) -> str:
    """Zero-based (row, column) as an A1 reference."""
    letters = ""
    column += 1
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row + 1}"


# --- the campaign ---------------------------------------------------------------------------


@pytest.fixture
def campaign(daligang: dict[str, Division], tmp_path: Path) -> Campaign:
    rows = [
        resident("张建国", ZHANG, "H1", phone="13807371001"),
        resident("李秀英", LI, "H1", "妻", phone="13807371002"),
        resident("王五", WANG, "H2", phone="13807371003"),
        resident("赵六", ZHAO, "H3", employee="是"),
        resident("钱七", QIAN, "H4"),
        resident("孙八", SUN, "H5", village="430922117239"),
    ]
    assert not import_residents(path=csv_file(tmp_path / "r.csv", rows), actor=staff("t")).errors
    for category, people in (
        ("extreme_poverty", [("王五", WANG)]),
        ("rural_dibao", [("钱七", QIAN)]),
    ):
        path = csv_file(tmp_path / f"{category}.csv", people, ("姓名", "公民身份号码"))
        assert not import_roster(
            path=path, category=category, source="civil_affairs", actor=staff("t")
        ).errors
    opened = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff("局长"))
    assess_campaign(campaign=opened, actor=staff("局长"))
    pay(opened, "T1", 25000, ZHANG, "张建国", paid_on="2019-11-20")
    pay(opened, "T2", 10000, LI, "李秀英", paid_on="2019-11-27")
    pay(opened, "T3", 25000, SUN, "孙八", paid_on="2019-11-27")
    return opened


def village(code: str = VILLAGE) -> Division:
    return Division.objects.get(code=code)


# --- formats --------------------------------------------------------------------------------


def test_numbers_are_written_as_chinese_bureaus_write_them() -> None:
    assert count_text(608897) == "608,897"  # Wuming's task total
    assert count_text(None) == "—"
    assert yuan_text(6445300) == "64,453.00"
    assert yuan_text(12550) == "125.50"
    assert yuan_text(5) == "0.05"
    assert yuan_text(-12550) == "-125.50"
    assert rate_text(Decimal("95.25")) == "95.3%"
    assert rate_text(Decimal("97")) == "97.0%"
    assert rate_text(None) == "—"


# --- the follow-up list -------------------------------------------------------------------------


def test_the_follow_up_list_has_the_unpaid_by_household_special_groups_first(
    campaign: Campaign,
) -> None:
    listed = build_followup_list(campaign=campaign, village=village(), today=date(2019, 11, 28))
    assert [h.number for h in listed.households] == ["H2", "H4", "H1"]
    wang, qian, li = (h.members[0] for h in listed.households)
    assert (wang.name, wang.special, wang.attribute) == ("王五", True, "五保户")
    assert (wang.due_fen, wang.owing_fen, wang.department_owing) == (
        0,
        0,
        {"medical_assistance": 25000},
    )
    assert (qian.due_fen, qian.owing_fen, qian.department_owing) == (
        12500,
        12500,
        {"medical_assistance": 12500},
    )
    # 李秀英 paid 100 of 250: the ledger holds it as partial; 150 is still to pay.
    assert (li.special, li.due_fen, li.paid_fen, li.owing_fen) == (False, 25000, 10000, 15000)
    assert [(h["reason"], h["fen"]) for h in li.held] == [("partial", 10000)]
    # Her household's head paid already and is not listed, but the household is still his.
    household = listed.households[2]
    assert (household.head, household.phone, len(household.members)) == (
        "张建国",
        "13807371001",
        1,
    )
    # 赵六 (employee insured) cannot enroll and is not chased; 孙八 lives in another village.
    names = {m.name for h in listed.households for m in h.members}
    assert "赵六" not in names and "孙八" not in names
    assert (listed.residents, listed.special, listed.owing_fen) == (3, 2, 27500)


def test_the_follow_up_list_as_pdf_and_xlsx(campaign: Campaign, tmp_path: Path) -> None:
    listed = build_followup_list(campaign=campaign, village=village(), today=date(2019, 11, 28))
    write_followup_pdf(listed, tmp_path / "催缴名单.pdf")
    text = pdf_text(tmp_path / "催缴名单.pdf")
    assert "大栗港镇大栗港社区居委会2020年度城乡居民医保未参保人员催缴名单" in text
    assert "截至2019年11月28日" in text
    assert "★王五" in text and "★钱七" in text and "李秀英" in text
    assert "150.00" in text and "275.00" in text  # still to pay: hers, and the village's
    assert "待医疗救助资金代缴 250.00 元" in text
    assert "登记库未记录村民小组" in text
    fonts_used = pdf_fonts(tmp_path / "催缴名单.pdf")
    assert fonts_used and all(fonts_used.values()), fonts_used
    assert all("CanbaoCJK" in name for name in fonts_used)

    write_followup_xlsx(listed, tmp_path / "催缴名单.xlsx")
    rows = sheet_rows(tmp_path / "催缴名单.xlsx", "催缴名单")
    due, owing = column_of(rows, "应缴（元）"), column_of(rows, "尚需缴（元）")
    by_name = {
        row[3]: (index, row) for index, row in enumerate(rows) if row[3] in {"李秀英", "王五"}
    }
    index, li = by_name["李秀英"]
    assert (li[due], li[owing]) == (250.0, 150.0)
    assert by_name["王五"][1][owing] == 0.0
    assert cell_format(tmp_path / "催缴名单.xlsx", 1, excel_cell(index, owing)) == "#,##0.00"
    assert "金额不足" in li[-1]


@pytest.fixture
def withholding(
    returned: tuple[Campaign, list[dict[str, str]]],
) -> Campaign:
    return returned[0]


def test_the_follow_up_list_marks_failed_bank_deductions(withholding: Campaign) -> None:
    """Wuming 2018: the bank's first return (余额不足, 账户已销户, 账户冻结 in 城厢社区)."""
    listed = build_followup_list(
        campaign=withholding, village=village(bank.CX_VILLAGE), today=date(2017, 11, 1)
    )
    marks = {
        m.name: (m.withholding or {}).get("result") for h in listed.households for m in h.members
    }
    assert marks == {
        "黄秀兰": "insufficient_balance",
        "蓝志明": "account_closed",
        "陆春花": "account_frozen",
    }
    huang = next(m for h in listed.households for m in h.members if m.name == "黄秀兰")
    assert any(note.startswith("银行代扣失败：余额不足") for note in huang.notes)
    assert huang.owing_fen == 18000  # Wuming: 180 yuan
    lan = next(m for h in listed.households for m in h.members if m.name == "蓝志明")
    assert lan.notes[0] == "银行代扣失败：账户已销户：重新签订三方协议（新账号）"


# --- the payment notices ----------------------------------------------------------------------


def test_a_notice_per_household_with_each_members_payable_amount(campaign: Campaign) -> None:
    notices = build_notices(campaign=campaign, village=village(), today=date(2019, 9, 20))
    assert notices.title == "桃江县2020年度城乡居民基本医疗保险缴费通知单"
    assert notices.deadline == date(2019, 12, 31)  # Daligang's concentrated period
    assert notices.by_household and notices.covered_from_year_start
    assert notices.channels == list(load_preset("daligang-2020").channels)
    by_household = {n.household: n for n in notices.notices}
    assert sorted(by_household) == ["H1", "H2", "H3", "H4"]
    h1 = by_household["H1"]
    assert [(m.name, m.payable_fen, m.status) for m in h1.members] == [
        ("张建国", 25000, "已缴费参保"),
        ("李秀英", 25000, "未缴费"),
    ]
    assert (h1.payable_fen, h1.unpaid_fen) == (50000, 25000)  # 张建国 has paid
    (wang,) = by_household["H2"].members
    assert (wang.attribute, wang.subsidy_fen, wang.payable_fen) == ("五保户", 25000, 0)
    assert wang.status == "全额资助，不需个人缴费"
    (qian,) = by_household["H4"].members
    assert (qian.attribute, qian.subsidy_fen, qian.payable_fen) == ("低保户", 12500, 12500)
    (zhao,) = by_household["H3"].members
    assert not zhao.eligible and zhao.status.startswith("不需缴费：")
    assert by_household["H3"].payable_fen == 0


def test_a_reminder_round_goes_only_to_households_that_still_owe(campaign: Campaign) -> None:
    """H1 (李秀英 short) and H4 (钱七 owes 125) still owe; H2's 五保户 owes nothing (the
    department pays) and H3's only member cannot enroll."""
    notices = build_notices(
        campaign=campaign, village=village(), today=date(2019, 12, 1), unpaid_only=True
    )
    assert [n.household for n in notices.notices] == ["H1", "H4"]
    assert notices.as_json()["unpaid_only"] is True


def test_the_notices_as_pdf_and_xlsx(campaign: Campaign, tmp_path: Path) -> None:
    notices = build_notices(campaign=campaign, village=village(), today=date(2019, 9, 20))
    write_notices_pdf(notices, tmp_path / "通知单.pdf")
    text = pdf_text(tmp_path / "通知单.pdf")
    assert text.count("桃江县2020年度城乡居民基本医疗保险缴费通知单") == 4
    assert "请于2019年12月31日前缴费" in text
    assert "湘税社保APP" in text  # Daligang's channels
    assert "500.00" in text and "尚未缴纳 250.00" in text and "125.00" in text
    # ID numbers are masked on paper: the birth date is hidden.
    assert ZHANG not in text and re.search(rf"{ZHANG[:6]}\*{{8}}{ZHANG[-4:]}", text)
    assert all(pdf_fonts(tmp_path / "通知单.pdf").values())

    write_notices_xlsx(notices, tmp_path / "通知单.xlsx")
    rows = sheet_rows(tmp_path / "通知单.xlsx", "缴费通知单")
    payable, total = column_of(rows, "应缴（元）"), column_of(rows, "本户应缴合计（元）")
    unpaid = column_of(rows, "本户尚未缴纳（元）")
    index, li = next((i, row) for i, row in enumerate(rows) if row[3] == "李秀英")
    assert li[4] == LI  # the clerk's workbook keeps the full ID number
    assert li[payable] == 250.0
    head = rows[index - 1]
    assert (head[3], head[total], head[unpaid]) == ("张建国", 500.0, 250.0)
    assert cell_format(tmp_path / "通知单.xlsx", 1, excel_cell(index, payable)) == "#,##0.00"


def test_each_preset_names_how_its_notice_has_residents_pay() -> None:
    ways = {
        "songming-2016": "以户为单位收取",
        "wuming-2018": "委托银行代扣",
        "daligang-2020": "湘税社保APP",
        "chuxiong-2021": "智付通",
        "dazhu-2022": "支付宝",
    }
    assert sorted(ways) == sorted(preset_ids())
    for preset, way in ways.items():
        assert any(way in channel for channel in load_preset(preset).channels), preset


def test_without_the_chinese_font_it_says_how_to_install_it(
    campaign: Campaign, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fonts, "CJK_FONT", tmp_path / "missing.ttc")
    notices = build_notices(campaign=campaign, village=village(), today=date(2019, 9, 20))
    with pytest.raises(InputError) as raised:
        write_notices_pdf(notices, tmp_path / "通知单.pdf")
    assert raised.value.code == "font_missing"
    assert "fonts-wqy-microhei" in raised.value.message
    assert not (tmp_path / "通知单.pdf").exists()
