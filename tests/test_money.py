"""Fen shown as yuan: for people to read, and exactly with two decimals for files and workbooks."""

from decimal import Decimal

from canbao.policy.money import percent_of, yuan, yuan_decimal


def test_it_shows_yuan_without_trailing_zeros_and_keeps_the_sign() -> None:
    assert [yuan(25000), yuan(15050), yuan(5), yuan(-15050), yuan(0)] == [
        "250",
        "150.5",
        "0.05",
        "-150.5",
        "0",
    ]


def test_it_gives_exact_two_decimal_yuan() -> None:
    assert yuan_decimal(1234550) == Decimal("12345.50")
    assert str(yuan_decimal(25000)) == "250.00"
    assert f"{yuan_decimal(171045000):,}" == "1,710,450.00"


def test_a_percentage_of_fen_rounds_half_up() -> None:
    assert (percent_of(25000, Decimal(50)), percent_of(25001, Decimal(50))) == (12500, 12501)
