"""Daily reconciliation in Wuming (武鸣区, 2018; 180 yuan = 18000 fen): the tax bureau's detail for
a day against the tax payments Canbao recorded that day and against the banks' credits."""

import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from canbao.campaigns.models import Campaign
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.collection.bank_credits import import_bank_credits
from canbao.collection.closing import close_day, explain_difference, reopen_day
from canbao.collection.ledger import check_ledger
from canbao.collection.models import BankCredit, Difference, ReconciliationDay
from canbao.collection.payment_imports import import_payments
from canbao.collection.reconciliation import (
    DayResult,
    ReconciliationError,
    reconcile_day,
)
from canbao.collection.services import PaymentError, reverse_payment
from canbao.idnumber import make
from canbao.regions.models import Division
from canbao.registry.models import AuditEntry
from canbao.registry.services import import_residents
from tests.conftest import csv_file, resident, staff

pytestmark = pytest.mark.django_db

Kind = Difference.Kind
WUMING, TOWNSHIP, VILLAGE = "450110", "450110100", "450110100201"
DAY = date(2017, 10, 30)
TAX_HEADER = ("缴费日期", "交易流水号", "姓名", "公民身份号码", "金额（元）", "银行")
CREDIT_HEADER = ("日期", "银行", "入账金额（元）", "笔数")
ABC, RCC, PSBC = "农业银行", "农村信用社", "邮储银行"


def wid(sequence: int, sex: str = "M") -> str:
    return make(WUMING, date(1975, 3, 8), sequence, sex)  # type: ignore[arg-type]


WEI, HUANG, LAN, LU = wid(1), wid(2, "F"), wid(3), wid(4, "F")
# What Canbao recorded from the tax channel for the day (the tax channel import).
RECORDED = [
    ["2017-10-30", "T001", "韦国强", WEI, "180.00", ABC],
    ["2017-10-30", "T002", "黄秀兰", HUANG, "180.00", ABC],
    ["2017-10-30", "T003", "蓝志明", LAN, "180.00", RCC],
]


@pytest.fixture
def campaign(db: None, tmp_path: Path) -> Campaign:
    county = Division.objects.create(code=WUMING, name="武鸣区", level="county")
    town = Division.objects.create(code=TOWNSHIP, name="城厢镇", level="township", parent=county)
    Division.objects.create(code=VILLAGE, name="城厢社区", level="village", parent=town)
    rows = [
        resident("韦国强", WEI, "W1", village=VILLAGE),
        resident("黄秀兰", HUANG, "W1", "妻", village=VILLAGE),
        resident("蓝志明", LAN, "W2", village=VILLAGE),
        resident("陆春花", LU, "W3", village=VILLAGE),
    ]
    path = csv_file(tmp_path / "residents.csv", rows)
    assert not import_residents(path=path, actor=staff("t"), today=date(2017, 9, 1)).errors
    campaign = open_campaign(area_code=WUMING, policy="wuming-2018", actor=staff("t"))
    assess_campaign(campaign=campaign, actor=staff("t"))
    recorded = import_payments(
        path=csv_file(tmp_path / "tax-recorded.csv", RECORDED, TAX_HEADER, title=None),
        campaign=campaign,
        channel="tax",
        actor=staff("t"),
    )
    assert not recorded.errors and recorded.created == 3
    return campaign


def tax_file(path: Path, rows: list[list[str]]) -> Path:
    return csv_file(path, rows, TAX_HEADER, title="国家税务总局南宁市武鸣区税务局 缴费明细")


def credits(path: Path, *rows: tuple[str, str, int]) -> Path:
    return csv_file(
        path,
        [["2017-10-30", bank, amount, str(count)] for bank, amount, count in rows],
        CREDIT_HEADER,
        title="待报解账户入账汇总",
    )


def by_kind(result: DayResult) -> dict[str, list[tuple[str, int | None, int | None]]]:
    kinds: dict[str, list[tuple[str, int | None, int | None]]] = {}
    for d in result.differences:
        kinds.setdefault(d.kind, []).append((d.key, d.expected_fen, d.actual_fen))
    return kinds


