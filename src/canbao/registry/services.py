"""Writes to the registry: the resident import (the departments' rosters are in
``canbao.registry.rosters``). Every service is keyword-only, atomic and leaves an audit row (see
``canbao.registry.batches``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from canbao import idnumber
from canbao.divisions import DivisionCodeError, level, normalize_code
from canbao.registry.batches import (
    ID_ALIASES,
    Context,
    ImportResult,
    Outcome,
    Progress,
    RowCheck,
    RowError,
    StageSpec,
    parse_date,
    run_import,
)
from canbao.registry.models import ImportBatch
from canbao.tabular import Column, Table

Staged = tuple[Any, ...]

__all__ = ["RESIDENT_COLUMNS", "import_residents"]

HEAD = "户主"

RESIDENT_COLUMNS = (
    Column("name", ("姓名",)),
    Column("id_type", ("证件类型",), required=False),
    Column("id_number", ID_ALIASES),
    Column("sex", ("性别",), required=False),
    Column("birth_date", ("出生日期",), required=False),
    Column("household", ("户编号",)),
    Column("relation", ("与户主关系",)),
    Column("village_code", ("村(社区)代码", "村代码", "行政区划代码")),
    Column("village_name", ("村(社区)",), required=False),
    Column("address", ("家庭住址", "地址"), required=False),
    Column("phone", ("联系电话", "手机号码"), required=False),
    Column("employee_insured", ("职工医保",), required=False),
    Column("insured_elsewhere", ("异地参保",), required=False),
)

# The document names files use, to the codes of canbao.idnumber.DOCUMENT_KINDS.
ID_TYPES: dict[str, str] = {
    "": "resident_id",
    "居民身份证": "resident_id",
    "身份证": "resident_id",
    "港澳居民来往内地通行证": "hk_macau_permit",
    "台湾居民来往内地通行证": "taiwan_permit",
    "台湾居民来往大陆通行证": "taiwan_permit",
    "外国人永久居留身份证": "foreign_permanent_residence",
    "外国人永久居留证": "foreign_permanent_residence",
    "港澳居民居住证": "hk_macau_residence_permit",
    "台湾居民居住证": "taiwan_residence_permit",
}
SEXES = {"男": "M", "女": "F", "": ""}
FLAGS = {"是": True, "否": False, "": False}

RESIDENT_STAGE = StageSpec(
    name="canbao_stage_residents",
    columns=(
        ("line", "integer"),
        ("id_type", "varchar(32)"),
        ("id_number", "varchar(20)"),
        ("name", "varchar(100)"),
        ("sex", "varchar(1)"),
        ("birth_date", "date"),
        ("household", "varchar(40)"),
        ("relation", "varchar(20)"),
        ("village_code", "varchar(12)"),
        ("address", "varchar(200)"),
        ("phone", "varchar(40)"),
        ("employee_insured", "boolean"),
        ("insured_elsewhere", "boolean"),
    ),
    # (id_type, id_number, line) covers the duplicate check; line orders the final insert.
    indexes=(("id_type", "id_number", "line"), ("line",)),
)

# Made from the resident staging table by _apply_residents: one row per household of the file.
HOUSEHOLD_STAGE = "canbao_stage_households"

# --- residents ------------------------------------------------------------------------------


def import_residents(
    *,
    path: Path,
    actor: AbstractBaseUser,
    dry_run: bool = False,
    today: date | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import a household register (户籍) file: residents and their households.

    A resident is known by document type and number; a known one is updated (sex, birth date,
    relation, village, address, phone, insurance flags) or counted unchanged. Any error refuses
    the whole file; nothing is written on a dry run.
    """
    day = today or timezone.localdate()
    return run_import(
        kind=ImportBatch.Kind.RESIDENTS,
        path=path,
        columns=RESIDENT_COLUMNS,
        stage=RESIDENT_STAGE,
        make_check=lambda table: _resident_check(table, day),
        apply=_apply_residents,
        actor=actor,
        dry_run=dry_run,
        progress=progress,
    )


