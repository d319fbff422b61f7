"""Payments posted by the channels' integrations: one token per channel, the channel's
transaction number as the idempotency key, the same answer for a repeat, 409 for a key reused
with other content, and money in fen that equals the ledger."""

from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from canbao.accounts.models import Account, Role
from canbao.accounts.services import create_account, issue_token
from canbao.campaigns.models import Campaign
from canbao.collection.ledger import check_ledger, positions
from canbao.collection.models import Payment, ReconciliationDay
from canbao.collection.services import PaymentRow, record_payments
from canbao.registry.models import AuditEntry
from tests.api.conftest import (
    LI,
    QIAN,
    STRANGER,
    ZHANG,
    bearer,
    logged_in,
    pk_of,
    post_json,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

URL = "/api/v1/payments"


def payment(key: str, amount_fen: Any = 25000, **fields: Any) -> dict[str, Any]:
    return {
        "key": key,
        "id_number": ZHANG,
        "name": "张建国",
        "amount_fen": amount_fen,
        "paid_on": "2019-11-20",
        **fields,
    }


def post(client: Client, token: str, *payments: dict[str, Any], **body: Any) -> Any:
    return post_json(client, URL, {"payments": list(payments), **body}, **bearer(token))


def test_the_tax_bureau_posts_a_payment_and_the_resident_is_enrolled_for_2020(
    client: Client, campaign: Campaign, tax_token: str, accounts: dict[str, Account]
) -> None:
    response = post(client, tax_token, payment("T001"))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["campaign"], body["channel"]) == (campaign.pk, "tax")
    [answer] = body["payments"]
    assert {k: answer[k] for k in answer if k != "recorded_at"} == {
        "key": "T001",
        "status": "recorded",
        "matched": True,
        "amount_fen": 25000,
        "paid_on": "2019-11-20",
        "enrolled": True,
        "enrolled_on": "2019-11-20",
        "coverage_start": "2020-01-01",
        "coverage_end": "2020-12-31",
        "held": [],
    }
    recorded = Payment.objects.get(key="T001")
    assert (recorded.channel, recorded.amount_fen, recorded.resident_id) == (
        "tax",
        25000,
        pk_of(ZHANG),
    )
    audit = AuditEntry.objects.get(action="api_post_payments")
    assert audit.user == accounts["tax"].user
    assert audit.batch_id == recorded.batch_id


def test_a_repeat_of_the_same_post_gets_the_same_answer_and_records_nothing(
    client: Client, campaign: Campaign, tax_token: str
) -> None:
    posted = (payment("T001"), payment("T002", 20000, id_number=LI, name="李秀英"))
    first = post(client, tax_token, *posted)
    count = Payment.objects.count()
    again = post(client, tax_token, *posted)
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert first.json()["payments"][1]["held"] == [
        {
            "reason": "partial",
            "reason_label": "金额不足",
            "fen": 20000,
            "message": "已缴200元，应缴250元",
        }
    ]
    assert Payment.objects.count() == count == 2
    assert AuditEntry.objects.filter(action="api_post_payments").count() == 2


