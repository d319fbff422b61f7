"""Bank withholding in Wuming (武鸣区, 2018): three-party agreements, the deduction file, the bank's
return file, the townships' follow-up list and the retry of the failures that a retry can cure.

Wuming's personal contribution is 180 yuan = 18000 fen; paid in the concentrated period
(2017-09-01..2017-12-31) it covers 2018-01-01..2018-12-31."""

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from python_calamine import CalamineWorkbook

from canbao.campaigns.models import Assessment, Campaign
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.collection.models import (
    Enrollment,
    Payment,
    WithholdingAgreement,
    WithholdingBatch,
    WithholdingLine,
)
from canbao.collection.withholding import (
    ReturnSummary,
    WithholdingError,
    classify_return,
    create_batch,
    create_retry,
    followup,
    import_agreements,
    import_returns,
    write_followup_xlsx,
)
from canbao.idnumber import make
from canbao.regions.models import Division
from canbao.registry.models import AuditEntry, ImportBatch
from canbao.registry.services import import_residents
from tests.conftest import csv_file, resident, staff

pytestmark = pytest.mark.django_db

Result = WithholdingLine.Result
WUMING = "450110"
CHENGXIANG, TAIPING = "450110100", "450110101"
CX_VILLAGE, TP_VILLAGE = "450110100201", "450110101201"
AGREEMENT_HEADER = ("姓名", "公民身份号码", "开户银行", "账号", "户名", "签订日期")
RETURN_HEADER = ("批次号", "行号", "账号", "金额（分）", "返回码", "返回说明", "扣款日期")
DEDUCTED_ON = "2017-10-30"


def wid(sequence: int, sex: str = "M") -> str:
    """A valid ID number issued in 武鸣区."""
    return make(WUMING, date(1975, 3, 8), sequence, sex)  # type: ignore[arg-type]


# name, ID, household, relation, village, phone, account
PEOPLE = [
    ("韦国强", wid(1), "W1", "户主", CX_VILLAGE, "13900000001", "6228480010000000011"),
    ("黄秀兰", wid(2, "F"), "W1", "妻", CX_VILLAGE, "", "6228480010000000029"),
    ("蓝志明", wid(3), "W2", "户主", CX_VILLAGE, "13900000003", "6228480010000000037"),
    ("陆春花", wid(4, "F"), "W3", "户主", CX_VILLAGE, "13900000004", "6228480010000000045"),
    ("覃海", wid(5), "W4", "户主", TP_VILLAGE, "13900000005", "6217000010000000052"),
    ("莫丽", wid(6, "F"), "W5", "户主", TP_VILLAGE, "13900000006", "6217000010000000060"),
    ("梁军", wid(7), "W6", "户主", TP_VILLAGE, "13900000007", "6217000010000000078"),
]
# What the bank answers for each, by name: (返回码, 返回说明).
ANSWERS = {
    "韦国强": ("0000", "扣款成功"),
    "黄秀兰": ("1001", "余额不足"),
    "蓝志明": ("1002", "账户已销户"),
    "陆春花": ("1003", "账户冻结"),
    "覃海": ("E204", "户名不符"),  # a code Canbao does not know: classified by its text
    "莫丽": ("1005", "账号不存在"),
    "梁军": ("9999", "系统繁忙"),
}
BANKS = {CX_VILLAGE: "中国农业银行武鸣支行", TP_VILLAGE: "广西农村信用社武鸣联社"}


@pytest.fixture
def wuming(db: None, tmp_path: Path) -> Campaign:
    county = Division.objects.create(code=WUMING, name="武鸣区", level="county")
    for township, name, village, village_name in (
        (CHENGXIANG, "城厢镇", CX_VILLAGE, "城厢社区"),
        (TAIPING, "太平镇", TP_VILLAGE, "太平社区"),
    ):
        parent = Division.objects.create(code=township, name=name, level="township", parent=county)
        Division.objects.create(code=village, name=village_name, level="village", parent=parent)
    rows = [
        resident(name, id_number, household, relation, village, phone=phone)
        for name, id_number, household, relation, village, phone, _ in PEOPLE
    ]
    rows.append(resident("农芳", wid(8, "F"), "W7", "户主", TP_VILLAGE))  # no agreement
    rows.append(resident("潘强", wid(9), "W8", "户主", TP_VILLAGE, employee="是"))  # not eligible
    path = csv_file(tmp_path / "wuming.csv", rows, title="武鸣区2018年参保人员花名册")
    assert not import_residents(path=path, actor=staff("t"), today=date(2017, 9, 1)).errors
    campaign = open_campaign(area_code=WUMING, policy="wuming-2018", actor=staff("t"))
    assess_campaign(campaign=campaign, actor=staff("t"))
    return campaign


