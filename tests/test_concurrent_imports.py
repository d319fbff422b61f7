"""Two clerks import at once into the same campaign: a tax file and a bank file paying, in two
halves, the 250 yuan (25000 fen, Daligang 2020) of the same people. Each import runs as its own
`canbao import payments` process against one database (a SQLite file, or a database of its own
on the test PostgreSQL server), as two clerks' commands would.

Everyone fully paid must be enrolled, with no "partial" suspense left open, and neither import
may die with "database is locked" because the other held the database for a while.

The database is set up through the `canbao` commands in a database of its own, and dropped
after: payments are append-only (no DELETE, no TRUNCATE), so Django's `transactional_db`, which
flushes the tables, cannot be used with them.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.db import connection, transaction
from django.test import override_settings

from canbao.campaigns.locks import BUSY_MESSAGE, LOCK_NAMESPACE, lock_campaign
from canbao.demo.synthetic import generate_county
from canbao.errors import InputError
from tests.conftest import add_admin

CANBAO = str(Path(sys.executable).with_name("canbao"))
POSTGRES = connection.vendor == "postgresql"
PAYMENT_HEADER = ("缴费日期", "交易流水号", "姓名", "公民身份号码", "金额（分）")
# Longer than SQLite's default busy timeout (5 s), after which a waiting import died.
HOLD_SECONDS = 6.0
WAIT_SECONDS = 60.0


class Target:
    """The campaign's database: its DATABASE_URL for the commands, and plain queries."""

    def __init__(self, url: str) -> None:
        self.url = url

    def connect(self) -> Any:
        if self.url.startswith("sqlite:///"):
            return sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None)
        return psycopg.connect(self.url, autocommit=True)

    def value(self, sql: str) -> int:
        with self.connect() as db:
            row = db.execute(sql).fetchone()
        return int(row[0] or 0)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with self.connect() as db:
            return list(db.execute(sql).fetchall())


