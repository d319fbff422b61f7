"""Payment files as an adversary writes them: implausible amounts and dates, numbers of twenty
digits, NUL bytes, circled and superscript digits, keys that lost their leading zeros, a file
imported into a second campaign or on a second channel. Each is a row error in Chinese naming the
row, the column and a code, or the right outcome; never a traceback, never money counted twice.

The campaign is Daligang's (大栗港镇 2020): 250 yuan personal contribution, the fiscal part
pending, the concentrated period until 2019-12-31, coverage year 2020."""

import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum
from django.utils import timezone

from canbao.campaigns.models import Campaign
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.collection.models import Enrollment, Payment
from canbao.collection.payment_imports import import_payments
from canbao.collection.payment_values import PaymentLimits, payment_key
from canbao.collection.receipts import issue_receipt_book
from canbao.policy.loader import load_preset
from canbao.registry.models import ImportBatch
from canbao.registry.services import import_residents
from tests.conftest import (
    COUNTY,
    TOWNSHIP,
    VILLAGE,
    csv_file,
    person_id,
    resident,
    staff,
    xlsx_file,
)

pytestmark = pytest.mark.django_db

ZHANG, LI, SUN = person_id(1), person_id(2, "F"), person_id(6)
TAX_HEADER = ("缴费日期", "电子税票号码", "姓名", "公民身份号码", "金额（元）")
FEN_HEADER = ("缴费日期", "电子税票号码", "姓名", "公民身份号码", "金额（分）")
CASH_HEADER = ("收据号码", "缴费日期", "姓名", "公民身份号码", "金额（元）", "收款人")


@pytest.fixture
def campaign(daligang: dict[str, object], as_admin: None, tmp_path: Path) -> Campaign:
    rows = [
        resident("张建国", ZHANG, "H1"),
        resident("李秀英", LI, "H1", "妻"),
        resident("孙八", SUN, "H5"),
    ]
    assert not import_residents(path=csv_file(tmp_path / "r.csv", rows), actor=staff("t")).errors
    opened = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff())
    assess_campaign(campaign=opened, actor=staff())
    return opened


def tax_file(path: Path, *rows: tuple[str, ...], header: tuple[str, ...] = TAX_HEADER) -> Path:
    return csv_file(path, rows, header, title="桃江县税务局城乡居民医保缴费明细")


def refused(result: Any) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.code) for e in result.errors]


def recorded_fen() -> int:
    return int(Payment.objects.aggregate(total=Sum("amount_fen"))["total"] or 0)


# --- plausibility -------------------------------------------------------------------------------


def test_the_limits_follow_each_notice() -> None:
    # Daligang: 250 yuan, fiscal part pending; the concentrated period states no first day.
    daligang = PaymentLimits.of(load_preset("daligang-2020"))
    assert (daligang.max_fen, daligang.first_day, daligang.last_day) == (
        250000,
        date(2019, 1, 1),
        date(2020, 12, 31),
    )
    # Dazhu: 320 yuan personal + 580 yuan fiscal = 900 yuan full price.
    dazhu = PaymentLimits.of(load_preset("dazhu-2022"))
    assert (dazhu.max_fen, dazhu.first_day, dazhu.last_day) == (
        900000,
        date(2021, 9, 1),
        date(2022, 12, 31),
    )
    # Wuming: collection opens 2017-09-01; Songming 2015-09-21.
    assert PaymentLimits.of(load_preset("wuming-2018")).first_day == date(2017, 9, 1)
    assert PaymentLimits.of(load_preset("songming-2016")).first_day == date(2015, 9, 21)