@pytest.fixture
def unbalanced(campaign: Campaign, tmp_path: Path) -> DayResult:
    """A day with one difference of each kind."""
    rows = [
        ["2017-10-30", "T001", "韦国强", WEI, "180.00", ABC],
        ["2017-10-30", "T002", "黄秀兰", HUANG, "170.00", ABC],  # Canbao recorded 180
        ["2017-10-30", "T004", "陆春花", LU, "180.00", RCC],  # Canbao has none
        ["2017-10-30", "T004", "陆春花", LU, "180.00", RCC],  # the same key twice
        ["2017-10-31", "T005", "陆春花", LU, "180.00", RCC],  # another day: skipped
        # T003 (蓝志明), recorded by Canbao, is not in the tax detail.
    ]
    bank = credits(
        tmp_path / "credits.csv",
        (ABC, "360.00", 2),  # the tax lines of 农业银行 add up to 350.00
        (RCC, "360.00", 2),  # two lines, 360.00: agrees
        (PSBC, "50.00", 1),  # no tax line at all
    )
    return reconcile_day(
        campaign=campaign,
        day=DAY,
        tax_file=tax_file(tmp_path / "tax.csv", rows),
        bank_file=bank,
        actor=staff("对账员"),
    )


def test_a_balanced_day_closes(campaign: Campaign, tmp_path: Path) -> None:
    result = reconcile_day(
        campaign=campaign,
        day=DAY,
        tax_file=tax_file(tmp_path / "tax.csv", RECORDED),
        bank_file=credits(tmp_path / "credits.csv", (ABC, "360.00", 2), (RCC, "180.00", 1)),
        actor=staff("对账员"),
    )
    assert result.balanced and result.differences == []
    assert (result.tax_fen, result.tax_count, result.bank_fen) == (54000, 3, 54000)
    assert (result.recorded_fen, result.recorded_count) == (54000, 3)
    assert "已对平" in result.message
    closed = close_day(campaign=campaign, day=DAY, actor=staff("科长"))
    assert closed.status == "closed" and not closed.refused
    record = ReconciliationDay.objects.get(campaign=campaign, day=DAY)
    assert (record.status, record.closed_by) == ("closed", "科长")
    assert AuditEntry.objects.filter(action="close_day").count() == 1
    again = close_day(campaign=campaign, day=DAY, actor=staff("科长"))
    assert not again.refused and "本次未作改动" in again.message


def test_each_difference_kind_appears_with_its_key_and_amounts(unbalanced: DayResult) -> None:
    assert not unbalanced.balanced and not unbalanced.refused
    assert by_kind(unbalanced) == {
        Kind.MISSING_IN_CANBAO: [("T004", 18000, None)],
        Kind.MISSING_IN_TAX: [("T003", None, 18000)],
        Kind.AMOUNT_DIFFERS: [("T002", 17000, 18000)],
        Kind.DUPLICATE: [("T004", 18000, 36000)],
        Kind.BANK_TOTAL_DIFFERS: [(ABC, 36000, 35000), (PSBC, 5000, 0)],
    }
    details = {(d.kind, d.key): d.detail for d in unbalanced.differences}
    assert "第5、6行" in details[(Kind.DUPLICATE, "T004")]
    assert "蓝志明" in details[(Kind.MISSING_IN_TAX, "T003")]
    assert "相差10元" in details[(Kind.BANK_TOTAL_DIFFERS, ABC)]
    # The day's figures: the tax detail of the day as written (T004 twice), the banks' credits,
    # what Canbao recorded; the line of another day is counted apart.
    assert (unbalanced.tax_fen, unbalanced.tax_count) == (71000, 4)
    assert (unbalanced.bank_fen, unbalanced.recorded_fen, unbalanced.recorded_count) == (
        77000,
        54000,
        3,
    )
    assert unbalanced.other_day_lines == 1
    assert Difference.objects.count() == 6
    assert BankCredit.objects.count() == 3


