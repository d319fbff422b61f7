"""Files as the bureau receives them: CSV in UTF-8 with BOM, a title row above the header."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

Cell = str | int | Decimal | date


def write_csv(path: Path, title: str, header: list[str], rows: Sequence[Sequence[Cell]]) -> Path:
    """Write the file only when its content changed, so the same season gives the same file
    (and hash): importing it again is recognised as a repeat."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([title])
    writer.writerow(header)
    writer.writerows(rows)  # str() of each cell: a date is written YYYY-MM-DD
    data = buffer.getvalue().encode("utf-8-sig")
    if not path.is_file() or path.read_bytes() != data:
        path.write_bytes(data)
    return path
