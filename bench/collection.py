"""Time `canbao campaign assess` and `canbao import payments` beside their raw floors, on SQLite
and PostgreSQL.

    .venv/bin/python bench/generate.py --no-xlsx   # once: bench/data/ (1,000,000 residents)
    .venv/bin/python bench/collection.py           # prints a Markdown table, appends RESULTS.md

For each database, in one run: a fresh database is prepared (untimed) with `canbao init`, the
imports of the county's divisions and residents and `canbao campaign open` on daligang-2020;
then `canbao campaign assess --json` is timed. Its floor is the database's own loader reading a
CSV of the same assessment rows (exported after the run) into a plain table. A tax detail file is
written from the assessments (every eligible payer paying what is due, one in nine in two
instalments, about 1,000,000 lines), and `canbao import payments --channel tax FILE --json` is
timed beside the loader reading that same file.
"""

from __future__ import annotations

import argparse
import csv
import platform
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from import_residents import (
    ADD_ACCOUNT,
    DATA,
    RESULTS,
    Database,
    PostgreSQL,
    Row,
    SQLite,
    bench_env,
    canbao_executable,
    json_note,
    machine,
    run,
    stdin_for,
    table,
)

ASSESSMENT_COLUMNS = (
    "resident_id",
    "eligible",
    "refusal_code",
    "attribute",
    "personal_fen",
    "subsidy_fen",
    "payable_fen",
    "pending",
    "facts_sha256",
)
PAYMENT_HEADER = (
    "缴费日期",
    "交易流水号",
    "姓名",
    "公民身份号码",
    "金额（分）",
    "缴费渠道",
    "银行",
)
SQL_ASSESSMENTS = (
    "SELECT a.resident_id, r.name, r.id_number, a.payable_fen FROM campaigns_assessment a "
    "JOIN registry_resident r ON r.id = a.resident_id "
    "WHERE a.eligible AND a.payable_fen > 0 ORDER BY a.resident_id"
)


def export_rows(database: Database, url: str, sql: str, path: Path) -> int:
    """Write a query's rows to a CSV (untimed preparation), returning the count."""
    if isinstance(database, PostgreSQL):
        copy = f"\\copy ({sql}) TO '{path}' WITH (FORMAT csv)"
        subprocess.run(database.psql_command(url, copy), check=True, capture_output=True)
        with path.open(encoding="utf-8") as stream:
            return sum(1 for _ in stream)
    with (
        sqlite3.connect(url.removeprefix("sqlite:///")) as connection,
        path.open("w", encoding="utf-8", newline="") as stream,
    ):
        writer = csv.writer(stream)
        count = 0
        for row in connection.execute(sql):
            writer.writerow(row)
            count += 1
        return count