def agreement_rows(*names: str) -> list[list[str]]:
    people = {p[0]: p for p in PEOPLE}
    people["潘强"] = ("潘强", wid(9), "W8", "户主", TP_VILLAGE, "", "6217000010000000094")
    return [
        [name, people[name][1], BANKS[people[name][4]], people[name][6], name, "2017-09-20"]
        for name in names
    ]


@pytest.fixture
def agreements(wuming: Campaign, tmp_path: Path) -> Campaign:
    path = csv_file(
        tmp_path / "agreements.csv",
        agreement_rows(*(p[0] for p in PEOPLE), "潘强"),
        AGREEMENT_HEADER,
        title="武鸣区城乡居民医保委托代扣三方协议汇总表",
    )
    result = import_agreements(path=path, actor=staff("城厢镇经办员"), today=date(2017, 9, 30))
    assert not result.errors, result.errors
    assert result.created == 8
    return wuming


def read_batch(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


def return_file(path: Path, sent: list[dict[str, str]], **override: tuple[str, str]) -> Path:
    """The bank's return file for the lines of a deduction file, answering per ANSWERS."""
    answers = ANSWERS | override
    rows = [
        [
            line["批次号"],
            line["行号"],
            line["账号"],
            line["金额（分）"],
            *answers[line["姓名"]],
            DEDUCTED_ON,
        ]
        for line in sent
    ]
    return csv_file(path, rows, RETURN_HEADER, title="代扣回盘")


@pytest.fixture
def returned(agreements: Campaign, tmp_path: Path) -> tuple[Campaign, list[dict[str, str]]]:
    create_batch(campaign=agreements, out=tmp_path / "batch1.csv", actor=staff("区医保局"))
    sent = read_batch(tmp_path / "batch1.csv")
    result = import_returns(
        path=return_file(tmp_path / "return1.csv", sent),
        campaign=agreements,
        actor=staff("区医保局"),
    )
    assert not result.errors, result.errors
    return agreements, sent


def line_of(name: str, sequence: int = 1) -> WithholdingLine:
    return WithholdingLine.objects.get(batch__sequence=sequence, resident__name=name)


# --- agreements -----------------------------------------------------------------------------


def test_it_imports_agreements_one_active_per_resident(agreements: Campaign) -> None:
    agreement = WithholdingAgreement.objects.get(resident__name="韦国强")
    assert (agreement.bank, agreement.account_number, agreement.account_name) == (
        "中国农业银行武鸣支行",
        "6228480010000000011",
        "韦国强",
    )
    assert agreement.signed_on == date(2017, 9, 20) and agreement.active
    assert agreement.batch is not None
    assert agreement.batch.kind == ImportBatch.Kind.WITHHOLDING_AGREEMENTS


def test_it_refuses_an_agreement_for_an_id_number_the_registry_does_not_know(
    wuming: Campaign, tmp_path: Path
) -> None:
    rows = [
        *agreement_rows("韦国强"),
        ["无名氏", wid(77), "中国农业银行", "6228480010000000999", "无名氏", "2017-09-20"],
    ]
    path = csv_file(tmp_path / "a.csv", rows, AGREEMENT_HEADER)
    result = import_agreements(path=path, actor=staff("t"), today=date(2017, 9, 30))
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (4, "公民身份号码", "unknown_person")
    ]
    assert wid(77) in result.errors[0].message
    assert not WithholdingAgreement.objects.exists()


def test_it_refuses_a_second_active_agreement_for_the_same_resident(
    agreements: Campaign, tmp_path: Path
) -> None:
    other = agreement_rows("黄秀兰")
    other[0][3] = "6228480010000009999"
    path = csv_file(tmp_path / "second.csv", [*agreement_rows("韦国强"), *other], AGREEMENT_HEADER)
    result = import_agreements(path=path, actor=staff("t"), today=date(2017, 9, 30))
    assert [(e.row, e.code) for e in result.errors] == [(4, "second_agreement")]
    assert "6228480010000000029" in result.errors[0].message
    assert WithholdingAgreement.objects.filter(resident__name="黄秀兰").count() == 1

    # The very same agreement in another file is simply unchanged.
    same = csv_file(tmp_path / "same.csv", agreement_rows("韦国强"), AGREEMENT_HEADER, title=None)
    again = import_agreements(path=same, actor=staff("t"), today=date(2017, 9, 30))
    assert (again.errors, again.created, again.unchanged) == ([], 0, 1)


