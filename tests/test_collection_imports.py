"""The channel files of payment details as bureaus write them, imported through
`import_payments` and `canbao import payments`; money in the files = money recorded, to the fen,
whatever the faults."""

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

from canbao.campaigns.models import Assessment, Campaign
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.collection.ledger import check_ledger
from canbao.collection.models import Enrollment, Payment, Receipt, Suspense
from canbao.collection.payment_imports import import_payments
from canbao.collection.payment_values import parse_yuan
from canbao.collection.posting import apply_payments
from canbao.collection.receipts import issue_receipt_book
from canbao.demo.synthetic import generate_county
from canbao.registry.batches import ImportUsageError
from canbao.registry.models import ImportBatch
from canbao.registry.rosters import import_roster
from canbao.registry.services import import_residents
from tests.conftest import COUNTY, VILLAGE, csv_file, person_id, resident, staff, xlsx_file

pytestmark = pytest.mark.django_db

ZHANG, LI, WANG, SUN = person_id(1), person_id(2, "F"), person_id(3), person_id(6)
STRANGER = person_id(99)
TAX_HEADER = ("缴费日期", "电子税票号码", "姓名", "公民身份号码", "金额（元）", "缴费渠道", "银行")
PROXY_HEADER = ("代缴部门", "批次行号", "缴费日期", "姓名", "公民身份号码", "金额（元）")
CASH_HEADER = ("收据号码", "缴费日期", "姓名", "公民身份号码", "金额（元）", "收款人")


@pytest.fixture
def campaign(daligang: dict[str, object], tmp_path: Path) -> Campaign:
    rows = [
        resident("张建国", ZHANG, "H1"),
        resident("李秀英", LI, "H1", "妻"),
        resident("王五", WANG, "H2"),
        resident("孙八", SUN, "H5"),
    ]
    assert not import_residents(path=csv_file(tmp_path / "r.csv", rows), actor=staff("t")).errors
    roster = csv_file(tmp_path / "wubao.csv", [("王五", WANG)], ("姓名", "公民身份号码"))
    assert not import_roster(
        path=roster, category="extreme_poverty", source="civil_affairs", actor=staff("t")
    ).errors
    opened = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff())
    assess_campaign(campaign=opened, actor=staff())
    return opened


def recorded_fen() -> int:
    return int(Payment.objects.aggregate(total=Sum("amount_fen"))["total"] or 0)


def tax_file(path: Path, *rows: tuple[str, ...]) -> Path:
    return csv_file(path, rows, TAX_HEADER, title="桃江县税务局城乡居民医保缴费明细 2019-11-20")


def test_it_imports_a_tax_daily_detail_file(campaign: Campaign, tmp_path: Path) -> None:
    path = tax_file(
        tmp_path / "tax.csv",
        ("2019-11-20", "3343001", "张建国", ZHANG, "250.00", "手机银行", "农业银行"),
        ("2019/11/20", "3343002", "李秀英", LI.lower(), "200", "微信", ""),
        ("20191120", "3343003", "无名氏", STRANGER, "250", "", ""),
    )
    result = import_payments(path=path, campaign=campaign, channel="tax", actor=staff("税务专管员"))
    assert result.errors == []
    assert (result.created, result.file_fen, result.created_fen, result.enrolled) == (
        3,
        70000,
        70000,
        1,
    )
    assert result.suspended == {"partial": 1, "unknown_person": 1}
    assert result.unknown == [{"row": 5, "id_number": STRANGER, "name": "无名氏"}]
    assert "金额合计700.00元" in result.message and "新参保1人，挂账2笔" in result.message
    first = Payment.objects.get(key="3343001")
    assert (first.bank, first.recorded_by, first.batch_id) == (
        "农业银行／手机银行",
        "税务专管员",
        result.batch,
    )
    assert recorded_fen() == 70000
    assert Enrollment.objects.get().resident.id_number == ZHANG


def test_the_same_file_twice_changes_nothing(campaign: Campaign, tmp_path: Path) -> None:
    path = tax_file(tmp_path / "tax.csv", ("2019-11-20", "3343001", "张建国", ZHANG, "250", "", ""))
    first = import_payments(path=path, campaign=campaign, channel="tax", actor=staff())
    again = import_payments(path=path, campaign=campaign, channel="tax", actor=staff())
    assert again.repeated and (again.batch, again.created, again.unchanged) == (first.batch, 0, 1)
    assert "未作任何改动" in again.message
    assert Payment.objects.count() == 1 and recorded_fen() == 25000


