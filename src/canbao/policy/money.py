"""Integer fen arithmetic: percentages rounded half up, splits that keep their sum."""

from decimal import ROUND_HALF_UP, Decimal


def percent_of(fen: int, percent: Decimal) -> int:
    """`percent`% of `fen`, rounded half up to the fen, never through float."""
    return int((Decimal(fen) * percent / 100).to_integral_value(rounding=ROUND_HALF_UP))


def yuan(fen: int) -> str:
    """Fen as yuan for people to read: 25000 -> '250', 15050 -> '150.5', -15050 -> '-150.5'."""
    if fen < 0:
        return f"-{yuan(-fen)}"
    whole, part = divmod(fen, 100)
    return f"{whole}" if part == 0 else f"{whole}.{part:02d}".rstrip("0")


def yuan_decimal(fen: int) -> Decimal:
    """Fen as a yuan amount with two decimals, exactly: 1234550 -> Decimal('12345.50')."""
    return Decimal(fen).scaleb(-2)