def test_it_checks_every_cell_of_an_agreement(wuming: Campaign, tmp_path: Path) -> None:
    rows = agreement_rows("韦国强", "黄秀兰", "蓝志明")
    rows[0][3] = "6.22848E+18"  # Excel's damage
    rows[1][0] = "黄秀"  # not the registered name
    rows[2][5] = "2017-13-01"
    path = csv_file(tmp_path / "bad.csv", rows, AGREEMENT_HEADER)
    result = import_agreements(path=path, actor=staff("t"), today=date(2017, 9, 30))
    assert sorted((e.row, e.code) for e in result.errors) == [
        (3, "account_scientific_notation"),
        (4, "name_mismatch"),
        (5, "date_format"),
    ]


# --- the deduction batch --------------------------------------------------------------------


def test_a_batch_has_one_line_per_active_agreement_of_an_eligible_resident_who_owes(
    agreements: Campaign, tmp_path: Path
) -> None:
    assert Assessment.objects.get(resident__name="韦国强").payable_fen == 18000
    done = create_batch(campaign=agreements, out=tmp_path / "batch.csv", actor=staff("区医保局"))
    assert (done.sequence, done.lines, done.total_fen, done.retry_of) == (1, 7, 7 * 18000, None)
    sent = read_batch(tmp_path / "batch.csv")
    assert list(sent[0]) == [
        "批次号",
        "行号",
        "姓名",
        "公民身份号码",
        "开户银行",
        "账号",
        "户名",
        "金额（分）",
    ]
    # By village, household and ID number; 潘强 (employee-insured) and 农芳 (no agreement) absent.
    assert [line["姓名"] for line in sent] == [p[0] for p in PEOPLE]
    assert [line["行号"] for line in sent] == [str(n) for n in range(1, 8)]
    assert {line["金额（分）"] for line in sent} == {"18000"}
    assert sent[0]["账号"] == "6228480010000000011" and sent[0]["批次号"] == "1"
    assert WithholdingLine.objects.filter(batch__sequence=1).count() == 7
    assert AuditEntry.objects.filter(action="withholding_batch").count() == 1

    # Everyone is waiting at the bank: a second batch has nothing to send and writes no file.
    again = create_batch(campaign=agreements, out=tmp_path / "again.csv", actor=staff("区医保局"))
    assert (again.batch, again.lines) == (None, 0)
    assert not (tmp_path / "again.csv").exists()


def test_a_batch_can_be_written_as_a_workbook_with_account_numbers_as_text(
    agreements: Campaign, tmp_path: Path
) -> None:
    create_batch(campaign=agreements, out=tmp_path / "batch.xlsx", actor=staff("t"))
    sheet = CalamineWorkbook.from_path(str(tmp_path / "batch.xlsx")).get_sheet_by_index(0)
    rows = sheet.to_python()
    assert rows[1][5] == "6228480010000000011" and rows[1][3] == wid(1)
    assert rows[1][7] == 18000


def test_it_refuses_to_overwrite_a_file(agreements: Campaign, tmp_path: Path) -> None:
    (tmp_path / "batch.csv").write_text("old")
    with pytest.raises(WithholdingError, match="不覆盖"):
        create_batch(campaign=agreements, out=tmp_path / "batch.csv", actor=staff("t"))
    assert not WithholdingBatch.objects.exists()


# --- the return file ------------------------------------------------------------------------


def test_it_classifies_the_banks_codes_and_chinese_texts() -> None:
    assert classify_return("0000") == Result.SUCCESS
    assert classify_return("1001") == Result.INSUFFICIENT_BALANCE
    assert classify_return("1002") == Result.ACCOUNT_CLOSED
    assert classify_return("1003") == Result.ACCOUNT_FROZEN
    assert classify_return("1004") == Result.NAME_MISMATCH
    assert classify_return("1005") == Result.ACCOUNT_NOT_FOUND
    assert classify_return("", "扣款成功") == Result.SUCCESS
    assert classify_return("E01", "账户余额不足") == Result.INSUFFICIENT_BALANCE
    assert classify_return("余额不足") == Result.INSUFFICIENT_BALANCE
    assert classify_return("", "该账户已销户") == Result.ACCOUNT_CLOSED
    assert classify_return("", "账户被司法冻结") == Result.ACCOUNT_FROZEN
    assert classify_return("", "户名与账号不符") == Result.OTHER  # not a text Canbao knows
    assert classify_return("", "户名不一致") == Result.NAME_MISMATCH
    assert classify_return("", "无此账户") == Result.ACCOUNT_NOT_FOUND
    assert classify_return("", "扣款不成功") == Result.OTHER
    assert classify_return("9999", "系统繁忙") == Result.OTHER
    assert classify_return("", "") is None