def _resident_check(table: Table, today: date) -> RowCheck:
    get = table.picker(RESIDENT_COLUMNS)
    h = table.column_names(RESIDENT_COLUMNS)
    village_codes: dict[str, str | RowError] = {}
    birth_dates: dict[str, date | None] = {}
    parse = idnumber.parse
    id_error = idnumber.IdNumberError
    id_types, sexes, flags = ID_TYPES, SEXES, FLAGS

    def village(number: int, raw: str) -> str | RowError:
        known = village_codes.get(raw)
        if known is None:
            try:
                code = normalize_code(raw)
                if level(code) != "village":
                    raise DivisionCodeError(
                        "division_level",
                        f"“{raw}”不是村级（12位）区划代码，请填写村（社区）的12位统计用区划代码。",
                    )
                known = code
            except DivisionCodeError as error:
                known = RowError(0, h["village_code"], "village_code", error.message)
            village_codes[raw] = known
        return known

    def check(number: int, values: tuple[str, ...], errors: list[RowError]) -> Staged | None:
        """The fast path for a row with nothing wrong (nearly every row of a real file); any
        doubt goes to ``full_check``, which finds and words the errors. Both stage the same
        tuple for a good row."""
        (
            name,
            id_type_text,
            id_raw,
            sex_text,
            birth_text,
            household,
            relation,
            village_raw,
            _village_name,
            address,
            phone,
            employee_text,
            elsewhere_text,
        ) = get(values)
        sex = sexes.get(sex_text)
        birth = birth_dates.get(birth_text, _UNSEEN)
        if birth is _UNSEEN:
            birth = _cached_date(birth_dates, birth_text)
        code = village_codes.get(village_raw) or village(number, village_raw)
        employee = flags.get(employee_text)
        elsewhere = flags.get(elsewhere_text)
        if (
            id_types.get(id_type_text) == "resident_id"
            and name
            and household
            and relation
            and sex is not None
            and birth is not _INVALID
            and type(code) is str
            and employee is not None
            and elsewhere is not None
        ):
            try:
                parsed = parse(id_raw, today)
            except id_error:
                pass
            else:
                if (not sex or sex == parsed.sex) and (birth is None or birth == parsed.birth_date):
                    return (
                        number,
                        "resident_id",
                        parsed.number,
                        name,
                        parsed.sex,
                        parsed.birth_date,
                        household,
                        relation,
                        code,
                        address,
                        phone,
                        employee,
                        elsewhere,
                    )
        return full_check(number, get(values), errors)

    def full_check(number: int, values: Sequence[str], errors: list[RowError]) -> Staged | None:
        (
            name,
            id_type_text,
            id_raw,
            sex_text,
            birth_text,
            household,
            relation,
            village_raw,
            _village_name,
            address,
            phone,
            employee_text,
            elsewhere_text,
        ) = values
        failed = len(errors)
        if not name:
            errors.append(RowError(number, h["name"], "name_empty", "姓名为空，请填写姓名。"))
        id_type = ID_TYPES.get(id_type_text)
        id_number = ""
        sex = SEXES.get(sex_text)
        birth: date | None = None
        if sex is None:
            errors.append(
                RowError(number, h["sex"], "sex_value", f"性别“{sex_text}”无法识别，请填写男或女。")
            )
        try:
            birth = parse_date(birth_text)
        except ValueError:
            errors.append(
                RowError(
                    number,
                    h["birth_date"],
                    "birth_date_format",
                    f"出生日期“{birth_text}”无法识别，请写成 YYYY-MM-DD，例如 1990-01-31。",
                )
            )
        if id_type is None:
            errors.append(
                RowError(
                    number,
                    h["id_type"],
                    "id_type",
                    f"证件类型“{id_type_text}”无法识别，可填：居民身份证、港澳居民来往内地通行证、"
                    "台湾居民来往内地通行证、外国人永久居留身份证（空白视为居民身份证）。",
                )
            )
        elif id_type == "resident_id":
            try:
                parsed = parse(id_raw, today)
            except idnumber.IdNumberError as error:
                errors.append(RowError(number, h["id_number"], error.code, error.message))
            else:
                id_number = parsed.number
                if sex and sex != parsed.sex:
                    errors.append(
                        RowError(
                            number,
                            h["sex"],
                            "sex_mismatch",
                            f"性别填的是“{sex_text}”，但身份证号码{id_number}的第17位表示"
                            f"“{'男' if parsed.sex == 'M' else '女'}”，请核对。",
                        )
                    )
                if birth is not None and birth != parsed.birth_date:
                    errors.append(
                        RowError(
                            number,
                            h["birth_date"],
                            "birth_date_mismatch",
                            f"出生日期填的是{birth.isoformat()}，但身份证号码{id_number}中的出生日期"
                            f"是{parsed.birth_date.isoformat()}，请核对。",
                        )
                    )
                sex = parsed.sex
                birth = parsed.birth_date
        else:
            try:
                id_number = idnumber.parse_document(id_type, id_raw, today=today)
            except idnumber.IdNumberError as error:
                errors.append(RowError(number, h["id_number"], error.code, error.message))
        if not household:
            errors.append(
                RowError(number, h["household"], "household_empty", "户编号为空，请填写户编号。")
            )
        if not relation:
            errors.append(
                RowError(
                    number,
                    h["relation"],
                    "relation_empty",
                    "与户主关系为空，请填写（户主本人填“户主”）。",
                )
            )
        code = village(number, village_raw)
        if isinstance(code, RowError):
            errors.append(RowError(number, code.column, code.code, code.message))
        employee = FLAGS.get(employee_text)
        elsewhere = FLAGS.get(elsewhere_text)
        for key, text, flag in (
            ("employee_insured", employee_text, employee),
            ("insured_elsewhere", elsewhere_text, elsewhere),
        ):
            if flag is None:
                errors.append(
                    RowError(
                        number,
                        h[key],
                        "flag_value",
                        f"“{h[key]}”填的是“{text}”，只能填是、否或留空。",
                    )
                )
        if len(errors) > failed:
            return None
        return (
            number,
            id_type,
            id_number,
            name,
            sex,
            birth,
            household,
            relation,
            code,
            address,
            phone,
            employee,
            elsewhere,
        )

    return check