def test_another_file_repeating_a_key_records_only_the_new_rows(
    campaign: Campaign, tmp_path: Path
) -> None:
    import_payments(
        path=tax_file(tmp_path / "a.csv", ("2019-11-20", "K1", "张建国", ZHANG, "250", "", "")),
        campaign=campaign,
        channel="tax",
        actor=staff(),
    )
    second = import_payments(
        path=tax_file(
            tmp_path / "b.csv",
            ("2019-11-20", "K1", "张建国", ZHANG, "250", "", ""),
            ("2019-11-21", "K2", "李秀英", LI, "250", "", ""),
        ),
        campaign=campaign,
        channel="tax",
        actor=staff(),
    )
    assert (second.created, second.unchanged, second.created_fen, second.unchanged_fen) == (
        1,
        1,
        25000,
        25000,
    )
    assert recorded_fen() == 50000 and Enrollment.objects.count() == 2


def test_a_key_recorded_before_with_another_amount_refuses_the_file(
    campaign: Campaign, tmp_path: Path
) -> None:
    import_payments(
        path=tax_file(tmp_path / "a.csv", ("2019-11-20", "K1", "张建国", ZHANG, "250", "", "")),
        campaign=campaign,
        channel="tax",
        actor=staff(),
    )
    result = import_payments(
        path=tax_file(tmp_path / "b.csv", ("2019-11-20", "K1", "张建国", ZHANG, "200", "", "")),
        campaign=campaign,
        channel="tax",
        actor=staff(),
    )
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (3, "电子税票号码", "key_conflict")
    ]
    assert recorded_fen() == 25000


def test_unreadable_rows_refuse_the_whole_file_naming_row_and_column(
    campaign: Campaign, tmp_path: Path
) -> None:
    path = tax_file(
        tmp_path / "bad.csv",
        ("2019-11-20", "A1", "张建国", ZHANG, "250.001", "", ""),
        ("2019-11-20", "A2", "张建国", ZHANG, "二百五", "", ""),
        ("2019-11-20", "A3", "张建国", ZHANG, "-250", "", ""),
        ("2019-11-20", "A4", "张建国", ZHANG, "0", "", ""),
        ("2019-13-01", "A5", "张建国", ZHANG, "250", "", ""),
        ("2019-11-20", "", "张建国", ZHANG, "250", "", ""),
        ("2019-11-20", "A7", "张建国", ZHANG, "250", "", ""),
        ("2019-11-20", "A7", "张建国", ZHANG, "250", "", ""),
        ("2019-11-20", "A9", "张建国", ZHANG, "250", "", ""),
        ("2019-11-20", "A9", "李秀英", LI, "250", "", ""),
        ("2019-11-20", "A11", "张建国", ZHANG, "250", "", ""),
    )
    result = import_payments(path=path, campaign=campaign, channel="tax", actor=staff())
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (3, "金额（元）", "amount_format"),
        (4, "金额（元）", "amount_format"),
        (5, "金额（元）", "amount_not_positive"),
        (6, "金额（元）", "amount_not_positive"),
        (7, "缴费日期", "date_format"),
        (8, "电子税票号码", "key_empty"),
        (10, "电子税票号码", "duplicate_in_file"),
        (12, "电子税票号码", "duplicate_in_file"),
    ]
    assert "超过两位小数" in result.errors[0].message
    assert "内容相同" in result.errors[6].message and "内容不同" in result.errors[7].message
    assert not Payment.objects.exists() and not Suspense.objects.exists()
    assert ImportBatch.objects.get(pk=result.batch).status == "refused"


def test_a_dry_run_counts_and_writes_nothing(campaign: Campaign, tmp_path: Path) -> None:
    path = tax_file(
        tmp_path / "tax.csv",
        ("2019-11-20", "K1", "张建国", ZHANG, "250", "", ""),
        ("2019-11-20", "K2", "无名氏", STRANGER, "250", "", ""),
    )
    result = import_payments(
        path=path, campaign=campaign, channel="tax", dry_run=True, actor=staff()
    )
    assert (result.batch, result.created, result.file_fen, len(result.unknown)) == (
        None,
        2,
        50000,
        1,
    )
    assert not Payment.objects.exists() and not ImportBatch.objects.filter(kind="payments")


