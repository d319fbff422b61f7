"""A collector finds a resident on her phone and opens the page; a resident asks after her own
enrollment; the auditor checks the ledger. Screenshots of each page at phone and desktop width."""

from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, County, log_in, screenshots
from tests.web.season import LI, QIAN, ZHANG


def test_a_collector_finds_a_resident_by_id_number_on_her_phone_and_opens_the_page(
    page: Page, county: County
) -> None:
    page.set_viewport_size(PHONE)
    log_in(page, "collector")
    page.goto("/residents/")
    page.get_by_label("身份证号码、姓名或户编号").fill(ZHANG.lower())
    page.get_by_role("button", name="查询").click()
    result = page.get_by_role("link", name="张建国")
    expect(result).to_be_visible()
    assert page.url.endswith("/residents/")  # htmx swapped the results in: no reload
    screenshots(page, "resident-search")
    page.set_viewport_size(PHONE)
    result.click()
    expect(page.get_by_role("heading", name="张建国", exact=True)).to_be_visible()
    assert page.url.endswith(f"/residents/{county.pks[ZHANG]}/")
    expect(page.get_by_text("2020年度已参保")).to_be_visible()
    screenshots(page, "resident-page")
    page.goto(f"/residents/{county.pks[LI]}/")
    expect(page.locator("[data-figure=owes]")).to_contain_text(
        "应缴 250.00 元，已收本人缴费 200.00 元（挂账 200.00 元）"
    )
    screenshots(page, "resident-page-held")


def test_a_resident_asks_after_her_enrollment_on_her_phone_without_logging_in(
    page: Page, county: County
) -> None:
    page.set_viewport_size(PHONE)
    page.goto("/login/")
    page.get_by_role("link", name="参保缴费查询").click()
    page.get_by_label("身份证号码").fill(QIAN)
    page.get_by_label("姓名").fill("钱七")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_text("未参保，尚未缴清")).to_be_visible()
    expect(page.get_by_text("125.00 元")).to_be_visible()
    screenshots(page, "self-query")
    page.set_viewport_size(PHONE)
    page.get_by_label("姓名").fill("钱八")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_text("未查到与该身份证号码和姓名相符的参保信息")).to_be_visible()
    screenshots(page, "self-query-not-found")


def test_the_auditor_reads_the_trail_and_checks_the_ledger(page: Page, county: County) -> None:
    log_in(page, "auditor")
    page.goto("/audit/")
    expect(page.get_by_text("账目平衡")).to_be_visible()
    page.get_by_role("link", name="立即核对").click()
    expect(page.get_by_text("账目平衡")).to_be_visible()
    page.get_by_label("操作", exact=True).select_option(label="冲正缴费")
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_text("共 1 条")).to_be_visible()
    page.goto("/audit/")
    expect(page.get_by_text("账目平衡")).to_be_visible()
    screenshots(page, "audit")
