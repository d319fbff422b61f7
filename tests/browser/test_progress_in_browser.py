"""The progress pages in a real browser: the county clerk's dashboard draws its chart, a
village's notices print as a PDF, the bulletin reads as printed; screenshots at phone and
desktop width."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.browser.conftest import DESKTOP, PHONE, County, log_in, screenshots, serve_county
from tests.conftest import VILLAGE

# Built in the served county's own process (tests.browser.conftest.serve_county).
PROGRESS_COUNTY = """
import json, sys
from pathlib import Path
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from tests.web.progress_campaign import build_served_county
print(json.dumps(build_served_county(Path(sys.argv[1]))))
"""


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[County]:
    """The county of tests.web.progress_campaign, served to this module's tests (which only
    read it)."""
    yield from serve_county(tmp_path_factory.mktemp("county"), PROGRESS_COUNTY)


def chart_size(page: Page, selector: str) -> dict[str, float]:
    """The drawn canvas of the chart at `selector` (ECharts draws into a <canvas>)."""
    canvas = page.locator(f"{selector} canvas").first
    expect(canvas).to_be_attached()
    box = canvas.bounding_box()
    assert box is not None
    return {"width": box["width"], "height": box["height"]}


def test_the_county_clerk_follows_the_progress_down_to_a_village_and_prints_its_notices(
    page: Page, tmp_path: Path
) -> None:
    log_in(page, "clerk")
    expect(page.get_by_role("heading", name="桃江县参保进度")).to_be_visible()
    size = chart_size(page, '[data-chart="rate-chart"]')
    assert size["width"] > 300 and size["height"] > 100

    # A past day, picked in place: the figures change without leaving the page.
    page.get_by_label("截至日期").fill("2019-11-20")
    page.get_by_role("button", name="查看").click()
    expect(page.locator('[data-figure="enrolled"]')).to_have_text("1")
    expect(page).to_have_url(re.compile(r"/\?as_of=2019-11-20$"))
    assert chart_size(page, '[data-chart="rate-chart"]')["width"] > 300
    page.get_by_label("截至日期").fill("2019-11-27")
    page.get_by_role("button", name="查看").click()
    expect(page.locator('[data-figure="enrolled"]')).to_have_text("2")
    screenshots(page, "dashboard-county")
    page.set_viewport_size(DESKTOP)

    page.get_by_role("link", name="大栗港镇").click()
    expect(page.get_by_role("heading", name="大栗港镇")).to_be_visible()
    page.get_by_role("link", name="大栗港社区居委会").first.click()
    expect(page.get_by_role("heading", name="大栗港社区居委会")).to_be_visible()
    expect(page.locator("#followup")).to_contain_text("钱小妹")
    screenshots(page, "village")
    page.set_viewport_size(DESKTOP)

    with page.expect_download() as started:
        page.get_by_role("link", name="打印缴费通知单（PDF）").click()
    download = started.value
    assert download.suggested_filename == "大栗港镇大栗港社区居委会缴费通知单.pdf"
    saved = tmp_path / "notices.pdf"
    download.save_as(saved)
    text = "\n".join(p.extract_text() for p in PdfReader(saved).pages)
    assert "大栗港社区居委会" in text and "钱七" in text


def test_the_county_clerk_reads_the_bulletin_on_a_phone(page: Page) -> None:
    log_in(page, "clerk")
    page.set_viewport_size(PHONE)
    page.get_by_role("button", name="菜单").click()
    page.get_by_role("link", name="报表").click()
    expect(
        page.get_by_role("heading", name="桃江县2020年度城乡居民基本医疗保险参保缴费进度通报")
    ).to_be_visible()
    page.goto("/reports/?as_of=2019-11-27")
    expect(page.locator('[data-section="summary"]')).to_contain_text("桃江县已参保 2 人")
    assert chart_size(page, '[data-chart="bulletin-chart"]')["width"] > 200
    screenshots(page, "reports")
    page.goto("/reports/villages/")
    screenshots(page, "reports-villages")
    for tab in ("funding", "students", "funds", "bills"):
        page.goto(f"/reports/{tab}/")
        screenshots(page, f"reports-{tab}")


def test_a_collector_opens_her_village_on_a_phone(page: Page) -> None:
    page.set_viewport_size(PHONE)
    log_in(page, "collector")
    expect(page.locator('[data-section="followup-count"]')).to_contain_text("3 户 4 人")
    screenshots(page, "dashboard-village")
    page.set_viewport_size(PHONE)
    page.get_by_role("link", name="查看催缴名单").click()
    expect(page).to_have_url(re.compile(f"/division/{VILLAGE}/#followup$"))
    expect(page.locator("#followup")).to_contain_text("李秀英")
