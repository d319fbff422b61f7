"""Payments from every channel, applied to enrollment and the suspense list, and reversed; with
the Daligang 2020 numbers (250 yuan = 25000 fen; 五保户 fully paid by medical assistance; 农村低保
50%)."""

from datetime import date
from pathlib import Path

import pytest
from django.db import DatabaseError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from canbao.campaigns.models import Assessment, Campaign
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.collection.models import Enrollment, Payment, Suspense
from canbao.collection.selectors import (
    enrollment_counts,
    money_summary,
    money_totals,
    suspense_list,
)
from canbao.collection.services import (
    PaymentError,
    PaymentRow,
    RecordOutcome,
    recheck_held_payments,
    record_payments,
    reverse_payment,
)
from canbao.registry.models import AuditEntry
from canbao.registry.rosters import import_roster
from canbao.registry.services import import_residents
from tests.conftest import COUNTY, TOWNSHIP, VILLAGE, csv_file, person_id, resident, staff

pytestmark = pytest.mark.django_db

ROSTER_HEADER = ("姓名", "公民身份号码")
ZHANG = person_id(1)  # ordinary: 250 yuan
LI = person_id(2, "F")  # ordinary, same household
WANG = person_id(3)  # 五保户: payable 0, medical assistance 250 yuan
ZHAO = person_id(4)  # employee insured: not eligible
QIAN = person_id(5, "F")  # 农村低保: payable 125 yuan, medical assistance 125 yuan
SUN = person_id(6)  # ordinary, other village
STRANGER = person_id(99)  # valid number, not in the registry


def day(text: str) -> date:
    return date.fromisoformat(text)


@pytest.fixture
def campaign(daligang: dict[str, object], tmp_path: Path) -> Campaign:
    rows = [
        resident("张建国", ZHANG, "H1"),
        resident("李秀英", LI, "H1", "妻"),
        resident("王五", WANG, "H2"),
        resident("赵六", ZHAO, "H3", employee="是"),
        resident("钱七", QIAN, "H4"),
        resident("孙八", SUN, "H5", village="430922117239"),
    ]
    assert not import_residents(path=csv_file(tmp_path / "r.csv", rows), actor=staff("t")).errors
    for category, people in (
        ("extreme_poverty", [("王五", WANG)]),
        ("rural_dibao", [("钱七", QIAN)]),
    ):
        path = csv_file(tmp_path / f"{category}.csv", people, ROSTER_HEADER)
        assert not import_roster(
            path=path, category=category, source="civil_affairs", actor=staff("t")
        ).errors
    opened = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff("局长"))
    assess_campaign(campaign=opened, actor=staff("局长"))
    return opened


def pay(
    campaign: Campaign,
    key: str,
    amount: int,
    id_number: str = ZHANG,
    name: str = "张建国",
    paid_on: str = "2019-11-20",
    channel: str = "tax",
    funder: str = "",
) -> RecordOutcome:
    return record_payments(
        campaign=campaign,
        channel=channel,
        rows=[PaymentRow(key, day(paid_on), amount, id_number, name, funder=funder)],
        batch=None,
        actor=staff("税务"),
        now=timezone.now(),
    )


def open_suspense(id_number: str = ZHANG) -> list[tuple[str, str]]:
    return list(
        Suspense.objects.filter(
            Q(resident__id_number=id_number) | Q(payment__id_number=id_number),
            resolved_at__isnull=True,
        )
        .order_by("pk")
        .values_list("reason", "message")
    )


def held_fen() -> int:
    return int(
        Suspense.objects.filter(resolved_at__isnull=True).aggregate(t=Sum("amount_fen"))["t"] or 0
    )


def recorded_fen() -> int:
    return int(Payment.objects.aggregate(total=Sum("amount_fen"))["total"] or 0)


def test_it_enrolls_an_ordinary_resident_who_pays_250_yuan_in_november(
    campaign: Campaign,
) -> None:
    outcome = pay(campaign, "T001", 25000)
    assert (outcome.created, outcome.created_fen, outcome.enrolled) == (1, 25000, 1)
    enrollment = Enrollment.objects.get(resident__id_number=ZHANG)
    assert (
        enrollment.paid_fen,
        enrollment.enrolled_on,
        enrollment.coverage_start,
        enrollment.coverage_end,
        enrollment.rule,
    ) == (25000, day("2019-11-20"), day("2020-01-01"), day("2020-12-31"), "集中缴费期")
    assert Assessment.objects.get(resident__id_number=ZHANG).frozen_at is not None
    assert open_suspense() == []
    assert Payment.objects.get(key="T001").resident is not None


