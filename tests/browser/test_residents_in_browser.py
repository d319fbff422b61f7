"""A collector finds a resident on her phone and opens the page; a resident asks after her own
enrollment; the auditor checks the ledger. Screenshots of each page at phone and desktop width.

The pages show payments, and payments are append-only: the test database's flush after a
``transactional_db`` test (which ``live_server`` needs) would have to delete them. So this county
lives in a SQLite file of its own, built by a separate process and served by ``canbao django
runserver``, and is thrown away with its folder.
"""

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, log_in, screenshots
from tests.web.season import LI, QIAN, ZHANG

CANBAO = str(Path(sys.executable).with_name("canbao"))
ROOT = Path(__file__).resolve().parents[2]

# Run in the county's own process: migrate, the Daligang divisions and accounts, the season.
BUILD = """
import json, sys
from pathlib import Path
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from canbao.accounts.models import Role
from canbao.accounts.services import create_account
from canbao.regions.models import Division
from tests.conftest import COUNTY, OTHER_VILLAGE, PASSWORD, TOWNSHIP, VILLAGE
from tests.web.season import build_season
county = Division.objects.create(code=COUNTY, name="桃江县", level="county")
township = Division.objects.create(code=TOWNSHIP, name="大栗港镇", level="township", parent=county)
Division.objects.create(code=VILLAGE, name="大栗港社区居委会", level="village", parent=township)
Division.objects.create(code=OTHER_VILLAGE, name="德茂园村委会", level="village", parent=township)
admin = create_account(username="admin", password=PASSWORD, role=Role.COUNTY_ADMIN, actor=None)
create_account(username="collector", password=PASSWORD, role=Role.VILLAGE_COLLECTOR,
               division_code=VILLAGE, actor=admin.user)
create_account(username="auditor", password=PASSWORD, role=Role.AUDITOR, actor=admin.user)
season = build_season(Path(sys.argv[1]), admin.user)
print(json.dumps({number: r.pk for number, r in season.people.items()}))
"""


@dataclass(frozen=True)
class County:
    url: str
    pks: dict[str, int]  # resident keys by ID number


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[County]:
    folder = tmp_path_factory.mktemp("county")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'canbao.sqlite3'}",
        "CANBAO_DATA_DIR": str(folder),
        "DJANGO_SETTINGS_MODULE": "canbao.settings",
        "PYTHONPATH": str(ROOT),
    }
    built = subprocess.run(
        [sys.executable, "-c", BUILD, str(folder)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    pks = json.loads(built.stdout.strip().splitlines()[-1])
    port = free_port()
    server = subprocess.Popen(
        [CANBAO, "django", "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "no server"
                time.sleep(0.2)
        yield County(url=f"http://127.0.0.1:{port}", pks=pks)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def page(browser: Browser, county: County) -> Iterator[Page]:
    context = browser.new_context(base_url=county.url, viewport=DESKTOP, locale="zh-CN")
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


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