def test_a_bank_workbook_in_fen_is_read_exactly(campaign: Campaign, tmp_path: Path) -> None:
    path = xlsx_file(
        tmp_path / "bank.xlsx",
        [
            ["2019-11-20", "B0001", "张建国", ZHANG, 25000.0],
            ["2019-11-20", "B0002", "孙八", SUN, "25000"],
        ],
        ("交易日期", "银行流水号", "姓名", "身份证号", "金额（分）"),
        title="农业银行代收明细",
    )
    result = import_payments(path=path, campaign=campaign, channel="bank", actor=staff())
    assert (result.errors, result.created_fen, result.enrolled) == ([], 50000, 2)


def test_a_department_proxy_file_enrolls_the_wubaohu(campaign: Campaign, tmp_path: Path) -> None:
    path = csv_file(
        tmp_path / "proxy.csv",
        [
            ("医疗救助资金", "2019-001", "2019-11-15", "王五", WANG, "250.00"),
            ("county_finance", "2019-002", "2019-11-15", "张建国", ZHANG, "250.00"),
        ],
        PROXY_HEADER,
        title="医疗救助资金资助参保代缴明细",
    )
    result = import_payments(path=path, campaign=campaign, channel="proxy", actor=staff())
    assert (result.errors, result.enrolled, result.suspended) == ([], 1, {"excess": 1})
    wubao = Enrollment.objects.get()
    assert (wubao.resident.id_number, wubao.paid_fen) == (WANG, 25000)
    assert Payment.objects.get(key="2019-001").funder == "medical_assistance"


def test_a_proxy_file_without_the_funder_column_takes_funder_from_the_command(
    campaign: Campaign, tmp_path: Path
) -> None:
    header = ("流水号", "缴费日期", "姓名", "公民身份号码", "金额（分）")
    path = csv_file(
        tmp_path / "p.csv", [("L1", "2019-11-15", "王五", WANG, "25000")], header, title=None
    )
    refused = import_payments(path=path, campaign=campaign, channel="proxy", actor=staff())
    assert [e.code for e in refused.errors] == ["table"] and "--funder" in refused.errors[0].message
    path = csv_file(
        tmp_path / "p2.csv", [("L1", "2019-11-15", "王五", WANG, "25000")], header, title=None
    )
    done = import_payments(
        path=path, campaign=campaign, channel="proxy", funder="medical_assistance", actor=staff()
    )
    assert (done.errors, done.enrolled) == ([], 1)


def test_a_cash_file_claims_its_receipts(campaign: Campaign, tmp_path: Path) -> None:
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
            ("0001001", "2019-11-20", "张建国", ZHANG, "250", "刘会计"),
            ("1002", "2019-11-20", "李秀英", LI, "250", ""),
        ],
        CASH_HEADER,
    )
    result = import_payments(path=path, campaign=campaign, channel="cash", actor=staff())
    assert (result.errors, result.created, result.enrolled) == ([], 2, 2)
    payment = Payment.objects.get(key="1001")
    assert payment.receipt is not None and payment.receipt.number == 1001
    assert Receipt.objects.filter(status="used").count() == 2


