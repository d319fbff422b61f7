"""The auditor's page: the audit trail with its filters and pages, and the ledger check on
demand, for the roles that may and may not see it."""

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from canbao.collection.models import Suspense
from canbao.masking import mask_id
from canbao.registry.models import AuditEntry
from tests.conftest import PASSWORD
from tests.web.season import LI, ZHANG, Season, build_season

pytestmark = pytest.mark.django_db


@pytest.fixture
def season(accounts: dict[str, Any], tmp_path: Path) -> Season:
    return build_season(tmp_path, accounts["admin"].user)


def logged_in(client: Client, username: str) -> Client:
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, username
    return client


def rows_of(html: str) -> int:
    body = html.split("<tbody", 1)[1].split("</tbody>", 1)[0]
    return len(re.findall(r"<tr\b", body))


def test_the_auditor_sees_who_viewed_a_resident_when_and_from_where(
    client: Client, season: Season
) -> None:
    logged_in(client, "collector").get(f"/residents/{season.pk(ZHANG)}/")
    client.logout()
    html = logged_in(client, "auditor").get("/audit/").content.decode()
    assert "查看人员信息" in html
    assert "collector" in html and "127.0.0.1" in html
    assert f'<a href="/residents/{season.pk(ZHANG)}/">人员页面</a>' in html
    assert "记录缴费" in html and "冲正缴费" in html and "导入户籍人员" in html


def test_the_trail_filters_by_account_action_and_dates(client: Client, season: Season) -> None:
    logged_in(client, "collector").get(f"/residents/{season.pk(ZHANG)}/")
    client.logout()
    client = logged_in(client, "auditor")
    by_action = client.get("/audit/", {"action": "view_resident"}).content.decode()
    assert rows_of(by_action) == 1 and "collector" in by_action
    by_account = client.get("/audit/", {"username": "admin"}).content.decode()
    assert rows_of(by_account) == AuditEntry.objects.filter(username="admin").count() > 1
    assert "查看人员信息" not in by_account.split("<tbody", 1)[1]
    today = timezone.localdate()
    inside = client.get("/audit/", {"since": today, "until": today}).content.decode()
    assert rows_of(inside) == AuditEntry.objects.count()
    later = client.get("/audit/", {"since": today + timedelta(days=1)}).content.decode()
    assert "没有符合条件的操作记录" in later


def test_the_trail_comes_50_rows_a_page(client: Client, accounts: dict[str, Any]) -> None:
    actor = accounts["admin"].user
    AuditEntry.objects.bulk_create(
        AuditEntry(user=actor, username="admin", action="export", details={"file": f"{n}.xlsx"})
        for n in range(70)
    )
    client = logged_in(client, "auditor")
    first = client.get("/audit/").content.decode()
    assert rows_of(first) == 50
    total = AuditEntry.objects.count()
    second = client.get("/audit/", {"page": 2}).content.decode()
    assert rows_of(second) == total - 50


@pytest.mark.parametrize("username", ["clerk", "township", "collector", "finance", "department"])
def test_roles_without_the_audit_permission_are_refused(
    client: Client, accounts: dict[str, Any], username: str
) -> None:
    client = logged_in(client, username)
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/ledger/").status_code == 403


def test_the_county_admin_may_audit_and_the_menu_says_so(
    client: Client, accounts: dict[str, Any]
) -> None:
    client = logged_in(client, "admin")
    assert client.get("/audit/").status_code == 200
    assert 'href="/audit/">审计</a>' in client.get("/").content.decode()


def test_the_ledger_check_says_balanced_with_the_totals(client: Client, season: Season) -> None:
    html = logged_in(client, "auditor").get("/audit/ledger/").content.decode()
    assert 'data-balanced="yes"' in html
    # Received 250 + 200 + 250; enrolled 250; held 200; reversed 250.
    assert 'data-fen="70000"' in html and "700.00" in html
    assert 'data-fen="25000"' in html and 'data-fen="20000"' in html
    assert "立即核对" in html


@pytest.mark.ledger_tampered
def test_the_ledger_check_lists_an_unbalanced_resident_with_a_masked_id_number(
    client: Client, season: Season
) -> None:
    Suspense.objects.filter(resident_id=season.pk(LI)).update(amount_fen=15000)
    client = logged_in(client, "auditor")
    fragment = client.get("/audit/ledger/", headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment
    assert 'data-balanced="no"' in fragment
    assert f'data-unbalanced="{season.pk(LI)}"' in fragment
    assert mask_id(LI) in fragment and LI not in fragment
    assert f'href="/residents/{season.pk(LI)}/"' in fragment
    assert "50.00" in fragment  # the difference: 200 received, 150 held


def test_the_audit_page_loads_the_ledger_check_with_htmx_and_offers_it_without(
    client: Client, season: Season
) -> None:
    html = logged_in(client, "auditor").get("/audit/").content.decode()
    assert 'hx-get="/audit/ledger/" hx-trigger="load"' in html
    assert 'href="/audit/ledger/"' in html