def write_payments(source: Path, target: Path) -> int:
    """A tax bureau's detail file: each payer pays what is due, one in nine in two parts."""
    methods = ("手机银行", "微信", "支付宝", "POS", "银行柜台")
    start = date(2019, 9, 1)
    lines = 0
    with (
        source.open(encoding="utf-8") as rows,
        target.open("w", encoding="utf-8", newline="") as out,
    ):
        writer = csv.writer(out)
        writer.writerow(PAYMENT_HEADER)
        for number, (resident_id, name, id_number, payable) in enumerate(csv.reader(rows)):
            day = (start + timedelta(days=number % 120)).isoformat()
            method = methods[number % len(methods)]
            due = int(payable)
            parts = [due // 2, due - due // 2] if number % 9 == 0 else [due]
            for part, fen in enumerate(parts):
                key = f"T{resident_id}-{part}"
                writer.writerow((day, key, name, id_number, fen, method, "农商银行"))
                lines += 1
    return lines


def loader_floor(database: Database, label: str, path: Path, columns: int, header: bool) -> Row:
    """The database's own loader reading `path` into a plain table of text columns."""
    names = ", ".join(f"c{i} text" for i in range(columns))
    url = database.fresh(f"floor_{label}")
    if isinstance(database, PostgreSQL):
        what = "floor: psql `\\copy`"
        copy = f"\\copy plain FROM '{path}' WITH (FORMAT csv, HEADER {str(header).lower()})"
        outcome = run(database.psql_command(url, f"CREATE TABLE plain ({names})", copy))
    else:
        what = "floor: sqlite3 `.import --csv`"
        skip = "--skip 1 " if header else ""
        outcome = run(
            [
                "sqlite3",
                url.removeprefix("sqlite:///"),
                f"CREATE TABLE plain ({names})",
                f".import --csv {skip}{path} plain",
            ]
        )
    note = f"{database.count(url, 'plain')} rows" if outcome.ok else outcome.failure()
    return Row(database.name, what, label, outcome, note)


def seconds_of(row: Row) -> float | None:
    return row.outcome.seconds if row.outcome is not None and row.ok else None


def bench_database(database: Database, data: Path, work: Path, timeout: float) -> list[Row]:
    executable = canbao_executable()
    assert executable is not None, "no canbao command: scripts/install main"
    url = database.fresh("collection")
    env = bench_env(url)
    prepare = [
        ["init"],
        ADD_ACCOUNT,
        ["import", "divisions", str(data / "divisions.csv")],
        ["import", "residents", str(data / "residents.csv")],
        ["campaign", "open", "--area", "430922", "--policy", "daligang-2020"],
    ]
    for step in prepare:
        done = run([executable, *step], env=env, timeout=timeout, stdin=stdin_for(step))
        if not done.ok:
            return [
                Row(
                    database.name, f"set-up: canbao {' '.join(step[:2])}", "—", done, done.failure()
                )
            ]

    assess = run([executable, "campaign", "assess", "--json"], env=env, timeout=timeout)
    assess_row = Row(
        database.name,
        "canbao campaign assess",
        "assessments",
        assess,
        json_note(assess) if assess.ok else assess.failure(),
    )
    assessments = work / f"{database.name}-assessments.csv"
    export_rows(
        database,
        url,
        f"SELECT {', '.join(ASSESSMENT_COLUMNS)} FROM campaigns_assessment",
        assessments,
    )
    assess_floor = loader_floor(
        database, "assessments", assessments, len(ASSESSMENT_COLUMNS), header=False
    )
    assess_row.floor_seconds = seconds_of(assess_floor)

    payers = work / f"{database.name}-payers.csv"
    export_rows(database, url, SQL_ASSESSMENTS, payers)
    payments = work / f"{database.name}-tax-detail.csv"
    lines = write_payments(payers, payments)
    pay_floor = loader_floor(database, "payments", payments, len(PAYMENT_HEADER), header=True)
    pay = run(
        [executable, "import", "payments", "--channel", "tax", str(payments), "--json"],
        env=env,
        timeout=timeout,
    )
    pay_row = Row(
        database.name,
        f"canbao import payments ({lines:,} lines)",
        "payments",
        pay,
        json_note(pay) if pay.ok else pay.failure(),
    )
    pay_row.floor_seconds = seconds_of(pay_floor)
    rows = [assess_floor, assess_row, pay_floor, pay_row]
    for row in rows:
        print(f"  {' | '.join(row.cells())}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark of assessment and payment ingestion")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    data: Path = args.data.resolve()
    if not (data / "residents.csv").exists():
        print(f"no {data / 'residents.csv'}: run bench/generate.py first", file=sys.stderr)
        return 2
    wanted = [d.strip().lower() for d in args.databases.split(",")]
    started = datetime.now(UTC).astimezone()
    rows: list[Row] = []
    versions = [f"Python {platform.python_version()}"]
    with tempfile.TemporaryDirectory(prefix="canbao-bench.") as directory:
        work = Path(directory)
        if "sqlite" in wanted:
            sqlite = SQLite(work)
            versions.append(sqlite.version())
            rows += bench_database(sqlite, data, work, args.timeout)
        if "postgres" in wanted:
            postgres = PostgreSQL(work)
            try:
                error = postgres.start()
                if error:
                    rows.append(Row("PostgreSQL", "start the server", "—", None, error))
                else:
                    versions.append(postgres.version())
                    rows += bench_database(postgres, data, work, args.timeout)
            finally:
                postgres.stop()
    report = [
        f"## {started:%Y-%m-%d %H:%M %Z}: collection (issue 4) — assess the county, ingest its"
        " payments",
        "",
        f"- Machine: {machine()}",
        f"- Versions: {'; '.join(versions)}",
        "- Goal: within 3x of the floor (the database's own loader reading the same rows).",
        "",
        *table(rows),
        "",
    ]
    text = "\n".join(report)
    print(text)
    if not args.no_write:
        with RESULTS.open("a", encoding="utf-8") as stream:
            stream.write("\n" + text + "\n")
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
