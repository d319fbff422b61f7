"""Latency of the pages under concurrent clients on the 1,000,000-resident county, beside the bare
indexed SELECT of a resident.

    .venv/bin/python bench/generate.py --no-xlsx   # once: bench/data/ (1,000,000 residents)
    .venv/bin/python bench/web_latency.py          # SQLite; appends bench/RESULTS.md

The county is built once and kept in bench/data/web-latency.sqlite3 (``--rebuild`` builds it
again): `canbao init`, the divisions, residents and corrected rosters, `canbao campaign open` on
daligang-2020, `canbao campaign assess`, and the tax detail of bench/collection.py (every
eligible payer paying what is due, one in nine in two parts). A run migrates it (`canbao init`),
adds the benchmark's accounts (a county clerk, the collector of the largest village) and serves
it with `canbao serve` on a free local port, the self-query's limit per address raised with
CANBAO_SELF_QUERY_RATE. Then, for each target in turn, ``--clients`` threads, each with its own
keep-alive connection (and its own session, logged in beforehand, untimed), send requests back
to back (or with an exponential think time of mean ``--think`` seconds) for ``--seconds``
after ``--warmup`` seconds:

1. a resident's page, ``GET /residents/<pk>/``, as the county clerk (random residents of the
   county) and as the village collector (random residents of the village): each view writes an
   audit row and the session;
2. the self-query, ``POST /query/`` with a random resident's ID number and name (their
   answer, not "not found", is checked);
3. the floor: ``SELECT * FROM registry_resident WHERE id_type = %s AND id_number = %s`` (the
   registry's unique index) of random residents from as many threads, each with its own
   connection, in a child process on the same database.

Each target reports the requests done, the failures (any status but 200, a self-query that
found nobody), the throughput, and the latency's p50, p99 and maximum; the load average before
and after. The client threads run on the same machine as the server.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from collection import export_rows, write_payments
from import_residents import (
    DATA,
    RESULTS,
    ROOT,
    Database,
    Outcome,
    PostgreSQL,
    SQLite,
    canbao_executable,
    machine,
    run,
)
from reports import PAYERS_SQL, corrected_rosters, load

GOAL_P99_MS = 50.0
CACHE_LABEL = "web-latency"
ADMIN, CLERK, COLLECTOR = "bench-admin", "bench-clerk", "bench-collector"
PASSWORD = "Latency-bench-2026"
SAMPLE = 5000  # residents drawn for each target
SERVE_WORKERS = {"sqlite": 1, "postgres": 2}  # canbao serve's default processes
NOT_FOUND = "未查到与该身份证号码和姓名相符的参保信息"
# The resident's row through the registry's unique index (id_type, id_number).
FLOOR_SQL = "SELECT * FROM registry_resident WHERE id_type = %s AND id_number = %s"


# --- the county, built once ----------------------------------------------------------------------


def build(url: str, data: Path, timeout: float, database: Database | None = None) -> str | None:
    """The assessed and paid county in the database at `url` (SQLite, or `database`'s
    PostgreSQL); the failure, if any."""
    executable = canbao_executable()
    assert executable is not None, "no canbao command: scripts/install main"
    env = {**os.environ, "DATABASE_URL": url, "CANBAO_AS": ADMIN}
    with tempfile.TemporaryDirectory(prefix="canbao-bench.") as directory:
        work = Path(directory)
        steps = [
            ["import", "divisions", str(data / "divisions.csv")],
            ["import", "residents", str(data / "residents.csv")],
            *corrected_rosters(data, work),
            ["campaign", "open", "--area", "430922", "--policy", "daligang-2020"],
            ["campaign", "assess", "--json"],
        ]
        for step in [["init"], None, *steps]:
            if step is None:  # the accounts, once the schema is there
                done = child(url, "--setup", timeout=timeout)
            else:
                print(f"  build: canbao {' '.join(step[:2])}", flush=True)
                done = run([executable, *step], env=env, timeout=timeout)
            if not done.ok:
                return f"{' '.join(step[:2]) if step else 'accounts'}: {done.failure()}"
        payers = work / "payers.csv"
        export_rows(database or SQLite(work), url, PAYERS_SQL, payers)
        payments = work / "tax-detail.csv"
        write_payments(payers, payments)
        print("  build: canbao import payments", flush=True)
        done = run(
            [executable, "import", "payments", "--channel", "tax", str(payments), "--json"],
            env=env,
            timeout=timeout,
        )
    return None if done.ok else f"import payments: {done.failure()}"


def child(url: str, *args: str, timeout: float = 3600.0) -> Outcome:
    """This script in a child process with Django set up on `url` (``--setup``, ``--floor``)."""
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "canbao.settings"}
    return run([sys.executable, str(Path(__file__)), *args], env=env, timeout=timeout)


def setup() -> dict[str, object]:
    """(Child, Django set up.) The benchmark's accounts, created when missing, and the residents
    each target draws from."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from canbao.accounts.models import Role
    from canbao.accounts.services import create_account
    from canbao.regions.models import Division
    from canbao.registry.models import Resident

    users = get_user_model().objects
    if not users.filter(username=ADMIN).exists():
        create_account(username=ADMIN, password=PASSWORD, role=Role.COUNTY_ADMIN, actor=None)
    admin = users.get(username=ADMIN)
    village = (
        Division.objects.filter(level=Division.Level.VILLAGE)
        .annotate(people=Count("residents"))
        .order_by("-people", "code")
        .first()
    )
    wanted = [(CLERK, Role.COUNTY_CLERK, "")]
    if village is not None:
        wanted.append((COLLECTOR, Role.VILLAGE_COLLECTOR, village.code))
    for username, role, division in wanted:
        if not users.filter(username=username).exists():
            create_account(
                username=username,
                password=PASSWORD,
                role=role,
                division_code=division,
                actor=admin,
            )
    if village is None:
        return {}
    residents = Resident.objects.order_by("?")
    return {
        "village": f"{village.name}（{village.code}）",
        "county_pks": list(residents.values_list("pk", flat=True)[:SAMPLE]),
        "village_pks": list(
            residents.filter(village=village).values_list("pk", flat=True)[:SAMPLE]
        ),
        "people": [list(p) for p in residents.values_list("id_number", "name")[:SAMPLE]],
        "residents": Resident.objects.count(),
    }