def test_a_cash_file_with_a_used_or_unissued_receipt_is_refused(
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
    first = csv_file(
        tmp_path / "c1.csv", [("1001", "2019-11-20", "张建国", ZHANG, "250", "")], CASH_HEADER
    )
    assert not import_payments(path=first, campaign=campaign, channel="cash", actor=staff()).errors
    second = csv_file(
        tmp_path / "c2.csv",
        [
            ("1001", "2019-11-21", "李秀英", LI, "250", ""),
            ("9999", "2019-11-21", "孙八", SUN, "250", ""),
            ("1003", "2019-11-21", "孙八", SUN, "250", "王出纳"),
        ],
        CASH_HEADER,
    )
    result = import_payments(path=second, campaign=campaign, channel="cash", actor=staff())
    assert [(e.row, e.code) for e in result.errors] == [(3, "key_conflict")]
    third = csv_file(
        tmp_path / "c3.csv",
        [
            ("9999", "2019-11-21", "孙八", SUN, "250", ""),
            ("1003", "2019-11-21", "孙八", SUN, "250", "王出纳"),
        ],
        CASH_HEADER,
    )
    result = import_payments(path=third, campaign=campaign, channel="cash", actor=staff())
    assert [(e.row, e.code) for e in result.errors] == [(3, "receipt_not_issued")]
    fourth = csv_file(
        tmp_path / "c4.csv", [("1003", "2019-11-21", "孙八", SUN, "250", "王出纳")], CASH_HEADER
    )
    result = import_payments(path=fourth, campaign=campaign, channel="cash", actor=staff())
    assert [(e.row, e.code) for e in result.errors] == [(3, "collector_mismatch")]
    assert Receipt.objects.count() == 1 and recorded_fen() == 25000


def test_it_refuses_a_channel_without_files_and_a_funder_outside_proxy(
    campaign: Campaign, tmp_path: Path
) -> None:
    path = tax_file(tmp_path / "t.csv", ("2019-11-20", "K1", "张建国", ZHANG, "250", "", ""))
    with pytest.raises(ImportUsageError, match="委托代扣"):
        import_payments(path=path, campaign=campaign, channel="withholding", actor=staff())
    with pytest.raises(ImportUsageError, match="部门代缴"):
        import_payments(
            path=path, campaign=campaign, channel="tax", funder="county_finance", actor=staff()
        )


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("250", 25000),
        ("250.00", 25000),
        ("250.5", 25050),
        ("1,250.05", 125005),
        ("0.01", 1),
        ("２５０．５", 25050),
        ("¥250", 25000),
    ],
)
def test_yuan_are_read_exactly_to_the_fen(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text", ["250.001", "2,50", "1e3", "250.", "", "250元", "٢٥٠"])
def test_unreadable_yuan_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="金额"):
        parse_yuan(text)


def test_money_in_the_files_equals_money_recorded_under_every_fault(
    campaign: Campaign, tmp_path: Path
) -> None:
    issue_receipt_book(
        campaign=campaign,
        collector="刘会计",
        village_code=VILLAGE,
        first=1,
        last=100,
        actor=staff(),
    )
    files = [
        (
            "tax",
            tax_file(
                tmp_path / "t1.csv",
                ("2019-11-20", "T1", "张建国", ZHANG, "250", "", ""),  # enrolled
                ("2019-11-20", "T2", "李秀英", LI, "200", "", ""),  # partial
                ("2019-11-20", "T3", "无名氏", STRANGER, "250", "", ""),  # unknown
                ("2019-11-20", "T4", "孙八", SUN, "300", "", ""),  # enrolled, 50 excess
                ("2020-03-01", "T5", "王五", WANG, "250", "", ""),  # owes nothing
            ),
        ),
        (
            "tax",
            tax_file(
                tmp_path / "t2.csv",
                ("2019-11-20", "T1", "张建国", ZHANG, "250", "", ""),  # repeated key
                ("2019-11-22", "T6", "李秀英", LI, "50", "", ""),  # completes
            ),
        ),
        (
            "bank",
            tax_file(
                tmp_path / "b1.csv",
                ("2019-11-23", "T1", "张建国", ZHANG, "250", "", ""),  # paid twice
            ),
        ),
        (
            "cash",
            csv_file(
                tmp_path / "c1.csv",
                [("7", "2019-11-24", "张三丰", ZHANG, "250.00", "刘会计")],  # name differs
                CASH_HEADER,
            ),
        ),
        (
            "proxy",
            csv_file(
                tmp_path / "p1.csv",
                [("medical_assistance", "1", "2019-11-15", "王五", WANG, "250")],
                PROXY_HEADER,
            ),
        ),
    ]
    money_in: dict[str, int] = {}
    for channel, path in files:
        for _ in range(2):  # every file twice
            result = import_payments(path=path, campaign=campaign, channel=channel, actor=staff())
            assert result.errors == []
        for key, fen in Payment.objects.filter(batch_id=result.batch).values_list(
            "key", "amount_fen"
        ):
            money_in[f"{channel}:{key}"] = fen
    assert sum(money_in.values()) == 25000 + 20000 + 25000 + 30000 + 25000 + 5000 + 25000 * 3
    assert recorded_fen() == sum(money_in.values())
    held = Suspense.objects.filter(resolved_at__isnull=True).aggregate(fen=Sum("amount_fen"))["fen"]
    enrolled = Enrollment.objects.aggregate(fen=Sum("paid_fen"))["fen"]
    assert held + enrolled == recorded_fen()
    assert check_ledger(campaign).balanced
    assert Enrollment.objects.count() == 4  # 张建国, 李秀英, 孙八, 王五


# --- the commands -----------------------------------------------------------------------------


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command(*args, stdout=out)
    except SystemExit as stop:
        return int(stop.code or 0), out.getvalue()
    return 0, out.getvalue()