def test_close_is_refused_until_every_difference_is_explained(unbalanced: DayResult) -> None:
    campaign = Campaign.objects.get()
    refused = close_day(campaign=campaign, day=DAY, actor=staff("科长"))
    assert refused.refused and [e.code for e in refused.errors] == ["unexplained"] * 6
    assert "T003" in " ".join(e.message for e in refused.errors)
    assert ReconciliationDay.objects.get().status == "open"

    for d in unbalanced.differences[:-1]:
        explain_difference(difference_id=d.id, reason="税务次日补传", actor=staff("对账员"))
    still = close_day(campaign=campaign, day=DAY, actor=staff("科长"))
    assert still.refused and len(still.errors) == 1
    assert str(unbalanced.differences[-1].id) in still.errors[0].message

    last = explain_difference(
        difference_id=unbalanced.differences[-1].id,
        reason="邮储银行误划，已退回",
        actor=staff("对账员"),
    )
    assert (last.explanation, last.explained_by) == ("邮储银行误划，已退回", "对账员")
    closed = close_day(campaign=campaign, day=DAY, actor=staff("科长"))
    assert not closed.refused and closed.status == "closed"
    assert "6项差异均已说明" in closed.message
    with pytest.raises(ReconciliationError, match="已结账"):
        explain_difference(difference_id=last.id, reason="改口", actor=staff("对账员"))


def test_a_later_run_keeps_explanations_that_still_hold_and_replaces_the_rest(
    unbalanced: DayResult, tmp_path: Path
) -> None:
    campaign = Campaign.objects.get()
    missing = next(d for d in unbalanced.differences if d.kind == Kind.MISSING_IN_TAX)
    differs = next(d for d in unbalanced.differences if d.kind == Kind.AMOUNT_DIFFERS)
    explain_difference(difference_id=missing.id, reason="税务漏传，已联系补传", actor=staff("t"))
    explain_difference(difference_id=differs.id, reason="待核", actor=staff("t"))
    rows = [
        ["2017-10-30", "T001", "韦国强", WEI, "180.00", ABC],
        ["2017-10-30", "T002", "黄秀兰", HUANG, "160.00", ABC],  # now another amount
    ]
    again = reconcile_day(
        campaign=campaign, day=DAY, tax_file=tax_file(tmp_path / "tax2.csv", rows), actor=staff("t")
    )
    kept = {(d.kind, d.key): d.explanation for d in again.differences}
    assert kept[(Kind.MISSING_IN_TAX, "T003")] == "税务漏传，已联系补传"
    assert kept[(Kind.AMOUNT_DIFFERS, "T002")] == ""  # the amounts changed: explain again
    assert (Kind.DUPLICATE, "T004") not in kept  # no longer occurs
    assert Difference.objects.filter(pk=missing.id).exists()


def test_bank_total_differs_is_named_per_bank(campaign: Campaign, tmp_path: Path) -> None:
    result = reconcile_day(
        campaign=campaign,
        day=DAY,
        tax_file=tax_file(tmp_path / "tax.csv", RECORDED),
        bank_file=credits(tmp_path / "credits.csv", (ABC, "360.00", 3), (RCC, "179.50", 1)),
        actor=staff("t"),
    )
    assert by_kind(result) == {
        Kind.BANK_TOTAL_DIFFERS: [(ABC, 36000, 36000), (RCC, 17950, 18000)],
    }
    details = {d.key: d.detail for d in result.differences}
    assert "银行入账3笔360元，税务明细2笔360元" in details[ABC]
    assert "相差0.5元" in details[RCC]

    # Without any credit for the day, every bank of the tax detail is a difference.
    other = reconcile_day(
        campaign=campaign,
        day=date(2017, 10, 31),
        tax_file=tax_file(
            tmp_path / "tax31.csv", [["2017-10-31", "T009", "陆春花", LU, "180.00", RCC]]
        ),
        actor=staff("t"),
    )
    assert by_kind(other)[Kind.BANK_TOTAL_DIFFERS] == [(RCC, None, 18000)]
    assert "未导入该银行当日的入账" in other.differences[-1].detail


