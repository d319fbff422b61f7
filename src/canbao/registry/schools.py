"""Schools' rosters (学校名册): which school, grade and class each student attends, as the education
bureau or a school lists them, for the monthly student statistics (Chuxiong's notice: education
reports students monthly; Wuming's: education tracks students).

A roster is in effect from its date (``--as-of``, default today). A later roster of a school
replaces the earlier one from its own date: a student it lists again with the same grade, class
and student number keeps their row; one it lists differently gets a new row; one it leaves out
leaves the school. Rows are closed the day before (``valid_to``), never rewritten, so the roster
in effect on a past day stays as it was; only a second roster of the same school on the same date
replaces the first outright. A person is at one school at a time: a roster that lists a student
another school listed earlier moves them (转学) from its date.

Listing a student creates no category fact: see docs/imports.md (学校名册) for why.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from canbao import idnumber
from canbao.registry.batches import (
    ID_ALIASES,
    Context,
    ImportResult,
    Outcome,
    Progress,
    RowCheck,
    RowError,
    StageSpec,
    run_import,
)
from canbao.registry.models import ImportBatch
from canbao.tabular import Column, Table, halfwidth, normalize_header

__all__ = ["SCHOOL_COLUMNS", "import_schools"]

SCHOOL_COLUMNS = (
    Column("school", ("学校名称", "学校")),
    Column("grade", ("年级",)),
    Column("class_name", ("班级",), required=False),
    Column("name", ("姓名",)),
    Column("id_number", ID_ALIASES),
    Column("student_number", ("学籍号", "全国学籍号"), required=False),
)

# The longest value each stored column takes (the model's max_length).
LIMITS = {"school": 100, "grade": 40, "class_name": 40, "student_number": 40}

SCHOOL_STAGE = StageSpec(
    name="canbao_stage_schools",
    columns=(
        ("line", "integer"),
        ("id_number", "varchar(20)"),
        ("name", "text"),
        ("school", "varchar(100)"),
        ("grade", "varchar(40)"),
        ("class_name", "varchar(40)"),
        ("student_number", "varchar(40)"),
        ("resident_id", "bigint"),
        ("open_id", "bigint"),  # the person's current row (SchoolEnrollment), if any
        ("state", "varchar(10)"),
    ),
    indexes=(("id_number",), ("line",), ("school",), ("resident_id",)),
)


def import_schools(
    *,
    path: Path,
    as_of: date | None = None,
    actor: AbstractBaseUser,
    dry_run: bool = False,
    today: date | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import a school roster (one school or the education bureau's list of several), in effect
    from `as_of` (default today). Known persons are placed at their school and grade; a person
    the registry does not know is listed for follow-up, not created; a known ID under another
    name, a person twice, an empty school or grade refuses the file, as does a roster dated
    before the school's (or the student's other school's) current one."""
    day = today or timezone.localdate()
    roster_day = as_of or day
    return run_import(
        kind=ImportBatch.Kind.SCHOOLS,
        path=path,
        columns=SCHOOL_COLUMNS,
        stage=SCHOOL_STAGE,
        make_check=lambda table: _school_check(table, day),
        apply=lambda ctx: _apply_schools(ctx, roster_day),
        actor=actor,
        dry_run=dry_run,
        progress=progress,
    )


def _school_check(table: Table, today: date) -> RowCheck:
    get = table.picker(SCHOOL_COLUMNS)
    h = table.column_names(SCHOOL_COLUMNS)
    parse = idnumber.parse

    def check(
        number: int, values: tuple[str, ...], errors: list[RowError]
    ) -> tuple[Any, ...] | None:
        school_raw, grade_raw, class_raw, name, id_raw, student_raw = get(values)
        # Compared as headers are: “（一）班” and “(一)班”, “七 年级” and “七年级” are the same.
        school, grade, class_name = map(normalize_header, (school_raw, grade_raw, class_raw))
        student_number = halfwidth(student_raw).strip()
        failed = len(errors)
        if not school:
            errors.append(
                RowError(number, h["school"], "school_empty", "学校名称为空，请填写学校的全称。")
            )
        if not grade:
            errors.append(
                RowError(number, h["grade"], "grade_empty", "年级为空，请填写年级，如“七年级”。")
            )
        if not name:
            errors.append(RowError(number, h["name"], "name_empty", "姓名为空，请填写姓名。"))
        id_number = ""
        try:
            id_number = parse(id_raw, today).number
        except idnumber.IdNumberError as error:
            errors.append(RowError(number, h["id_number"], error.code, error.message))
        for key, value in (
            ("school", school),
            ("grade", grade),
            ("class_name", class_name),
            ("student_number", student_number),
        ):
            if len(value) > LIMITS[key]:
                errors.append(
                    RowError(
                        number,
                        h[key],
                        "too_long",
                        f"“{h[key]}”最多{LIMITS[key]}个字，本行有{len(value)}个字，请核对。",
                    )
                )
        if len(errors) > failed:
            return None
        return (number, id_number, name, school, grade, class_name, student_number, None, None, "")

    return check