def test_a_return_file_classifies_each_line_and_enrolls_the_successes(
    returned: tuple[Campaign, list[dict[str, str]]],
) -> None:
    campaign, _ = returned
    assert {name: line_of(name).result for name in ANSWERS} == {
        "韦国强": Result.SUCCESS,
        "黄秀兰": Result.INSUFFICIENT_BALANCE,
        "蓝志明": Result.ACCOUNT_CLOSED,
        "陆春花": Result.ACCOUNT_FROZEN,
        "覃海": Result.NAME_MISMATCH,
        "莫丽": Result.ACCOUNT_NOT_FOUND,
        "梁军": Result.OTHER,
    }
    assert (line_of("覃海").bank_code, line_of("覃海").bank_message) == ("E204", "户名不符")
    assert WithholdingBatch.objects.get(sequence=1).returned_at is not None

    payment = Payment.objects.get(campaign=campaign)
    assert (payment.channel, payment.key, payment.amount_fen, payment.paid_on) == (
        "withholding",
        f"1-{line_of('韦国强').line_no}",
        18000,
        date(2017, 10, 30),
    )
    assert payment.bank == "中国农业银行武鸣支行" and payment.resident is not None
    enrollment = Enrollment.objects.get(campaign=campaign)
    assert enrollment.resident.name == "韦国强"
    assert (enrollment.paid_fen, enrollment.coverage_start, enrollment.coverage_end) == (
        18000,
        date(2018, 1, 1),
        date(2018, 12, 31),
    )
    assert Assessment.objects.get(resident__name="韦国强").frozen_at is not None


def test_the_same_return_file_twice_changes_nothing(
    returned: tuple[Campaign, list[dict[str, str]]], tmp_path: Path
) -> None:
    campaign, sent = returned
    again = import_returns(path=tmp_path / "return1.csv", campaign=campaign, actor=staff("t"))
    assert again.repeated and (again.created, again.unchanged) == (0, 7)
    # The same answers in another file (the bank sent it again, re-exported): all unchanged.
    copy = return_file(tmp_path / "copy.csv", sent)
    copy.write_bytes(copy.read_bytes().replace("代扣回盘".encode(), "代扣回盘（重发）".encode()))
    summary = ReturnSummary()
    result = import_returns(path=copy, campaign=campaign, actor=staff("t"), summary=summary)
    assert (result.errors, result.created, result.unchanged) == ([], 0, 7)
    assert summary.payments == 0
    assert Payment.objects.count() == 1 and Enrollment.objects.count() == 1


def test_a_return_that_contradicts_an_earlier_return_is_refused(
    returned: tuple[Campaign, list[dict[str, str]]], tmp_path: Path
) -> None:
    campaign, sent = returned
    path = return_file(tmp_path / "other.csv", sent, 黄秀兰=("0000", "扣款成功"))
    result = import_returns(path=path, campaign=campaign, actor=staff("t"))
    assert [e.code for e in result.errors] == ["already_returned"]
    assert "余额不足" in result.errors[0].message
    assert line_of("黄秀兰").result == Result.INSUFFICIENT_BALANCE
    assert Payment.objects.count() == 1


def test_a_return_line_that_does_not_match_a_sent_line_refuses_the_file(
    agreements: Campaign, tmp_path: Path
) -> None:
    create_batch(campaign=agreements, out=tmp_path / "batch.csv", actor=staff("t"))
    sent = read_batch(tmp_path / "batch.csv")
    sent[1]["账号"] = "6228480010000000000"
    sent[2]["金额（分）"] = "17000"
    sent[3]["行号"] = "99"
    rows = [
        [
            line["批次号"],
            line["行号"],
            line["账号"],
            line["金额（分）"],
            "0000",
            "成功",
            DEDUCTED_ON,
        ]
        for line in sent
    ]
    rows.append(["7", "1", "6228480010000000011", "18000", "0000", "成功", DEDUCTED_ON])
    path = csv_file(tmp_path / "bad.csv", rows, RETURN_HEADER, title=None)
    result = import_returns(path=path, campaign=agreements, actor=staff("t"))
    assert sorted((e.row, e.column, e.code) for e in result.errors) == [
        (3, "账号", "account_differs"),
        (4, "金额（分）", "amount_differs"),
        (5, "行号", "unknown_line"),
        (9, "行号", "unknown_line"),
    ]
    assert "发出的账号是6228480010000000029" in next(
        e.message for e in result.errors if e.code == "account_differs"
    )
    assert not WithholdingLine.objects.exclude(result="").exists()
    assert not Payment.objects.exists() and not Enrollment.objects.exists()
    assert WithholdingBatch.objects.get().returned_at is None