def test_a_reversed_payment_counts_net_of_its_reversal(campaign: Campaign, tmp_path: Path) -> None:
    reverse_payment(
        campaign=campaign, channel="tax", key="T003", reason="重复扣费退回", actor=staff("t")
    )
    result = reconcile_day(
        campaign=campaign,
        day=DAY,
        tax_file=tax_file(tmp_path / "tax.csv", RECORDED),
        bank_file=credits(tmp_path / "credits.csv", (ABC, "360.00", 2), (RCC, "180.00", 1)),
        actor=staff("t"),
    )
    assert by_kind(result) == {Kind.AMOUNT_DIFFERS: [("T003", 18000, 0)]}


def test_a_closed_day_is_not_reopened_by_a_later_run(campaign: Campaign, tmp_path: Path) -> None:
    tax = tax_file(tmp_path / "tax.csv", RECORDED)
    bank = credits(tmp_path / "credits.csv", (ABC, "360.00", 2), (RCC, "180.00", 1))
    reconcile_day(campaign=campaign, day=DAY, tax_file=tax, bank_file=bank, actor=staff("t"))
    close_day(campaign=campaign, day=DAY, actor=staff("t"))
    later = reconcile_day(
        campaign=campaign,
        day=DAY,
        tax_file=tax_file(tmp_path / "other.csv", RECORDED[:1]),
        actor=staff("t"),
    )
    assert later.refused and later.errors[0].code == "day_closed"
    assert "不再重新对账" in later.message
    record = ReconciliationDay.objects.get()
    assert (record.status, record.tax_count) == ("closed", 3)


def closed(campaign: Campaign, tmp_path: Path) -> None:
    tax = tax_file(tmp_path / "tax.csv", RECORDED)
    bank = credits(tmp_path / "credits.csv", (ABC, "360.00", 2), (RCC, "180.00", 1))
    reconcile_day(campaign=campaign, day=DAY, tax_file=tax, bank_file=bank, actor=staff("t"))
    assert not close_day(campaign=campaign, day=DAY, actor=staff("科长")).refused


def test_a_payment_dated_a_closed_day_is_refused_naming_the_way_to_reopen(
    campaign: Campaign, tmp_path: Path
) -> None:
    closed(campaign, tmp_path)
    late = [["2017-10-30", "T004", "陆春花", LU, "180.00", RCC]]
    path = csv_file(tmp_path / "late.csv", late, TAX_HEADER, title=None)
    result = import_payments(path=path, campaign=campaign, channel="tax", actor=staff("t"))
    (error,) = result.errors
    assert (error.row, error.code) == (2, "day_closed")
    assert "reconcile reopen --date 2017-10-30" in error.message
    assert check_ledger(campaign).balanced
    # The same file again after the day is reopened, with a reason: recorded.
    reopened = reopen_day(campaign=campaign, day=DAY, reason="税务补传一笔", actor=staff("科长"))
    assert reopened.status == "open"
    audit = AuditEntry.objects.get(action="reopen_day")
    assert (audit.details["reason"], audit.details["closed_by"]) == ("税务补传一笔", "科长")
    again = import_payments(path=path, campaign=campaign, channel="tax", actor=staff("t"))
    assert again.errors == [] and again.created == 1


def test_a_reversal_of_a_closed_day_s_payment_is_refused(
    campaign: Campaign, tmp_path: Path
) -> None:
    closed(campaign, tmp_path)
    with pytest.raises(PaymentError) as refused:
        reverse_payment(campaign=campaign, channel="tax", key="T001", reason="退费", actor=staff())
    assert refused.value.code == "day_closed"
    assert check_ledger(campaign).balanced


@pytest.mark.ledger_tampered
def test_check_ledger_names_a_closed_day_that_no_longer_agrees(
    campaign: Campaign, tmp_path: Path
) -> None:
    closed(campaign, tmp_path)
    ReconciliationDay.objects.update(recorded_fen=1)  # tampered behind the services' back
    check = check_ledger(campaign)
    assert not check.balanced
    assert check.closed_days == [
        {
            "day": "2017-10-30",
            "closed_fen": 1,
            "closed_count": 3,
            "ledger_fen": 54000,
            "ledger_count": 3,
        }
    ]


