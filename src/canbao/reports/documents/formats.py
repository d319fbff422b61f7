"""Numbers as Chinese bureaus print them: counts with thousands separators (608,897), yuan with
two decimals (12,345.50), rates with one decimal and a percent sign (95.3%); dates as
2019年11月27日. Money arrives here as integer fen and becomes yuan only here.

The same rules as template filters (the documents' templates use ``count``, ``yuan``, ``rate``
and ``cn_date``) and as xlsxwriter number formats.
"""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django import template

COUNT_FORMAT = "#,##0"
# Money is written to a workbook as exact yuan (canbao.policy.money.yuan_decimal).
MONEY_FORMAT = "#,##0.00"
# A rate is written to a workbook as a fraction (0.953) and shown as 95.3%.
RATE_FORMAT = "0.0%"
NONE_TEXT = "—"

register = template.Library()


@register.filter(name="count")
def count_text(value: int | None) -> str:
    return NONE_TEXT if value is None else f"{value:,}"


@register.filter(name="yuan")
def yuan_text(fen: int | None) -> str:
    """Fen as yuan with thousands separators and two decimals: 1234550 -> '12,345.50'."""
    if fen is None:
        return NONE_TEXT
    whole, part = divmod(abs(fen), 100)
    return f"{'-' if fen < 0 else ''}{whole:,}.{part:02d}"


@register.filter(name="rate")
def rate_text(percent: Decimal | None) -> str:
    """A percent with one decimal, rounded half up: Decimal('95.25') -> '95.3%'."""
    if percent is None:
        return NONE_TEXT
    return f"{percent.quantize(Decimal('0.1'), ROUND_HALF_UP)}%"


@register.filter(name="cn_date")
def date_text(day: date | None) -> str:
    return NONE_TEXT if day is None else f"{day.year}年{day.month}月{day.day}日"


def rate_fraction(percent: Decimal) -> Decimal:
    """A percent as the fraction a workbook cell holds under RATE_FORMAT: 95.3 -> 0.953."""
    return percent / 100