def test_a_key_posted_again_with_another_amount_is_a_409_and_nothing_of_the_post_is_recorded(
    client: Client, campaign: Campaign, tax_token: str
) -> None:
    post(client, tax_token, payment("T001"))
    response = post(
        client, tax_token, payment("T002", id_number=LI, name="李秀英"), payment("T001", 20000)
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "key_conflict"
    assert body["errors"] == [
        {
            "field": "payments[1].key",
            "code": "key_conflict",
            "message": "流水号T001已入账，本次的金额与之不同：同一流水号不能入账两次；"
            "确需更正，请联系县医保局冲正原记录。",
        }
    ]
    assert list(Payment.objects.values_list("key", flat=True)) == ["T001"]


def test_the_tax_token_cannot_post_bank_payments_and_the_bank_token_can(
    client: Client, campaign: Campaign, tax_token: str, bank_token: str
) -> None:
    refused = post(client, tax_token, payment("B001"), channel="bank")
    assert refused.status_code == 403
    assert refused.json()["code"] == "channel_not_permitted"
    assert not Payment.objects.exists()
    accepted = post(client, bank_token, payment("B001"), channel="bank")
    assert accepted.status_code == 200
    assert Payment.objects.get(key="B001").channel == "bank"


def test_the_same_key_from_two_channels_is_two_payments(
    client: Client, campaign: Campaign, tax_token: str, bank_token: str
) -> None:
    post(client, tax_token, payment("X1", 20000))
    answer = post(client, bank_token, payment("X1", 5000, paid_on="2019-12-02")).json()
    assert answer["payments"][0]["enrolled_on"] == "2019-12-02"
    assert sorted(Payment.objects.values_list("channel", "amount_fen")) == [
        ("bank", 5000),
        ("tax", 20000),
    ]


def test_staff_cannot_post_payments_through_the_api(
    campaign: Campaign, accounts: dict[str, Account]
) -> None:
    admin = logged_in(accounts, "admin")
    response = post_json(admin, URL, {"payments": [payment("T001")]})
    assert (response.status_code, response.json()["code"]) == (403, "not_permitted")
    assert not Payment.objects.exists()


def test_an_unknown_person_s_payment_is_held_without_telling_who_the_registry_knows(
    client: Client, campaign: Campaign, tax_token: str
) -> None:
    unknown = payment("T001", id_number=STRANGER, name="无名氏")
    other_name = payment("T002", id_number=LI, name="李四")
    answers = post(client, tax_token, unknown, other_name).json()["payments"]
    for answer in answers:
        assert (answer["matched"], answer["enrolled"]) == (False, False)
        assert [(h["reason"], h["fen"]) for h in answer["held"]] == [("unknown_person", 25000)]
        assert "李秀英" not in answer["held"][0]["message"]


def test_a_key_a_payment_file_recorded_is_answered_unchanged_from_the_ledger(
    client: Client, campaign: Campaign, tax_token: str, accounts: dict[str, Account]
) -> None:
    record_payments(
        campaign=campaign,
        channel="tax",
        rows=[PaymentRow("34300001", date(2019, 11, 20), 25000, ZHANG, "张建国")],
        batch=None,
        actor=accounts["clerk"].user,
        now=timezone.now(),
    )
    [answer] = post(client, tax_token, payment("0034300001")).json()["payments"]
    assert (answer["key"], answer["status"], answer["enrolled"]) == ("34300001", "unchanged", True)
    assert Payment.objects.count() == 1


def test_a_dibao_resident_paying_her_half_is_enrolled(
    client: Client, campaign: Campaign, tax_token: str
) -> None:
    [answer] = post(client, tax_token, payment("T001", 12500, id_number=QIAN, name="钱七")).json()[
        "payments"
    ]
    assert (answer["enrolled"], answer["held"]) == (True, [])


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"amount_fen": 0}, "payments[0].amount_fen", "greater_than"),
        ({"amount_fen": "250.00"}, "payments[0].amount_fen", "int_type"),
        ({"amount_fen": 25000.0}, "payments[0].amount_fen", "int_type"),
        ({"paid_on": 1574208000}, "payments[0].paid_on", "value_error"),
        ({"amount_fen": 2_500_001}, "payments[0].amount_fen", "amount_implausible"),
        ({"paid_on": "2021-01-05"}, "payments[0].paid_on", "date_outside_campaign"),
        ({"paid_on": "20191120"}, "payments[0].paid_on", "value_error"),
        ({"paid_on": "2019-02-30"}, "payments[0].paid_on", "date_from_datetime_parsing"),
        ({"id_number": " "}, "payments[0].id_number", "id_number_empty"),
        ({"name": "张\x00建国"}, "payments[0].name", "string_pattern_mismatch"),
        ({"amount": 25000}, "payments[0].amount", "extra_forbidden"),
    ],
)
def test_a_payment_that_cannot_be_recorded_is_refused_naming_its_field(
    client: Client,
    campaign: Campaign,
    tax_token: str,
    changes: dict[str, Any],
    field: str,
    code: str,
) -> None:
    response = post(client, tax_token, payment("T001") | changes)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_input"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [(field, code)]
    assert body["message"].startswith("请求内容有误：" + field)
    assert not Payment.objects.exists()