def test_it_holds_a_partial_payment_and_enrolls_when_the_rest_arrives(
    campaign: Campaign,
) -> None:
    pay(campaign, "T001", 20000)
    assert open_suspense() == [("partial", "已缴200元，应缴250元")]
    assert not Enrollment.objects.exists()
    outcome = pay(campaign, "B001", 5000, paid_on="2019-12-02", channel="bank")
    assert (outcome.enrolled, outcome.resolved) == (1, 1)
    assert open_suspense() == []
    held = Suspense.objects.get(resident__id_number=ZHANG)
    assert (held.amount_fen, held.resolution) == (20000, "已缴足，2019-12-02缴清参保")
    enrollment = Enrollment.objects.get()
    assert (enrollment.paid_fen, enrollment.enrolled_on) == (25000, day("2019-12-02"))


def test_an_overpayment_enrolls_and_only_the_overshoot_is_held(campaign: Campaign) -> None:
    pay(campaign, "T001", 30000)
    assert open_suspense() == [("excess", "2019-11-20已缴足250元，共缴300元，多缴50元")]
    assert Enrollment.objects.get().paid_fen == 25000
    assert held_fen() == 5000 and recorded_fen() == 30000


def test_a_second_full_payment_is_excess_and_the_first_keeps_the_enrollment(
    campaign: Campaign,
) -> None:
    pay(campaign, "T001", 25000)
    pay(campaign, "B009", 25000, paid_on="2019-11-21", channel="bank")
    assert Enrollment.objects.get().enrolled_on == day("2019-11-20")
    assert open_suspense() == [("excess", "2019-11-20已缴足250元，共缴500元，多缴250元")]


def test_it_keeps_the_money_of_an_unknown_person_in_suspense(campaign: Campaign) -> None:
    outcome = pay(campaign, "T404", 25000, STRANGER, "无名氏")
    assert outcome.suspended == {"unknown_person": 1}
    payment = Payment.objects.get(key="T404")
    assert (payment.resident, payment.amount_fen) == (None, 25000)
    assert open_suspense(STRANGER) == [
        ("unknown_person", f"登记库中没有证件号码为{STRANGER}的人员（缴费记录姓名：无名氏）")
    ]


def test_a_known_id_under_another_name_is_held_naming_both_names(campaign: Campaign) -> None:
    pay(campaign, "T002", 25000, ZHANG, "张建军")
    assert Payment.objects.get(key="T002").resident is None
    assert open_suspense() == [
        (
            "unknown_person",
            f"证件号码{ZHANG}在登记库中的姓名是“张建国”，缴费记录上是“张建军”，请核对后处理",
        )
    ]
    assert not Enrollment.objects.exists()


def test_it_holds_a_payment_made_after_the_window_closed(campaign: Campaign) -> None:
    pay(campaign, "T003", 25000, paid_on="2020-03-01")
    ((reason, message),) = open_suspense()
    assert reason == "outside_window" and "2020-03-01 不在可参保缴费的期间" in message
    assert not Enrollment.objects.exists()


def test_a_household_payment_in_the_approved_extension_covers_from_january(
    campaign: Campaign,
) -> None:
    pay(campaign, "T004", 25000, paid_on="2020-02-10")
    enrollment = Enrollment.objects.get()
    assert (enrollment.coverage_start, enrollment.rule) == (
        day("2020-01-01"),
        "经批准延长期（以户为单位参保）",
    )


def test_a_not_eligible_resident_s_payment_is_held(campaign: Campaign) -> None:
    pay(campaign, "T005", 25000, ZHAO, "赵六")
    assert open_suspense(ZHAO) == [("not_eligible", "已参加职工基本医疗保险，不能参加城乡居民医保")]
    assert Assessment.objects.get(resident__id_number=ZHAO).frozen_at is None


