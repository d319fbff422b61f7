"""The departments' rosters of the special categories: each person the registry knows gets (or
keeps) the category from the department; a person it does not know is listed for follow-up.
Atomic and audited as every import (``canbao.registry.batches``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from canbao import idnumber
from canbao.policy.codes import CATEGORY_NAMES, FUNDER_NAMES
from canbao.registry.batches import (
    ID_ALIASES,
    Context,
    ImportResult,
    ImportUsageError,
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

ROSTER_COLUMNS = (
    Column("name", ("姓名",)),
    Column("id_number", ID_ALIASES),
    Column("address", ("地址", "家庭住址"), required=False),
    Column("phone", ("联系电话", "手机号码"), required=False),
    Column("valid_from", ("有效期起",), required=False),
    Column("valid_to", ("有效期止",), required=False),
)

ROSTER_STAGE = StageSpec(
    name="canbao_stage_roster",
    columns=(
        ("line", "integer"),
        ("id_number", "varchar(20)"),
        ("name", "varchar(100)"),
        ("address", "varchar(200)"),
        ("phone", "varchar(40)"),
        ("valid_from", "date"),
        ("valid_to", "date"),
        ("resident_id", "bigint"),
        ("state", "varchar(10)"),
    ),
    indexes=(("id_number",), ("line",)),
)


def import_roster(
    *,
    path: Path,
    category: str,
    source: str,
    actor: AbstractBaseUser,
    dry_run: bool = False,
    today: date | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import a department's roster of one special category: each known person gets (or keeps)
    the category fact from this source; a person the registry does not know is listed for
    follow-up, not created; a known ID under another name refuses the file."""
    if category not in CATEGORY_NAMES:
        raise ImportUsageError(f"未知的人员类别“{category}”，可选：{'、'.join(CATEGORY_NAMES)}。")
    if source not in FUNDER_NAMES:
        raise ImportUsageError(f"未知的来源部门“{source}”，可选：{'、'.join(FUNDER_NAMES)}。")
    day = today or timezone.localdate()
    return run_import(
        kind=ImportBatch.Kind.ROSTER,
        path=path,
        columns=ROSTER_COLUMNS,
        stage=ROSTER_STAGE,
        make_check=lambda table: _roster_check(table, day),
        apply=lambda ctx: _apply_roster(ctx, category, source),
        actor=actor,
        dry_run=dry_run,
        progress=progress,
        category=category,
        source=source,
    )


def _roster_check(table: Table, today: date) -> RowCheck:
    get = table.picker(ROSTER_COLUMNS)
    h = table.column_names(ROSTER_COLUMNS)
    parse = idnumber.parse

    def check(number: int, values: tuple[str, ...], errors: list[RowError]) -> Staged | None:
        name, id_raw, address, phone, from_text, to_text = get(values)
        failed = len(errors)
        if not name:
            errors.append(RowError(number, h["name"], "name_empty", "姓名为空，请填写姓名。"))
        id_number = ""
        try:
            id_number = parse(id_raw, today).number
        except idnumber.IdNumberError as error:
            errors.append(RowError(number, h["id_number"], error.code, error.message))
        dates: list[date | None] = []
        for key, text in (("valid_from", from_text), ("valid_to", to_text)):
            try:
                dates.append(parse_date(text))
            except ValueError:
                dates.append(None)
                errors.append(
                    RowError(
                        number,
                        h[key],
                        "date_format",
                        f"“{h[key]}”填的“{text}”无法识别，请写成 YYYY-MM-DD，例如 2020-01-01。",
                    )
                )
        valid_from, valid_to = dates
        if valid_from and valid_to and valid_from > valid_to:
            errors.append(
                RowError(
                    number,
                    h["valid_to"],
                    "date_range",
                    f"有效期止{valid_to.isoformat()}早于有效期起{valid_from.isoformat()}，请核对。",
                )
            )
        if len(errors) > failed:
            return None
        return (number, id_number, name, address, phone, valid_from, valid_to, None, "")

    return check


def _apply_roster(ctx: Context, category: str, source: str) -> Outcome:
    s = ROSTER_STAGE.name
    out = Outcome()
    ctx.refuse_repeated_ids(s, "，请删除重复的行。", out.errors)
    ctx.attach_residents(s)
    ctx.refuse_other_names(s, "名册", "请与部门核对号码或姓名。", out.errors)
    out.unknown = [
        {"row": row, "id_number": id_number, "name": name}
        for row, id_number, name in ctx.fetch(
            f"SELECT line, id_number, name FROM {s} WHERE resident_id IS NULL ORDER BY line"
        )
    ]
    if out.errors:
        return out
    ctx.cursor.execute(
        f"""UPDATE {s} SET state = CASE
          WHEN resident_id IS NULL THEN 'unknown'
          WHEN NOT EXISTS (SELECT 1 FROM registry_categoryfact f
                           WHERE f.resident_id = {s}.resident_id
                             AND f.category = %s AND f.source = %s) THEN 'created'
          WHEN EXISTS (SELECT 1 FROM registry_categoryfact f
                       WHERE f.resident_id = {s}.resident_id AND f.category = %s
                         AND f.source = %s
                         AND COALESCE(f.valid_from, '0001-01-01')
                             = COALESCE({s}.valid_from, '0001-01-01')
                         AND COALESCE(f.valid_to, '0001-01-01')
                             = COALESCE({s}.valid_to, '0001-01-01')) THEN 'unchanged'
          ELSE 'updated' END""",
        [category, source, category, source],
    )
    counts = dict(ctx.fetch(f"SELECT state, COUNT(*) FROM {s} GROUP BY state"))
    out.created = int(counts.get("created", 0))
    out.updated = int(counts.get("updated", 0))
    out.unchanged = int(counts.get("unchanged", 0))
    if not ctx.write:
        return out
    batch, now = ctx.batch.pk, ctx.now
    ctx.cursor.execute(
        f"""UPDATE registry_categoryfact SET valid_from = t.valid_from, valid_to = t.valid_to,
          batch_id = %s
        FROM (SELECT resident_id, valid_from, valid_to FROM {s} WHERE state = 'updated') t
        WHERE registry_categoryfact.resident_id = t.resident_id
          AND registry_categoryfact.category = %s AND registry_categoryfact.source = %s""",
        [batch, category, source],
    )
    ctx.cursor.execute(
        f"""INSERT INTO registry_categoryfact
          (resident_id, category, source, batch_id, valid_from, valid_to, created_at)
        SELECT resident_id, %s, %s, %s, valid_from, valid_to, %s FROM {s}
        WHERE state = 'created' ORDER BY line""",
        [category, source, batch, now],
    )
    ctx.cursor.execute(
        f"""INSERT INTO registry_rosterfollowup (batch_id, "row", id_number, name, address, phone)
        SELECT %s, line, id_number, name, address, phone FROM {s}
        WHERE state = 'unknown' ORDER BY line""",
        [batch],
    )
    return out
