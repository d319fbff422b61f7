"""The villages' three-party withholding agreements (三方协议), imported as one batch."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from canbao import idnumber
from canbao.collection.withholding.common import (
    AGREEMENT_COLUMNS,
    NEEDS_NEW_AGREEMENT,
    canonical_headers,
    header_texts,
    read_account,
)
from canbao.registry.batches import (
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
from canbao.tabular import (
    Table,
)

AGREEMENT_STAGE = StageSpec(
    name="canbao_stage_wh_agreements",
    columns=(
        ("line", "integer"),
        ("id_number", "varchar(20)"),
        ("name", "varchar(100)"),
        ("bank", "varchar(60)"),
        ("account", "varchar(40)"),
        ("account_name", "varchar(100)"),
        ("signed_on", "date"),
        ("resident_id", "bigint"),
        ("current_id", "bigint"),
        ("state", "varchar(10)"),
    ),
    indexes=(("id_number",), ("line",)),
)


def import_agreements(
    *,
    path: Path,
    actor: AbstractBaseUser,
    dry_run: bool = False,
    today: date | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import signed three-party withholding agreements.

    Each row names a registered resident (ID number and name must match the registry) and the
    account to debit. A resident has at most one active agreement: the same agreement again is
    unchanged; a different one is refused unless the active one is dead (its last deduction came
    back account closed, name mismatch or account not found), which the new one then replaces.
    Any error refuses the whole file; the same file twice changes nothing.
    """
    day = today or timezone.localdate()
    return run_import(
        kind=ImportBatch.Kind.WITHHOLDING_AGREEMENTS,
        path=path,
        columns=AGREEMENT_COLUMNS,
        stage=AGREEMENT_STAGE,
        make_check=lambda table: _agreement_check(table, day),
        apply=_apply_agreements,
        actor=actor,
        dry_run=dry_run,
        progress=progress,
    )


def _agreement_check(table: Table, today: date) -> RowCheck:
    get = table.picker(AGREEMENT_COLUMNS)
    h = canonical_headers(AGREEMENT_COLUMNS) | header_texts(table, AGREEMENT_COLUMNS)

    def check(
        number: int, values: tuple[str, ...], errors: list[RowError]
    ) -> tuple[Any, ...] | None:
        name, id_raw, bank, account_text, account_name, signed_text = get(values)
        failed = len(errors)
        for key, text, what in (
            ("name", name, "姓名"),
            ("bank", bank, "开户银行"),
            ("account_name", account_name, "户名"),
        ):
            if not text:
                errors.append(RowError(number, h[key], f"{key}_empty", f"{what}为空，请填写。"))
        id_number = ""
        try:
            id_number = idnumber.parse(id_raw, today).number
        except idnumber.IdNumberError as error:
            errors.append(RowError(number, h["id_number"], error.code, error.message))
        account = read_account(number, account_text, h["account"], errors)
        signed_on: date | None = None
        try:
            signed_on = parse_date(signed_text)
        except ValueError:
            errors.append(
                RowError(
                    number,
                    h["signed_on"],
                    "date_format",
                    f"签订日期“{signed_text}”无法识别，请写成 YYYY-MM-DD，例如 2017-09-15。",
                )
            )
        else:
            if signed_on is None:
                errors.append(
                    RowError(number, h["signed_on"], "date_empty", "签订日期为空，请填写。")
                )
            elif signed_on > today:
                errors.append(
                    RowError(
                        number,
                        h["signed_on"],
                        "date_future",
                        f"签订日期{signed_on.isoformat()}晚于今天，请核对。",
                    )
                )
        if len(errors) > failed:
            return None
        return (number, id_number, name, bank, account, account_name, signed_on, None, None, "")

    return check


def _apply_agreements(ctx: Context) -> Outcome:
    s = AGREEMENT_STAGE.name
    h = ctx.header
    out = Outcome()
    ctx.refuse_repeated_ids(s, "：一人只能有一份有效协议。", out.errors)
    ctx.cursor.execute(
        f"""UPDATE {s} SET
          resident_id = (SELECT r.id FROM registry_resident r
                         WHERE r.id_type = 'resident_id' AND r.id_number = {s}.id_number),
          current_id = (SELECT ag.id FROM collection_withholdingagreement ag
                        JOIN registry_resident r ON r.id = ag.resident_id
                        WHERE r.id_type = 'resident_id' AND r.id_number = {s}.id_number
                          AND ag.active = %s)""",
        [True],
    )
    for row, id_number, name in ctx.fetch(
        f"SELECT line, id_number, name FROM {s} WHERE resident_id IS NULL ORDER BY line"
    ):
        out.errors.append(
            RowError(
                row,
                h("id_number"),
                "unknown_person",
                f"身份证号码{id_number}（{name}）不在登记库中：请先登记户籍，再签订代扣协议。",
            )
        )
    ctx.refuse_other_names(s, "协议", "请核对。", out.errors)
    dead = ", ".join(f"'{r}'" for r in NEEDS_NEW_AGREEMENT)
    ctx.cursor.execute(
        f"""UPDATE {s} SET state = CASE
          WHEN current_id IS NULL THEN 'created'
          WHEN EXISTS (SELECT 1 FROM collection_withholdingagreement ag
                       WHERE ag.id = {s}.current_id AND ag.bank = {s}.bank
                         AND ag.account_number = {s}.account
                         AND ag.account_name = {s}.account_name
                         AND ag.signed_on = {s}.signed_on) THEN 'unchanged'
          WHEN (SELECT l.result FROM collection_withholdingline l
                WHERE l.agreement_id = {s}.current_id AND l.result <> ''
                ORDER BY l.id DESC LIMIT 1) IN ({dead}) THEN 'replaces'
          ELSE 'conflict' END
        WHERE resident_id IS NOT NULL"""
    )
    for row, id_number, bank, account, signed_on in ctx.fetch(
        f"""SELECT s.line, s.id_number, ag.bank, ag.account_number, ag.signed_on FROM {s} s
        JOIN collection_withholdingagreement ag ON ag.id = s.current_id
        WHERE s.state = 'conflict' ORDER BY s.line"""
    ):
        out.errors.append(
            RowError(
                row,
                h("account"),
                "second_agreement",
                f"身份证号码{id_number}已有有效的代扣协议（{bank} {account}，"
                f"签订于{_day(signed_on)}）：一人只能有一份有效协议。只有原账户扣款返回"
                "已销户、户名不符或账号不存在时，才可用新协议替换。",
            )
        )
    counts = dict(ctx.fetch(f"SELECT state, COUNT(*) FROM {s} GROUP BY state"))
    out.created = int(counts.get("created", 0))
    out.updated = int(counts.get("replaces", 0))
    out.unchanged = int(counts.get("unchanged", 0))
    if out.errors or not ctx.write:
        return out
    ctx.cursor.execute(
        f"""UPDATE collection_withholdingagreement SET active = %s
        WHERE id IN (SELECT current_id FROM {s} WHERE state = 'replaces')""",
        [False],
    )
    ctx.cursor.execute(
        f"""INSERT INTO collection_withholdingagreement
          (resident_id, bank, account_number, account_name, signed_on, active, batch_id)
        SELECT resident_id, bank, account, account_name, signed_on, %s, %s FROM {s}
        WHERE state IN ('created', 'replaces') ORDER BY line""",
        [True, ctx.batch.pk],
    )
    return out


def _day(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)