def test_a_wubaohu_is_enrolled_by_the_medical_assistance_proxy_payment(
    campaign: Campaign,
) -> None:
    assessment = Assessment.objects.get(resident__id_number=WANG)
    assert (assessment.attribute, assessment.payable_fen, assessment.subsidy_fen) == (
        "五保户",
        0,
        25000,
    )
    outcome = pay(
        campaign, "MA-1", 25000, WANG, "王五", "2019-11-15", "proxy", "medical_assistance"
    )
    assert outcome.enrolled == 1
    enrollment = Enrollment.objects.get(resident__id_number=WANG)
    assert (enrollment.paid_fen, enrollment.coverage_start) == (25000, day("2020-01-01"))


def test_a_proxy_payment_from_a_department_that_is_not_the_funder_is_excess(
    campaign: Campaign,
) -> None:
    pay(campaign, "CF-1", 25000, WANG, "王五", "2019-11-15", "proxy", "county_finance")
    assert open_suspense(WANG) == [
        ("excess", "县财政不是此人的资助方（此人的资助方：医疗救助资金），代缴250元多缴")
    ]
    assert not Enrollment.objects.exists()


def test_a_dibao_resident_pays_half_and_the_department_share_is_checked(
    campaign: Campaign,
) -> None:
    pay(campaign, "T006", 12500, QIAN, "钱七")
    assert Enrollment.objects.get().paid_fen == 12500
    pay(campaign, "MA-2", 12500, QIAN, "钱七", "2019-11-30", "proxy", "medical_assistance")
    assert Enrollment.objects.get().paid_fen == 25000
    pay(campaign, "MA-3", 100, QIAN, "钱七", "2019-11-30", "proxy", "medical_assistance")
    assert open_suspense(QIAN) == [("excess", "医疗救助资金应代缴125元，多代缴1元")]


def test_a_person_payment_for_a_fully_subsidised_resident_is_excess(campaign: Campaign) -> None:
    pay(campaign, "T007", 25000, WANG, "王五")
    assert open_suspense(WANG) == [("excess", "此人个人应缴0元，本人所缴250元为多缴")]


def test_the_same_key_again_changes_nothing_even_in_another_call(campaign: Campaign) -> None:
    pay(campaign, "T001", 25000)
    again = pay(campaign, "T001", 25000)
    assert (again.created, again.unchanged, again.unchanged_fen, again.enrolled) == (
        0,
        1,
        25000,
        0,
    )
    assert Payment.objects.count() == 1 and recorded_fen() == 25000


def test_the_same_key_with_other_content_is_refused(campaign: Campaign) -> None:
    pay(campaign, "T001", 25000)
    with pytest.raises(PaymentError) as caught:
        pay(campaign, "T001", 20000)
    assert caught.value.code == "key_conflict" and "冲正" in caught.value.message
    assert recorded_fen() == 25000


def test_a_key_twice_in_one_call_is_refused_and_nothing_written(campaign: Campaign) -> None:
    row = PaymentRow("T001", day("2019-11-20"), 25000, ZHANG, "张建国")
    with pytest.raises(PaymentError, match="重复"):
        record_payments(
            campaign=campaign, channel="tax", rows=[row, row], batch=None, actor=staff("t")
        )
    assert not Payment.objects.exists()


def test_the_same_key_in_another_channel_is_another_payment(campaign: Campaign) -> None:
    pay(campaign, "0001", 25000)
    pay(campaign, "0001", 25000, LI, "李秀英", channel="bank")
    assert Payment.objects.count() == 2 and Enrollment.objects.count() == 2


def test_a_reversal_withdraws_the_enrollment_and_keeps_the_totals_to_the_fen(
    campaign: Campaign,
) -> None:
    pay(campaign, "T001", 25000)
    reversal = reverse_payment(
        campaign=campaign, channel="tax", key="T001", reason="税务退库", actor=staff("局会计")
    )
    assert (reversal.key, reversal.amount_fen, reversal.reverses) == (
        "reversal:T001",
        -25000,
        Payment.objects.get(key="T001"),
    )
    assert not Enrollment.objects.exists()
    assert recorded_fen() == 0
    assert Assessment.objects.get(resident__id_number=ZHANG).frozen_at is None
    assert AuditEntry.objects.filter(action="reverse_payment").get().details["reason"] == "税务退库"
    with pytest.raises(PaymentError) as caught:
        reverse_payment(campaign=campaign, channel="tax", key="T001", reason="again", actor=staff())
    assert caught.value.code == "already_reversed" and "不能重复冲正" in caught.value.message
    with pytest.raises(PaymentError, match="冲正记录"):
        reverse_payment(
            campaign=campaign, channel="tax", key="reversal:T001", reason="x", actor=staff()
        )
    with pytest.raises(PaymentError, match="没有"):
        reverse_payment(campaign=campaign, channel="bank", key="T001", reason="x", actor=staff())