def test_a_return_file_may_give_the_amount_in_yuan(agreements: Campaign, tmp_path: Path) -> None:
    create_batch(campaign=agreements, out=tmp_path / "batch.csv", actor=staff("t"))
    sent = read_batch(tmp_path / "batch.csv")
    rows = [
        [line["批次号"], line["行号"], line["账号"], "180.00", "1001", "余额不足"] for line in sent
    ]
    header = ("批次号", "行号", "账号", "金额（元）", "返回码", "返回说明")
    result = import_returns(
        path=csv_file(tmp_path / "r.csv", rows, header), campaign=agreements, actor=staff("t")
    )
    assert (result.errors, result.created) == ([], 7)
    assert WithholdingLine.objects.filter(result=Result.INSUFFICIENT_BALANCE).count() == 7


# --- follow-up and retry --------------------------------------------------------------------


def test_the_followup_lists_the_failures_per_township_insufficient_balance_first(
    returned: tuple[Campaign, list[dict[str, str]]], tmp_path: Path
) -> None:
    campaign, _ = returned
    rows = followup(campaign=campaign)
    assert [(r.township, r.name, r.result) for r in rows] == [
        ("城厢镇", "黄秀兰", Result.INSUFFICIENT_BALANCE),
        ("城厢镇", "陆春花", Result.ACCOUNT_FROZEN),
        ("城厢镇", "蓝志明", Result.ACCOUNT_CLOSED),
        ("太平镇", "梁军", Result.OTHER),
        ("太平镇", "覃海", Result.NAME_MISMATCH),
        ("太平镇", "莫丽", Result.ACCOUNT_NOT_FOUND),
    ]
    luchunhua = rows[1]
    assert (luchunhua.village, luchunhua.phone, luchunhua.reason) == (
        "城厢社区",
        "13900000004",
        "账户冻结",
    )
    assert "重新签订" in rows[2].action and rows[2].retryable is False
    assert [r.name for r in followup(campaign=campaign, township=TAIPING)] == [
        "梁军",
        "覃海",
        "莫丽",
    ]
    write_followup_xlsx(rows, tmp_path / "followup.xlsx")
    book = CalamineWorkbook.from_path(str(tmp_path / "followup.xlsx"))
    summary = book.get_sheet_by_name("汇总").to_python()
    assert summary[1][:2] == ["城厢镇", 1] and summary[1][-1] == 3
    listed = book.get_sheet_by_name("代扣失败跟进").to_python()
    assert listed[1][:3] == ["城厢镇", "城厢社区", "黄秀兰"]


def test_a_retry_contains_only_the_retryable_failures(
    returned: tuple[Campaign, list[dict[str, str]]], tmp_path: Path
) -> None:
    campaign, _ = returned
    done = create_retry(campaign=campaign, out=tmp_path / "retry.csv", actor=staff("区医保局"))
    assert (done.sequence, done.retry_of, done.sources, done.lines) == (2, 1, [1], 3)
    retry = WithholdingBatch.objects.get(sequence=2)
    assert retry.retry_of == WithholdingBatch.objects.get(sequence=1)
    sent = read_batch(tmp_path / "retry.csv")
    # Never the success, never the closed account, name mismatch or unknown account.
    assert [line["姓名"] for line in sent] == ["黄秀兰", "陆春花", "梁军"]
    assert [line["批次号"] for line in sent] == ["2", "2", "2"]
    assert {line["金额（分）"] for line in sent} == {"18000"}

    # While the retry is at the bank, neither a retry nor a batch sends anything again.
    assert create_retry(campaign=campaign, out=tmp_path / "r2.csv", actor=staff("t")).lines == 0
    assert create_batch(campaign=campaign, out=tmp_path / "b2.csv", actor=staff("t")).lines == 0

    # The retry comes back: 黄秀兰 topped up and is enrolled, the other two fail again.
    result = import_returns(
        path=return_file(tmp_path / "return2.csv", sent, 黄秀兰=("0000", "扣款成功")),
        campaign=campaign,
        actor=staff("t"),
    )
    assert not result.errors
    assert Payment.objects.get(resident__name="黄秀兰").key == "2-1"
    assert Enrollment.objects.filter(resident__name="黄秀兰").exists()
    again = create_retry(campaign=campaign, out=tmp_path / "retry3.csv", actor=staff("t"))
    assert (again.sequence, again.retry_of, again.lines) == (3, 2, 2)
    listed = followup(campaign=campaign, township=CHENGXIANG)
    assert [(r.name, r.line, r.pending) for r in listed] == [
        ("陆春花", "2-2", "3-1"),  # failed again in the retry, now in the next retry
        ("蓝志明", "1-3", ""),
    ]
    assert listed[0].action.startswith("已在重扣（3-1）")