def as_json(text: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(text)
    return result


def test_canbao_import_payments_prints_one_json_object_and_exits_by_outcome(
    as_admin: None, campaign: Campaign, tmp_path: Path
) -> None:
    good = tax_file(tmp_path / "t.csv", ("2019-11-20", "K1", "张建国", ZHANG, "250", "", ""))
    code, text = run("import", "payments", "--channel", "tax", str(good), "--json")
    result = as_json(text)
    assert code == 0
    assert (result["created"], result["file_fen"], result["enrolled"], result["campaign"]) == (
        1,
        25000,
        1,
        campaign.pk,
    )
    bad = tax_file(tmp_path / "bad.csv", ("2019-11-20", "K2", "张建国", ZHANG, "abc", "", ""))
    code, text = run("import", "payments", "--channel", "tax", str(bad), "--json")
    assert code == 1 and as_json(text)["errors"][0]["code"] == "amount_format"
    code, text = run("import", "payments", "--channel", "tax", str(bad))
    assert code == 1 and "第3行【金额（元）】" in text
    with pytest.raises(CommandError) as caught:
        call_command("import", "payments", "--channel", "tax", "--campaign", "999", str(good))
    assert caught.value.returncode == 2 and "999" in str(caught.value)


def test_canbao_payments_reverse_and_suspense(
    as_admin: None, campaign: Campaign, tmp_path: Path
) -> None:
    path = tax_file(
        tmp_path / "t.csv",
        ("2019-11-20", "K1", "张建国", ZHANG, "250", "", ""),
        ("2019-11-20", "K2", "无名氏", STRANGER, "250", "", ""),
    )
    assert run("import", "payments", "--channel", "tax", str(path))[0] == 0
    code, text = run("payments", "suspense", "--json")
    listed = as_json(text)
    assert (code, listed["count"], listed["amount_fen"]) == (0, 1, 25000)
    assert listed["items"][0]["reason"] == "unknown_person"
    code, text = run(
        "payments", "reverse", "K1", "--channel", "tax", "--reason", "重复缴费退费", "--json"
    )
    assert code == 0 and as_json(text)["amount_fen"] == -25000
    assert not Enrollment.objects.exists()
    code, text = run("payments", "reverse", "K1", "--channel", "tax", "--reason", "again", "--json")
    assert code == 1 and as_json(text)["errors"][0]["code"] == "already_reversed"
    code, text = run("payments", "suspense")
    assert code == 0 and "查无此人" in text and "无名氏" in text
    code, text = run("payments", "recheck", "--json")
    assert code == 0 and as_json(text)["enrolled"] == 0


FEN_HEADER = ("缴费日期", "交易流水号", "姓名", "公民身份号码", "金额（分）")
PAY_DAYS = ("2019-09-01", "2019-11-20", "2019-12-31", "2020-01-15", "2020-02-10", "2020-03-01")


def derived_state() -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]], set[int]]:
    """Enrollments, open suspense of known residents' payments, frozen assessments."""
    enrollments = set(
        Enrollment.objects.values_list(
            "resident_id", "paid_fen", "enrolled_on", "coverage_start", "coverage_end", "rule"
        )
    )
    held = set(
        Suspense.objects.filter(resolved_at__isnull=True, resident__isnull=False).values_list(
            "resident_id", "reason", "amount_fen", "message"
        )
    )
    frozen = set(Assessment.objects.filter(frozen_at__isnull=False).values_list("pk", flat=True))
    return enrollments, held, frozen


