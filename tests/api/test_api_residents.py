"""Residents through the API: found by ID number in a POST body, read by internal id within the
caller's scope ("not yours" is the same 404 as "not there"), identities masked for the roles
that do not see them whole, every read audited; the assessment and the ledger position in fen."""

from typing import Any

import pytest
from django.test import Client

from canbao.accounts.models import Account
from canbao.campaigns.models import Campaign
from canbao.collection.ledger import positions
from canbao.registry.models import AuditEntry, Resident
from tests.api.conftest import LI, QIAN, SUN, WANG, ZHANG, bearer, logged_in, pk_of, post_json

pytestmark = pytest.mark.django_db


def resident_url(id_number: str, part: str = "") -> str:
    return f"/api/v1/residents/{pk_of(id_number)}{part}"


def test_a_collector_reads_a_resident_of_her_village_whole(
    campaign: Campaign, accounts: dict[str, Account]
) -> None:
    body = logged_in(accounts, "collector").get(resident_url(ZHANG)).json()
    assert body["id"] == pk_of(ZHANG)
    assert (body["id_number"], body["name"], body["phone"]) == (ZHANG, "张建国", "13812345678")
    assert body["village"] == {"code": "430922117201", "name": "大栗港社区居委会"}
    assert body["township"] == {"code": "430922117", "name": "大栗港镇"}
    assert body["household"] == {"number": "H1", "relation": "户主"}
    assert (body["status"], body["status_label"]) == ("active", "正常")


def test_a_collector_cannot_read_a_resident_of_another_village_and_it_looks_like_a_missing_one(
    campaign: Campaign, accounts: dict[str, Account]
) -> None:
    collector = logged_in(accounts, "collector")
    missing_pk = Resident.objects.order_by("-pk").first().pk + 1000  # type: ignore[union-attr]
    for part in ("", "/assessment", "/position"):
        other = collector.get(resident_url(SUN, part))
        missing = collector.get(f"/api/v1/residents/{missing_pk}{part}")
        assert other.status_code == missing.status_code == 404
        assert other.content == missing.content
        assert other.json()["code"] == "not_found"
    assert logged_in(accounts, "outsider").get(resident_url(SUN)).status_code == 200


def test_a_search_by_id_number_finds_only_residents_in_scope(
    campaign: Campaign, accounts: dict[str, Account]
) -> None:
    def search(username: str, number: str) -> list[Any]:
        client = logged_in(accounts, username)
        response = post_json(client, "/api/v1/residents/search", {"id_number": number})
        assert response.status_code == 200
        return [r["id"] for r in response.json()["residents"]]

    assert search("collector", ZHANG) == [pk_of(ZHANG)]
    typed = " " + ZHANG.translate(str.maketrans("0123456789", "０１２３４５６７８９")) + " "
    assert search("collector", typed) == [pk_of(ZHANG)]
    assert search("outsider", ZHANG) == []
    assert search("outsider", SUN) == [pk_of(SUN)]
    assert search("collector", "430922") == []


def test_a_department_reads_only_the_people_of_its_own_rosters(
    campaign: Campaign, accounts: dict[str, Account]
) -> None:
    department = logged_in(accounts, "department")
    body = department.get(resident_url(QIAN)).json()
    assert [c["category"] for c in body["categories"]] == ["rural_dibao"]
    assert department.get(resident_url(ZHANG)).status_code == 404


def test_the_auditor_reads_a_resident_with_the_id_and_phone_numbers_masked(
    campaign: Campaign, accounts: dict[str, Account]
) -> None:
    body = logged_in(accounts, "auditor").get(resident_url(ZHANG)).json()
    assert (body["id_number"], body["phone"]) == (
        ZHANG[:6] + "********" + ZHANG[-4:],
        "138****5678",
    )
    found = post_json(
        logged_in(accounts, "auditor"), "/api/v1/residents/search", {"id_number": ZHANG}
    ).json()
    assert [r["id_number"] for r in found["residents"]] == [body["id_number"]]


