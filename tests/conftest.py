"""Shared fixtures: the divisions of 大栗港镇 (桃江县), valid ID numbers, and files as bureaus
write them (CSV in UTF-8 or GB18030 with a title row, .xlsx)."""

import csv
import io
import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from django.db import connection

from canbao.campaigns.models import Campaign
from canbao.collection.ledger import check_ledger
from canbao.idnumber import make
from canbao.regions.models import Division

COUNTY = "430922"
TOWNSHIP = "430922117"
VILLAGE = "430922117201"
OTHER_VILLAGE = "430922117239"

RESIDENT_HEADER = (
    "姓名",
    "公民身份号码",
    "性别",
    "出生日期",
    "户编号",
    "与户主关系",
    "村(社区)代码",
    "村(社区)",
    "联系电话",
    "职工医保",
    "异地参保",
)


def free_port() -> int:
    """A local port no one listens on, for a server a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def person_id(sequence: int, sex: str = "M", born: date = date(1980, 5, 17)) -> str:
    """A valid GB 11643 number issued in 桃江县."""
    return make(COUNTY, born, sequence, sex)  # type: ignore[arg-type]


def resident(
    name: str,
    id_number: str,
    household: str = "H001",
    relation: str = "户主",
    village: str = VILLAGE,
    *,
    sex: str = "",
    born: str = "",
    phone: str = "",
    employee: str = "",
    elsewhere: str = "",
) -> list[str]:
    return [
        *(name, id_number, sex, born, household, relation, village, ""),
        *(phone, employee, elsewhere),
    ]


def csv_file(
    path: Path,
    rows: Sequence[Sequence[str]],
    header: Sequence[str] = RESIDENT_HEADER,
    *,
    encoding: str = "utf-8",
    title: str | None = "大栗港镇2020年城乡居民医保参保人员花名册",
) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if title:
        writer.writerow([title])
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def xlsx_file(
    path: Path,
    rows: Sequence[Sequence[str | float]],
    header: Sequence[str] = RESIDENT_HEADER,
    *,
    title: str | None = "大栗港镇参保人员花名册",
) -> Path:
    """Numbers stay numbers: an ID given as a float is stored as Excel stores a typed ID."""
    with xlsxwriter.Workbook(str(path)) as workbook:
        sheet = workbook.add_worksheet("花名册")
        first = 0
        if title:
            sheet.write_string(0, 0, title)
            first = 1
        sheet.write_row(first, 0, list(header))
        for offset, row in enumerate(rows, start=first + 1):
            for column, value in enumerate(row):
                if isinstance(value, float):
                    sheet.write_number(offset, column, value)
                else:
                    sheet.write_string(offset, column, value)
    return path


@pytest.fixture
def daligang(db: None) -> dict[str, Division]:
    county = Division.objects.create(code=COUNTY, name="桃江县", level="county")
    township = Division.objects.create(
        code=TOWNSHIP, name="大栗港镇", level="township", parent=county
    )
    village = Division.objects.create(
        code=VILLAGE, name="大栗港社区居委会", level="village", parent=township
    )
    other = Division.objects.create(
        code=OTHER_VILLAGE, name="德茂园村委会", level="village", parent=township
    )
    return {"county": county, "township": township, "village": village, "other": other}


@pytest.fixture(autouse=True)
def the_ledger_adds_up_after_every_test(request: pytest.FixtureRequest) -> object:
    """The first law, after every test that touched the database: for every campaign, fen
    received = fen enrolled + fen held + fen reversed, per resident and in total, and no closed
    day disagrees with the payments. A test that breaks the ledger on purpose says so
    (``ledger_tampered``); one that left its transaction unusable has nothing to check."""
    uses_db = request.node.get_closest_marker("django_db") is not None or any(
        name in request.fixturenames for name in ("db", "transactional_db")
    )
    if not uses_db or request.node.get_closest_marker("ledger_tampered"):
        yield
        return
    # Set up after the database fixture, so that the check runs before it is torn down.
    request.getfixturevalue(
        "transactional_db" if "transactional_db" in request.fixturenames else "db"
    )
    yield
    if connection.connection is None or connection.needs_rollback:
        return
    for campaign in Campaign.objects.all():
        check = check_ledger(campaign)
        assert check.balanced, (campaign.pk, check.unbalanced[:5], check.closed_days)


PASSWORD = "daligang-2026-collect"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Tests log in often; the production hasher's 1M PBKDF2 rounds are not what they test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def staff(name: str = "t") -> Any:
    """The user a service call of a test acts as, named `name` (made on first use): the audit
    rows and batches name it. Services trust their caller's check of the account's role (the
    command's --as, the page's login), so a plain user does here."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get_or_create(username=name)[0]


def add_admin(database_url: str) -> None:
    """Make the first account of an initialised database, the county administrator "admin"
    (password ``PASSWORD``), as a person would on the command line; a test's commands then act
    as it with CANBAO_AS=admin."""
    add = ("account", "add", "admin", "--role", "county_admin", "--password-stdin")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("canbao")), *add],
        input=f"{PASSWORD}\n",
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture
def admin(db: None) -> Any:
    """The county administrator "admin": the first account of the database (bootstrap)."""
    from canbao.accounts.models import Role
    from canbao.accounts.services import create_account

    return create_account(
        username="admin", password=PASSWORD, role=Role.COUNTY_ADMIN, actor=None
    ).user


@pytest.fixture
def as_admin(admin: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The commands a test runs act as the county administrator (CANBAO_AS=admin)."""
    monkeypatch.setenv("CANBAO_AS", "admin")
    return admin


@pytest.fixture
def accounts(daligang: dict[str, Division], admin: Any) -> dict[str, Any]:
    """One account per role in 大栗港镇, and a collector of the other village (the outsider
    whom the collector's residents must stay hidden from). Every password is ``PASSWORD``."""
    from canbao.accounts.services import create_account
    from tests.roles import ACCOUNT_OPTIONS  # it reads this module's division codes

    return {"admin": admin.account} | {
        name: create_account(username=name, password=PASSWORD, actor=admin, **options)
        for name, options in ACCOUNT_OPTIONS.items()
    }