def test_a_new_agreement_replaces_one_whose_account_was_closed(
    returned: tuple[Campaign, list[dict[str, str]]], tmp_path: Path
) -> None:
    campaign, _ = returned
    rows = agreement_rows("蓝志明")
    rows[0][3], rows[0][5] = "6228480010000005555", "2017-11-05"
    path = csv_file(tmp_path / "new.csv", rows, AGREEMENT_HEADER)
    result = import_agreements(path=path, actor=staff("t"), today=date(2017, 11, 6))
    assert (result.errors, result.created, result.updated) == ([], 0, 1)
    assert WithholdingAgreement.objects.get(
        resident__name="蓝志明", active=True
    ).account_number == ("6228480010000005555")
    assert "蓝志明" not in [r.name for r in followup(campaign=campaign)]
    # The new agreement goes out in the next first-round batch; nobody else does.
    done = create_batch(campaign=campaign, out=tmp_path / "batch2.csv", actor=staff("t"))
    assert [line["账号"] for line in read_batch(tmp_path / "batch2.csv")] == ["6228480010000005555"]
    assert done.lines == 1

    # A failure a retry can cure keeps its agreement: a new one is refused.
    rows = agreement_rows("黄秀兰")
    rows[0][3] = "6228480010000006666"
    path = csv_file(tmp_path / "refused.csv", rows, AGREEMENT_HEADER)
    refused = import_agreements(path=path, actor=staff("t"), today=date(2017, 11, 6))
    assert [e.code for e in refused.errors] == ["second_agreement"]


# --- the command ----------------------------------------------------------------------------


def run(*args: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    try:
        call_command("withholding", *args, "--json", stdout=out)
    except SystemExit as exit:
        return int(str(exit.code)), json.loads(out.getvalue())
    return 0, json.loads(out.getvalue())


def test_the_command_runs_the_round_trip_and_prints_one_json_object(
    as_admin: None, agreements: Campaign, tmp_path: Path
) -> None:
    status, batch = run("batch", "--out", str(tmp_path / "b.csv"), "--as", "admin")
    assert status == 0 and (batch["sequence"], batch["lines"], batch["total_fen"]) == (
        1,
        7,
        126000,
    )
    assert WithholdingBatch.objects.get(sequence=1).created_by == "admin"
    sent = read_batch(tmp_path / "b.csv")
    status, returns = run("returns", str(return_file(tmp_path / "r.csv", sent)))
    assert status == 0 and returns["created"] == 7 and returns["payments"] == 1
    assert returns["results"]["insufficient_balance"] == 1
    assert returns["recorded"]["enrolled"] == 1
    status, listed = run("followup", "--township", CHENGXIANG)
    assert status == 0 and listed["count"] == 3
    assert listed["by_township"] == {
        CHENGXIANG: {"insufficient_balance": 1, "account_frozen": 1, "account_closed": 1}
    }
    status, retry = run("retry", "--out", str(tmp_path / "retry.csv"))
    assert status == 0 and (retry["lines"], retry["retry_of"]) == (3, 1)

    bad = csv_file(
        tmp_path / "bad.csv",
        [["1", "99", "6228480010000000011", "18000", "0000", ""]],
        RETURN_HEADER[:6],
    )
    status, refused = run("returns", str(bad))
    assert status == 1 and refused["errors"][0]["code"] == "unknown_line"
    with pytest.raises(CommandError) as caught:
        call_command("withholding", "batch", "--out", str(tmp_path / "b.csv"))
    assert caught.value.returncode == 2
    with pytest.raises(CommandError) as caught:
        call_command("withholding", "returns", str(tmp_path / "nothing.csv"), "--campaign", "999")
    assert caught.value.returncode == 2