# --- the load -------------------------------------------------------------------------------------


@dataclass
class Measured:
    what: str
    latencies: list[float]  # seconds, of the requests that ended inside the measured window
    failures: int
    seconds: float

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0

    def cells(self) -> list[str]:
        if not self.latencies:
            return [self.what, "0", str(self.failures), "—", "—", "—", "—"]
        p99 = self.percentile(0.99) * 1000
        goal = " ✓" if p99 < GOAL_P99_MS else " ✗"
        return [
            self.what,
            f"{len(self.latencies):,}",
            f"{self.failures:,}",
            f"{len(self.latencies) / self.seconds:,.0f}/s",
            f"{self.percentile(0.5) * 1000:.2f} ms",
            f"{p99:.2f} ms{goal}",
            f"{max(self.latencies) * 1000:.0f} ms",
        ]


def drive(
    what: str,
    clients: int,
    start: Callable[[int], Callable[[], bool]],
    *,
    warmup: float,
    seconds: float,
    think: float,
) -> Measured:
    """`clients` threads, each calling the request that ``start(i)`` prepares (untimed) until the
    time is up; the requests that end inside the measured window are counted."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures = [0] * clients
    window: list[float] = []

    def open_window() -> None:  # once every client is ready
        now = time.perf_counter()
        window.extend((now + warmup, now + warmup + seconds))

    ready = threading.Barrier(clients + 1, action=open_window)

    def client(number: int) -> None:
        try:
            request = start(number)
        except BaseException:
            ready.abort()
            raise
        ready.wait()
        begin, end = window
        mine = latencies[number]
        while (now := time.perf_counter()) < end:
            try:
                ok = request()
            except (OSError, http.client.HTTPException):  # a timeout, a dropped connection
                ok = False
            done = time.perf_counter()
            if begin <= done <= end:
                mine.append(done - now)
                failures[number] += not ok
            if think:
                time.sleep(random.expovariate(1 / think))

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        raise SystemExit(f"{what}: a client could not start (see above)") from None
    for thread in threads:
        thread.join()
    return Measured(what, [t for mine in latencies for t in mine], sum(failures), seconds)


class Browser:
    """One client: a keep-alive connection and its cookies."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def send(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = urlencode(form) if form is not None else None
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body, headers)
                response = self.connection.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (http.client.RemoteDisconnected, ConnectionError):
                # The server closed an idle keep-alive connection: open a new one.
                self.connection.close()
                if attempt == 2:
                    raise
            except (OSError, http.client.HTTPException):
                self.connection.close()  # a timeout: the next request opens a new connection
                raise
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name] = value
        return response.status, text

    def form_token(self, path: str) -> str:
        status, page = self.send("GET", path)
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert status == 200 and found, f"GET {path}: {status}"
        return found.group(1)

    def log_in(self, username: str) -> None:
        token = self.form_token("/login/")
        form = {"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD}
        status, _ = self.send("POST", "/login/", form)
        assert status == 302, f"log in as {username}: {status}"


def page_target(port: int, username: str, pks: list[int]) -> Callable[[int], Callable[[], bool]]:
    def start(_number: int) -> Callable[[], bool]:
        browser = Browser(port)
        browser.log_in(username)

        def request() -> bool:
            return browser.send("GET", f"/residents/{random.choice(pks)}/")[0] == 200

        return request

    return start


def query_target(port: int, people: list[list[str]]) -> Callable[[int], Callable[[], bool]]:
    def start(_number: int) -> Callable[[], bool]:
        browser = Browser(port)
        token = browser.form_token("/query/")

        def request() -> bool:
            id_number, name = random.choice(people)
            form = {"csrfmiddlewaretoken": token, "id_number": id_number, "name": name}
            status, page = browser.send("POST", "/query/", form)
            return status == 200 and NOT_FOUND not in page

        return request

    return start


def floor(clients: int, warmup: float, seconds: float, think: float) -> dict[str, object]:
    """(Child, Django set up.) The indexed SELECT of random residents from `clients` threads,
    each with its own connection (Django's are per thread)."""
    import django

    django.setup()
    from django.db import connection

    from canbao.registry.models import Resident

    numbers = list(Resident.objects.order_by("?").values_list("id_type", "id_number")[:SAMPLE])

    def start(_number: int) -> Callable[[], bool]:
        cursor = connection.cursor()  # this thread's connection

        def request() -> bool:
            cursor.execute(FLOOR_SQL, list(random.choice(numbers)))
            return len(cursor.fetchall()) == 1

        return request

    done = drive("floor", clients, start, warmup=warmup, seconds=seconds, think=think)
    return {"latencies": done.latencies, "failures": done.failures}


# --- the run --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(url: str, port: int, workers: int | None, threads: int) -> subprocess.Popen[str]:
    executable = canbao_executable()
    assert executable is not None
    command = [str(executable), "serve", "--bind", f"127.0.0.1:{port}", "--threads", str(threads)]
    if workers:
        command += ["--workers", str(workers)]
    server = subprocess.Popen(
        command,
        env={**os.environ, "DATABASE_URL": url, "CANBAO_SELF_QUERY_RATE": "1000000000"},
        stdout=subprocess.DEVNULL,  # the access log: a line per request
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"canbao serve ended: {server.stderr.read() if server.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    stop(server)
    raise SystemExit("canbao serve did not start within 60 s")


def stop(server: subprocess.Popen[str]) -> None:
    os.killpg(server.pid, signal.SIGINT)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


def sqlite_county(args: argparse.Namespace) -> tuple[str, str]:
    """The cached SQLite county, built when missing or asked; its URL and what the report says
    of it. Raises SystemExit when it cannot be built."""
    data: Path = args.data.resolve()
    path = data / f"{CACHE_LABEL}.sqlite3"
    built = data / f"{CACHE_LABEL}.json"
    if args.rebuild or not built.exists():
        built.unlink(missing_ok=True)
        building = time.perf_counter()
        failure = build(SQLite(data).fresh(CACHE_LABEL), data, args.timeout)
        if failure:
            raise SystemExit(f"building the county failed: {failure}")
        built.write_text(json.dumps({"built_seconds": round(time.perf_counter() - building)}))
    with sqlite3.connect(path) as connection:
        if args.analyze:
            connection.execute("ANALYZE")
        statistics = connection.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
        ).fetchone()[0]
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    analysed = "yes" if statistics else "none"
    note = f"{shown}, reused when there; the planner's statistics (`ANALYZE`): {analysed}"
    return f"sqlite:///{path}", note


def postgres_county(args: argparse.Namespace, postgres: PostgreSQL) -> tuple[str, str]:
    """The county built into the throwaway cluster, then analysed (as autovacuum would, but
    before the measurement)."""
    url = postgres.fresh("web_latency")
    failure = build(url, args.data.resolve(), args.timeout, postgres)
    if failure:
        raise SystemExit(f"building the county failed: {failure}")
    subprocess.run(postgres.psql_command(url, "ANALYZE"), capture_output=True, check=True)
    return url, "built for this run in a throwaway cluster, then `ANALYZE`"


def measure(args: argparse.Namespace, url: str) -> tuple[list[tuple[Measured, str]], int]:
    """Every target wanted against the county at `url`: its rows and the residents it has."""
    executable = canbao_executable()
    assert executable is not None
    migrated = run([executable, "init"], env={**os.environ, "DATABASE_URL": url})
    prepared = child(url, "--setup", timeout=args.timeout)
    if not migrated.ok or not prepared.ok:
        raise SystemExit(f"set-up failed: {(prepared if migrated.ok else migrated).failure()}")
    sample = json.loads(prepared.stdout.strip().splitlines()[-1])
    port = free_port()
    wanted = args.targets.split(",")
    targets = {
        "clerk": (
            "a resident's page (`GET /residents/<pk>/`), county clerk, random residents of the"
            " county",
            page_target(port, CLERK, sample["county_pks"]),
        ),
        "collector": (
            f"a resident's page, village collector of {sample['village']}"
            f" ({len(sample['village_pks'])} residents drawn)",
            page_target(port, COLLECTOR, sample["village_pks"]),
        ),
        "query": (
            "the self-query (`POST /query/`), random residents, their names",
            query_target(port, sample["people"]),
        ),
    }
    rows: list[tuple[Measured, str]] = []
    server = serve(url, port, args.workers, args.threads)
    try:
        for name in [n for n in wanted if n in targets]:
            what, start = targets[name]
            before = load()
            print(f"  {name}: {args.clients} clients, {args.seconds:.0f} s", flush=True)
            outcome = drive(
                what,
                args.clients,
                start,
                warmup=args.warmup,
                seconds=args.seconds,
                think=args.think,
            )
            rows.append((outcome, f"{before} → {load()}"))
            print(f"    {' | '.join(outcome.cells())}", flush=True)
    finally:
        stop(server)
    if "floor" in wanted:
        before = load()
        print(f"  floor: {args.clients} threads, {args.seconds:.0f} s", flush=True)
        options = ["--clients", str(args.clients), "--warmup", str(args.warmup)]
        options += ["--seconds", str(args.seconds), "--think", str(args.think)]
        done = child(url, "--floor", *options, timeout=args.timeout)
        if not done.ok:
            raise SystemExit(f"floor failed: {done.failure()}")
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        what = f"floor: `{FLOOR_SQL}` from {args.clients} threads, a connection each"
        outcome = Measured(what, figures["latencies"], figures["failures"], args.seconds)
        rows.append((outcome, f"{before} → {load()}"))
        print(f"    {' | '.join(outcome.cells())}", flush=True)
    return rows, int(sample["residents"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Latency of the pages under concurrent clients")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--think", type=float, default=0.0, help="mean seconds between requests")
    parser.add_argument("--workers", type=int, help="canbao serve --workers (default its own)")
    parser.add_argument("--threads", type=int, default=8, help="canbao serve --threads")
    parser.add_argument("--targets", default="clerk,collector,query,floor")
    parser.add_argument("--rebuild", action="store_true", help="build the SQLite county again")
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="run SQLite's ANALYZE on the county first (its statistics stay in the file)",
    )
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.setup:
        print(json.dumps(setup()))
        return 0
    if args.floor:
        print(json.dumps(floor(args.clients, args.warmup, args.seconds, args.think)))
        return 0
    if not (args.data / "residents.csv").exists():
        print(f"no {args.data / 'residents.csv'}: run bench/generate.py first", file=sys.stderr)
        return 2

    started = datetime.now(UTC).astimezone()
    if args.database == "sqlite":
        version = SQLite(args.data).version()
        url, county = sqlite_county(args)
        rows, residents = measure(args, url)
    else:
        with tempfile.TemporaryDirectory(prefix="canbao-bench.") as work:
            postgres = PostgreSQL(Path(work))
            try:
                error = postgres.start()
                if error:
                    raise SystemExit(error)
                version = postgres.version()
                url, county = postgres_county(args, postgres)
                rows, residents = measure(args, url)
            finally:
                postgres.stop()

    gunicorn = subprocess.run(
        [sys.executable, "-c", "import gunicorn; print(gunicorn.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    name = "SQLite" if args.database == "sqlite" else "PostgreSQL"
    processes = args.workers or SERVE_WORKERS[args.database]
    pace = f"an exponential think time of mean {args.think} s" if args.think else "back to back"
    report = [
        f"## {started:%Y-%m-%d %H:%M %Z}: the pages under {args.clients} concurrent clients"
        f" (issue 10) beside the indexed SELECT, {name}",
        "",
        f"- Machine: {machine()}; `nproc` {os.cpu_count()}",
        f"- Versions: Python {platform.python_version()}; {version}; gunicorn {gunicorn}",
        f"- County: {residents:,} residents, daligang-2020 assessed and paid ({county}).",
        f"- Server: `canbao serve` on {name}, {processes} process(es) × {args.threads} threads;"
        f" the {args.clients} client threads (http.client, keep-alive) on the same machine,"
        f" requests {pace}; {args.warmup:.0f} s of warm-up, then {args.seconds:.0f} s measured.",
        f"- Goal: p99 under {GOAL_P99_MS:.0f} ms.",
        "",
        "| what | requests | failures | throughput | p50 | p99 | max"
        " | load average before → after |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
        *(
            "| " + " | ".join(cell.replace("|", "\\|") for cell in outcome.cells()) + f" | {seen} |"
            for outcome, seen in rows
        ),
        "",
    ]
    text = "\n".join(report)
    print(text)
    if not args.no_write:
        with RESULTS.open("a", encoding="utf-8") as stream:
            stream.write("\n" + text + "\n")
    return 0 if all(outcome.failures == 0 for outcome, _ in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
