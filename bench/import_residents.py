"""Time `canbao import residents` beside the raw floor of the same file, on SQLite and PostgreSQL.

    .venv/bin/python bench/generate.py            # once: bench/data/ (1,000,000 residents)
    .venv/bin/python bench/import_residents.py    # prints a Markdown table, appends RESULTS.md

For each database, in one run: the floor (sqlite3's `.import --csv` / psql's `\\copy` of
residents.csv into a plain table of 13 text columns), then `canbao import residents FILE --json`
from the CSV and from the xlsx, each into a fresh database prepared (untimed) with `canbao init`
and `canbao import divisions`. Every command is a child process; its wall time and peak RSS
(`wait4`'s ru_maxrss) are recorded. A command that is missing or fails is recorded as such.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
RESULTS = BENCH / "RESULTS.md"
GOAL_RATIO = 3.0
GOAL_RSS_KIB = 1024 * 1024  # 1 GiB
RESIDENT_TABLE = "registry_resident"


@dataclass
class Outcome:
    """One child process: how long it took, its peak RSS, how it ended."""

    seconds: float
    peak_rss_kib: int
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def failure(self) -> str:
        text = (self.stderr.strip() or self.stdout.strip()).splitlines()
        tail = " / ".join(text[-3:]) if text else "no output"
        return f"failed (exit {self.returncode}): {tail[:300]}"


@dataclass
class Row:
    database: str
    what: str
    source: str  # "CSV" | "xlsx"
    outcome: Outcome | None
    note: str
    floor_seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is not None and self.outcome.ok

    def cells(self) -> list[str]:
        if self.outcome is None or not self.outcome.ok:
            return [self.database, self.what, self.source, "—", "—", "—", self.note]
        seconds = self.outcome.seconds
        ratio = "—"
        if self.floor_seconds:
            value = seconds / self.floor_seconds
            ratio = f"{value:.2f}x" + (" ✓" if value <= GOAL_RATIO else " ✗")
        rss = self.outcome.peak_rss_kib
        rss_text = f"{rss / 1024:.0f} MiB" + (" ✓" if rss <= GOAL_RSS_KIB else " ✗")
        return [
            self.database,
            self.what,
            self.source,
            f"{seconds:.1f} s",
            rss_text,
            ratio,
            self.note,
        ]


# The county administrator every bench command acts as (CANBAO_AS), made right after
# `canbao init` by the step ADD_ACCOUNT, which reads its password from stdin (``stdin_for``).
BENCH_ACCOUNT = "bench"
ADD_ACCOUNT = ["account", "add", BENCH_ACCOUNT, "--role", "county_admin", "--password-stdin"]


def bench_env(url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "CANBAO_AS": BENCH_ACCOUNT}


def stdin_for(step: Sequence[str]) -> str | None:
    return "canbao-bench-2026\n" if list(step) == ADD_ACCOUNT else None


def run(
    command: Sequence[str | Path],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 3600.0,
    stdin: str | None = None,
) -> Outcome:
    """Run a command as a child, timing it and reading its own peak RSS from wait4."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        try:
            process = subprocess.Popen(
                [str(part) for part in command],
                stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                stdout=out,
                stderr=err,
                env=env,
                cwd=ROOT,
            )
        except OSError as error:
            return Outcome(0.0, 0, 127, "", f"cannot start {command[0]}: {error}")
        if process.stdin is not None:
            process.stdin.write((stdin or "").encode())
            process.stdin.close()
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Outcome(
            seconds,
            usage.ru_maxrss,  # KiB on Linux
            process.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
        )


def canbao_executable() -> Path | None:
    beside = Path(sys.executable).parent / "canbao"
    if beside.exists():
        return beside
    found = shutil.which("canbao")
    return Path(found) if found else None