def test_reversing_a_wrong_amount_and_paying_again_enrolls(campaign: Campaign) -> None:
    pay(campaign, "T001", 30000)
    reverse_payment(campaign=campaign, channel="tax", key="T001", reason="金额录错", actor=staff())
    held = Suspense.objects.get(resident__id_number=ZHANG)
    assert (held.reason, held.resolution) == ("excess", "缴费已全部冲正，不再挂账")
    pay(campaign, "T002", 25000, paid_on="2019-11-22")
    assert Enrollment.objects.get().enrolled_on == day("2019-11-22")
    assert recorded_fen() == 25000


def test_reversing_the_completing_payment_turns_the_enrollment_back_to_partial(
    campaign: Campaign,
) -> None:
    pay(campaign, "T001", 20000)
    pay(campaign, "T002", 5000, paid_on="2019-11-25")
    reverse_payment(campaign=campaign, channel="tax", key="T002", reason="重复扣款", actor=staff())
    assert not Enrollment.objects.exists()
    assert open_suspense() == [("partial", "已缴200元，应缴250元")]


def test_reversing_an_unknown_person_s_payment_resolves_its_suspense(campaign: Campaign) -> None:
    pay(campaign, "T404", 25000, STRANGER, "无名氏")
    reverse_payment(
        campaign=campaign, channel="tax", key="T404", reason="退回缴款人", actor=staff()
    )
    assert open_suspense(STRANGER) == []
    assert recorded_fen() == 0


@pytest.mark.parametrize("vendor_update", ["orm", "sql"])
def test_the_database_refuses_to_update_a_payment(campaign: Campaign, vendor_update: str) -> None:
    pay(campaign, "T001", 25000)
    payment = Payment.objects.get()
    with pytest.raises(DatabaseError, match="不得修改"), transaction.atomic():
        if vendor_update == "orm":
            Payment.objects.filter(pk=payment.pk).update(amount_fen=1)
        else:
            from django.db import connection

            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE collection_payment SET resident_id = NULL WHERE id = %s", [payment.pk]
                )
    assert Payment.objects.get().amount_fen == 25000


def test_a_frozen_assessment_keeps_its_amounts_when_a_category_is_added_later(
    campaign: Campaign, tmp_path: Path
) -> None:
    pay(campaign, "T001", 25000)
    path = csv_file(tmp_path / "late.csv", [("张建国", ZHANG), ("李秀英", LI)], ROSTER_HEADER)
    assert not import_roster(
        path=path, category="urban_dibao", source="civil_affairs", actor=staff("t")
    ).errors
    result = assess_campaign(campaign=campaign, actor=staff("t"))
    assert result.frozen == 1
    paid = Assessment.objects.get(resident__id_number=ZHANG)
    assert (paid.attribute, paid.payable_fen) == ("一般农户、城镇居民", 25000)
    unpaid = Assessment.objects.get(resident__id_number=LI)
    assert (unpaid.attribute, unpaid.payable_fen) == ("低保户（城镇）", 0)
    # The payment is still applied against the frozen amount.
    pay(campaign, "T001", 25000)
    assert Enrollment.objects.get().paid_fen == 25000


def test_a_payment_before_assessment_is_held_until_rechecked(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    rows = [resident("张建国", ZHANG, "H1")]
    assert not import_residents(path=csv_file(tmp_path / "r.csv", rows), actor=staff("t")).errors
    opened = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff())
    pay(opened, "T001", 25000)
    assert [reason for reason, _ in open_suspense()] == ["not_assessed"]
    assess_campaign(campaign=opened, actor=staff())
    applied = recheck_held_payments(campaign=opened, actor=staff("局"))
    assert (applied.enrolled, applied.resolved) == (1, 1)
    assert open_suspense() == []


