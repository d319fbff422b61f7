"""The machinery every import shares: the batch record and its hash, the staging table, dry runs,
all-or-nothing commits, per-row errors and their .xlsx, and the audit row.

An import streams the file's rows (``canbao.tabular``), checks each row in Python, loads the good
ones in chunks into a temporary staging table (executemany on SQLite, COPY on PostgreSQL: the only
step that differs between the two), then checks the staging table against itself and the registry
and writes with set-based INSERT ... SELECT / UPDATE ... FROM, all in one transaction.

A refused import (any error) writes nothing but one ``ImportBatch`` row with status ``refused``
and its errors, plus its audit row. That record is kept on purpose: the error list is what the
village needs to fix the file, and a web page can offer it for download later without asking the
user to import again; it touches none of the registry tables, so "nothing written" holds for the
data. A dry run writes nothing at all.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from canbao.registry.models import AuditEntry, ImportBatch
from canbao.request_origin import current_origin
from canbao.tabular import Column, Table, TableError, halfwidth, read_table

CHUNK_ROWS = 20_000
MAX_ERRORS = 100_000
# A refusal with more errors than this is described by kind (see ``describe_errors``).
ERRORS_LISTED = 20
EXAMPLES_PER_KIND = 3
# Called with the number of rows read so far.
Progress = Callable[[int], None]


class ImportUsageError(ValueError):
    """The import was asked for wrongly (no such file, unknown code): nothing to report per row."""


@dataclass(frozen=True, order=True)
class RowError:
    row: int
    column: str
    code: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}

    def describe(self) -> str:
        """The error as a user reads it: 第12行【公民身份号码】…; an error of the whole file is its
        message alone (which names the file). The code is for --json."""
        where = f"第{self.row}行" if self.row else ""
        column = f"【{self.column}】" if self.column else ""
        return f"{where}{column}{self.message}"


def describe_errors(errors: Sequence[RowError]) -> list[str]:
    """The errors as a user reads them, a line each: every one when there are at most
    ``ERRORS_LISTED``; otherwise by kind (code), in the order they first occur: how many, the
    first ``EXAMPLES_PER_KIND`` of them, and how many more. Residents imported before their
    villages are 50,000 errors of one kind: five lines, not 50,000."""
    if len(errors) <= ERRORS_LISTED:
        return [error.describe() for error in errors]
    kinds: dict[str, list[RowError]] = {}
    for error in errors:
        kinds.setdefault(error.code, []).append(error)
    lines = []
    for same in kinds.values():
        column = f"【{same[0].column}】" if same[0].column else ""
        lines.append(f"{column}{len(same)}处错误，如：")
        lines.extend(f"  {error.describe()}" for error in same[:EXAMPLES_PER_KIND])
        if len(same) > EXAMPLES_PER_KIND:
            lines.append(f"  …… 另有{len(same) - EXAMPLES_PER_KIND}处同类错误")
    return lines


@dataclass
class ImportResult:
    kind: str
    batch: int | None
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    unknown: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False
    repeated: bool = False
    message: str = ""

    @property
    def committed(self) -> bool:
        return not self.errors and not self.dry_run

    def as_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "batch": self.batch,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [e.as_json() for e in self.errors],
            "dry_run": self.dry_run,
            "repeated": self.repeated,
            "message": self.message,
        }
        if self.kind in (ImportBatch.Kind.ROSTER, ImportBatch.Kind.SCHOOLS):
            result["unknown"] = self.unknown
        return result


@dataclass
class Outcome:
    """What the set-based part of an import found (and wrote, unless told not to)."""

    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    unknown: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Context:
    """Handed to an importer's set-based step, inside the import's transaction."""

    batch: ImportBatch
    cursor: Any
    now: datetime
    table: Table
    columns: Sequence[Column]
    write: bool

    def header(self, key: str) -> str:
        """The column's header text as the file writes it (its first alias if absent)."""
        return self.table.column_names(self.columns)[key]

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.cursor.execute(sql, params)
        return list(self.cursor.fetchall())

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> int:
        self.cursor.execute(sql, params)
        return int(self.cursor.fetchone()[0] or 0)

    def refuse_repeated_ids(self, stage: str, advice: str, errors: list[RowError]) -> None:
        """An error for each later row of an ID number the file lists twice, naming the first;
        ``advice`` follows the number in the message."""
        for row, first_row, id_number in self.fetch(
            f"""SELECT a.line, m.first_row, a.id_number FROM {stage} a
            JOIN (SELECT id_number, MIN(line) AS first_row FROM {stage}
                  GROUP BY id_number HAVING COUNT(*) > 1) m ON m.id_number = a.id_number
            WHERE a.line <> m.first_row"""
        ):
            errors.append(
                RowError(
                    row,
                    self.header("id_number"),
                    "duplicate_in_file",
                    f"身份证号码{id_number}与第{first_row}行重复{advice}",
                )
            )

    def attach_residents(self, stage: str) -> None:
        """Set each staged row's ``resident_id`` to the registered citizen of its ID number."""
        self.cursor.execute(
            f"""UPDATE {stage} SET resident_id = (
              SELECT r.id FROM registry_resident r
              WHERE r.id_type = 'resident_id' AND r.id_number = {stage}.id_number)"""
        )

    def refuse_other_names(
        self, stage: str, document: str, advice: str, errors: list[RowError]
    ) -> None:
        """An error for each attached row whose name is not the registry's; the message says
        what the ``document`` (名册, 协议) has and ends with ``advice``."""
        for row, id_number, name, known in self.fetch(
            f"""SELECT s.line, s.id_number, s.name, r.name FROM {stage} s
            JOIN registry_resident r ON r.id = s.resident_id WHERE r.name <> s.name"""
        ):
            errors.append(
                RowError(
                    row,
                    self.header("name"),
                    "name_mismatch",
                    f"身份证号码{id_number}在登记库中的姓名是“{known}”，{document}上是“{name}”："
                    + advice,
                )
            )


