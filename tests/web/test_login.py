"""Logging in, the door every page shares, and what a page says when a resident is not yours."""

import pytest
from django.test import Client

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_page_sends_a_visitor_to_the_login_page(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_collector_logs_in_and_lands_on_the_dashboard_of_her_village(
    client: Client, accounts: dict[str, object]
) -> None:
    response = client.post("/login/", {"username": "collector", "password": PASSWORD})
    assert response.status_code == 302
    page = client.get("/")
    assert page.status_code == 200
    assert "大栗港社区居委会参保进度" in page.content.decode()


def test_five_wrong_passwords_lock_the_account_out_for_a_while(
    client: Client, accounts: dict[str, object]
) -> None:
    for _ in range(5):
        client.post("/login/", {"username": "collector", "password": "wrong"})
    response = client.post("/login/", {"username": "collector", "password": PASSWORD})
    assert response.status_code == 429
    assert "暂停登录 15 分钟" in response.content.decode()


def test_pages_send_security_headers(client: Client) -> None:
    response = client.get("/login/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_a_user_without_a_role_is_refused_every_page(
    client: Client, django_user_model: type
) -> None:
    django_user_model.objects.create_user(username="nobody", password=PASSWORD)
    client.post("/login/", {"username": "nobody", "password": PASSWORD})
    assert client.get("/").status_code == 403
