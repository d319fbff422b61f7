"""Schemathesis against the OpenAPI document the app serves: every operation, called with
generated inputs by an integration's token (payments) or a county administrator's session
(everything else), answers no 5xx and a body its schema describes. Then plausible payments
(few keys, few people, amounts and days of the campaign) are posted in any order: repeats,
conflicts, partial and excess payments alike never fail, and a post answered 200 is answered
the same when posted again. The requests run inside the test's transaction, on SQLite and on
PostgreSQL alike, and the ledger adds up after them (tests/conftest.py checks it after every
test)."""

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.specs.openapi.schemas import OpenApiSchema

from canbao.accounts.models import Account
from canbao.campaigns.models import Campaign
from canbao.collection.models import Payment
from tests.api.conftest import LI, QIAN, STRANGER, WANG, ZHANG, bearer, pk_of

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, response_schema_conformance]
FUZZ = settings(
    max_examples=50, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
PEOPLE = [(ZHANG, "张建国"), (LI, "李秀英"), (WANG, "王五"), (QIAN, "钱七"), (STRANGER, "无名氏")]


@pytest.fixture
def schema() -> Iterator[OpenApiSchema]:
    """The document as the app serves it, the app being Django as a WSGI app that leaves the
    test's connection open between requests, as Django's own test client does (the test's
    transaction would be lost otherwise)."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler())
    # The credentials are the test's own, not generated ones.
    loaded.config.generation.update(with_security_parameters=False)
    yield loaded
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


def session_of(account: Account) -> dict[str, Any]:
    """The cookies and the CSRF header of a logged-in session of ``account``."""
    client = Client()
    client.force_login(account.user, backend="django.contrib.auth.backends.ModelBackend")
    request = RequestFactory().get("/")
    token = get_token(request)
    return {
        "cookies": {
            "sessionid": client.cookies["sessionid"].value,
            "csrftoken": request.META["CSRF_COOKIE"],
        },
        "headers": {"X-CSRFToken": token},
    }


def fuzz(cases: Any, credentials: dict[str, Any], answered: dict[str, set[int]]) -> None:
    """Call each generated case with ``credentials``, checking its answer."""

    @FUZZ
    @given(case=cases)
    def call(case: schemathesis.Case) -> None:
        response = case.call(**credentials)
        answered.setdefault(case.operation.label, set()).add(response.status_code)
        case.validate_response(response, checks=CHECKS)

    call()


def test_no_operation_answers_a_server_error_and_every_answer_matches_the_document(
    schema: OpenApiSchema, campaign: Campaign, accounts: dict[str, Account], tax_token: str
) -> None:
    admin = session_of(accounts["admin"])
    # Generated ids rarely exist: such operations run again on a resident and a funder that do.
    known: dict[str, dict[str, Any]] = {
        "pk": {"pk": pk_of(ZHANG)},
        "funder": {"funder": "medical_assistance"},
    }
    answered: dict[str, set[int]] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 8
    for operation in operations:
        payments = operation.path == "/api/v1/payments"
        credentials = {"headers": bearer(tax_token)} if payments else admin
        names = {p.name for p in operation.path_parameters}
        for path_parameters in [None, *(known[name] for name in sorted(names))]:
            fuzz(operation.as_strategy(path_parameters=path_parameters), credentials, answered)
    # The credentials were taken: every read was answered 200 at least once, none 401.
    assert all(401 not in codes for codes in answered.values())
    assert all(200 in codes for label, codes in answered.items() if "payments" not in label)


plausible_payment = st.fixed_dictionaries(
    {
        "key": st.sampled_from(["T1", "T2", "T3", "000123", "123"]),
        "person": st.sampled_from(PEOPLE),
        "amount_fen": st.sampled_from([1, 5000, 12500, 20000, 25000, 30000]),
        "paid_on": st.dates(date(2019, 9, 1), date(2020, 12, 31)).map(date.isoformat),
    }
).map(
    lambda p: {
        "key": p["key"],
        "id_number": p["person"][0],
        "name": p["person"][1],
        "amount_fen": p["amount_fen"],
        "paid_on": p["paid_on"],
    }
)


def test_plausible_payments_in_any_order_never_fail_and_a_repeat_is_answered_the_same(
    schema: OpenApiSchema, campaign: Campaign, tax_token: str, bank_token: str
) -> None:
    operation = schema["/api/v1/payments"]["POST"]
    answered: set[int] = set()

    @settings(FUZZ, max_examples=100)
    @given(
        case=operation.as_strategy(),
        payments=st.lists(plausible_payment, min_size=1, max_size=3),
        token=st.sampled_from([tax_token, bank_token]),
    )
    def post(case: schemathesis.Case, payments: list[dict[str, Any]], token: str) -> None:
        case.body = {"payments": payments}
        response = case.call(headers=bearer(token))
        case.validate_response(response, checks=CHECKS)
        answered.add(response.status_code)
        if response.status_code == 200:
            again = case.call(headers=bearer(token))
            assert (again.status_code, again.content) == (200, response.content)

    post()
    assert answered <= {200, 409, 422} and {200, 409} <= answered
    assert Payment.objects.exists()
