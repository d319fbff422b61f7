"""What the documents' workbooks share: cell styles with the Chinese number formats, and writing
a count, an amount in fen or a rate into a cell as a number (a missing value as a dash)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from canbao.policy.money import yuan_decimal
from canbao.reports.documents.formats import (
    COUNT_FORMAT,
    MONEY_FORMAT,
    NONE_TEXT,
    RATE_FORMAT,
    rate_fraction,
)

_BORDER = {"border": 1, "valign": "vcenter"}


class Styles:
    """The cell formats of one workbook; ``total`` variants are bold."""

    def __init__(self, workbook: Any) -> None:
        add = workbook.add_format
        self.title = add({"bold": True, "font_size": 14})
        self.subtitle = add({"font_size": 10})
        self.note = add({"font_size": 9, "text_wrap": True, "valign": "top"})
        self.header = add(
            {**_BORDER, "bold": True, "bg_color": "#DDEBF7", "align": "center", "text_wrap": True}
        )
        self.text = add({**_BORDER, "text_wrap": True})
        self.count = add({**_BORDER, "num_format": COUNT_FORMAT})
        self.money = add({**_BORDER, "num_format": MONEY_FORMAT})
        self.rate = add({**_BORDER, "num_format": RATE_FORMAT})
        self.total_text = add({**_BORDER, "bold": True})
        self.total_count = add({**_BORDER, "bold": True, "num_format": COUNT_FORMAT})
        self.total_money = add({**_BORDER, "bold": True, "num_format": MONEY_FORMAT})
        self.total_rate = add({**_BORDER, "bold": True, "num_format": RATE_FORMAT})


class Row:
    """Writes one row of a sheet, cell after cell, in the row's style (plain or total)."""

    def __init__(self, sheet: Any, styles: Styles, row: int, *, total: bool = False) -> None:
        self.sheet, self.styles, self.row, self.total = sheet, styles, row, total
        self.column = 0

    def _put(self, value: Any, plain: Any, bold: Any) -> Row:
        style = bold if self.total else plain
        if value is None:
            self.sheet.write_string(self.row, self.column, NONE_TEXT, style)
        elif isinstance(value, str):
            self.sheet.write_string(self.row, self.column, value, style)
        else:
            self.sheet.write_number(self.row, self.column, value, style)
        self.column += 1
        return self

    def text(self, value: str | None) -> Row:
        return self._put(value, self.styles.text, self.styles.total_text)

    def count(self, value: int | None) -> Row:
        return self._put(value, self.styles.count, self.styles.total_count)

    def money(self, fen: int | None) -> Row:
        value = None if fen is None else yuan_decimal(fen)
        return self._put(value, self.styles.money, self.styles.total_money)

    def rate(self, percent: Decimal | None) -> Row:
        value = None if percent is None else rate_fraction(percent)
        return self._put(value, self.styles.rate, self.styles.total_rate)


def header(sheet: Any, styles: Styles, row: int, names: list[str], widths: list[int]) -> None:
    """A header row, each column set to its width."""
    for column, (name, width) in enumerate(zip(names, widths, strict=True)):
        sheet.set_column(column, column, width)
        sheet.write_string(row, column, name, styles.header)
