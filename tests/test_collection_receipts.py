"""Receipt books (票) and the four-match report (人、钱、票、册四相符) on Daligang's numbers."""

import json
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from python_calamine import CalamineWorkbook

from canbao.campaigns.models import Campaign
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.collection.four_match import VillageMatch, four_match
from canbao.collection.models import Channel, Enrollment, Payment, Receipt, ReceiptBook
from canbao.collection.receipts import (
    ReceiptError,
    cancel_receipt_book,
    claim_receipts,
    issue_receipt_book,
    void_receipt,
)
from canbao.collection.services import PaymentRow, record_payments, reverse_payment
from canbao.regions.models import Division
from canbao.registry.models import AuditEntry, Resident
from canbao.registry.rosters import import_roster
from canbao.registry.services import import_residents
from tests.conftest import OTHER_VILLAGE, TOWNSHIP, VILLAGE, csv_file, person_id, resident, staff

pytestmark = pytest.mark.django_db

ZHANG, LI, WANG, ZHAO, QIAN, ZHOU = (person_id(n) for n in range(11, 17))
PAID_ON = date(2019, 11, 20)


@pytest.fixture
def campaign(daligang: dict[str, Division], tmp_path: Path) -> Campaign:
    """大栗港镇 2020: five residents of 大栗港社区 (one 五保户, one 农村低保) and one of 德茂园."""
    rows = [
        resident("张三", ZHANG, "H1"),
        resident("李四", LI, "H2"),
        resident("王五", WANG, "H3"),
        resident("赵六", ZHAO, "H4"),
        resident("钱七", QIAN, "H5"),
        resident("周九", ZHOU, "H6", village=OTHER_VILLAGE),
    ]
    assert not import_residents(path=csv_file(tmp_path / "r.csv", rows), actor=staff("t")).errors
    for name, number, category in (
        ("赵六", ZHAO, "extreme_poverty"),
        ("钱七", QIAN, "rural_dibao"),
    ):
        roster = csv_file(tmp_path / f"{category}.csv", [[name, number]], ("姓名", "公民身份号码"))
        imported = import_roster(
            path=roster, category=category, source="civil_affairs", actor=staff("t")
        )
        assert not imported.errors
    opened = open_campaign(area_code=TOWNSHIP, policy="daligang-2020", actor=staff("局长"))
    assess_campaign(campaign=opened, actor=staff("t"))
    return opened


def book(campaign: Campaign, first: int = 1001, last: int = 1010) -> ReceiptBook:
    return issue_receipt_book(
        campaign=campaign,
        collector="刘会计",
        village_code=VILLAGE,
        first=first,
        last=last,
        actor=staff("镇财政所"),
    )


def codes(problems: list[Any]) -> list[tuple[int, str]]:
    return [(p.number, p.code) for p in problems]


# --- receipt books -----------------------------------------------------------------------------


def test_it_issues_a_book_by_number_range_and_audits_it(campaign: Campaign) -> None:
    issued = book(campaign)
    assert (issued.first_number, issued.last_number, issued.collector) == (1001, 1010, "刘会计")
    assert issued.village is not None and issued.village.code == VILLAGE
    audit = AuditEntry.objects.get(action="issue_receipt_book")
    assert audit.username == "镇财政所" and audit.details["first"] == 1001


def test_it_refuses_a_range_that_overlaps_another_book_naming_it(campaign: Campaign) -> None:
    first = book(campaign)
    with pytest.raises(ReceiptError) as caught:
        book(campaign, 1010, 1050)
    assert caught.value.code == "range_overlaps"
    assert f"第 {first.pk} 号收据本（No.0001001–No.0001010，收款人 刘会计）" in caught.value.message
    assert ReceiptBook.objects.count() == 1
    book(campaign, 1011, 1050)  # the next range is free
    assert ReceiptBook.objects.count() == 2


def test_it_refuses_a_reversed_range_and_a_village_outside_the_area(
    campaign: Campaign, daligang: dict[str, Division]
) -> None:
    with pytest.raises(ReceiptError, match="起始号码须大于 0"):
        book(campaign, 20, 10)
    far = Division.objects.create(
        code="430922100201", name="外镇某村", level="village", parent=daligang["county"]
    )
    with pytest.raises(ReceiptError) as caught:
        issue_receipt_book(
            campaign=campaign,
            collector="某人",
            village_code=far.code,
            first=1,
            last=5,
            actor=staff(),
        )
    assert caught.value.code == "village_outside_area"
    assert not ReceiptBook.objects.exists()