@dataclass(frozen=True)
class StageSpec:
    """A temporary table: (name, SQL type) per column; ``row`` (the file's row number) first."""

    name: str
    columns: tuple[tuple[str, str], ...]
    indexes: tuple[tuple[str, ...], ...] = ()

    def create(self, cursor: Any) -> None:
        cursor.execute(f"DROP TABLE IF EXISTS {self.name}")
        columns = ", ".join(f"{name} {kind}" for name, kind in self.columns)
        cursor.execute(f"CREATE TEMPORARY TABLE {self.name} ({columns})")

    def load(self, cursor: Any, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        names = ", ".join(name for name, _ in self.columns)
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {self.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(self.columns))
            cursor.executemany(f"INSERT INTO {self.name} ({names}) VALUES ({marks})", rows)

    def index(self, cursor: Any) -> None:
        for number, columns in enumerate(self.indexes):
            cursor.execute(
                f"CREATE INDEX {self.name}_{number} ON {self.name} ({', '.join(columns)})"
            )
        cursor.execute(f"ANALYZE {self.name}")

    def drop(self, cursor: Any) -> None:
        cursor.execute(f"DROP TABLE IF EXISTS {self.name}")


# Page cache of a bulk import on SQLite (the default is 2 MiB, which a million-row staging table
# and the registry's indexes overflow many times over), in KiB; memory is taken only as used.
SQLITE_CACHE_KIB = {"main": 256 * 1024, "temp": 256 * 1024}
# Per-operation memory of a bulk import on PostgreSQL (sorts, hashes, index builds), for this
# transaction only (SET LOCAL); the defaults spill a million rows to disk.
POSTGRES_SETTINGS = {"work_mem": "256MB", "maintenance_work_mem": "256MB"}


@contextmanager
def bulk_settings(cursor: Any) -> Iterator[None]:
    """Memory settings for a bulk import inside its transaction; durability is untouched."""
    if connection.vendor == "postgresql":
        for name, value in POSTGRES_SETTINGS.items():
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
        yield
        return
    if connection.vendor != "sqlite":  # pragma: no cover - only SQLite and PostgreSQL
        yield
        return
    saved = {}
    for schema, kib in SQLITE_CACHE_KIB.items():
        cursor.execute(f"PRAGMA {schema}.cache_size")
        saved[schema] = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA {schema}.cache_size = -{kib}")
    try:
        yield
    finally:
        for schema, value in saved.items():
            # A temp schema not opened yet reports 0; put back SQLite's default then.
            cursor.execute(f"PRAGMA {schema}.cache_size = {int(value) or -2000}")


# The headers a file gives its citizen ID number column, in every import.
ID_ALIASES = ("公民身份号码", "身份证号", "身份证号码", "证件号码")

# A load this large changes the tables enough for the planner to need new statistics.
STATISTICS_AFTER_ROWS = 10_000


def refresh_statistics(cursor: Any) -> None:
    """Give the query planner statistics of the tables as they now are. SQLite keeps none until
    told (without them a resident's page walked the county's payments: seconds instead of
    milliseconds; ANALYZE takes about 1.2 s at a million residents). PostgreSQL's autovacuum
    would get there, later."""
    cursor.execute("ANALYZE")


RowCheck = Callable[[int, tuple[str, ...], list[RowError]], tuple[Any, ...] | None]
SetStep = Callable[[Context], Outcome]


class _Discard(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__("discard")
        self.outcome = outcome


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def record_audit(
    *,
    action: str,
    actor: AbstractBaseUser,
    batch: ImportBatch | None = None,
    resident_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """One row of the audit trail: who (the account, and its username as it was), what, when,
    from where (``canbao.request_origin``) and, when it is about one person, whom."""
    return AuditEntry.objects.create(
        user_id=actor.pk,
        username=actor.get_username(),
        origin=current_origin(),
        action=action,
        batch=batch,
        resident_id=resident_id,
        details=details or {},
    )


def _chunks(
    table: Table, check: RowCheck, errors: list[RowError], progress: Progress | None
) -> Iterator[tuple[int, list[tuple[Any, ...]]]]:
    """(rows read so far, staged tuples) per chunk; rows failing ``check`` go to ``errors``."""
    chunk: list[tuple[Any, ...]] = []
    count = 0
    for number, values in table.rows():
        count += 1
        staged = check(number, values, errors)
        if staged is not None:
            chunk.append(staged)
        if len(chunk) >= CHUNK_ROWS:
            yield count, chunk
            chunk = []
            if progress is not None:
                progress(count)
    yield count, chunk
    if progress is not None:
        progress(count)


def _cap(errors: list[RowError]) -> list[RowError]:
    errors = sorted(errors)
    if len(errors) <= MAX_ERRORS:
        return errors
    kept = errors[:MAX_ERRORS]
    kept.append(
        RowError(
            kept[-1].row,
            "",
            "too_many_errors",
            f"错误太多，只列出前{MAX_ERRORS}条（共{len(errors)}条），请先改正这些再导入。",
        )
    )
    return kept


def run_import(
    *,
    kind: str,
    path: Path,
    columns: Sequence[Column],
    stage: StageSpec,
    make_check: Callable[[Table], RowCheck],
    apply: SetStep,
    actor: AbstractBaseUser,
    dry_run: bool,
    progress: Progress | None,
    category: str = "",
    source: str = "",
    other_category: Callable[[ImportBatch], RowError] | None = None,
) -> ImportResult:
    """Import one file (see the module's docstring). The same file (by SHA-256) committed before
    under the same kind, category and source is a repeat: nothing is done and the earlier batch
    is reported. With `other_category`, the same file committed before under the same kind and
    source but another category is refused with the error it words about that batch."""
    if not path.is_file():
        raise ImportUsageError(f"找不到文件：{path}")
    sha = file_sha256(path)
    committed = ImportBatch.objects.filter(
        kind=kind, file_sha256=sha, status=ImportBatch.Status.COMMITTED, source=source
    ).order_by("pk")
    earlier = committed.filter(category=category).first()
    elsewhere = committed.exclude(category=category).first() if other_category else None
    if earlier is None and elsewhere is not None and other_category is not None:
        refused = ImportResult(kind=kind, batch=None, dry_run=dry_run)
        return _refuse(
            refused, [other_category(elsewhere)], path, sha, actor, kind, category, source
        )
    if earlier is not None:
        return ImportResult(
            kind=kind,
            batch=earlier.pk,
            rows=earlier.rows,
            unchanged=earlier.rows,
            unknown=[
                {"row": f.row, "id_number": f.id_number, "name": f.name}
                for f in earlier.follow_ups.all()
            ],
            dry_run=dry_run,
            repeated=True,
            message=(
                f"该文件已于{timezone.localtime(earlier.created_at):%Y-%m-%d %H:%M}"
                f"由{earlier.username}导入（批次{earlier.pk}），本次未作任何改动。"
            ),
        )
    result = ImportResult(kind=kind, batch=None, dry_run=dry_run)
    errors: list[RowError] = []
    try:
        table = read_table(path, columns)
    except TableError as error:
        errors.append(RowError(error.row or 0, error.column or "", error.code, error.message))
        return _refuse(result, errors, path, sha, actor, kind, category, source)

    try:
        with transaction.atomic():
            batch = ImportBatch.objects.create(
                kind=kind,
                status=ImportBatch.Status.COMMITTED,
                file_name=path.name,
                file_sha256=sha,
                category=category,
                source=source,
                user_id=actor.pk,
                username=actor.get_username(),
            )
            with connection.cursor() as cursor, bulk_settings(cursor):
                stage.create(cursor)
                check = make_check(table)
                for count, chunk in _chunks(table, check, errors, progress):
                    result.rows = count
                    stage.load(cursor, chunk)
                stage.index(cursor)
                context = Context(
                    batch=batch,
                    cursor=cursor,
                    now=timezone.now(),
                    table=table,
                    columns=columns,
                    write=not dry_run and not errors,
                )
                outcome = apply(context)
                outcome.errors.extend(errors)
                if outcome.errors or dry_run:
                    raise _Discard(outcome)
                stage.drop(cursor)
                if result.rows >= STATISTICS_AFTER_ROWS:
                    refresh_statistics(cursor)
            batch.rows = result.rows
            batch.created = outcome.created
            batch.updated = outcome.updated
            batch.unchanged = outcome.unchanged
            batch.unknown = len(outcome.unknown)
            batch.save()
            record_audit(
                action=f"import_{kind}",
                actor=actor,
                batch=batch,
                details={
                    "file": path.name,
                    "sha256": sha,
                    "rows": result.rows,
                    "created": outcome.created,
                    "updated": outcome.updated,
                    "unchanged": outcome.unchanged,
                    "unknown": len(outcome.unknown),
                    "category": category,
                    "source": source,
                },
            )
            result.batch = batch.pk
    except TableError as error:
        errors.append(RowError(error.row or 0, error.column or "", error.code, error.message))
        return _refuse(result, errors, path, sha, actor, kind, category, source)
    except _Discard as discarded:
        outcome = discarded.outcome
        result.created, result.updated, result.unchanged = (
            outcome.created,
            outcome.updated,
            outcome.unchanged,
        )
        result.unknown = outcome.unknown
        if outcome.errors:
            return _refuse(result, outcome.errors, path, sha, actor, kind, category, source)
        result.message = (
            f"试导入：共{result.rows}行，将新增{result.created}、更新{result.updated}、"
            f"未变{result.unchanged}"
            + (f"，{len(result.unknown)}人待核实" if result.unknown else "")
            + "；未写入任何数据。"
        )
        return result
    result.created, result.updated, result.unchanged = (
        outcome.created,
        outcome.updated,
        outcome.unchanged,
    )
    result.unknown = outcome.unknown
    result.message = (
        f"已导入（批次{result.batch}）：共{result.rows}行，新增{result.created}、"
        f"更新{result.updated}、未变{result.unchanged}"
        + (
            f"，{len(result.unknown)}人在登记库中查无此人，已列入待核实名单"
            if result.unknown
            else ""
        )
        + "。"
    )
    return result


def _refuse(
    result: ImportResult,
    errors: list[RowError],
    path: Path,
    sha: str,
    actor: AbstractBaseUser,
    kind: str,
    category: str,
    source: str,
) -> ImportResult:
    result.errors = _cap(errors)
    result.created = result.updated = result.unchanged = 0
    result.message = f"发现{len(errors)}处错误，整批未导入；请按错误清单改正后重新导入。"
    if result.dry_run:
        result.message = f"试导入：发现{len(errors)}处错误；未写入任何数据。"
        return result
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            kind=kind,
            status=ImportBatch.Status.REFUSED,
            file_name=path.name,
            file_sha256=sha,
            category=category,
            source=source,
            user_id=actor.pk,
            username=actor.get_username(),
            rows=result.rows,
            errors=[e.as_json() for e in result.errors],
        )
        record_audit(
            action=f"import_{kind}_refused",
            actor=actor,
            batch=batch,
            details={"file": path.name, "sha256": sha, "errors": len(errors)},
        )
    result.batch = batch.pk
    return result


def write_errors_xlsx(
    errors: Iterable[RowError | dict[str, Any]],
    path: Path,
    *,
    values: dict[int, Sequence[str]] | None = None,
    headers: Sequence[str] = (),
) -> Path:
    """The error list as a workbook the village can fix the file from: 行号, 列, 错误代码, 说明,
    then the original values of the row when ``values`` (row number -> cells) is given."""
    with xlsxwriter.Workbook(str(path)) as workbook:
        sheet = workbook.add_worksheet("错误清单")
        bold = workbook.add_format({"bold": True})
        text = workbook.add_format({"num_format": "@"})
        sheet.write_row(0, 0, ["行号", "列", "错误代码", "说明", *headers], bold)
        sheet.set_column(0, 0, 8)
        sheet.set_column(1, 2, 18)
        sheet.set_column(3, 3, 80)
        sheet.set_column(4, 4 + len(headers), 20, text)
        for line, error in enumerate(errors, start=1):
            item = error.as_json() if isinstance(error, RowError) else error
            sheet.write_number(line, 0, item["row"])
            sheet.write_string(line, 1, item["column"])
            sheet.write_string(line, 2, item["code"])
            sheet.write_string(line, 3, item["message"])
            for offset, value in enumerate((values or {}).get(item["row"], ())):
                sheet.write_string(line, 4 + offset, value)
    return path


# --- cell parsing shared by the importers ---------------------------------------------------


_DATE = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})|(\d{4})(\d{2})(\d{2})", re.ASCII)


def parse_date(text: str) -> date | None:
    """YYYY-MM-DD, YYYYMMDD or YYYY/MM/DD (also YYYY.MM.DD), full-width digits allowed; None
    for an empty cell; ValueError for anything else (circled or superscript digits, a year of
    more than four digits, a day that does not exist)."""
    s = halfwidth(text).strip()
    if not s:
        return None
    match = _DATE.fullmatch(s)
    if match is None:
        raise ValueError(text)
    year, _, month, day, *compact = match.groups()
    if year is None:
        year, month, day = compact
    return date(int(year), int(month), int(day))