def test_money_in_equals_money_recorded_under_every_fault(campaign: Campaign) -> None:
    rows = [
        PaymentRow("T1", day("2019-11-20"), 25000, ZHANG, "张建国"),  # enrolled
        PaymentRow("T2", day("2019-11-20"), 20000, LI, "李秀英"),  # partial
        PaymentRow("T3", day("2019-11-20"), 30000, SUN, "孙八"),  # excess
        PaymentRow("T4", day("2019-11-20"), 25000, STRANGER, "无名氏"),  # unknown
        PaymentRow("T5", day("2019-11-20"), 25000, ZHAO, "赵六"),  # not eligible
        PaymentRow("T6", day("2020-03-01"), 12500, QIAN, "钱七"),  # outside the window
        PaymentRow("T7", day("2019-11-20"), 1, WANG, "王五"),  # excess (owes nothing)
    ]
    money_in = sum(row.amount_fen for row in rows)
    first = record_payments(
        campaign=campaign, channel="tax", rows=rows, batch=None, actor=staff("t")
    )
    again = record_payments(
        campaign=campaign, channel="tax", rows=rows, batch=None, actor=staff("t")
    )
    assert (first.created_fen, again.created_fen, again.unchanged_fen) == (money_in, 0, money_in)
    assert recorded_fen() == money_in
    summary = money_summary(campaign=campaign)
    assert summary["enrolled_fen"] + summary["suspense_fen"] == money_in
    assert first.suspended == {
        "excess": 2,
        "not_eligible": 1,
        "outside_window": 1,
        "partial": 1,
        "unknown_person": 1,
    }
    reverse_payment(campaign=campaign, channel="tax", key="T3", reason="退费", actor=staff())
    assert recorded_fen() == money_in - 30000
    summary = money_summary(campaign=campaign)
    assert summary["enrolled_fen"] + summary["suspense_fen"] == money_in - 30000


def test_the_selectors_count_by_village_township_day_and_channel(campaign: Campaign) -> None:
    pay(campaign, "T1", 25000)
    pay(campaign, "B1", 25000, SUN, "孙八", channel="bank")
    pay(campaign, "T2", 1000, LI, "李秀英", paid_on="2019-11-21")
    assert enrollment_counts(campaign=campaign) == [
        {"code": VILLAGE, "name": "大栗港社区居委会", "enrolled": 1, "paid_fen": 25000},
        {"code": "430922117239", "name": "德茂园村委会", "enrolled": 1, "paid_fen": 25000},
    ]
    assert enrollment_counts(campaign=campaign, level="township") == [
        {"code": TOWNSHIP, "name": "大栗港镇", "enrolled": 2, "paid_fen": 50000}
    ]
    totals = money_totals(campaign=campaign)
    assert [(t["day"], t["channel"], t["count"], t["net_fen"]) for t in totals] == [
        ("2019-11-20", "bank", 1, 25000),
        ("2019-11-20", "tax", 1, 25000),
        ("2019-11-21", "tax", 1, 1000),
    ]
    (item,) = suspense_list(campaign=campaign)
    assert (item["reason"], item["village"], item["amount_fen"]) == ("partial", VILLAGE, 1000)


def test_recording_leaves_an_audit_row(campaign: Campaign) -> None:
    pay(campaign, "T1", 25000)
    entry = AuditEntry.objects.get(action="record_payments")
    assert (entry.username, entry.details["created_fen"], entry.details["channel"]) == (
        "税务",
        25000,
        "tax",
    )


def test_it_refuses_a_proxy_row_without_a_funder_and_a_non_positive_amount(
    campaign: Campaign,
) -> None:
    with pytest.raises(PaymentError, match="代缴部门"):
        pay(campaign, "P1", 25000, WANG, "王五", channel="proxy")
    with pytest.raises(PaymentError, match="大于0"):
        pay(campaign, "T1", 0)
    assert not Payment.objects.exists()


def test_a_reversal_finds_the_key_as_written_on_the_ticket_with_its_zeros(
    campaign: Campaign,
) -> None:
    pay(campaign, "34300001", 25000)
    reversal = reverse_payment(
        campaign=campaign, channel="tax", key="0034300001", reason="退费", actor=staff()
    )
    assert reversal.reverses == Payment.objects.get(key="34300001")