def test_a_key_twice_in_one_post_and_a_reversal_s_key_are_refused(
    client: Client, campaign: Campaign, tax_token: str
) -> None:
    response = post(client, tax_token, payment("123"), payment("00123"), payment("reversal:9"))
    assert response.status_code == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("payments[1].key", "duplicate_key"),
        ("payments[2].key", "key_format"),
    ]


def test_a_missing_field_is_422_and_a_body_that_is_not_json_400_in_the_api_s_shape(
    client: Client, campaign: Campaign, tax_token: str
) -> None:
    fields = payment("T001")
    del fields["name"]
    missing = post(client, tax_token, fields).json()
    assert [(e["field"], e["code"], e["message"]) for e in missing["errors"]] == [
        ("payments[0].name", "missing", "缺少此项")
    ]
    broken = client.post(
        URL, "{payments", content_type="application/json", headers=bearer(tax_token)
    )
    assert (broken.status_code, broken.json()["code"]) == (400, "invalid_json")


def test_a_closed_campaign_takes_no_payments(
    client: Client, campaign: Campaign, tax_token: str
) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CLOSED)
    response = post(client, tax_token, payment("T001"))
    assert (response.status_code, response.json()["code"]) == (409, "campaign_closed")


def test_the_fen_answered_equal_the_ledger(
    client: Client, campaign: Campaign, tax_token: str, bank_token: str
) -> None:
    posted = [
        payment("T001", 20000),
        payment("T002", 25000, id_number=LI, name="李秀英"),
        payment("T003", 30000, id_number=STRANGER, name="无名氏"),
    ]
    answers = post(client, tax_token, *posted).json()["payments"]
    answers += post(client, bank_token, payment("B001", 10000)).json()["payments"]
    ledger = check_ledger(campaign)
    assert ledger.balanced
    assert sum(a["amount_fen"] for a in answers) == ledger.received_fen == 85000
    zhang = positions(campaign=campaign, resident_ids=[pk_of(ZHANG)])[pk_of(ZHANG)]
    assert (zhang.enrolled_fen, zhang.held_fen) == (25000, 5000)
    assert answers[-1]["held"] == [
        {
            "reason": "excess",
            "reason_label": "金额超出",
            "fen": 5000,
            "message": answers[-1]["held"][0]["message"],
        }
    ]


def test_a_day_the_tax_bureau_s_detail_closed_takes_no_more_tax_payments(
    client: Client, campaign: Campaign, tax_token: str, bank_token: str
) -> None:
    ReconciliationDay.objects.create(
        campaign=campaign, day=date(2019, 11, 20), status=ReconciliationDay.Status.CLOSED
    )
    refused = post(client, tax_token, payment("T001"))
    assert (refused.status_code, refused.json()["code"]) == (409, "day_closed")
    assert post(client, bank_token, payment("B001")).status_code == 200


def test_an_integration_of_a_channel_that_comes_as_files_cannot_post(
    client: Client, campaign: Campaign, accounts: dict[str, Account]
) -> None:
    cash = create_account(
        username="cashier",
        password=PASSWORD,
        role=Role.INTEGRATION,
        channel="cash",
        actor=accounts["admin"].user,
    )
    token = issue_token(account=cash, actor=accounts["admin"].user)
    response = post(client, token, payment("1"))
    assert (response.status_code, response.json()["code"]) == (403, "channel_not_supported")


def test_an_unexpected_failure_is_a_json_500_without_a_traceback_and_records_nothing(
    client: Client, campaign: Campaign, tax_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError(f"{ZHANG} 张建国")

    monkeypatch.setattr("canbao.api.payments.positions", broken)
    response = post(client, tax_token, payment("T001"))
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "internal_error"
    assert "Traceback" not in body["message"] and ZHANG not in response.content.decode()
    assert not Payment.objects.exists()
