"""Time the data of a county's weekly bulletin (coverage ranked by village, the township roll-up,
special groups, units below the line) beside the bare GROUP BY that counts enrolled by village.

    .venv/bin/python bench/generate.py --no-xlsx   # once: bench/data/ (1,000,000 residents)
    .venv/bin/python bench/reports.py              # SQLite; appends bench/RESULTS.md

Preparation (untimed): a fresh database with the county's divisions, residents and rosters (the
rows with injected errors left out, so every roster goes in), `canbao campaign open` on
daligang-2020, `canbao campaign assess`, and the tax detail of bench/collection.py (every
eligible payer paying what is due over 120 days from 2019-09-01, one in nine in two parts).

Then, in one child process with the database warm, each measured `--repeat` times alternately,
the best time kept:

1. the floor: `SELECT village, COUNT(*)` of the enrollments as of the day, joined to the
   residents for their village, grouped by village (raw SQL, rows fetched);
2. the bulletin's data: ``build_bulletin`` at the policy's level (coverage of every village as of
   the day and a week before, the tasks computed from the registry, the special groups, the
   ranking, the line) and ``coverage`` by township.

And the command a clerk types, `canbao report coverage --as-of D --json`, as a child process
(start-up included). The machine's load average is recorded before and after: the figures mean
little on a busy machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from collection import export_rows, write_payments
from import_residents import (
    ADD_ACCOUNT,
    DATA,
    RESULTS,
    Database,
    PostgreSQL,
    SQLite,
    bench_env,
    canbao_executable,
    machine,
    run,
    stdin_for,
)

GOAL_SECONDS = 5.0
GOAL_RATIO = 3.0
FLOOR_SQL = """
SELECT r.village_id, COUNT(*)
FROM collection_enrollment e JOIN registry_resident r ON r.id = e.resident_id
WHERE e.campaign_id = %s AND e.enrolled_on <= %s
GROUP BY r.village_id
"""
PAYERS_SQL = (
    "SELECT a.resident_id, r.name, r.id_number, a.payable_fen FROM campaigns_assessment a "
    "JOIN registry_resident r ON r.id = a.resident_id "
    "WHERE a.eligible AND a.payable_fen > 0 ORDER BY a.resident_id"
)


def corrected_rosters(data: Path, work: Path) -> list[list[str]]:
    """`canbao import roster` command lines for the county's rosters less their faulty rows."""
    from canbao.demo.synthetic import ROSTERS

    faults: dict[str, set[int]] = {}
    for fault in json.loads((data / "county.json").read_text("utf-8"))["faults"]:
        faults.setdefault(fault["category"], set()).add(fault["row"])
    commands = []
    for spec in ROSTERS:
        source = data / f"roster-{spec.category}.csv"
        if not source.exists():
            continue
        target = work / source.name
        with (
            source.open(encoding="utf-8", newline="") as rows,
            target.open("w", encoding="utf-8", newline="") as out,
        ):
            reader, writer = csv.reader(rows), csv.writer(out)
            writer.writerow(next(reader))
            for number, row in enumerate(reader, start=2):
                if number not in faults.get(spec.category, set()):
                    writer.writerow(row)
        options = ["--category", spec.category, "--source", spec.department]
        commands.append(["import", "roster", str(target), *options])
    return commands


def prepare(database: Database, data: Path, work: Path, timeout: float) -> tuple[str, str | None]:
    """A database holding the assessed, paid county; its URL and the failure, if any."""
    executable = canbao_executable()
    assert executable is not None, "no canbao command: scripts/install main"
    url = database.fresh("reports")
    env = bench_env(url)
    steps = [
        ["init"],
        ADD_ACCOUNT,
        ["import", "divisions", str(data / "divisions.csv")],
        ["import", "residents", str(data / "residents.csv")],
        *corrected_rosters(data, work),
        ["campaign", "open", "--area", "430922", "--policy", "daligang-2020"],
        ["campaign", "assess", "--json"],
    ]
    for step in steps:
        print(f"  prepare: canbao {' '.join(step[:2])}", flush=True)
        done = run([executable, *step], env=env, timeout=timeout, stdin=stdin_for(step))
        if not done.ok:
            return url, f"canbao {' '.join(step[:2])}: {done.failure()}"
    payers = work / "payers.csv"
    export_rows(database, url, PAYERS_SQL, payers)
    payments = work / "tax-detail.csv"
    write_payments(payers, payments)
    print("  prepare: canbao import payments", flush=True)
    done = run(
        [executable, "import", "payments", "--channel", "tax", str(payments), "--json"],
        env=env,
        timeout=timeout,
    )
    return url, None if done.ok else f"canbao import payments: {done.failure()}"


