"""Writes to the divisions: the import of a statistical division code list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from canbao.divisions import DivisionCodeError, level, normalize_code, parent
from canbao.registry.batches import (
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
from canbao.tabular import Column, Table

__all__ = ["DIVISION_COLUMNS", "import_divisions"]

DIVISION_COLUMNS = (
    Column("code", ("统计用区划代码", "区划代码", "代码")),
    Column("name", ("名称",)),
)
LEVELS = ("county", "township", "village")

DIVISION_STAGE = StageSpec(
    name="canbao_stage_divisions",
    columns=(
        ("line", "integer"),
        ("code", "varchar(12)"),
        ("name", "varchar(100)"),
        ("level", "varchar(8)"),
        ("parent_code", "varchar(12)"),
        ("state", "varchar(10)"),
    ),
    indexes=(("code",), ("parent_code",)),
)


def import_divisions(
    *,
    path: Path,
    actor: AbstractBaseUser,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Import counties, townships and villages (levels from the codes). A township's county and
    a village's township must be in the registry or in the same file; a known code with another
    name is renamed (updated)."""
    return run_import(
        kind=ImportBatch.Kind.DIVISIONS,
        path=path,
        columns=DIVISION_COLUMNS,
        stage=DIVISION_STAGE,
        make_check=_division_check,
        apply=_apply_divisions,
        actor=actor,
        dry_run=dry_run,
        progress=progress,
    )


def _division_check(table: Table) -> RowCheck:
    code_at, name_at = table.keys.index("code"), table.keys.index("name")
    code_header, name_header = table.headers["code"], table.headers["name"]

    def check(number: int, values: tuple[str, ...], errors: list[RowError]) -> Any:
        raw, name = values[code_at], values[name_at]
        failed = len(errors)
        if not name:
            errors.append(RowError(number, name_header, "name_empty", "名称为空，请填写名称。"))
        code = parent_code = kind = ""
        try:
            code = normalize_code(raw)
            kind = level(code)
            if kind not in LEVELS:
                errors.append(
                    RowError(
                        number,
                        code_header,
                        "division_level",
                        f"区划代码{code}是省级或地级代码；这里只导入县、乡（镇、街道）、"
                        "村（社区）三级，请删去这一行。",
                    )
                )
            elif kind != "county":
                parent_code = parent(code) or ""
        except DivisionCodeError as error:
            errors.append(RowError(number, code_header, error.code, error.message))
        if len(errors) > failed:
            return None
        return (number, code, name, kind, parent_code, "")

    return check


def _apply_divisions(ctx: Context) -> Outcome:
    s = DIVISION_STAGE.name
    h = ctx.header
    out = Outcome()
    for line, first, code in ctx.fetch(
        f"""SELECT a.line, m.first_line, a.code FROM {s} a
        JOIN (SELECT code, MIN(line) AS first_line FROM {s} GROUP BY code HAVING COUNT(*) > 1) m
          ON m.code = a.code
        WHERE a.line <> m.first_line"""
    ):
        out.errors.append(
            RowError(
                line,
                h("code"),
                "duplicate_in_file",
                f"区划代码{code}与第{first}行重复，请删除重复的行。",
            )
        )
    for line, code, parent_code in ctx.fetch(
        f"""SELECT s.line, s.code, s.parent_code FROM {s} s
        WHERE s.parent_code <> ''
          AND NOT EXISTS (SELECT 1 FROM {s} p WHERE p.code = s.parent_code)
          AND NOT EXISTS (SELECT 1 FROM regions_division d WHERE d.code = s.parent_code)"""
    ):
        out.errors.append(
            RowError(
                line,
                h("code"),
                "unknown_parent",
                f"区划代码{code}的上级{parent_code}既不在系统中也不在本文件中："
                "请把上级区划一并导入。",
            )
        )
    if out.errors:
        return out
    ctx.cursor.execute(
        f"""UPDATE {s} SET state = CASE
          WHEN NOT EXISTS (SELECT 1 FROM regions_division d WHERE d.code = {s}.code)
            THEN 'created'
          WHEN EXISTS (SELECT 1 FROM regions_division d
                       WHERE d.code = {s}.code AND d.name = {s}.name) THEN 'unchanged'
          ELSE 'updated' END"""
    )
    counts = dict(ctx.fetch(f"SELECT state, COUNT(*) FROM {s} GROUP BY state"))
    out.created = int(counts.get("created", 0))
    out.updated = int(counts.get("updated", 0))
    out.unchanged = int(counts.get("unchanged", 0))
    if not ctx.write:
        return out
    ctx.cursor.execute(
        f"""UPDATE regions_division SET name = t.name
        FROM (SELECT code, name FROM {s} WHERE state = 'updated') t
        WHERE regions_division.code = t.code"""
    )
    # Parents first: counties, then townships, then villages.
    for kind in LEVELS:
        ctx.cursor.execute(
            f"""INSERT INTO regions_division (code, name, level, parent_id)
            SELECT s.code, s.name, s.level, p.id FROM {s} s
            LEFT JOIN regions_division p ON p.code = s.parent_code
            WHERE s.state = 'created' AND s.level = %s ORDER BY s.code""",
            [kind],
        )
    return out
