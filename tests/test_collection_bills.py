"""Department subsidy bills (部门资助账单): what each funder owes, by township, to the fen."""

import json
from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from python_calamine import CalamineWorkbook

from canbao.campaigns.models import Campaign
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.collection.bills import Bill, funder_bill, write_bill_xlsx
from canbao.collection.models import Channel
from canbao.collection.services import PaymentRow, record_payments
from canbao.errors import InputError
from canbao.idnumber import make
from canbao.regions.models import Division
from canbao.registry.rosters import import_roster
from canbao.registry.services import import_residents
from canbao.tabular import Column, read_table
from tests.conftest import COUNTY, VILLAGE, csv_file, person_id, resident, staff, xlsx_file

pytestmark = pytest.mark.django_db

ROSTER_HEADER = ("姓名", "公民身份号码")
TAOHUAJIANG, TAOHUAJIANG_VILLAGE = "430922100", "430922100201"
WUBAO, DIBAO, DOUDI, ORDINARY, FAR_WUBAO = (person_id(n) for n in range(21, 26))


def mark(tmp_path: Path, category: str, source: str, *people: tuple[str, str]) -> None:
    path = csv_file(tmp_path / f"{category}.csv", [list(p) for p in people], ROSTER_HEADER)
    assert not import_roster(path=path, category=category, source=source, actor=staff("t")).errors


@pytest.fixture
def daligang_county(daligang: dict[str, Division], tmp_path: Path) -> Campaign:
    """Daligang's policy over 桃江县: 大栗港社区 has a 五保户, a 农村低保 person, a 社会兜底一类
    person and an ordinary one; a village of a second township (桃花江镇) has a 五保户."""
    township = Division.objects.create(
        code=TAOHUAJIANG, name="桃花江镇", level="township", parent=daligang["county"]
    )
    Division.objects.create(
        code=TAOHUAJIANG_VILLAGE, name="花果山村委会", level="village", parent=township
    )
    rows = [
        resident("赵五保", WUBAO, "H1"),
        resident("钱低保", DIBAO, "H2"),
        resident("孙兜底", DOUDI, "H3"),
        resident("李一般", ORDINARY, "H4"),
        resident("周五保", FAR_WUBAO, "H5", village=TAOHUAJIANG_VILLAGE),
    ]
    assert not import_residents(path=xlsx_file(tmp_path / "r.xlsx", rows), actor=staff("t")).errors
    mark(tmp_path, "extreme_poverty", "civil_affairs", ("赵五保", WUBAO), ("周五保", FAR_WUBAO))
    mark(tmp_path, "rural_dibao", "civil_affairs", ("钱低保", DIBAO))
    mark(tmp_path, "safety_net_1", "civil_affairs", ("孙兜底", DOUDI))
    campaign = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff("局长"))
    assess_campaign(campaign=campaign, actor=staff("t"))
    return campaign


def proxy(campaign: Campaign, funder: str, *payments: tuple[str, str, str, int]) -> None:
    rows = [
        PaymentRow(
            key=key,
            paid_on=date(2019, 12, 1),
            amount_fen=fen,
            id_number=id_number,
            name=name,
            funder=funder,
        )
        for key, name, id_number, fen in payments
    ]
    record_payments(
        campaign=campaign, channel=Channel.PROXY, rows=rows, batch=None, actor=staff("t")
    )


def lines(bill: Bill) -> list[tuple[str, str, int, int, int]]:
    return [(x.name, x.attribute, x.fen, x.received_fen, x.balance_fen) for x in bill.lines]


def test_medical_assistance_owes_the_daligang_shares_by_township(
    daligang_county: Campaign,
) -> None:
    proxy(daligang_county, "medical_assistance", ("MA-1", "赵五保", WUBAO, 25000))
    bill = funder_bill(daligang_county, "medical_assistance")
    assert lines(bill) == [
        ("周五保", "五保户", 25000, 0, 25000),  # 桃花江镇 (430922100) comes first
        ("赵五保", "五保户", 25000, 25000, 0),
        ("钱低保", "低保户", 12500, 0, 12500),
        ("孙兜底", "社会兜底保障一类对象", 12500, 0, 12500),
    ]
    assert [(t.name, t.persons, t.fen, t.received_fen) for t in bill.townships] == [
        ("桃花江镇", 1, 25000, 0),
        ("大栗港镇", 3, 50000, 25000),
    ]
    assert (bill.total.persons, bill.total.fen, bill.total.received_fen) == (4, 75000, 25000)
    assert bill.total.balance_fen == 50000
    assert [x.village_code for x in bill.lines[1:]] == [VILLAGE] * 3


def test_county_finance_owes_the_rest_of_the_safety_net_share(daligang_county: Campaign) -> None:
    bill = funder_bill(daligang_county, "county_finance")
    assert lines(bill) == [("孙兜底", "社会兜底保障一类对象", 12500, 0, 12500)]
    assert bill.as_json()["total_fen"] == 12500


def test_a_proxy_payment_without_a_share_is_listed_with_a_negative_balance(
    daligang_county: Campaign,
) -> None:
    proxy(daligang_county, "county_finance", ("CF-1", "李一般", ORDINARY, 25000))
    bill = funder_bill(daligang_county, "county_finance")
    assert ("李一般", "一般农户、城镇居民", 0, 25000, -25000) in lines(bill)
    assert (bill.total.fen, bill.total.received_fen, bill.total.balance_fen) == (
        12500,
        25000,
        -12500,
    )


