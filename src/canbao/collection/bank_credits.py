"""The banks' daily credits to the treasury pending account (待报解账户入账汇总): 日期, 银行,
入账金额, 笔数, one line per bank and day, imported as a batch of its own (idempotent). Daily
reconciliation compares each bank's credit with the tax detail lines of that bank."""

from __future__ import annotations

import contextlib
from datetime import date
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from canbao.campaigns.models import Campaign
from canbao.collection.payment_imports import parse_fen, parse_yuan
from canbao.policy.money import yuan
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
from canbao.tabular import Column, Table, TableError

__all__ = ["BANK_CREDIT_COLUMNS", "import_bank_credits"]

BANK_CREDIT_COLUMNS = (
    Column("day", ("日期", "入账日期")),
    Column("bank", ("银行", "代收银行")),
    Column("amount_yuan", ("入账金额（元）", "金额（元）"), required=False),
    Column("amount_fen", ("入账金额（分）", "金额（分）"), required=False),
    Column("count", ("笔数",)),
)


CREDIT_STAGE = StageSpec(
    name="canbao_stage_bank_credits",
    columns=(
        ("line", "integer"),
        ("day", "date"),
        ("bank", "varchar(60)"),
        ("amount_fen", "bigint"),
        ("n", "integer"),
        ("state", "varchar(10)"),
    ),
    indexes=(("day", "bank"), ("line",)),
)


def import_bank_credits(
    *,
    path: Path,
    campaign: Campaign,
    actor: AbstractBaseUser,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Import the banks' daily credit totals (日期, 银行, 入账金额（元）or（分）, 笔数).

    One row per day and bank. A row already imported with the same amount and count is
    unchanged; with another amount or count, or for a closed day, it refuses the file (a
    correction of a bank's credit is a matter for the bank and an explanation, not an overwrite).
    """
    return run_import(
        kind=ImportBatch.Kind.BANK_CREDITS,
        path=path,
        columns=BANK_CREDIT_COLUMNS,
        stage=CREDIT_STAGE,
        make_check=_credit_check,
        apply=lambda ctx: _apply_credits(ctx, campaign),
        actor=actor,
        dry_run=dry_run,
        progress=progress,
        source=f"campaign:{campaign.pk}",
    )


def _credit_check(table: Table) -> RowCheck:
    present = set(table.keys)
    if ("amount_yuan" in present) == ("amount_fen" in present):
        raise TableError(
            "请提供且只提供一个金额列：“入账金额（元）”或“入账金额（分）”。", row=table.header_row
        )
    amount_key = "amount_yuan" if "amount_yuan" in present else "amount_fen"
    read = parse_yuan if amount_key == "amount_yuan" else parse_fen
    positions = {key: table.keys.index(key) for key in table.keys}
    headers = table.column_names(BANK_CREDIT_COLUMNS)

    def check(
        number: int, values: tuple[str, ...], errors: list[RowError]
    ) -> tuple[Any, ...] | None:
        failed = len(errors)
        day_text, bank = values[positions["day"]], values[positions["bank"]]
        amount_text, count_text = values[positions[amount_key]], values[positions["count"]]
        day: date | None = None
        with contextlib.suppress(ValueError):
            day = parse_date(day_text)
        if day is None:
            errors.append(
                RowError(
                    number,
                    headers["day"],
                    "date_format",
                    f"日期“{day_text}”无法识别，请写成 YYYY-MM-DD，例如 2017-10-30。",
                )
            )
        if not bank:
            errors.append(RowError(number, headers["bank"], "bank_empty", "银行为空，请填写。"))
        elif len(bank) > 60:
            errors.append(RowError(number, headers["bank"], "bank_long", "银行名称超过60个字。"))
        amount = 0
        try:
            amount = read(amount_text)
        except ValueError as error:
            errors.append(RowError(number, headers[amount_key], "amount_format", str(error)))
        if not count_text.isdigit():
            errors.append(
                RowError(
                    number,
                    headers["count"],
                    "count_format",
                    f"笔数“{count_text}”须为整数，例如 12。",
                )
            )
        if len(errors) > failed:
            return None
        return (number, day, bank, amount, int(count_text), "")

    return check


def _apply_credits(ctx: Context, campaign: Campaign) -> Outcome:
    s = CREDIT_STAGE.name
    h = ctx.header
    amount_header = h("amount_yuan") if "amount_yuan" in ctx.table.keys else h("amount_fen")
    out = Outcome()
    for row, first_row, day, bank in ctx.fetch(
        f"""SELECT a.line, m.first_row, a.day, a.bank FROM {s} a
        JOIN (SELECT day, bank, MIN(line) AS first_row FROM {s}
              GROUP BY day, bank HAVING COUNT(*) > 1) m ON m.day = a.day AND m.bank = a.bank
        WHERE a.line <> m.first_row ORDER BY a.line"""
    ):
        out.errors.append(
            RowError(
                row,
                h("bank"),
                "duplicate_in_file",
                f"{_iso(day)} {bank}与第{first_row}行重复：每个银行每天一行。",
            )
        )
    for row, day, bank, amount, n, known_amount, known_n, batch in ctx.fetch(
        f"""SELECT s.line, s.day, s.bank, s.amount_fen, s.n, c.amount_fen, c.count, c.batch_id
        FROM {s} s JOIN collection_bankcredit c
          ON c.campaign_id = %s AND c.day = s.day AND c.bank = s.bank
        WHERE c.amount_fen <> s.amount_fen OR c.count <> s.n ORDER BY s.line""",
        [campaign.pk],
    ):
        out.errors.append(
            RowError(
                row,
                amount_header,
                "credit_conflict",
                f"{_iso(day)} {bank}的入账已于批次{batch}导入（{yuan(known_amount)}元，"
                f"{known_n}笔），本行是{yuan(amount)}元、{n}笔：同一银行同一天只能有一个入账"
                "合计，如有出入请在对账差异中说明。",
            )
        )
    for row, day in ctx.fetch(
        f"""SELECT s.line, s.day FROM {s} s JOIN collection_reconciliationday d
          ON d.campaign_id = %s AND d.day = s.day AND d.status = 'closed'
        WHERE NOT EXISTS (SELECT 1 FROM collection_bankcredit c
                          WHERE c.campaign_id = %s AND c.day = s.day AND c.bank = s.bank)
        ORDER BY s.line""",
        [campaign.pk, campaign.pk],
    ):
        out.errors.append(
            RowError(
                row,
                h("day"),
                "day_closed",
                f"{_iso(day)}已结账，不能再导入该日的银行入账。",
            )
        )
    ctx.cursor.execute(
        f"""UPDATE {s} SET state = CASE WHEN EXISTS (
          SELECT 1 FROM collection_bankcredit c
          WHERE c.campaign_id = %s AND c.day = {s}.day AND c.bank = {s}.bank)
          THEN 'unchanged' ELSE 'created' END""",
        [campaign.pk],
    )
    counts = dict(ctx.fetch(f"SELECT state, COUNT(*) FROM {s} GROUP BY state"))
    out.created = int(counts.get("created", 0))
    out.unchanged = int(counts.get("unchanged", 0))
    if out.errors or not ctx.write:
        return out
    ctx.cursor.execute(
        f"""INSERT INTO collection_bankcredit (campaign_id, day, bank, amount_fen, count, batch_id)
        SELECT %s, day, bank, amount_fen, n, %s FROM {s} WHERE state = 'created' ORDER BY line""",
        [campaign.pk, ctx.batch.pk],
    )
    return out


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)