def _apply_schools(ctx: Context, as_of: date) -> Outcome:
    """Check the staged rows against each other, the registry and the rosters in effect; count;
    end the rows the roster replaces and add its own, if allowed."""
    s = SCHOOL_STAGE.name
    h = ctx.header
    out = Outcome()
    ctx.refuse_repeated_ids(s, "：一人只能在一所学校的一个年级，请删除重复的行。", out.errors)
    ctx.attach_residents(s)
    ctx.refuse_other_names(s, "名册", "请与学校核对号码或姓名。", out.errors)
    for school, first_row, later in ctx.fetch(
        f"""SELECT f.school, f.first_row, x.valid_from
        FROM (SELECT school, MIN(line) AS first_row FROM {s} GROUP BY school) f
        JOIN (SELECT school, MAX(valid_from) AS valid_from FROM registry_schoolenrollment
              GROUP BY school) x ON x.school = f.school
        WHERE x.valid_from > %s ORDER BY f.first_row""",
        [as_of],
    ):
        out.errors.append(
            RowError(
                first_row,
                h("school"),
                "later_roster",
                f"{school}已有{_iso(later)}的名册，本名册的日期{as_of.isoformat()}在其之前："
                "一所学校的名册须按日期先后导入，请核对名册日期（--as-of）。",
            )
        )
    for row, id_number, other, since in ctx.fetch(
        f"""SELECT s.line, s.id_number, e.school, e.valid_from FROM {s} s
        JOIN registry_schoolenrollment e ON e.resident_id = s.resident_id AND e.valid_to IS NULL
        WHERE e.school <> s.school AND e.valid_from >= %s
          AND NOT EXISTS (SELECT 1 FROM {s} u WHERE u.school = e.school)
        ORDER BY s.line""",
        [as_of],
    ):
        out.errors.append(
            RowError(
                row,
                h("school"),
                "other_school",
                f"身份证号码{id_number}已在{other}{_iso(since)}的名册上，日期不早于本名册的"
                f"{as_of.isoformat()}：一人只能在一所学校，请与该校核对（转学的以日期在后的"
                "名册为准）。",
            )
        )
    out.unknown = [
        {"row": row, "id_number": id_number, "name": name}
        for row, id_number, name in ctx.fetch(
            f"SELECT line, id_number, name FROM {s} WHERE resident_id IS NULL ORDER BY line"
        )
    ]
    if out.errors:
        return out
    ctx.cursor.execute(
        f"""UPDATE {s} SET open_id = (
          SELECT e.id FROM registry_schoolenrollment e
          WHERE e.resident_id = {s}.resident_id AND e.valid_to IS NULL)"""
    )
    ctx.cursor.execute(
        f"""UPDATE {s} SET state = CASE
          WHEN resident_id IS NULL THEN 'unknown'
          WHEN open_id IS NULL THEN 'created'
          WHEN EXISTS (SELECT 1 FROM registry_schoolenrollment e
                       WHERE e.id = {s}.open_id AND e.school = {s}.school
                         AND e.grade = {s}.grade AND e.class_name = {s}.class_name
                         AND e.student_number = {s}.student_number) THEN 'unchanged'
          ELSE 'updated' END"""
    )
    counts = dict(ctx.fetch(f"SELECT state, COUNT(*) FROM {s} GROUP BY state"))
    out.created = int(counts.get("created", 0))
    out.updated = int(counts.get("updated", 0))
    out.unchanged = int(counts.get("unchanged", 0))
    if not ctx.write:
        return out
    batch, now = ctx.batch.pk, ctx.now
    # The rows this roster replaces: the current rows of its schools (but those it lists
    # unchanged) and its students' current rows elsewhere. One of the same date is replaced
    # outright; an earlier one ends the day before.
    replaced = f"""registry_schoolenrollment.valid_to IS NULL
      AND (registry_schoolenrollment.school IN (SELECT school FROM {s})
           OR registry_schoolenrollment.id IN (SELECT open_id FROM {s} WHERE state = 'updated'))
      AND NOT EXISTS (SELECT 1 FROM {s} k
                      WHERE k.state = 'unchanged' AND k.open_id = registry_schoolenrollment.id)"""
    ctx.cursor.execute(
        f"DELETE FROM registry_schoolenrollment WHERE {replaced} "
        "AND registry_schoolenrollment.valid_from = %s",
        [as_of],
    )
    ctx.cursor.execute(
        f"UPDATE registry_schoolenrollment SET valid_to = %s WHERE {replaced}",
        [as_of - timedelta(days=1)],
    )
    ctx.cursor.execute(
        f"""INSERT INTO registry_schoolenrollment (resident_id, school, grade, class_name,
          student_number, valid_from, valid_to, batch_id, created_at)
        SELECT resident_id, school, grade, class_name, student_number, %s, NULL, %s, %s
        FROM {s} WHERE state IN ('created', 'updated') ORDER BY line""",
        [as_of, batch, now],
    )
    ctx.cursor.execute(
        f"""INSERT INTO registry_rosterfollowup (batch_id, "row", id_number, name, address, phone)
        SELECT %s, line, id_number, name, '', '' FROM {s}
        WHERE state = 'unknown' ORDER BY line""",
        [batch],
    )
    return out


def _iso(day: date | str) -> str:
    """A date read back from raw SQL: a date on PostgreSQL, its ISO text on SQLite."""
    return day if isinstance(day, str) else day.isoformat()