def test_implausible_amounts_and_dates_are_row_errors(campaign: Campaign, tmp_path: Path) -> None:
    path = tax_file(
        tmp_path / "tax.csv",
        ("2019-11-20", "1", "张建国", ZHANG, "2500.01"),  # over ten times 250 yuan
        ("2019-11-20", "2", "张建国", ZHANG, "99999999999999999999"),  # twenty digits
        ("2018-12-31", "3", "张建国", ZHANG, "250"),  # before the campaign's first window
        ("2021-01-01", "4", "张建国", ZHANG, "250"),  # after the coverage year
        ("99999999999999999999-01-01", "5", "张建国", ZHANG, "250"),
        ("0019-11-20", "6", "张建国", ZHANG, "250"),
        ("2019-11-20", "7", "张建国", ZHANG, "2500.00"),  # ten times: possible (held as excess)
        ("2019-01-01", "8", "李秀英", LI, "250"),
        ("2020-12-31", "9", "孙八", SUN, "250"),
    )
    result = import_payments(path=path, campaign=campaign, channel="tax", actor=staff())
    assert refused(result) == [
        (3, "金额（元）", "amount_implausible"),
        (4, "金额（元）", "amount_format"),
        (5, "缴费日期", "date_outside_campaign"),
        (6, "缴费日期", "date_outside_campaign"),
        (7, "缴费日期", "date_format"),
        (8, "缴费日期", "date_outside_campaign"),
    ]
    assert "个人缴费250.00元的十倍（2,500.00元）" in result.errors[0].message
    assert "过大" in result.errors[1].message
    assert "2019-01-01" in result.errors[2].message and "2020-12-31" in result.errors[2].message
    assert not Payment.objects.exists()


def test_an_amount_in_fen_of_twenty_digits_is_a_row_error(
    campaign: Campaign, tmp_path: Path
) -> None:
    path = tax_file(
        tmp_path / "fen.csv",
        ("2019-11-20", "1", "张建国", ZHANG, "99999999999999999999"),
        ("2019-11-20", "2", "张建国", ZHANG, "250001"),
        header=FEN_HEADER,
    )
    result = import_payments(path=path, campaign=campaign, channel="tax", actor=staff())
    assert refused(result) == [
        (3, "金额（分）", "amount_format"),
        (4, "金额（分）", "amount_implausible"),
    ]


def test_a_receipt_number_of_twenty_digits_is_a_row_error(
    campaign: Campaign, tmp_path: Path
) -> None:
    issue_receipt_book(
        campaign=campaign,
        collector="刘会计",
        village_code=VILLAGE,
        first=1001,
        last=1050,
        actor=staff(),
    )
    path = csv_file(
        tmp_path / "cash.csv",
        [
            ("12345678901234567890", "2019-11-20", "张建国", ZHANG, "250", ""),
            ("①②", "2019-11-20", "李秀英", LI, "250", ""),
            ("¹⁰⁰²", "2019-11-20", "孙八", SUN, "250", ""),
            ("１００３", "2019-11-20", "孙八", SUN, "250", ""),  # full-width: a number
        ],
        CASH_HEADER,
    )
    result = import_payments(path=path, campaign=campaign, channel="cash", actor=staff())
    assert refused(result) == [
        (3, "收据号码", "receipt_number"),
        (4, "收据号码", "receipt_number"),
        (5, "收据号码", "receipt_number"),
    ]
    assert "12345678901234567890" in result.errors[0].message


def test_circled_and_superscript_digits_are_not_numbers(campaign: Campaign, tmp_path: Path) -> None:
    path = tax_file(
        tmp_path / "tax.csv",
        ("2019-11-20", "1", "张建国", ZHANG, "②⑤⓪"),
        ("2019-11-20", "2", "张建国", ZHANG, "²⁵⁰"),
        ("²⁰¹⁹-¹¹-²⁰", "3", "张建国", ZHANG, "250"),
        ("2019-11-20", "4", "李秀英", LI, "２５０．００"),  # full-width digits are digits
    )
    result = import_payments(path=path, campaign=campaign, channel="tax", actor=staff())
    assert refused(result) == [
        (3, "金额（元）", "amount_format"),
        (4, "金额（元）", "amount_format"),
        (5, "缴费日期", "date_format"),
    ]


