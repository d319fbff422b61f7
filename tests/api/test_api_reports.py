"""Reports through the API: coverage within the caller's divisions only, a department's own
bill only (another funder's is the same 404 as an unknown one), the ledger check for auditors;
ID numbers masked for the roles that do not see them whole."""

import pytest
from django.test import Client

from canbao.accounts.models import Account
from canbao.campaigns.models import Campaign
from canbao.collection.ledger import check_ledger
from tests.api.conftest import QIAN, STRANGER, ZHANG, bearer, logged_in, post_json
from tests.conftest import OTHER_VILLAGE, TOWNSHIP, VILLAGE

pytestmark = pytest.mark.django_db

COVERAGE = "/api/v1/reports/coverage"


@pytest.fixture
def paid(client: Client, campaign: Campaign, tax_token: str) -> None:
    rows = [
        ("T1", ZHANG, "张建国", 25000),
        ("T2", QIAN, "钱七", 12500),
        ("T3", STRANGER, "无名氏", 25000),
    ]
    payments = [
        {"key": k, "id_number": n, "name": name, "amount_fen": fen, "paid_on": "2019-11-20"}
        for k, n, name, fen in rows
    ]
    response = post_json(client, "/api/v1/payments", {"payments": payments}, **bearer(tax_token))
    assert response.status_code == 200


def test_a_collector_sees_the_coverage_of_her_village_by_default(
    paid: None, accounts: dict[str, Account]
) -> None:
    response = logged_in(accounts, "collector").get(
        COVERAGE, {"as_of": "2019-12-31", "level": "village"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["total"]["code"] == VILLAGE
    assert [(u["code"], u["enrolled"], u["population_base"]) for u in body["units"]] == [
        (VILLAGE, 2, 4)
    ]


def test_a_collector_cannot_ask_for_the_coverage_of_another_village_or_the_township(
    paid: None, accounts: dict[str, Account]
) -> None:
    collector = logged_in(accounts, "collector")
    for code in (OTHER_VILLAGE, TOWNSHIP, "430922117999"):
        response = collector.get(COVERAGE, {"within": code})
        assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_the_township_clerk_sees_both_villages_ranked_as_of_a_day(
    paid: None, accounts: dict[str, Account]
) -> None:
    body = (
        logged_in(accounts, "township")
        .get(COVERAGE, {"as_of": "2019-12-31", "level": "village"})
        .json()
    )
    assert [(u["code"], u["enrolled"], u["rank"]) for u in body["units"]] == [
        (VILLAGE, 2, 1),
        (OTHER_VILLAGE, 0, 2),
    ]
    before = logged_in(accounts, "township").get(COVERAGE, {"as_of": "2019-11-19"}).json()
    assert before["total"]["enrolled"] == 0


def test_the_county_s_roles_see_the_campaign_s_county_by_default(
    paid: None, accounts: dict[str, Account]
) -> None:
    body = logged_in(accounts, "finance").get(COVERAGE, {"as_of": "2019-12-31"}).json()
    assert (body["total"]["code"], body["total"]["enrolled"]) == ("430922", 2)
    assert [u["code"] for u in body["units"]] == [TOWNSHIP]


def test_coverage_refuses_a_bad_level_and_a_day_out_of_range_naming_the_field(
    campaign: Campaign, accounts: dict[str, Account]
) -> None:
    clerk = logged_in(accounts, "clerk")
    level = clerk.get(COVERAGE, {"level": "county"}).json()
    assert [e["field"] for e in level["errors"]] == ["level"]
    day = clerk.get(COVERAGE, {"as_of": "0001-01-01"})
    assert day.status_code == 422
    assert [(e["field"], e["code"]) for e in day.json()["errors"]] == [
        ("as_of", "date_out_of_range")
    ]


def test_a_department_reads_its_own_bill_masked_and_not_another_funder_s(
    paid: None, accounts: dict[str, Account]
) -> None:
    department = logged_in(accounts, "department")
    own = department.get("/api/v1/reports/bills/civil_affairs")
    assert own.status_code == 200
    assert own.json()["funder"] == "civil_affairs"
    other = department.get("/api/v1/reports/bills/medical_assistance")
    unknown = department.get("/api/v1/reports/bills/nobody")
    assert other.status_code == unknown.status_code == 404
    assert other.content == unknown.content


def test_finance_reads_the_medical_assistance_bill_in_fen_with_ids_masked(
    paid: None, accounts: dict[str, Account]
) -> None:
    body = logged_in(accounts, "finance").get("/api/v1/reports/bills/medical_assistance").json()
    lines = {line["name"]: line for line in body["lines"]}
    assert lines["钱七"]["fen"] == 12500
    assert lines["钱七"]["id_number"] == QIAN[:6] + "********" + QIAN[-4:]
    assert body["total_fen"] == sum(line["fen"] for line in body["lines"])
    whole = logged_in(accounts, "clerk").get("/api/v1/reports/bills/medical_assistance").json()
    assert {line["name"]: line["id_number"] for line in whole["lines"]}["钱七"] == QIAN


def test_the_auditor_checks_the_ledger_and_it_adds_up_to_the_fen(
    paid: None, campaign: Campaign, accounts: dict[str, Account]
) -> None:
    response = logged_in(accounts, "auditor").get("/api/v1/ledger/check")
    assert response.status_code == 200
    body = response.json()
    assert body == check_ledger(campaign).as_json()
    assert (body["balanced"], body["received_fen"]) == (True, 62500)
    assert body["received_fen"] == body["enrolled_fen"] + body["held_fen"] + body["reversed_fen"]
    assert logged_in(accounts, "clerk").get("/api/v1/ledger/check").status_code == 403
