"""Who may call the API: an integration by its bearer token (none, invalid or revoked is 401),
staff by the pages' session (CSRF on unsafe methods); every refusal in the API's JSON shape, and
the OpenAPI document with its page served without any outside script."""

import re

import pytest
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory

from canbao.accounts.models import Account
from canbao.accounts.services import revoke_tokens
from canbao.campaigns.models import Campaign
from canbao.collection.models import Payment
from tests.api.conftest import ZHANG, bearer, logged_in, pk_of, post_json

pytestmark = pytest.mark.django_db

PAYMENT = {
    "key": "T001",
    "id_number": ZHANG,
    "name": "张建国",
    "amount_fen": 25000,
    "paid_on": "2019-11-20",
}
UNAUTHENTICATED = "unauthenticated"


def post_payment(client: Client, **headers: str) -> object:
    return post_json(client, "/api/v1/payments", {"payments": [PAYMENT]}, **headers)


def test_a_request_without_a_token_is_401_in_json(client: Client, campaign: Campaign) -> None:
    response = client.post(
        "/api/v1/payments", {"payments": [PAYMENT]}, content_type="application/json"
    )
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] == UNAUTHENTICATED
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    "authorization",
    ["Bearer cb_not-a-token", "Bearer ", "Basic dGF4OnB3", "cb_no-scheme", "Bearer " + "x" * 5000],
)
def test_an_invalid_token_is_401(
    client: Client, campaign: Campaign, tax_token: str, authorization: str
) -> None:
    response = post_payment(client, Authorization=authorization)
    assert (response.status_code, response.json()["code"]) == (401, UNAUTHENTICATED)


def test_a_revoked_token_is_401_and_a_new_one_works(
    client: Client, campaign: Campaign, tax_token: str, accounts: dict[str, Account]
) -> None:
    assert post_payment(client, **bearer(tax_token)).status_code == 200
    revoke_tokens(account=accounts["tax"], actor=accounts["admin"].user)
    response = post_payment(client, **bearer(tax_token))
    assert (response.status_code, response.json()["code"]) == (401, UNAUTHENTICATED)


def test_the_token_of_a_deactivated_user_is_401(
    client: Client, campaign: Campaign, tax_token: str, accounts: dict[str, Account]
) -> None:
    user = accounts["tax"].user
    user.is_active = False
    user.save()
    assert post_payment(client, **bearer(tax_token)).status_code == 401


def test_a_wrong_token_is_401_even_from_a_logged_in_browser(
    campaign: Campaign, accounts: dict[str, Account]
) -> None:
    clerk = logged_in(accounts, "clerk")
    path = f"/api/v1/residents/{pk_of(ZHANG)}"
    assert clerk.get(path).status_code == 200
    response = clerk.get(path, headers={"Authorization": "Bearer cb_wrong"})
    assert response.status_code == 401


def test_a_session_s_post_needs_the_csrf_token(
    campaign: Campaign, accounts: dict[str, Account]
) -> None:
    clerk = logged_in(accounts, "clerk", enforce_csrf_checks=True)
    search = {"id_number": ZHANG}
    refused = post_json(clerk, "/api/v1/residents/search", search)
    assert (refused.status_code, refused.json()["code"]) == (403, "csrf_failed")
    request = RequestFactory().get("/")
    token = get_token(request)
    clerk.cookies["csrftoken"] = request.META["CSRF_COOKIE"]
    accepted = post_json(clerk, "/api/v1/residents/search", search, **{"X-CSRFToken": token})
    assert accepted.status_code == 200
    assert [r["name"] for r in accepted.json()["residents"]] == ["张建国"]


def test_a_role_without_the_permission_is_403_not_permitted(
    client: Client, campaign: Campaign, tax_token: str, accounts: dict[str, Account]
) -> None:
    read = client.get(f"/api/v1/residents/{pk_of(ZHANG)}", headers=bearer(tax_token))
    assert read.json() == {"code": "not_permitted", "message": "您的账号无权进行此操作。"}
    assert read.status_code == 403
    collector = logged_in(accounts, "collector")
    assert collector.get("/api/v1/ledger/check").status_code == 403


def test_a_user_without_an_account_is_refused_everything(
    campaign: Campaign, django_user_model: type
) -> None:
    user = django_user_model.objects.create_user(username="nobody")
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get(f"/api/v1/residents/{pk_of(ZHANG)}").status_code == 403
    assert client.get("/api/v1/reports/coverage").status_code == 403


def test_an_unknown_path_under_the_api_is_a_json_404(client: Client, tax_token: str) -> None:
    for path in ("/api/v1/no/such/thing", "/api/v1/"):
        response = client.get(path, headers=bearer(tax_token))
        assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_a_method_a_path_does_not_take_is_a_json_405(client: Client, tax_token: str) -> None:
    response = client.get("/api/v1/payments", headers=bearer(tax_token))
    assert (response.status_code, response["Allow"]) == (405, "POST")
    assert response.json() == {
        "code": "method_not_allowed",
        "message": "此地址不接受 GET 请求。",
    }


def test_the_openapi_document_lists_every_operation_with_its_security(client: Client) -> None:
    document = client.get("/api/v1/openapi.json").json()
    assert sorted(document["paths"]) == [
        "/api/v1/ledger/check",
        "/api/v1/payments",
        "/api/v1/reports/bills/{funder}",
        "/api/v1/reports/coverage",
        "/api/v1/residents/search",
        "/api/v1/residents/{pk}",
        "/api/v1/residents/{pk}/assessment",
        "/api/v1/residents/{pk}/position",
    ]
    schemes = document["components"]["securitySchemes"]
    assert schemes["BearerToken"] == {"type": "http", "scheme": "bearer"}
    assert schemes["StaffSession"]["in"] == "cookie"


def test_the_docs_page_loads_swagger_from_the_app_itself(client: Client) -> None:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    scripts = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", html)
    assert scripts and all(src.startswith("/static/ninja/") for src in scripts)
    for src in scripts:
        assert client.get(src).status_code == 200
    assert "script-src 'self'" in page["Content-Security-Policy"]
