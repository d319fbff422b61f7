"""What the bank answers to a deduction file: its return file (代扣回盘)."""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from canbao.demo.files import Cell, write_csv

__all__ = ["RETURN_TEXT", "ReturnFile", "write_withholding_return"]

RETURN_TEXT = {"0000": "扣款成功", "1001": "余额不足", "1002": "账户已销户", "1004": "户名不符"}


@dataclass(frozen=True)
class ReturnFile:
    path: Path
    sequence: int
    lines: int
    codes: dict[str, int] = field(default_factory=dict)  # return code -> lines
    success_fen: int = 0


def write_withholding_return(
    *, batch_file: Path, out: Path, paid_on: date, seed: int, failures: bool = True
) -> ReturnFile:
    """The bank's return file for a deduction file (批次号, 行号, 账号, 金额（分）, 返回码,
    返回说明, 扣款日期). With ``failures``: about one line in ten 1001 余额不足, one 1002
    账户已销户 and one 1004 户名不符, the rest 0000 扣款成功; without, all successes."""
    with batch_file.open(encoding="utf-8-sig", newline="") as stream:
        lines = list(csv.DictReader(stream))
    sequence = int(lines[0]["批次号"]) if lines else 0
    rng = random.Random(f"canbao-return-{seed}-{sequence}")
    closed = 3 if len(lines) >= 3 else 0
    mismatch = 7 if len(lines) >= 7 else 0
    rows: list[list[Cell]] = []
    codes: dict[str, int] = defaultdict(int)
    success_fen = 0
    for line in lines:
        number = int(line["行号"])
        code = "0000"
        if failures:
            if number == closed:
                code = "1002"
            elif number == mismatch:
                code = "1004"
            elif number == 2 or (number > 1 and rng.random() < 0.1):
                code = "1001"
        codes[code] += 1
        amount = int(line["金额（分）"])
        if code == "0000":
            success_fen += amount
        rows.append(
            [line["批次号"], line["行号"], line["账号"], amount, code, RETURN_TEXT[code], paid_on]
        )
    write_csv(
        out,
        f"代扣回盘 批次{sequence}",
        ["批次号", "行号", "账号", "金额（分）", "返回码", "返回说明", "扣款日期"],
        rows,
    )
    return ReturnFile(out, sequence, len(rows), dict(sorted(codes.items())), success_fen)