def test_a_nul_byte_is_a_row_error_naming_its_cell(campaign: Campaign, tmp_path: Path) -> None:
    path = tax_file(
        tmp_path / "nul.csv",
        ("2019-11-20", "1", "张建国", ZHANG, "250"),
        ("2019-11-20", "2", "李秀\x00英", LI, "250"),
    )
    result = import_payments(path=path, campaign=campaign, channel="tax", actor=staff())
    assert refused(result) == [(4, "姓名", "control_character")]
    assert "NUL" in result.errors[0].message
    assert not Payment.objects.exists()
    assert ImportBatch.objects.get(pk=result.batch).status == "refused"


def test_the_command_reports_hostile_rows_without_a_traceback(
    campaign: Campaign, tmp_path: Path
) -> None:
    path = tax_file(
        tmp_path / "tax.csv",
        ("99999999999999999999-01-01", "1", "张建国", ZHANG, "99999999999999999999"),
    )
    out = io.StringIO()
    with pytest.raises(SystemExit) as stopped:
        call_command("import", "payments", "--channel", "tax", str(path), stdout=out)
    assert stopped.value.code == 1
    assert "第3行【缴费日期】" in out.getvalue() and "第3行【金额（元）】" in out.getvalue()


# --- keys ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "written", "key"),
    [
        ("tax", "00123", "123"),
        ("tax", "０３４３１１２０", "3431120"),
        ("bank", "0000", "0"),
        ("bank", "B0001", "B0001"),
        ("proxy", "2019-001", "2019-001"),
        ("cash", "0001001", "1001"),
    ],
)
def test_keys_are_compared_as_each_channel_documents(channel: str, written: str, key: str) -> None:
    assert payment_key(written) == key  # one rule for every channel (docs/collection.md)


def test_a_tax_key_that_lost_its_leading_zeros_is_the_same_payment(
    campaign: Campaign, tmp_path: Path
) -> None:
    first = import_payments(
        path=tax_file(tmp_path / "a.csv", ("2019-11-20", "0034300001", "张建国", ZHANG, "250")),
        campaign=campaign,
        channel="tax",
        actor=staff(),
    )
    # The same detail after a round trip through Excel: the key is a number now.
    again = import_payments(
        path=xlsx_file(
            tmp_path / "b.xlsx",
            [["2019-11-20", 34300001.0, "张建国", ZHANG, "250"]],
            TAX_HEADER,
            title=None,
        ),
        campaign=campaign,
        channel="tax",
        actor=staff(),
    )
    assert (first.errors, first.created, again.errors, again.created, again.unchanged) == (
        [],
        1,
        [],
        0,
        1,
    )
    assert Payment.objects.get().key == "34300001" and recorded_fen() == 25000


def test_a_key_in_scientific_notation_is_refused(campaign: Campaign, tmp_path: Path) -> None:
    path = tax_file(
        tmp_path / "sci.csv",
        ("2019-11-20", "0034300001", "李秀英", LI, "250"),
        ("2019-11-20", "3.43019E+17", "张建国", ZHANG, "250"),  # same date and amount as above
        ("2019-11-20", "34300001", "孙八", SUN, "250"),
    )
    result = import_payments(path=path, campaign=campaign, channel="tax", actor=staff())
    assert refused(result) == [
        (4, "电子税票号码", "key_format"),
        (5, "电子税票号码", "duplicate_in_file"),
    ]
    assert "科学计数法" in result.errors[0].message


# --- repeats ------------------------------------------------------------------------------------