def test_a_county_file_is_settled_as_one_resident_at_a_time_would_settle_it(
    as_admin: None,
    tmp_path: Path,
) -> None:
    county = generate_county(
        residents=1200, seed=7, out_dir=tmp_path / "county", as_of=date(2019, 10, 31)
    )
    for argv in county.import_commands(corrected_dir=tmp_path / "county" / "corrected"):
        call_command(*argv, stdout=io.StringIO())
    campaign = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff())
    assess_campaign(campaign=campaign, actor=staff())
    first: list[tuple[str, ...]] = []
    second: list[tuple[str, ...]] = []
    assessed = Assessment.objects.filter(campaign=campaign).select_related("resident")
    for n, a in enumerate(assessed.order_by("resident_id")):
        name, number, on = a.resident.name, a.resident.id_number, PAY_DAYS[n % len(PAY_DAYS)]

        def row(
            key: str, fen: int, day: str = on, who: str = name, number: str = number
        ) -> tuple[str, ...]:
            return (day, key, who, number, str(fen))

        due = a.payable_fen
        if not a.eligible or due is None:
            first += [row(f"N{n}", 25000)] if n % 3 == 0 else []
        elif due == 0:
            first += [row(f"Z{n}", 25000)] if n % 4 == 0 else []
        elif n % 7 == 0:  # two instalments in the same file
            first += [row(f"A{n}", due // 2, "2019-09-01"), row(f"B{n}", due - due // 2)]
        elif n % 11 == 0:
            first.append(row(f"P{n}", due // 2))
        elif n % 13 == 0:
            first.append(row(f"X{n}", due + 100))
        elif n % 17 == 0:  # paid in full, then again in the next file
            first.append(row(f"F{n}", due))
            second.append(row(f"G{n}", due, "2019-12-20"))
        elif n % 19 == 0:  # half now, the rest in the next file
            first.append(row(f"H{n}", due // 2, "2019-09-01"))
            second.append(row(f"R{n}", due - due // 2))
        elif n % 23 == 0:
            first.append(row(f"M{n}", due, who=name + "某"))
        else:
            first.append(row(f"T{n}", due))
    first.append(("2019-11-20", "S1", "无名氏", STRANGER, "25000"))
    for rows, name in ((first, "first.csv"), (second, "second.csv")):
        done = import_payments(
            path=csv_file(tmp_path / name, rows, FEN_HEADER),
            campaign=campaign,
            channel="tax",
            actor=staff(),
        )
        assert done.errors == [] and done.created == len(rows)
    imported = derived_state()
    enrollments, held, frozen = imported
    assert len(enrollments) > 600 and len({e[-1] for e in enrollments}) >= 2
    assert {reason for _, reason, _, _ in held} >= {
        "partial",
        "excess",
        "outside_window",
        "not_eligible",
    }
    assert len(frozen) > len(enrollments)

    # The same payments settled again from nothing, one resident at a time.
    Suspense.objects.filter(resident__isnull=False).delete()
    Enrollment.objects.all().delete()
    Assessment.objects.update(frozen_at=None)
    payers = Payment.objects.filter(resident__isnull=False).values_list("resident_id", flat=True)
    apply_payments(
        campaign=campaign, resident_ids=list(payers), now=timezone.now(), actor=staff("test")
    )
    assert derived_state() == imported
    assert check_ledger(campaign).balanced


def test_a_bad_key_after_good_rows_with_the_same_date_and_amount_is_still_refused(
    campaign: Campaign, tmp_path: Path
) -> None:
    path = tax_file(
        tmp_path / "bad.csv",
        ("2019-11-20", "A1", "张建国", ZHANG, "250", "手机银行", "农业银行"),
        ("2019-11-20", "", "李秀英", LI, "250", "", ""),
        ("2019-11-20", "K" * 91, "李秀英", LI, "250", "", ""),
        ("2019-11-20", "reversal:A1", "李秀英", LI, "250", "", ""),
        ("2019-11-20", "A5", "李秀英", LI, "-250", "", ""),
    )
    result = import_payments(path=path, campaign=campaign, channel="tax", actor=staff())
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (4, "电子税票号码", "key_empty"),
        (5, "电子税票号码", "key_format"),
        (6, "电子税票号码", "key_format"),
        (7, "金额（元）", "amount_not_positive"),
    ]
    assert not Payment.objects.exists()


def test_rows_read_after_the_first_keep_the_bank_and_the_channel(
    campaign: Campaign, tmp_path: Path
) -> None:
    path = tax_file(
        tmp_path / "tax.csv",
        ("2019-11-20", "B1", "张建国", ZHANG, "250", "手机银行", "农业银行"),
        ("2019-11-20", "B2", "李秀英", LI, "250", "微信", "农商银行"),
        ("2019-11-20", "B3", "孙八", SUN, "250", "", "邮储银行"),
        ("2019-11-20", "B4", "王五", WANG, "250", "POS", ""),
    )
    assert import_payments(path=path, campaign=campaign, channel="tax", actor=staff()).errors == []
    assert dict(Payment.objects.values_list("key", "bank")) == {
        "B1": "农业银行／手机银行",
        "B2": "农商银行／微信",
        "B3": "邮储银行",
        "B4": "POS",
    }