def measure(as_of: date, repeat: int) -> dict[str, object]:
    """In this process (DATABASE_URL set): the floor and the bulletin's data, best of `repeat`."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "canbao.settings")
    import django

    django.setup()
    from django.db import connection

    from canbao.campaigns.models import Campaign
    from canbao.campaigns.selectors import campaign_policy
    from canbao.reports.coverage import coverage
    from canbao.reports.documents.bulletin import build_bulletin

    campaign = Campaign.objects.get()
    level = campaign_policy(campaign).targets.level

    def floor() -> int:
        with connection.cursor() as cursor:
            cursor.execute(FLOOR_SQL, [campaign.pk, as_of])
            return sum(count for _, count in cursor.fetchall())

    def bulletin() -> tuple[int, int]:
        report = build_bulletin(campaign=campaign, as_of=as_of, level=level).report
        return len(report.units), report.total.enrolled

    def townships() -> int:
        return len(coverage(campaign=campaign, as_of=as_of, level="township").units)

    floor()  # warm the cache for all
    timings: dict[str, list[float]] = {"floor": [], "bulletin": [], "townships": []}
    for _ in range(repeat):
        started = time.perf_counter()
        enrolled = floor()
        timings["floor"].append(time.perf_counter() - started)
        started = time.perf_counter()
        units, total = bulletin()
        timings["bulletin"].append(time.perf_counter() - started)
        assert total == enrolled, (total, enrolled)
        started = time.perf_counter()
        towns = townships()
        timings["townships"].append(time.perf_counter() - started)
    return {**timings, "units": units, "towns": towns, "enrolled": enrolled, "level": level}


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def bench_database(
    database: Database, data: Path, work: Path, as_of: date, repeat: int, timeout: float
) -> list[str]:
    url, failure = prepare(database, data, work, timeout)
    if failure:
        return [f"| {database.name} | set-up failed: {failure} | | | | | |"]
    env = {**os.environ, "DATABASE_URL": url}
    before = load()
    child = run(
        [
            sys.executable,
            str(Path(__file__)),
            "--measure",
            as_of.isoformat(),
            "--repeat",
            str(repeat),
        ],
        env=env,
        timeout=timeout,
    )
    executable = canbao_executable()
    assert executable is not None
    command = run(
        [executable, "report", "coverage", "--as-of", as_of.isoformat(), "--json"],
        env=env,
        timeout=timeout,
    )
    after = load()
    if not child.ok:
        return [f"| {database.name} | measurement failed: {child.failure()} | | | | | |"]
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    floor, best = min(figures["floor"]), min(figures["bulletin"])
    ratio = best / floor
    goal = "✓" if best <= GOAL_SECONDS and ratio <= GOAL_RATIO else "✗"

    def listed(key: str) -> str:
        return ", ".join(f"{s:.2f}" for s in figures[key])

    cli = f"{command.seconds:.1f} s" if command.ok else command.failure()
    what = (
        f"{figures['units']} {figures['level']}s, {figures['enrolled']:,} enrolled as of {as_of};"
        f" load {before} → {after}"
    )
    towns = f"{min(figures['townships']):.2f} s ({figures['towns']} townships)"
    return [
        f"| {database.name} | {floor:.2f} s ({listed('floor')})"
        f" | {best:.2f} s ({listed('bulletin')}) | {ratio:.2f}x {goal} | {towns} | {cli} | {what} |"
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark of the bulletin's coverage data")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--databases", default="sqlite", help="sqlite, postgres or both")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2019, 11, 30))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--measure", type=date.fromisoformat, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure is not None:
        print(json.dumps(measure(args.measure, args.repeat)))
        return 0
    data: Path = args.data.resolve()
    if not (data / "residents.csv").exists():
        print(f"no {data / 'residents.csv'}: run bench/generate.py first", file=sys.stderr)
        return 2
    wanted = [d.strip().lower() for d in args.databases.split(",")]
    started = datetime.now(UTC).astimezone()
    lines: list[str] = []
    versions = [f"Python {platform.python_version()}"]
    with tempfile.TemporaryDirectory(prefix="canbao-bench.") as directory:
        work = Path(directory)
        if "sqlite" in wanted:
            sqlite = SQLite(work)
            versions.append(sqlite.version())
            lines += bench_database(sqlite, data, work, args.as_of, args.repeat, args.timeout)
        if "postgres" in wanted:
            postgres = PostgreSQL(work)
            try:
                error = postgres.start()
                if error:
                    lines.append(f"| PostgreSQL | start failed: {error} | | | | | |")
                else:
                    versions.append(postgres.version())
                    lines += bench_database(
                        postgres, data, work, args.as_of, args.repeat, args.timeout
                    )
            finally:
                postgres.stop()
    report = [
        f"## {started:%Y-%m-%d %H:%M %Z}: the bulletin's data (issue 9) beside its floor",
        "",
        f"- Machine: {machine()}",
        f"- Versions: {'; '.join(versions)}",
        f"- Goal: under {GOAL_SECONDS:.0f} s on SQLite and within {GOAL_RATIO:.0f}x of the floor,"
        " measured in the same process, best of the runs in brackets.",
        "- Load average (1 / 5 / 15 min) before and after the measurement is in the last column.",
        "",
        "| database | floor: enrolled by village (GROUP BY) | bulletin data (policy level)"
        " | vs floor | coverage by township | `canbao report coverage --json` | what |",
        "|---|---:|---:|---:|---:|---:|---|",
        *lines,
        "",
    ]
    text = "\n".join(report)
    print(text)
    if not args.no_write:
        with RESULTS.open("a", encoding="utf-8") as stream:
            stream.write("\n" + text + "\n")
    return 0 if all("failed" not in line for line in lines) else 1


if __name__ == "__main__":
    raise SystemExit(main())
