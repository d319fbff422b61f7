"""The ledger: one settlement rule, each resident's position, and the accounting equation
(received = enrolled + held + reversed) per resident and in total, under any sequence of
payments (Daligang 2020: 250 yuan; 农村低保 pays 125 yuan, medical assistance the other 125)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canbao.campaigns.models import Campaign
from canbao.collection.ledger import check_ledger, positions
from canbao.collection.models import Enrollment, Payment, Suspense
from canbao.collection.posting import apply_payments
from canbao.collection.services import PaymentError, reverse_payment
from canbao.registry.models import Resident
from tests import test_collection_payments as base
from tests.conftest import staff
from tests.test_collection_payments import LI, QIAN, STRANGER, WANG, ZHANG, ZHAO, day, pay

pytestmark = pytest.mark.django_db

campaign = base.campaign  # the six residents of 大栗港社区 and 德茂园, assessed


def position_of(campaign: Campaign, id_number: str) -> dict[str, object]:
    resident = Resident.objects.get(id_number=id_number)
    return positions(campaign=campaign, resident_ids=[resident.pk])[resident.pk].as_json()


def held(campaign: Campaign, id_number: str) -> list[tuple[str, int]]:
    return [(h["reason"], h["fen"]) for h in position_of(campaign, id_number)["held"]]  # type: ignore[attr-defined]


def test_two_short_parts_are_both_held_not_only_the_last(campaign: Campaign) -> None:
    pay(campaign, "T1", 10000)
    pay(campaign, "T2", 5000, paid_on="2019-11-21")
    assert held(campaign, ZHANG) == [("partial", 15000)]
    assert not Enrollment.objects.exists()
    assert check_ledger(campaign).balanced


def test_an_overpayment_in_two_parts_enrolls_and_holds_only_the_overshoot(
    campaign: Campaign,
) -> None:
    pay(campaign, "T1", 20000)
    pay(campaign, "T2", 10000, paid_on="2019-11-21")
    enrollment = Enrollment.objects.get()
    assert (enrollment.paid_fen, enrollment.enrolled_on) == (25000, day("2019-11-21"))
    assert held(campaign, ZHANG) == [("excess", 5000)]


def test_450_yuan_received_is_250_enrolled_and_200_held(campaign: Campaign) -> None:
    # Found in review: 300 + 150 yuan showed 0 enrolled and 150 held, 300 counted nowhere.
    pay(campaign, "T1", 30000)
    pay(campaign, "T2", 15000, paid_on="2019-11-21")
    position = position_of(campaign, ZHANG)
    assert (position["received_fen"], position["enrolled_fen"], position["held_fen"]) == (
        45000,
        25000,
        20000,
    )
    assert position["enrolled_on"] == "2019-11-20"


def test_money_completed_after_the_window_is_all_held_under_its_reason(
    campaign: Campaign,
) -> None:
    pay(campaign, "T1", 10000, paid_on="2020-02-01")
    pay(campaign, "T2", 15000, paid_on="2020-03-02")
    assert held(campaign, ZHANG) == [("outside_window", 25000)]
    assert check_ledger(campaign).balanced


def test_a_department_share_waits_held_until_the_person_pays_their_part(
    campaign: Campaign,
) -> None:
    pay(campaign, "MA1", 12500, QIAN, "钱七", "2019-11-15", "proxy", "medical_assistance")
    assert held(campaign, QIAN) == [("partial", 12500)]
    pay(campaign, "T1", 12500, QIAN, "钱七", "2019-11-20")
    assert held(campaign, QIAN) == []
    position = position_of(campaign, QIAN)
    assert (position["enrolled_fen"], position["person_fen"], position["by_funder"]) == (
        25000,
        12500,
        [{"funder": "medical_assistance", "fen": 12500}],
    )


def test_a_reversal_counts_as_reversed_and_the_rest_is_settled_again(campaign: Campaign) -> None:
    pay(campaign, "T1", 25000)
    pay(campaign, "T2", 25000, paid_on="2019-11-21")
    reverse_payment(
        campaign=campaign, channel="tax", key="T2", reason="重复缴费退费", actor=staff()
    )
    check = check_ledger(campaign)
    assert (check.received_fen, check.enrolled_fen, check.held_fen, check.reversed_fen) == (
        50000,
        25000,
        0,
        25000,
    )
    assert check.balanced


@pytest.mark.ledger_tampered
def test_check_ledger_names_a_resident_whose_money_does_not_add_up(
    as_admin: None, campaign: Campaign
) -> None:
    pay(campaign, "T1", 30000)
    # Tampering behind the services' back: the excess hold disappears.
    Suspense.objects.filter(resident__id_number=ZHANG).delete()
    check = check_ledger(campaign)
    assert not check.balanced
    (line,) = check.unbalanced
    assert (line["id_number"], line["difference_fen"]) == (ZHANG, 5000)
    out = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("check", "ledger", "--json", stdout=out)
    assert exited.value.code == 1
    report = json.loads(out.getvalue())
    assert report["balanced"] is False
    assert report["campaigns"][0]["unbalanced"][0]["difference_fen"] == 5000


def test_canbao_check_ledger_and_payments_position(as_admin: None, campaign: Campaign) -> None:
    pay(campaign, "T1", 30000)
    pay(campaign, "T404", 25000, STRANGER, "无名氏")
    out = StringIO()
    call_command("check", "ledger", stdout=out)
    assert "账目平衡" in out.getvalue() and "收到 550 元 = 参保入账 250 元 + 挂账 300 元" in (
        out.getvalue()
    )
    out = StringIO()
    call_command("payments", "position", ZHANG, "--json", stdout=out)
    statement = json.loads(out.getvalue())
    assert statement["position"]["held"][0]["reason"] == "excess"
    assert [p["key"] for p in statement["payments"]] == ["T1"]
    out = StringIO()
    call_command("payments", "position", ZHANG, stdout=out)
    assert "挂账 50 元（金额超出）" in out.getvalue()


# --- the accounting equation under any sequence of payments -----------------------------------

PEOPLE = {  # id number: (name, what they owe in fen)
    ZHANG: ("张建国", 25000),
    LI: ("李秀英", 25000),
    QIAN: ("钱七", 12500),
    WANG: ("王五", 0),
    ZHAO: ("赵六", 25000),  # not eligible
    STRANGER: ("无名氏", 25000),  # not in the registry
}
DAYS = ("2019-09-01", "2019-11-20", "2019-12-31", "2020-02-10", "2020-03-01")

payment = st.fixed_dictionaries(
    {
        "who": st.sampled_from(sorted(PEOPLE)),
        "key": st.sampled_from(["K1", "K2", "K3", "K4", "K5", "K6"]),
        "channel": st.sampled_from(["tax", "bank", "withholding", "proxy"]),
        "fen": st.sampled_from([1, 5000, 12500, 20000, 25000, 30000]),
        "day": st.sampled_from(DAYS),
        "wrong_name": st.booleans(),
        "funder": st.sampled_from(["medical_assistance", "county_finance"]),
    }
)
step = st.one_of(
    payment.map(lambda p: ("pay", p)),
    st.tuples(st.just("reverse"), st.sampled_from(["K1", "K2", "K3", "K4", "K5", "K6"])),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=10))
def test_received_is_enrolled_plus_held_plus_reversed_after_any_sequence(
    campaign: Campaign, steps: list[tuple[str, object]]
) -> None:
    savepoint = transaction.savepoint()
    try:
        for kind, arg in steps:
            _do(campaign, kind, arg)
        check = check_ledger(campaign)
        assert check.balanced, check.unbalanced
        positive = sum(a for a in Payment.objects.values_list("amount_fen", flat=True) if a > 0)
        assert check.received_fen == positive
        # The written state is the rule's: settling everyone again changes nothing.
        again = apply_payments(
            campaign=campaign,
            resident_ids=list(Resident.objects.values_list("pk", flat=True)),
            now=timezone.now(),
            actor=staff("t"),
        )
        assert (again.enrolled, again.withdrawn, again.resolved, again.suspended) == (0, 0, 0, {})
    finally:
        transaction.savepoint_rollback(savepoint)


def _do(campaign: Campaign, kind: str, arg: object) -> None:
    try:
        if kind == "reverse":
            channel = Payment.objects.filter(key=arg).values_list("channel", flat=True).first()
            if channel is not None:
                reverse_payment(
                    campaign=campaign, channel=channel, key=str(arg), reason="测试", actor=staff()
                )
            return
        assert isinstance(arg, dict)
        name = PEOPLE[arg["who"]][0] + ("某" if arg["wrong_name"] else "")
        funder = arg["funder"] if arg["channel"] == "proxy" else ""
        pay(campaign, arg["key"], arg["fen"], arg["who"], name, arg["day"], arg["channel"], funder)
    except PaymentError:
        pass  # a refused call (a key reused with other content, reversed twice) writes nothing
