"""Logging in, in a real browser, at phone and desktop width."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in, screenshots

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_collector_logs_in_on_her_phone_and_sees_her_village(
    page: Page, accounts: dict[str, object]
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/login/")
    screenshots(page, "login")
    log_in(page, "collector")
    expect(page.get_by_role("heading", name="大栗港社区居委会参保进度")).to_be_visible()
    shots = screenshots(page, "dashboard-collector")
    assert all(shot.stat().st_size > 5_000 for shot in shots)
