"""Pages as a person sees them: Debian's chromium, driven by Playwright, against a county served
for real by ``canbao serve`` (gunicorn) from a SQLite file of its own.

Why not pytest-django's live server: payments are append-only, so the test database's flush
after a ``transactional_db`` test (which the live server needs) would have to delete them. A
county of its own, built by a separate process and thrown away with its folder, needs no flush.

Screenshots go to build/screenshots/ (CANBAO_SCREENSHOTS to change), at phone and desktop
width, kept as the test run's artifacts."""

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
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import PASSWORD, free_port

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(os.environ.get("CANBAO_SCREENSHOTS", "build/screenshots"))
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
CANBAO = str(Path(sys.executable).with_name("canbao"))
ROOT = Path(__file__).resolve().parents[2]

# The county every browser test starts from, built in its own process: the Daligang divisions,
# one account per role (as tests.conftest's ``accounts``) and the small season of
# tests.web.season. It prints the residents' keys by ID number as its last line.
DALIGANG_SEASON = """
import json, sys
from pathlib import Path
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from tests.browser.county import build_county
print(json.dumps(build_county(Path(sys.argv[1]))))
"""


@dataclass(frozen=True)
class County:
    url: str
    folder: Path
    env: dict[str, str]
    pks: dict[str, int]  # resident keys by ID number


def serve_county(folder: Path, build: str = DALIGANG_SEASON) -> Iterator[County]:
    """Build a county in FOLDER with the Python code BUILD, then serve it until the caller is
    done; the keys BUILD prints as its last line come back as ``pks``."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'canbao.sqlite3'}",
        "CANBAO_DATA_DIR": str(folder),
        "DJANGO_SETTINGS_MODULE": "canbao.settings",
        "PYTHONPATH": str(ROOT),
    }
    built = subprocess.run(
        [sys.executable, "-c", build, str(folder)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    pks = json.loads(built.stdout.strip().splitlines()[-1])
    port = free_port()
    log = (folder / "serve.log").open("w")
    server = subprocess.Popen(
        [CANBAO, "serve", "--bind", f"127.0.0.1:{port}"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, (folder / "serve.log").read_text()
                assert time.monotonic() < deadline, "canbao serve did not listen within 60 s"
                time.sleep(0.2)
        yield County(url=f"http://127.0.0.1:{port}", folder=folder, env=env, pks=pks)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[County]:
    """A county per test module: a module may change it (a payment, an import), so that its
    tests run in order on one county, and the next module starts afresh."""
    yield from serve_county(tmp_path_factory.mktemp("county"))


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, county: County) -> Iterator[Page]:
    context = browser.new_context(
        base_url=county.url, viewport=DESKTOP, locale="zh-CN", accept_downloads=True
    )
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def log_in(page: Page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def screenshots(page: Page, name: str) -> list[Path]:
    """The page at phone and then desktop width, whole, as build/screenshots/NAME-*.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    taken = []
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        path = SCREENSHOTS / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(path)
    return taken