def test_a_file_imported_into_one_campaign_is_recorded_in_another(
    campaign: Campaign, tmp_path: Path
) -> None:
    township = open_campaign(area_code=TOWNSHIP, policy="daligang-2020", actor=staff())
    assess_campaign(campaign=township, actor=staff())
    path = tax_file(tmp_path / "tax.csv", ("2019-11-20", "34300001", "张建国", ZHANG, "250"))
    first = import_payments(path=path, campaign=campaign, channel="tax", actor=staff())
    other = import_payments(path=path, campaign=township, channel="tax", actor=staff())
    again = import_payments(path=path, campaign=township, channel="tax", actor=staff())
    assert (first.created, other.repeated, other.created, other.batch != first.batch) == (
        1,
        False,
        1,
        True,
    )
    assert (again.repeated, again.batch) == (True, other.batch)
    assert Payment.objects.filter(campaign=township).count() == 1
    assert Enrollment.objects.filter(campaign=township).count() == 1


def test_a_tax_file_imported_again_as_bank_is_refused_naming_the_batch(
    campaign: Campaign, tmp_path: Path
) -> None:
    path = tax_file(tmp_path / "tax.csv", ("2019-11-20", "34300001", "张建国", ZHANG, "250"))
    first = import_payments(path=path, campaign=campaign, channel="tax", actor=staff())
    bank = import_payments(path=path, campaign=campaign, channel="bank", actor=staff())
    assert refused(bank) == [(0, "", "file_on_other_channel")]
    message = bank.errors[0].message
    assert f"批次{first.batch}" in message and "税务" in message and "银行" in message
    created = ImportBatch.objects.get(pk=first.batch).created_at
    assert f"{timezone.localtime(created):%Y-%m-%d}" in message
    assert recorded_fen() == 25000 and Payment.objects.count() == 1


def test_a_repeated_import_reports_the_money_of_the_file(
    campaign: Campaign, tmp_path: Path
) -> None:
    path = tax_file(
        tmp_path / "tax.csv",
        ("2019-11-20", "34300001", "张建国", ZHANG, "250"),
        ("2019-11-20", "34300002", "李秀英", LI, "100"),
    )
    import_payments(path=path, campaign=campaign, channel="tax", actor=staff())
    again = import_payments(path=path, campaign=campaign, channel="tax", actor=staff())
    assert (again.repeated, again.unchanged, again.created) == (True, 2, 0)
    assert (again.file_fen, again.created_fen, again.unchanged_fen) == (35000, 0, 35000)
    out = io.StringIO()
    call_command("import", "payments", "--channel", "tax", str(path), "--json", stdout=out)
    shown = json.loads(out.getvalue())
    assert (shown["file_fen"], shown["created_fen"], shown["unchanged_fen"]) == (35000, 0, 35000)
    out = io.StringIO()
    call_command("import", "payments", "--channel", "tax", str(path), stdout=out)
    assert "金额合计350.00元，其中新入账0.00元、已入账未变350.00元" in out.getvalue()


def test_a_receipt_number_of_twenty_digits_on_the_command_line_is_a_usage_error(
    campaign: Campaign,
) -> None:
    twenty = "12345678901234567890"
    issue = ("receipts", "issue", "--collector", "刘会计", "--village", VILLAGE)
    for argv in (
        (*issue, "--from", twenty, "--to", twenty),
        (*issue, "--from", "①", "--to", "5"),
        ("receipts", "void", twenty, "--reason", "污损"),
    ):
        with pytest.raises(CommandError, match="收据号码"):
            call_command(*argv, stdout=io.StringIO())


def test_a_key_is_reversed_as_it_is_written_on_the_ticket(
    campaign: Campaign, tmp_path: Path
) -> None:
    path = tax_file(tmp_path / "tax.csv", ("2019-11-20", "0034300001", "张建国", ZHANG, "250"))
    assert not import_payments(path=path, campaign=campaign, channel="tax", actor=staff()).errors
    out = io.StringIO()
    call_command(
        "payments", "reverse", "0034300001", "--channel", "tax", "--reason", "退库", stdout=out
    )
    assert "已冲正流水号0034300001" in out.getvalue() and recorded_fen() == 0