def canbao(target: Target, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CANBAO, *argv],
        env={**os.environ, "DATABASE_URL": target.url, "CANBAO_AS": "admin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Target]:
    """An empty database beside the test database: a SQLite file, or a PostgreSQL database."""
    if not POSTGRES:
        yield Target(f"sqlite:///{tmp_path / 'canbao.sqlite3'}")
        return
    server = os.environ["DATABASE_URL"]
    name = f"canbao_concurrency_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield Target(urlunsplit(urlsplit(server)._replace(path=f"/{name}")))
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def assessed_county(target: Target, tmp_path: Path) -> list[tuple[str, str, int]]:
    """A synthetic county of 桃江县 set up by the commands, its daligang-2020 campaign open and
    assessed; the (name, ID number, payable fen) of everyone who owes something."""
    county = generate_county(
        residents=1200, seed=11, out_dir=tmp_path / "county", as_of=date(2019, 10, 31)
    )
    code, out, err = finished(canbao(target, "init"))
    assert code == 0, (out, err)
    add_admin(target.url)
    for argv in (
        ["import", "divisions", str(county.divisions_csv)],
        ["import", "residents", str(county.residents_csv)],
        ["campaign", "open", "--area", "430922", "--policy", "daligang-2020"],
        ["campaign", "assess"],
    ):
        code, out, err = finished(canbao(target, *argv))
        assert code == 0, (argv, out, err)
    return [
        (str(name), str(id_number), int(fen))
        for name, id_number, fen in target.rows(
            "SELECT r.name, r.id_number, a.payable_fen FROM campaigns_assessment a "
            "JOIN registry_resident r ON r.id = a.resident_id "
            "WHERE a.eligible AND a.payable_fen > 0 ORDER BY r.id"
        )
    ]


def payment_file(path: Path, prefix: str, lines: Sequence[tuple[str, str, int]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(PAYMENT_HEADER)
        for number, (name, id_number, fen) in enumerate(lines, start=1):
            writer.writerow(("2019-11-20", f"{prefix}{number:06d}", name, id_number, fen))
    return path


def has_open(pid: int, path: Path) -> bool:
    """Whether the process has ``path`` open (Linux)."""
    directory = Path(f"/proc/{pid}/fd")
    try:
        return any(fd.resolve() == path.resolve() for fd in directory.iterdir())
    except OSError:  # the process ended, or a descriptor went away while listing
        return False


def until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def import_both_at_once(
    target: Target, files: Sequence[tuple[str, Path]]
) -> list[tuple[int, str, str]]:
    """Start one `canbao import payments` per file, held at their first write until both wait
    for it, then let them go together; their exit codes and output."""
    barrier = target.connect()
    try:
        if POSTGRES:
            barrier.autocommit = False
            # Each import's first write inserts its batch row: both wait here.
            barrier.execute("LOCK TABLE registry_importbatch IN SHARE MODE")
        else:
            # Another clerk's long import holds the database: both wait to begin.
            barrier.execute("BEGIN IMMEDIATE")
        processes = [
            canbao(target, "import", "payments", "--channel", channel, str(path), "--json")
            for channel, path in files
        ]
        if POSTGRES:
            until(
                lambda: (
                    target.value(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                    == len(processes)
                ),
                "both imports to wait for the lock",
            )
        else:
            database = Path(target.url.removeprefix("sqlite:///"))
            until(
                lambda: all(has_open(p.pid, database) for p in processes),
                "both imports to open the database",
            )
            time.sleep(HOLD_SECONDS)
        barrier.execute("COMMIT")
        return [finished(process) for process in processes]
    finally:
        barrier.close()


# On the database named by DATABASE_URL (the django_db mark puts it in the PostgreSQL run too),
# but through processes of its own, not through the test database.
@pytest.mark.django_db
@pytest.mark.concurrency
def test_a_tax_and_a_bank_file_imported_at_once_enroll_everyone_who_paid_in_full(
    target: Target, tmp_path: Path
) -> None:
    payers = assessed_county(target, tmp_path)
    assert len(payers) > 1000 and {fen for _, _, fen in payers} == {25000}
    tax = payment_file(tmp_path / "tax.csv", "T", [(n, i, fen // 2) for n, i, fen in payers])
    bank = payment_file(
        tmp_path / "bank.csv", "B", [(n, i, fen - fen // 2) for n, i, fen in payers]
    )

    outcomes = import_both_at_once(target, [("tax", tax), ("bank", bank)])

    for code, out, err in outcomes:
        assert "database is locked" not in err
        assert code == 0, (out, err)
    assert target.value("SELECT SUM(amount_fen) FROM collection_payment") == 25000 * len(payers)
    fully_paid_not_enrolled = target.value(
        "SELECT count(*) FROM campaigns_assessment a "
        "WHERE a.payable_fen > 0 AND a.payable_fen = (SELECT SUM(p.amount_fen) "
        "  FROM collection_payment p WHERE p.resident_id = a.resident_id) "
        "AND NOT EXISTS (SELECT 1 FROM collection_enrollment e "
        "  WHERE e.resident_id = a.resident_id)"
    )
    assert fully_paid_not_enrolled == 0
    assert target.value("SELECT count(*) FROM collection_enrollment") == len(payers)
    assert (
        target.value(
            "SELECT count(*) FROM collection_suspense "
            "WHERE reason = 'partial' AND resolved_at IS NULL"
        )
        == 0
    )


def test_the_campaign_lock_is_refused_outside_a_transaction() -> None:
    with pytest.raises(RuntimeError, match="atomic"):
        lock_campaign(1)
        pass


@pytest.mark.django_db
@pytest.mark.skipif(not POSTGRES, reason="SQLite waits for its lock when the transaction begins")
@override_settings(LOCK_WAIT_SECONDS=1)
def test_the_campaign_lock_gives_up_in_chinese_while_another_import_holds_it() -> None:
    settings = connection.settings_dict
    other = psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"], autocommit=True
    )
    try:
        other.execute("SELECT pg_advisory_lock(%s::integer, 7)", [LOCK_NAMESPACE])
        started = time.monotonic()
        with pytest.raises(InputError) as refused, transaction.atomic():
            lock_campaign(7)
        assert time.monotonic() - started >= 1  # it waited LOCK_WAIT_SECONDS before giving up
        assert (refused.value.code, refused.value.message) == ("campaign_busy", BUSY_MESSAGE)
        with transaction.atomic():  # another campaign is free
            lock_campaign(8)
    finally:
        other.close()