_UNSEEN: Any = object()
_INVALID: Any = object()
_DATE_CACHE_MAX = 100_000


def _cached_date(cache: dict[str, date | None], text: str) -> Any:
    """``parse_date(text)``, remembered (a county has some 40,000 distinct birth dates); the
    marker ``_INVALID`` for a text it refuses."""
    try:
        value: Any = parse_date(text)
    except ValueError:
        value = _INVALID
    if len(cache) < _DATE_CACHE_MAX:
        cache[text] = value
    return value


def _apply_residents(ctx: Context) -> Outcome:
    """Check the staged rows against each other and the registry; count; write if allowed."""
    s = RESIDENT_STAGE.name
    h = ctx.header
    out = Outcome()
    # The same person twice in the file: in two households, or simply repeated.
    for row, household, first_row, first_household, id_number in ctx.fetch(
        f"""SELECT a.line, a.household, f.line, f.household, a.id_number
        FROM {s} a
        JOIN (SELECT id_type, id_number, MIN(line) AS first_row FROM {s}
              GROUP BY id_type, id_number HAVING COUNT(*) > 1) m
          ON m.id_type = a.id_type AND m.id_number = a.id_number
        JOIN {s} f ON f.line = m.first_row
        WHERE a.line <> m.first_row"""
    ):
        if household != first_household:
            out.errors.append(
                RowError(
                    row,
                    h("household"),
                    "two_households",
                    f"证件号码{id_number}同时出现在户{first_household}（第{first_row}行）和"
                    f"户{household}（本行）：一个人只能属于一户，请核对。",
                )
            )
        else:
            out.errors.append(
                RowError(
                    row,
                    h("id_number"),
                    "duplicate_in_file",
                    f"证件号码{id_number}与第{first_row}行重复，请删除重复的行。",
                )
            )
    # Village codes the registry does not know.
    for row, code in ctx.fetch(
        f"""SELECT s.line, s.village_code FROM {s} s
        LEFT JOIN regions_division d ON d.code = s.village_code AND d.level = 'village'
        WHERE d.id IS NULL"""
    ):
        out.errors.append(
            RowError(
                row,
                h("village_code"),
                "unknown_village",
                f"村（社区）代码{code}不在系统的行政区划中：请核对代码，或先导入区划。",
            )
        )
    # A known person under another name, or already in another household.
    for row, id_number, name, known_name, known_household, household in ctx.fetch(
        f"""SELECT s.line, s.id_number, s.name, r.name, hh.number, s.household FROM {s} s
        JOIN registry_resident r ON r.id_type = s.id_type AND r.id_number = s.id_number
        JOIN registry_household hh ON hh.id = r.household_id
        WHERE r.name <> s.name OR hh.number <> s.household"""
    ):
        if name != known_name:
            out.errors.append(
                RowError(
                    row,
                    h("name"),
                    "name_mismatch",
                    f"证件号码{id_number}在登记库中的姓名是“{known_name}”，本行是“{name}”："
                    "请核对号码或姓名。",
                )
            )
        if household != known_household:
            out.errors.append(
                RowError(
                    row,
                    h("household"),
                    "two_households",
                    f"证件号码{id_number}已登记在户{known_household}，本行是户{household}："
                    "一个人只能属于一户；迁户请先办理迁出。",
                )
            )
    # One row per household of the file, in one pass: what the household checks and writes need.
    hs = HOUSEHOLD_STAGE
    ctx.cursor.execute(f"DROP TABLE IF EXISTS {hs}")
    ctx.cursor.execute(
        f"""CREATE TEMPORARY TABLE {hs} AS
        SELECT household, MIN(line) AS first_row, MIN(village_code) AS village_code,
               COUNT(DISTINCT village_code) AS villages,
               COUNT(DISTINCT CASE WHEN relation = %s
                              THEN id_type || ':' || id_number END) AS heads
        FROM {s} GROUP BY household""",
        [HEAD],
    )
    ctx.cursor.execute(f"CREATE UNIQUE INDEX {hs}_0 ON {hs} (household)")
    ctx.cursor.execute(f"ANALYZE {hs}")
    # Households in several villages within the file.
    for household, first_row in ctx.fetch(
        f"SELECT household, first_row FROM {hs} WHERE villages > 1"
    ):
        out.errors.append(
            RowError(
                first_row,
                h("village_code"),
                "household_villages",
                f"户{household}的成员填了不同的村（社区）代码，一户只能属于一个村（社区）。",
            )
        )
    # Exactly one head per household, counting registered members the file does not repeat.
    for household, first_row, heads in ctx.fetch(
        f"""SELECT t.household, t.first_row, t.heads + COALESCE(k.heads, 0)
        FROM {hs} t
        LEFT JOIN (SELECT hh.number AS household, COUNT(*) AS heads
                   FROM registry_resident r
                   JOIN registry_household hh ON hh.id = r.household_id
                   JOIN {hs} x ON x.household = hh.number
                   WHERE r.relation = %s AND r.status = 'active'
                     AND NOT EXISTS (SELECT 1 FROM {s} y
                                     WHERE y.id_type = r.id_type AND y.id_number = r.id_number)
                   GROUP BY hh.number) k ON k.household = t.household
        WHERE t.heads + COALESCE(k.heads, 0) <> 1""",
        [HEAD],
    ):
        if heads == 0:
            message = f"户{household}没有户主：请在户主本人一行的“与户主关系”填“户主”。"
        else:
            message = f"户{household}有{heads}个户主（含已登记的），一户只能有一个户主，请核对。"
        out.errors.append(RowError(first_row, h("relation"), "household_head", message))
    if out.errors:
        return out

    # Counts: created (unknown key), unchanged (every field equal), updated (the rest), by
    # joins and set operations; the staging table is never rewritten.
    staged = ctx.scalar(f"SELECT COUNT(*) FROM {s}")
    same = _SAME.format(r="r", t="s", village="d.code = s.village_code")
    known, unchanged = ctx.fetch(
        f"""SELECT COUNT(*), COALESCE(SUM(CASE WHEN {same} THEN 1 ELSE 0 END), 0)
        FROM {s} s
        JOIN registry_resident r ON r.id_type = s.id_type AND r.id_number = s.id_number
        JOIN regions_division d ON d.id = r.village_id"""
    )[0]
    out.created = staged - int(known)
    out.unchanged = int(unchanged)
    out.updated = int(known) - out.unchanged
    if not ctx.write:
        return out

    batch, now = ctx.batch.pk, ctx.now
    # Whether any household of the file is registered already; a new county has none, and the
    # statements that only concern registered ones are then skipped.
    households_known = ctx.scalar(
        f"""SELECT COUNT(*) FROM (SELECT 1 FROM registry_household hh
        WHERE hh.number IN (SELECT household FROM {hs}) LIMIT 1) x"""
    )
    if households_known:
        ctx.cursor.execute(
            f"""UPDATE registry_household SET village_id = t.village_id
            FROM (SELECT s.household, MIN(d.id) AS village_id FROM {s} s
                  JOIN regions_division d ON d.code = s.village_code GROUP BY s.household) t
            WHERE registry_household.number = t.household
              AND registry_household.village_id <> t.village_id"""
        )
    ctx.cursor.execute(
        f"""INSERT INTO registry_household (number, village_id, batch_id, created_at)
        SELECT t.household, d.id, %s, %s
        FROM {hs} t
        JOIN regions_division d ON d.code = t.village_code
        WHERE NOT EXISTS (SELECT 1 FROM registry_household hh WHERE hh.number = t.household)""",
        [batch, now],
    )
    if known:
        r = "registry_resident"
        same = _SAME.format(r=r, t="t", village=f"{r}.village_id = t.village_id")
        ctx.cursor.execute(
            f"""UPDATE registry_resident SET
              sex = t.sex, birth_date = t.birth_date, relation = t.relation,
              village_id = t.village_id, address = t.address, phone = t.phone,
              flags_batch_id = CASE
                WHEN {r}.employee_insured <> t.employee_insured
                  OR {r}.insured_elsewhere <> t.insured_elsewhere
                THEN %s ELSE {r}.flags_batch_id END,
              employee_insured = t.employee_insured, insured_elsewhere = t.insured_elsewhere,
              batch_id = %s, updated_at = %s
            FROM (SELECT s.id_type, s.id_number, s.sex, s.birth_date, s.relation,
                         d.id AS village_id, s.address, s.phone,
                         s.employee_insured, s.insured_elsewhere
                  FROM {s} s JOIN regions_division d ON d.code = s.village_code) t
            WHERE {r}.id_type = t.id_type AND {r}.id_number = t.id_number
              AND NOT {same}""",
            [batch, batch, now],
        )
    if out.created:
        # Only new keys: all of them when the file knows no registered resident.
        new_only = (
            ""
            if not known
            else """WHERE NOT EXISTS (SELECT 1 FROM registry_resident r
                      WHERE r.id_type = s.id_type AND r.id_number = s.id_number)"""
        )
        ctx.cursor.execute(
            f"""INSERT INTO registry_resident (
              id_type, id_number, name, sex, birth_date, household_id, relation, village_id,
              address, phone, employee_insured, insured_elsewhere, flags_batch_id, status,
              status_date, batch_id, created_at, updated_at)
            SELECT s.id_type, s.id_number, s.name, s.sex, s.birth_date, hh.id, s.relation, d.id,
              s.address, s.phone, s.employee_insured, s.insured_elsewhere, %s, 'active',
              NULL, %s, %s, %s
            FROM {s} s
            JOIN registry_household hh ON hh.number = s.household
            JOIN regions_division d ON d.code = s.village_code
            {new_only}
            ORDER BY s.line""",
            [batch, batch, now, now],
        )
    ctx.cursor.execute(f"DROP TABLE IF EXISTS {hs}")
    return out


# A registered resident ``r`` equal in every imported field to the staged row ``t`` (``village``
# compares the villages): counted unchanged, and left alone. No column compared can be NULL but
# the birth dates.
_SAME = """({r}.sex = {t}.sex
  AND COALESCE({r}.birth_date, '0001-01-01') = COALESCE({t}.birth_date, '0001-01-01')
  AND {r}.relation = {t}.relation AND {village}
  AND {r}.address = {t}.address AND {r}.phone = {t}.phone
  AND {r}.employee_insured = {t}.employee_insured
  AND {r}.insured_elsewhere = {t}.insured_elsewhere)"""