def test_it_claims_issued_numbers_once_each(campaign: Campaign) -> None:
    book(campaign)
    receipts, problems = claim_receipts(campaign=campaign, numbers=[1001, 1002], actor=staff("t"))
    assert problems == []
    assert sorted(receipts) == [1001, 1002]
    assert {r.status for r in receipts.values()} == {Receipt.Status.USED}
    assert all(r.pk is not None for r in receipts.values())

    again, problems = claim_receipts(campaign=campaign, numbers=[1002], actor=staff("t"))
    assert again == {} and codes(problems) == [(1002, "receipt_used")]
    assert "No.0001002" in problems[0].message and "只能使用一次" in problems[0].message


def test_it_names_every_problem_and_claims_nothing_when_any_number_is_bad(
    campaign: Campaign,
) -> None:
    book(campaign)
    void_receipt(campaign=campaign, number=1004, reason="填写错误", actor=staff("t"))
    claim_receipts(campaign=campaign, numbers=[1001], actor=staff("t"))
    numbers = [1002, 1003, 2001, 1004, 1001, 1003]
    receipts, problems = claim_receipts(campaign=campaign, numbers=numbers, actor=staff("t"))
    assert receipts == {}
    assert codes(problems) == [
        (1003, "receipt_repeated"),
        (2001, "receipt_not_issued"),
        (1004, "receipt_voided"),
        (1001, "receipt_used"),
    ]
    assert "填写错误" in problems[2].message
    assert sorted(Receipt.objects.values_list("number", flat=True)) == [1001, 1004]


def test_it_voids_a_blank_receipt_and_keeps_it(campaign: Campaign) -> None:
    book(campaign)
    voided = void_receipt(campaign=campaign, number=1005, reason="污损", actor=staff("村会计"))
    kept = Receipt.objects.get(number=1005)
    assert (kept.status, kept.reason, kept.by, kept.pk) == ("voided", "污损", "村会计", voided.pk)
    with pytest.raises(ReceiptError) as caught:
        void_receipt(campaign=campaign, number=1005, reason="再次作废", actor=staff("t"))
    assert caught.value.code == "receipt_voided"
    with pytest.raises(ReceiptError, match="须写明原因"):
        void_receipt(campaign=campaign, number=1006, reason="  ", actor=staff("t"))
    with pytest.raises(ReceiptError) as outside:
        void_receipt(campaign=campaign, number=9999, reason="污损", actor=staff("t"))
    assert outside.value.code == "receipt_not_issued"
    assert AuditEntry.objects.filter(action="void_receipt").count() == 1


def test_it_refuses_to_void_a_used_receipt(campaign: Campaign) -> None:
    book(campaign)
    claim_receipts(campaign=campaign, numbers=[1001], actor=staff("t"))
    with pytest.raises(ReceiptError) as caught:
        void_receipt(campaign=campaign, number=1001, reason="收错了", actor=staff("t"))
    assert caught.value.code == "receipt_used" and "冲正" in caught.value.message
    assert Receipt.objects.get(number=1001).status == Receipt.Status.USED


def test_it_cancels_a_book_only_when_every_number_is_used_or_voided(campaign: Campaign) -> None:
    issued = book(campaign, 1001, 1005)
    claim_receipts(campaign=campaign, numbers=[1001, 1002], actor=staff("t"))
    void_receipt(campaign=campaign, number=1004, reason="污损", actor=staff("t"))
    with pytest.raises(ReceiptError) as caught:
        cancel_receipt_book(campaign=campaign, book_id=issued.pk, actor=staff("t"))
    assert caught.value.code == "receipts_missing"
    assert caught.value.missing == [1003, 1005]
    assert "2 张收据既未使用也未作废：No.0001003、No.0001005" in caught.value.message
    issued.refresh_from_db()
    assert issued.cancelled_at is None

    void_receipt(campaign=campaign, number=1003, reason="遗失后找回，作废", actor=staff("t"))
    void_receipt(campaign=campaign, number=1005, reason="污损", actor=staff("t"))
    cancelled = cancel_receipt_book(campaign=campaign, book_id=issued.pk, actor=staff("镇财政所"))
    assert cancelled.cancelled_at is not None and cancelled.cancelled_by == "镇财政所"
    with pytest.raises(ReceiptError, match="已于"):
        cancel_receipt_book(campaign=campaign, book_id=issued.pk, actor=staff("t"))


def test_it_refuses_numbers_of_a_cancelled_book(campaign: Campaign) -> None:
    issued = book(campaign, 1001, 1002)
    claim_receipts(campaign=campaign, numbers=[1001], actor=staff("t"))
    void_receipt(campaign=campaign, number=1002, reason="污损", actor=staff("t"))
    cancel_receipt_book(campaign=campaign, book_id=issued.pk, actor=staff("t"))
    receipts, problems = claim_receipts(campaign=campaign, numbers=[1002], actor=staff("t"))
    assert receipts == {} and codes(problems) == [(1002, "receipt_book_cancelled")]
    assert "缴销" in problems[0].message


