"""The roles the other browser tests leave out, each at its own work in a real browser: the
civil affairs department imports its own roster and reads its bill, finance reads the fund
summary, the township clerk follows her villages. Screenshots at phone and desktop width."""

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, log_in, screenshots
from tests.conftest import csv_file
from tests.web.season import QIAN_CHILD


def test_the_department_starts_on_its_bill_and_imports_its_own_roster(
    page: Page, tmp_path: Path
) -> None:
    log_in(page, "department")
    expect(page.get_by_role("link", name="部门账单")).to_be_visible()
    expect(page.get_by_text("民政部门", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="下载账单（Excel）")).to_be_visible()
    expect(page.get_by_role("link", name="基金筹集")).to_have_count(0)
    screenshots(page, "department-bill")
    page.get_by_role("link", name="导入").click()
    page.get_by_role("link", name="部门名册").click()
    expect(page.get_by_label("人员类别").locator("option")).to_have_text(["农村低保对象"])
    roster = csv_file(tmp_path / "农村低保.csv", [("钱小妹", QIAN_CHILD)], ("姓名", "公民身份号码"))
    page.get_by_label("文件", exact=True).set_input_files(str(roster))
    page.get_by_role("button", name="导入", exact=True).click()
    expect(page.get_by_text("共1行，新增1、更新0、未变0")).to_be_visible()
    screenshots(page, "department-roster-imported")


def test_finance_reads_the_fund_summary_and_cannot_record_a_payment(page: Page) -> None:
    log_in(page, "finance")
    page.get_by_role("link", name="报表").click()
    page.get_by_role("link", name="基金筹集").click()
    # 张建国 250 and 李秀英 200 yuan by the tax bureau; 孙八's 250 reversed.
    expect(
        page.get_by_role(
            "row", name="税务（银行、微信、支付宝、POS 等代收） 3 700.00 -250.00 450.00"
        )
    ).to_be_visible()
    expect(page.get_by_role("row", name="医疗救助资金 2 250.00 0.00 250.00")).to_be_visible()
    screenshots(page, "finance-funds")
    page.goto("/payments/record/")
    expect(page.get_by_text("您的账号没有这项操作的权限")).to_be_visible()


def test_the_township_clerk_follows_her_villages_on_a_phone(page: Page) -> None:
    page.set_viewport_size(PHONE)
    log_in(page, "township")
    expect(page.get_by_role("heading", name="大栗港镇参保进度")).to_be_visible()
    page.get_by_role("link", name="德茂园村委会").first.click()
    expect(page.get_by_role("heading", name="德茂园村委会")).to_be_visible()
    screenshots(page, "township-village")