def test_it_refuses_an_unknown_funder(daligang_county: Campaign) -> None:
    with pytest.raises(InputError, match="未知的资助方"):
        funder_bill(daligang_county, "tax_bureau")


@pytest.fixture
def chuxiong(db: None, tmp_path: Path) -> Campaign:
    """楚雄市 2021: a 特困 person (280 yuan by medical assistance), a registered poor one (180)."""
    county = Division.objects.create(code="532301", name="楚雄市", level="county")
    town = Division.objects.create(code="532301100", name="东瓜镇", level="township", parent=county)
    Division.objects.create(code="532301100201", name="东瓜村委会", level="village", parent=town)
    tekun, poor = (
        make("532301", date(1950, 3, 1), 31, "M"),
        make("532301", date(1985, 7, 9), 32, "F"),
    )
    header = ("姓名", "公民身份号码", "户编号", "与户主关系", "村(社区)代码")
    rows = [
        ["杨特困", tekun, "C1", "户主", "532301100201"],
        ["李建档", poor, "C2", "户主", "532301100201"],
    ]
    assert not import_residents(
        path=csv_file(tmp_path / "r.csv", rows, header), actor=staff("t")
    ).errors
    mark(tmp_path, "extreme_poverty", "civil_affairs", ("杨特困", tekun))
    mark(tmp_path, "registered_poor", "rural_revitalization", ("李建档", poor))
    campaign = open_campaign(area_code="532301", policy="chuxiong-2021", actor=staff("局长"))
    assess_campaign(campaign=campaign, actor=staff("t"))
    return campaign


def test_chuxiong_medical_assistance_pays_the_fixed_amounts(chuxiong: Campaign) -> None:
    bill = funder_bill(chuxiong, "medical_assistance")
    assert [(x.name, x.fen, x.enrolled) for x in bill.lines] == [
        ("杨特困", 28000, False),
        ("李建档", 18000, False),
    ]
    assert bill.total.fen == 46000


def read_back(path: Path) -> list[list[str]]:
    columns = [
        Column("township", ("乡镇",)),
        Column("name", ("姓名",)),
        Column("id_number", ("证件号码",)),
        Column("fen", ("应资助金额（元）",)),
        Column("received", ("已代缴金额（元）",)),
        Column("balance", ("未缴余额（元）",)),
    ]
    return [list(values) for _, values in read_table(path, columns).rows()]


def fen_of(text: str) -> int:
    return int(Decimal(text) * 100)


def test_the_xlsx_opens_and_its_total_equals_the_json_total(
    as_admin: None, daligang_county: Campaign, tmp_path: Path
) -> None:
    proxy(daligang_county, "medical_assistance", ("MA-1", "赵五保", WUBAO, 25000))
    path = tmp_path / "医疗救助账单.xlsx"
    out = StringIO()
    call_command(
        "bills", "--funder", "medical_assistance", "--xlsx", str(path), "--json", stdout=out
    )
    result: dict[str, Any] = json.loads(out.getvalue())
    assert (result["total_fen"], result["received_fen"], result["balance_fen"]) == (
        75000,
        25000,
        50000,
    )
    assert [t["fen"] for t in result["townships"]] == [25000, 50000]

    rows = read_back(path)
    persons = [row for row in rows if row[2]]
    assert [row[2] for row in persons] == [line["id_number"] for line in result["lines"]]
    assert sum(fen_of(row[3]) for row in persons) == result["total_fen"]
    subtotals = [row for row in rows if row[0].endswith("小计")]
    assert [(row[0], fen_of(row[3])) for row in subtotals] == [
        ("桃花江镇小计", 25000),
        ("大栗港镇小计", 50000),
    ]
    total = rows[-1]
    assert total[0] == "合计"
    assert (fen_of(total[3]), fen_of(total[4]), fen_of(total[5])) == (75000, 25000, 50000)


def test_amounts_in_the_xlsx_are_exact_to_the_fen(chuxiong: Campaign, tmp_path: Path) -> None:
    bill = funder_bill(chuxiong, "medical_assistance")
    path = tmp_path / "bill.xlsx"
    write_bill_xlsx(bill, path)
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert sheet[0][0] == "楚雄市2021年度城乡居民医保医疗救助资金资助参保人员明细"
    assert sheet[1][7] == "应资助金额（元）"
    assert [row[7] for row in sheet[2:]] == [280.0, 180.0, 460.0, 460.0]


def test_the_command_prints_the_bill_and_refuses_an_unknown_funder(
    as_admin: None, chuxiong: Campaign
) -> None:
    out = StringIO()
    call_command("bills", "--funder", "medical_assistance", stdout=out)
    text = out.getvalue()
    assert "东瓜镇：2 人（已参保 0 人），应资助 460 元，已代缴 0 元，未缴 460 元" in text
    assert "合计：2 人" in text
    with pytest.raises(CommandError):
        call_command("bills", "--funder", "nobody", stdout=StringIO(), stderr=StringIO())