def test_close_is_refused_when_payments_of_the_day_changed_since_the_run(
    campaign: Campaign, tmp_path: Path
) -> None:
    reconcile_day(
        campaign=campaign,
        day=DAY,
        tax_file=tax_file(tmp_path / "tax.csv", RECORDED),
        bank_file=credits(tmp_path / "credits.csv", (ABC, "360.00", 2), (RCC, "180.00", 1)),
        actor=staff("t"),
    )
    late = [["2017-10-30", "T004", "陆春花", LU, "180.00", RCC]]
    import_payments(
        path=csv_file(tmp_path / "late.csv", late, TAX_HEADER, title=None),
        campaign=campaign,
        channel="tax",
        actor=staff("t"),
    )
    refused = close_day(campaign=campaign, day=DAY, actor=staff("t"))
    assert refused.refused and refused.errors[0].code == "stale"


def test_a_tax_file_with_errors_refuses_the_reconciliation(
    campaign: Campaign, tmp_path: Path
) -> None:
    rows = [["2017-10-30", "T001", "韦国强", WEI, "180.001", ABC]]
    result = reconcile_day(
        campaign=campaign, day=DAY, tax_file=tax_file(tmp_path / "t.csv", rows), actor=staff("t")
    )
    assert result.refused and [(e.row, e.code) for e in result.errors] == [(3, "amount_format")]
    assert not ReconciliationDay.objects.exists()


def test_bank_credits_import_once_and_refuse_a_different_total(
    campaign: Campaign, tmp_path: Path
) -> None:
    path = credits(tmp_path / "c.csv", (ABC, "360.00", 2), (RCC, "180.00", 1))
    first = import_bank_credits(path=path, campaign=campaign, actor=staff("t"))
    assert (first.errors, first.created) == ([], 2)
    assert BankCredit.objects.get(bank=ABC).amount_fen == 36000
    again = import_bank_credits(path=path, campaign=campaign, actor=staff("t"))
    assert again.repeated and BankCredit.objects.count() == 2
    changed = credits(tmp_path / "c2.csv", (ABC, "361.00", 2), (PSBC, "1", 1))
    refused = import_bank_credits(path=changed, campaign=campaign, actor=staff("t"))
    assert [(e.row, e.code) for e in refused.errors] == [(3, "credit_conflict")]
    assert BankCredit.objects.count() == 2
    twice = credits(tmp_path / "c3.csv", (PSBC, "1", 1), (PSBC, "2", 1))
    assert [
        e.code for e in import_bank_credits(path=twice, campaign=campaign, actor=staff()).errors
    ] == ["duplicate_in_file"]


def run(*args: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    try:
        call_command("reconcile", *args, "--json", stdout=out)
    except SystemExit as exit:
        return int(str(exit.code)), json.loads(out.getvalue())
    return 0, json.loads(out.getvalue())


def test_the_command_reconciles_explains_and_closes(
    as_admin: None, campaign: Campaign, tmp_path: Path
) -> None:
    tax = tax_file(tmp_path / "tax.csv", RECORDED[:2])
    bank = credits(tmp_path / "credits.csv", (ABC, "360.00", 2))
    status, result = run("--date", "2017-10-30", "--tax-file", str(tax), "--bank-file", str(bank))
    assert status == 0 and not result["balanced"]
    assert result["bank_import"]["created"] == 1
    [difference] = result["differences"]
    assert (difference["kind"], difference["key"], difference["actual_fen"]) == (
        "missing_in_tax",
        "T003",
        18000,
    )
    status, refused = run("close", "--date", "2017-10-30")
    assert status == 1 and refused["errors"][0]["code"] == "unexplained"
    status, explained = run("explain", str(difference["id"]), "--reason", "税务次日补传")
    assert status == 0 and explained["explanation"] == "税务次日补传"
    status, closed = run("close", "--date", "2017-10-30")
    assert status == 0 and closed["status"] == "closed"
    status, later = run("--date", "2017-10-30", "--tax-file", str(tax))
    assert status == 1 and later["errors"][0]["code"] == "day_closed"
    with pytest.raises(CommandError) as caught:
        call_command("reconcile", "--date", "2017-10-30")
    assert caught.value.returncode == 2
    with pytest.raises(CommandError) as caught:
        call_command("reconcile", "explain", "99999", "--reason", "x")
    assert caught.value.returncode == 2
