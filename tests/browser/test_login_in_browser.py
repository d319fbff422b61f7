"""Logging in, in a real browser, at phone and desktop width."""

from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, log_in, screenshots


def test_a_wrong_password_says_so_and_the_right_one_opens_her_village(page: Page) -> None:
    page.set_viewport_size(PHONE)
    page.goto("/")
    assert "/login/" in page.url
    page.get_by_label("用户名").fill("collector")
    page.get_by_label("密码").fill("not-her-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_text("用户名或密码不正确")).to_be_visible()
    screenshots(page, "login")
    log_in(page, "collector")
    page.set_viewport_size(PHONE)
    page.get_by_role("button", name="菜单").click()
    expect(page.get_by_text("collector · 村级收缴员 · 大栗港社区居委会")).to_be_visible()
    screenshots(page, "dashboard-collector")
