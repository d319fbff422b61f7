"""Time the first payment import of a campaign on PostgreSQL at growing sizes: the time per line
must stay flat (linear), as it does for the database's own loader.

    .venv/bin/python bench/generate.py --no-xlsx   # once: bench/data/ (1,000,000 residents)
    .venv/bin/python bench/payment_scaling.py      # prints a Markdown table, appends RESULTS.md

In one run, on a throwaway PostgreSQL cluster: a database is prepared once (untimed) with
`canbao init`, the county's divisions and residents, `canbao campaign open` on daligang-2020 and
`canbao campaign assess`, then ANALYZE, so that the registry's statistics are what autovacuum
leaves after the imports whatever its timing. A tax detail file is written from the assessments
(bench/collection.py's: every payer pays what is due, one in nine in two instalments). For each
size (25,000, 50,000 and 100,000 lines by default), the file's first lines are
1. loaded by `psql \\copy` into a plain table of text columns in an empty database (the floor);
2. imported by `canbao import payments --channel tax FILE --json` into a copy of the prepared
   database (CREATE DATABASE ... TEMPLATE, untimed): a fresh campaign, no payment yet.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from collection import PAYMENT_HEADER, SQL_ASSESSMENTS, export_rows, loader_floor, write_payments
from import_residents import (
    ADD_ACCOUNT,
    DATA,
    RESULTS,
    Outcome,
    PostgreSQL,
    bench_env,
    canbao_executable,
    json_note,
    machine,
    run,
    stdin_for,
)

SIZES = (25_000, 50_000, 100_000)
# Linear: the time per line of the largest size within this factor of the smallest's.
GOAL_SPREAD = 1.5
TEMPLATE = "bench_scaling_template"


def prepare(postgres: PostgreSQL, data: Path, timeout: float) -> str:
    """Prepare the database TEMPLATE; the failure, if any."""
    executable = canbao_executable()
    if executable is None:
        return "no canbao command (install it: scripts/install main)"
    url = postgres.fresh(TEMPLATE.removeprefix("bench_"))
    env = bench_env(url)
    for step in (
        ["init"],
        ADD_ACCOUNT,
        ["import", "divisions", str(data / "divisions.csv")],
        ["import", "residents", str(data / "residents.csv")],
        ["campaign", "open", "--area", "430922", "--policy", "daligang-2020"],
        ["campaign", "assess"],
    ):
        done = run([executable, *step], env=env, timeout=timeout, stdin=stdin_for(step))
        if not done.ok:
            return f"set-up: canbao {' '.join(step[:2])} {done.failure()}"
    done = run(postgres.psql_command(url, "ANALYZE"), timeout=timeout)
    return "" if done.ok else f"set-up: ANALYZE {done.failure()}"


def first_lines(source: Path, target: Path, lines: int) -> int:
    """The header and the first ``lines`` lines of a CSV file; how many there were."""
    count = 0
    with source.open(encoding="utf-8") as rows, target.open("w", encoding="utf-8") as out:
        out.write(next(rows))
        for count, line in enumerate(rows, start=1):
            if count > lines:
                return lines
            out.write(line)
    return count


def fresh_copy(postgres: PostgreSQL, label: str) -> str:
    database = f"bench_{label}"
    subprocess.run(
        postgres.psql_command(
            postgres.url,
            f"DROP DATABASE IF EXISTS {database}",
            f"CREATE DATABASE {database} TEMPLATE {TEMPLATE}",
        ),
        capture_output=True,
        check=True,
    )
    return postgres.url_of(database)


def drop(postgres: PostgreSQL, url: str) -> None:
    """Free the disk of a measured database before the next size."""
    database = url.rsplit("/", 1)[-1].split("?")[0]
    subprocess.run(
        postgres.psql_command(postgres.url, f"DROP DATABASE IF EXISTS {database}"),
        capture_output=True,
        check=False,
    )


def per_line(outcome: Outcome | None, lines: int) -> float | None:
    return outcome.seconds / lines * 1e6 if outcome is not None and outcome.ok else None


def cells(lines: int, floor: Outcome | None, canbao: Outcome) -> list[str]:
    floor_us, canbao_us = per_line(floor, lines), per_line(canbao, lines)
    if floor is None or floor_us is None:
        floor_cells = ["—", "—"]
    else:
        floor_cells = [f"{floor.seconds:.2f} s", f"{floor_us:.0f} µs"]
    if canbao_us is None:
        return [f"{lines:,}", *floor_cells, "—", "—", "—", "—", canbao.failure()]
    ratio = f"{canbao.seconds / floor.seconds:.1f}x" if floor is not None and floor.ok else "—"
    return [
        f"{lines:,}",
        *floor_cells,
        f"{canbao.seconds:.1f} s",
        f"{canbao_us:.0f} µs",
        ratio,
        f"{canbao.peak_rss_kib / 1024:.0f} MiB",
        json_note(canbao),
    ]


def measure(
    postgres: PostgreSQL, data: Path, work: Path, sizes: list[int], timeout: float
) -> tuple[list[str], list[float], str]:
    """The table's rows, the time per line of each size, and the failure if any."""
    failure = prepare(postgres, data, timeout)
    if failure:
        return [], [], failure
    executable = canbao_executable()
    assert executable is not None
    payers = work / "payers.csv"
    export_rows(postgres, postgres.url_of(TEMPLATE), SQL_ASSESSMENTS, payers)
    everything = work / "tax-detail.csv"
    available = write_payments(payers, everything)
    rows: list[str] = []
    per_line_us: list[float] = []
    for size in sizes:
        path = work / f"tax-{size}.csv"
        lines = first_lines(everything, path, size)
        if lines < size:
            return rows, per_line_us, f"the county gives only {available:,} tax lines"
        floor = loader_floor(
            postgres, f"scaling_{size}", path, len(PAYMENT_HEADER), header=True
        ).outcome
        url = fresh_copy(postgres, f"scaling_{size}")
        canbao = run(
            [executable, "import", "payments", "--channel", "tax", str(path), "--json"],
            env=bench_env(url),
            timeout=timeout,
        )
        drop(postgres, url)
        rows.append("| " + " | ".join(cells(lines, floor, canbao)) + " |")
        print(rows[-1], flush=True)
        measured = per_line(canbao, lines)
        if measured is None:
            return rows, per_line_us, "an import failed"
        per_line_us.append(measured)
    return rows, per_line_us, ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time per line of the first payment import of a campaign on PostgreSQL"
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--sizes",
        default=",".join(str(size) for size in SIZES),
        help="comma-separated numbers of tax lines",
    )
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    data: Path = args.data.resolve()
    if not (data / "residents.csv").exists():
        print(f"no {data / 'residents.csv'}: run bench/generate.py first", file=sys.stderr)
        return 2
    sizes = sorted(int(size) for size in args.sizes.split(","))
    started = datetime.now(UTC).astimezone()
    versions = [f"Python {platform.python_version()}"]
    with tempfile.TemporaryDirectory(prefix="canbao-bench.") as directory:
        postgres = PostgreSQL(Path(directory))
        try:
            failure = postgres.start() or ""
            rows: list[str] = []
            per_line_us: list[float] = []
            if not failure:
                versions.append(postgres.version())
                rows, per_line_us, failure = measure(
                    postgres, data, Path(directory), sizes, args.timeout
                )
        finally:
            postgres.stop()
    spread = per_line_us[-1] / per_line_us[0] if not failure else None
    if spread is None:
        verdict = f"{failure}."
    else:
        verdict = f"time per line, largest size / smallest: {spread:.2f}" + (
            " ✓ linear" if spread <= GOAL_SPREAD else " ✗ not linear"
        )
    manifest = data / "county.json"
    residents = (
        f"{json.loads(manifest.read_text(encoding='utf-8'))['residents']:,} residents"
        if manifest.exists()
        else str(data)
    )
    report = [
        f"## {started:%Y-%m-%d %H:%M %Z}: first payment import of a campaign on PostgreSQL,"
        " by size (issue 7)",
        "",
        f"- Machine: {machine()}",
        f"- Versions: {'; '.join(versions)}",
        f"- County: {residents}; each size is imported into a fresh copy of the assessed campaign.",
        f"- Goal: linear, the time per line of the largest size within {GOAL_SPREAD:g}x of the"
        f" smallest's. Result: {verdict}",
        "",
        "| tax lines | floor: psql `\\copy` | floor per line | canbao import payments"
        " | per line | vs floor | peak RSS | result |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
        *rows,
        "",
    ]
    text = "\n".join(report)
    print(text)
    if not args.no_write:
        with RESULTS.open("a", encoding="utf-8") as stream:
            stream.write("\n" + text + "\n")
    return 0 if spread is not None and spread <= GOAL_SPREAD else 1


if __name__ == "__main__":
    raise SystemExit(main())