def test_every_read_of_a_resident_leaves_an_audit_row_naming_the_user(
    campaign: Campaign, accounts: dict[str, Account]
) -> None:
    clerk = logged_in(accounts, "clerk")
    clerk.get(resident_url(ZHANG))
    clerk.get(resident_url(ZHANG, "/assessment"))
    clerk.get(resident_url(ZHANG, "/position"))
    post_json(clerk, "/api/v1/residents/search", {"id_number": LI})
    rows = AuditEntry.objects.filter(action="view_resident").order_by("pk")
    assert [(r.username, r.resident_id, r.details["read"]) for r in rows] == [
        ("clerk", pk_of(ZHANG), "identity"),
        ("clerk", pk_of(ZHANG), "assessment"),
        ("clerk", pk_of(ZHANG), "position"),
        ("clerk", pk_of(LI), "search"),
    ]
    assert all(r.details["via"] == "api" for r in rows)
    assert not any(ZHANG in str(r.details) for r in rows)


def test_the_assessment_of_an_ordinary_resident_is_250_yuan_in_fen(
    campaign: Campaign, accounts: dict[str, Account]
) -> None:
    body = logged_in(accounts, "clerk").get(resident_url(ZHANG, "/assessment")).json()
    assert (body["campaign"], body["eligible"], body["payable_fen"]) == (campaign.pk, True, 25000)
    assert (body["personal_fen"], body["subsidy_fen"], body["shares"]) == (25000, 0, [])
    assert body["rule"] == "集中缴费期"
    assert (body["coverage_start"], body["coverage_end"]) == ("2020-01-01", "2020-12-31")
    assert body["enrollment"] is None
    assert body["explain"]


def test_the_assessment_of_a_dibao_resident_names_the_medical_assistance_share(
    campaign: Campaign, accounts: dict[str, Account]
) -> None:
    body = logged_in(accounts, "clerk").get(resident_url(QIAN, "/assessment")).json()
    assert (body["payable_fen"], body["subsidy_fen"]) == (12500, 12500)
    assert body["categories"] == ["rural_dibao"]
    assert body["shares"] == [
        {"funder": "medical_assistance", "funder_name": "医疗救助资金", "fen": 12500}
    ]


def test_a_resident_without_an_assessment_is_404_not_assessed(
    campaign: Campaign, accounts: dict[str, Account]
) -> None:
    other = Campaign.objects.create(
        area=campaign.area,
        coverage_year=2021,
        policy_id=campaign.policy_id,
        policy_toml=campaign.policy_toml,
        policy_sha256=campaign.policy_sha256,
        opened_by="admin",
    )
    response = logged_in(accounts, "clerk").get(
        resident_url(ZHANG, "/assessment"), {"campaign": other.pk}
    )
    assert (response.status_code, response.json()["code"]) == (404, "not_assessed")
    unknown = logged_in(accounts, "clerk").get(
        resident_url(ZHANG, "/assessment"), {"campaign": other.pk + 1}
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")


def test_the_position_in_fen_equals_the_ledger_after_payments(
    client: Client, campaign: Campaign, accounts: dict[str, Account], tax_token: str
) -> None:
    paid = [
        {
            "key": "T1",
            "id_number": WANG,
            "name": "王五",
            "amount_fen": 25000,
            "paid_on": "2019-11-20",
        },
        {
            "key": "T2",
            "id_number": ZHANG,
            "name": "张建国",
            "amount_fen": 20000,
            "paid_on": "2019-11-20",
        },
    ]
    post_json(client, "/api/v1/payments", {"payments": paid}, **bearer(tax_token))
    clerk = logged_in(accounts, "clerk")
    for number in (WANG, ZHANG):
        body = clerk.get(resident_url(number, "/position")).json()
        ledger = positions(campaign=campaign, resident_ids=[pk_of(number)])[pk_of(number)]
        assert body["received_fen"] == ledger.received_fen
        assert (body["enrolled_fen"], body["held_fen"]) == (ledger.enrolled_fen, ledger.held_fen)
        assert body["balanced"] is True
        assert [p["key"] for p in body["payments"]] == [paid[0 if number == WANG else 1]["key"]]
    wang = clerk.get(resident_url(WANG, "/position")).json()
    assert (wang["due_fen"], wang["subsidy_fen"]) == (0, 25000)
    assert wang["shares"] == [
        {"funder": "medical_assistance", "funder_name": "医疗救助资金", "fen": 25000}
    ]
    assert [h["reason"] for h in wang["held"]] == ["excess"]