def header_of(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return next(csv.reader(stream))


def plain_table_sql(columns: list[str]) -> str:
    quoted = ", ".join('"' + name.replace('"', '""') + '" text' for name in columns)
    return f"CREATE TABLE residents ({quoted})"


def json_note(outcome: Outcome) -> str:
    try:
        result = json.loads(outcome.stdout)
    except ValueError:
        return "output is not JSON"
    if isinstance(result, dict):
        keep = {k: v for k, v in result.items() if isinstance(v, int) and not isinstance(v, bool)}
        return json.dumps(keep, ensure_ascii=False)[:200]
    return json.dumps(result, ensure_ascii=False)[:200]


# --- the databases ------------------------------------------------------------------------------


class Database:
    name = ""

    def fresh(self, label: str) -> str:
        """The DATABASE_URL of a new, empty database."""
        raise NotImplementedError

    def count(self, url: str, table: str) -> int | None:
        raise NotImplementedError

    def floor(self, csv_path: Path, columns: list[str]) -> Row:
        raise NotImplementedError

    def version(self) -> str:
        raise NotImplementedError


class SQLite(Database):
    name = "SQLite"

    def __init__(self, work: Path) -> None:
        self.work = work

    def fresh(self, label: str) -> str:
        path = self.work / f"{label}.sqlite3"
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"

    def count(self, url: str, table: str) -> int | None:
        try:
            with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
                value = connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        except sqlite3.Error:
            return None
        return int(value)

    def floor(self, csv_path: Path, columns: list[str]) -> Row:
        what = "floor: sqlite3 `.import --csv`"
        cli = shutil.which("sqlite3")
        if cli is None:
            return Row(
                self.name,
                what,
                "CSV",
                None,
                "sqlite3 is not installed (apt-get install -y sqlite3)",
            )
        url = self.fresh("floor")
        path = url.removeprefix("sqlite:///")
        outcome = run(
            [cli, path, plain_table_sql(columns), f".import --csv --skip 1 {csv_path} residents"]
        )
        if not outcome.ok:
            return Row(self.name, what, "CSV", outcome, outcome.failure())
        return Row(self.name, what, "CSV", outcome, f"{self.count(url, 'residents')} rows")

    def version(self) -> str:
        cli = shutil.which("sqlite3")
        cli_version = "not installed"
        if cli is not None:
            cli_version = subprocess.run(
                [cli, "--version"], capture_output=True, text=True, check=False
            ).stdout.split(" ")[0]
        return f"SQLite {sqlite3.sqlite_version} (Python) / {cli_version} (sqlite3 CLI)"


class PostgreSQL(Database):
    name = "PostgreSQL"

    def __init__(self, work: Path) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="canbao-bench-pg."))
        self.work = work
        self.url = ""
        self.psql = shutil.which("psql") or "/usr/bin/psql"

    def start(self) -> str | None:
        """Start the throwaway cluster; the error, if any."""
        started = subprocess.run(
            [str(ROOT / "scripts" / "postgres"), str(self.dir)],
            capture_output=True,
            text=True,
            check=False,
        )
        if started.returncode != 0:
            return f"cannot start PostgreSQL: {started.stderr.strip()[-300:]}"
        self.url = started.stdout.strip().splitlines()[-1]
        return None

    def stop(self) -> None:
        subprocess.run(
            [str(ROOT / "scripts" / "postgres"), "--stop", str(self.dir)],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.dir, ignore_errors=True)

    def url_of(self, database: str) -> str:
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path=f"/{database}"))

    def psql_command(self, url: str, *commands: str) -> list[str]:
        command = [self.psql, url, "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        for text in commands:
            command += ["-c", text]
        return command

    def fresh(self, label: str) -> str:
        database = f"bench_{label}"
        subprocess.run(
            self.psql_command(
                self.url, f"DROP DATABASE IF EXISTS {database}", f"CREATE DATABASE {database}"
            ),
            capture_output=True,
            check=True,
        )
        return self.url_of(database)

    def count(self, url: str, table: str) -> int | None:
        result = subprocess.run(
            [self.psql, url, "-X", "-tA", "-c", f'SELECT count(*) FROM "{table}"'],
            capture_output=True,
            text=True,
            check=False,
        )
        return int(result.stdout.strip()) if result.returncode == 0 else None

    def floor(self, csv_path: Path, columns: list[str]) -> Row:
        what = "floor: psql `\\copy`"
        url = self.fresh("floor")
        copy = f"\\copy residents FROM '{csv_path}' WITH (FORMAT csv, HEADER true)"
        outcome = run(self.psql_command(url, plain_table_sql(columns), copy))
        if not outcome.ok:
            return Row(self.name, what, "CSV", outcome, outcome.failure())
        return Row(self.name, what, "CSV", outcome, f"{self.count(url, 'residents')} rows")

    def version(self) -> str:
        result = subprocess.run(
            [self.psql, self.url, "-X", "-tA", "-c", "SHOW server_version"],
            capture_output=True,
            text=True,
            check=False,
        )
        return f"PostgreSQL {result.stdout.strip() or '?'}"


# --- the runs -----------------------------------------------------------------------------------


def canbao_run(database: Database, source: str, path: Path, divisions: Path, timeout: float) -> Row:
    what = "canbao import residents"
    executable = canbao_executable()
    if executable is None:
        return Row(
            database.name,
            what,
            source,
            None,
            "no canbao command (install it: scripts/install main)",
        )
    if not path.exists():
        return Row(
            database.name, what, source, None, f"no {path.name} (run bench/generate.py first)"
        )
    url = database.fresh(f"canbao_{source.lower()}")
    env = bench_env(url)
    for step in (["init"], ADD_ACCOUNT, ["import", "divisions", str(divisions)]):
        prepared = run([executable, *step], env=env, timeout=timeout, stdin=stdin_for(step))
        if not prepared.ok:
            note = f"set-up step canbao {' '.join(step[:2])} {prepared.failure()}"
            return Row(database.name, what, source, None, note)
    outcome = run(
        [executable, "import", "residents", str(path), "--json"], env=env, timeout=timeout
    )
    if not outcome.ok:
        return Row(database.name, what, source, outcome, outcome.failure())
    count = database.count(url, RESIDENT_TABLE)
    note = json_note(outcome)
    if count is not None:
        note = f"{RESIDENT_TABLE}: {count} rows; {note}"
    return Row(database.name, what, source, outcome, note)


def bench_database(database: Database, data: Path, sources: list[str], timeout: float) -> list[Row]:
    csv_path = data / "residents.csv"
    rows = [database.floor(csv_path, header_of(csv_path))]
    print(f"  {' | '.join(rows[0].cells())}", flush=True)
    floor = rows[0].outcome.seconds if rows[0].ok and rows[0].outcome else None
    files = {"CSV": csv_path, "xlsx": data / "residents.xlsx"}
    for source in sources:
        row = canbao_run(database, source, files[source], data / "divisions.csv", timeout)
        row.floor_seconds = floor
        rows.append(row)
        print(f"  {' | '.join(row.cells())}", flush=True)
    return rows


def machine() -> str:
    model = "?"
    memory = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), {memory} RAM, {platform.platform()}"