def test_it_claims_many_numbers_with_a_few_queries(
    campaign: Campaign, django_assert_max_num_queries: Any
) -> None:
    for start in range(1, 3001, 100):
        book(campaign, start, start + 99)
    # Two look-ups per 1,000 numbers and chunked inserts (SQLite binds at most 999 values per
    # statement), not a query per number.
    with django_assert_max_num_queries(30):
        receipts, problems = claim_receipts(
            campaign=campaign, numbers=list(range(1, 3001)), actor=staff("t")
        )
    assert problems == [] and len(receipts) == 3000
    assert len({r.book_id for r in receipts.values()}) == 30


# --- the four-match report ------------------------------------------------------------------


def cash(campaign: Campaign, *payments: tuple[int, str, str, int]) -> None:
    """Cash payments with their receipts, the way the cash import records them."""
    numbers = [number for number, *_ in payments]
    receipts, problems = claim_receipts(campaign=campaign, numbers=numbers, actor=staff("t"))
    assert problems == []
    rows = [
        PaymentRow(
            key=str(number),
            paid_on=PAID_ON,
            amount_fen=fen,
            id_number=id_number,
            name=name,
            receipt=receipts[number],
        )
        for number, name, id_number, fen in payments
    ]
    record_payments(
        campaign=campaign, channel=Channel.CASH, rows=rows, batch=None, actor=staff("t")
    )


def tax(campaign: Campaign, key: str, name: str, id_number: str, fen: int) -> None:
    row = PaymentRow(key=key, paid_on=PAID_ON, amount_fen=fen, id_number=id_number, name=name)
    record_payments(
        campaign=campaign, channel=Channel.TAX, rows=[row], batch=None, actor=staff("t")
    )


@pytest.fixture
def collected(campaign: Campaign) -> Campaign:
    """张三 pays 250 in cash (receipt 1001), 李四 only 150 (1002), 王五 250 (1003) later
    reversed; 钱七 (农村低保) pays her 125 through the tax app; 周九 of 德茂园 pays 250 there."""
    book(campaign)
    cash(
        campaign,
        (1001, "张三", ZHANG, 25000),
        (1002, "李四", LI, 15000),
        (1003, "王五", WANG, 25000),
    )
    tax(campaign, "T-1", "钱七", QIAN, 12500)
    tax(campaign, "T-2", "周九", ZHOU, 25000)
    reverse_payment(
        campaign=campaign, channel=Channel.CASH, key="1003", reason="重复收款", actor=staff("t")
    )
    return campaign


def village_of(matches: list[VillageMatch], code: str) -> VillageMatch:
    return next(m for m in matches if m.village_code == code)


def test_the_payments_enroll_whom_they_should(collected: Campaign) -> None:
    enrolled = set(Enrollment.objects.values_list("resident__name", flat=True))
    assert enrolled == {"张三", "钱七", "周九"}


def test_it_names_a_partial_payer_and_the_receipt_of_a_reversed_payment(
    collected: Campaign,
) -> None:
    matches = four_match(collected)
    assert [m.village_code for m in matches] == [VILLAGE, OTHER_VILLAGE]
    here = village_of(matches, VILLAGE)
    assert (here.persons, here.roster_lines) == (2, 2)
    # 张三 250 + 钱七 125 expected; 张三 250 + 李四 150 + 钱七 125 + 王五 (250 - 250) received.
    assert (here.expected_fen, here.received_fen) == (37500, 52500)
    assert (here.cash_payments, here.cash_fen, here.receipts_used) == (2, 40000, 3)
    assert here.mismatches == [
        "个人缴费实收 525 元，已参保人员应缴合计 375 元：多 150 元",
        f"李四（{LI}）已缴 150 元但未参保：金额不足，应缴 250 元，还差 100 元",
        "现金缴费 2 笔 400 元，使用收据 3 张：多 1 张",
        f"收据 No.0001003 已使用但对应缴费已冲正（王五（{WANG}），250 元，流水号 1003）",
    ]
    assert not here.matches

    there = village_of(matches, OTHER_VILLAGE)
    assert there.matches and there.mismatches == []
    assert (there.persons, there.roster_lines, there.expected_fen, there.received_fen) == (
        1,
        1,
        25000,
        25000,
    )