def table(rows: list[Row]) -> list[str]:
    lines = [
        "| database | what | input | wall time | peak RSS | vs floor | result |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for row in rows:
        cells = [cell.replace("|", "\\|") for cell in row.cells()]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark of canbao import residents against the databases' own loaders"
    )
    parser.add_argument(
        "--data", type=Path, default=DATA, help="output directory of bench/generate.py"
    )
    parser.add_argument(
        "--databases",
        default="sqlite,postgres",
        help="comma-separated: sqlite, postgres (default both)",
    )
    parser.add_argument(
        "--sources", default="csv,xlsx", help="comma-separated: csv, xlsx (default both)"
    )
    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="timeout per command, seconds"
    )
    parser.add_argument("--no-write", action="store_true", help="do not append to bench/RESULTS.md")
    args = parser.parse_args(argv)

    data: Path = args.data.resolve()
    if not (data / "residents.csv").exists():
        print(
            f"no {data / 'residents.csv'}: run .venv/bin/python bench/generate.py first",
            file=sys.stderr,
        )
        return 2
    sources = [{"csv": "CSV", "xlsx": "xlsx"}[s.strip().lower()] for s in args.sources.split(",")]
    wanted = [d.strip().lower() for d in args.databases.split(",")]
    started = datetime.now(UTC).astimezone()
    rows: list[Row] = []
    versions = [f"Python {platform.python_version()}"]
    with tempfile.TemporaryDirectory(prefix="canbao-bench.") as work:
        if "sqlite" in wanted:
            print("SQLite …", flush=True)
            sqlite = SQLite(Path(work))
            versions.append(sqlite.version())
            rows += bench_database(sqlite, data, sources, args.timeout)
        if "postgres" in wanted:
            print("PostgreSQL …", flush=True)
            postgres = PostgreSQL(Path(work))
            try:
                error = postgres.start()
                if error:
                    rows.append(Row("PostgreSQL", "start the server", "—", None, error))
                else:
                    versions.append(postgres.version())
                    rows += bench_database(postgres, data, sources, args.timeout)
            finally:
                postgres.stop()

    size = {
        name: (data / name).stat().st_size
        for name in ("residents.csv", "residents.xlsx")
        if (data / name).exists()
    }
    residents = "?"
    manifest = data / "county.json"
    if manifest.exists():
        residents = f"{json.loads(manifest.read_text(encoding='utf-8'))['residents']:,}"
    report = [
        f"## {started:%Y-%m-%d %H:%M %Z}: {residents} residents",
        "",
        f"- Machine: {machine()}",
        f"- Versions: {'; '.join(versions)}",
        "- Files: " + ", ".join(f"{name} {n / 2**20:.1f} MiB" for name, n in size.items()),
        f"- Goal: within {GOAL_RATIO:g}x of the floor, under 1 GiB peak RSS. Peak RSS is the"
        " measured child process's own (the PostgreSQL server's memory is not included); the"
        " xlsx runs are compared with the CSV floor of the same database.",
        "",
        *table(rows),
        "",
    ]
    text = "\n".join(report)
    print()
    print(text)
    if not args.no_write:
        if not RESULTS.exists():
            RESULTS.write_text(
                "# Benchmark results: importing the resident registry\n\n"
                "Appended by `bench/import_residents.py`; the newest is last.\n\n",
                encoding="utf-8",
            )
        with RESULTS.open("a", encoding="utf-8") as stream:
            stream.write(text + "\n")
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