@pytest.mark.ledger_tampered
def test_it_names_a_cash_payment_without_a_receipt_and_an_enrolled_person_off_the_roster(
    campaign: Campaign,
) -> None:
    zhang = Resident.objects.get(id_number=ZHANG)
    Payment.objects.create(
        campaign=campaign,
        channel=Channel.CASH,
        key="C-9",
        paid_on=PAID_ON,
        amount_fen=25000,
        id_number=ZHANG,
        name="张三",
        resident=zhang,
        recorded_at=campaign.opened_at,
        recorded_by="t",
    )
    li = Resident.objects.get(id_number=LI)
    campaign.assessments.filter(resident=li).update(
        eligible=False, refusal_code="employee_insured", refusal="已参加职工医保"
    )
    Enrollment.objects.create(
        campaign=campaign,
        resident=li,
        paid_fen=0,
        enrolled_on=PAID_ON,
        coverage_start=date(2020, 1, 1),
        coverage_end=date(2020, 12, 31),
        rule="手工",
    )
    here = four_match(campaign, VILLAGE)[0]
    assert (here.persons, here.roster_lines, here.cash_payments, here.receipts_used) == (1, 0, 1, 0)
    assert f"李四（{LI}）已参保但核定为不能参保（已参加职工医保），不在花名册上" in here.mismatches
    assert "参保 1 人，花名册 0 人：1 人已参保但不在花名册上" in here.mismatches
    assert f"张三（{ZHANG}）已缴 250 元但未参保：金额已足（应缴 250 元）但未登记参保，请核实" in (
        here.mismatches
    )
    assert "现金缴费 1 笔 250 元，使用收据 0 张：缺 1 张" in here.mismatches
    assert f"张三（{ZHANG}）现金缴费 250 元（流水号 C-9）没有收据" in here.mismatches


def test_it_reports_one_village_and_refuses_a_village_outside_the_area(
    collected: Campaign,
) -> None:
    only = four_match(collected, OTHER_VILLAGE)
    assert [m.village_code for m in only] == [OTHER_VILLAGE]
    with pytest.raises(Exception, match="没有代码为 430922100201"):
        four_match(collected, "430922100201")


# --- the command ------------------------------------------------------------------------------


def run(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("receipts", *args, "--json", stdout=out)
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def refused(*args: str) -> dict[str, Any]:
    out = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("receipts", *args, "--json", stdout=out, stderr=StringIO())
    assert exit_.value.code == 1
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def test_the_command_issues_voids_and_cancels(as_admin: None, campaign: Campaign) -> None:
    issued = run("issue", "--collector", "刘会计", "--village", VILLAGE, "--from", "7", "--to", "8")
    assert (issued["first"], issued["last"], issued["village"]) == (7, 8, VILLAGE)
    overlap = refused(
        "issue", "--collector", "某", "--village", VILLAGE, "--from", "8", "--to", "9"
    )
    assert overlap["error"]["code"] == "range_overlaps"
    missing = refused("cancel", str(issued["book"]))
    assert missing["error"]["code"] == "receipts_missing" and missing["missing"] == [7, 8]
    assert run("void", "7", "--reason", "污损")["status"] == "voided"
    assert run("void", "8", "--reason", "污损")["number"] == 8
    assert run("cancel", str(issued["book"]))["cancelled_at"]
    listed = run("books")["books"]
    assert [(b["used"], b["voided"], b["blank"]) for b in listed] == [(0, 2, 0)]


def test_the_command_refuses_an_unknown_campaign_as_a_usage_error(
    as_admin: None, campaign: Campaign
) -> None:
    with pytest.raises(CommandError) as caught:
        call_command("receipts", "report", "--campaign", "999", "--json", stdout=StringIO())
    assert caught.value.returncode == 2 and "999" in str(caught.value)


def test_the_report_command_prints_json_and_writes_the_xlsx(
    as_admin: None, collected: Campaign, tmp_path: Path
) -> None:
    path = tmp_path / "四相符.xlsx"
    report = run("report", "--xlsx", str(path))
    assert (report["matching"], report["mismatching"]) == (1, 1)
    here = report["villages"][0]
    assert (here["village"], here["received_fen"], here["matches"]) == (VILLAGE, 52500, False)
    assert any("No.0001003" in line for line in here["mismatches"])

    workbook = CalamineWorkbook.from_path(str(path))
    summary = workbook.get_sheet_by_name("四相符").to_python()
    assert summary[1][:4] == ["乡镇", "村（社区）代码", "村（社区）", "参保人数"]
    assert summary[2][1] == VILLAGE and summary[2][6] == 525 and summary[2][12] == "不相符"
    details = workbook.get_sheet_by_name("不相符明细").to_python()
    assert [row[2] for row in details[2:]] == here["mismatches"]
