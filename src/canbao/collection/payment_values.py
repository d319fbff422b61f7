"""The values of one payment as channel files write them, and what a campaign's payment can
plausibly be: yuan and fen read exactly (never through float), keys and receipt numbers as they
are compared, and ``PaymentLimits``, from the campaign's policy. Shared by the payment imports,
daily reconciliation and the commands that take a key or a receipt number."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from canbao.policy.money import yuan_decimal
from canbao.policy.schema import Policy
from canbao.tabular import halfwidth

_YUAN = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?$", re.ASCII)
# Any amount in a file is below this: a bank's daily credit total too. It keeps every sum of a
# file's amounts far inside a 64-bit integer, whatever the file says.
FEN_MAX = 10**12 - 1
# A receipt number is printed on the receipt: a few digits (7 in the books Canbao labels).
RECEIPT_DIGITS_MAX = 12
# What Excel shows for a long number typed into a cell: its last digits are gone.
SCIENTIFIC = re.compile(r"^\d+(?:\.\d+)?E[+-]?\d+$", re.ASCII | re.IGNORECASE)


def parse_yuan(text: str) -> int:
    """Yuan as written (250, 250.00, 1,250.5, ¥250, full-width digits) to fen, exactly: no
    float, at most 2 decimals, below FEN_MAX. Circled or superscript digits are not digits.
    ValueError with a Chinese message otherwise."""
    s = halfwidth(text).strip().removeprefix("¥")
    match = _YUAN.match(s)
    if match is None:
        raise ValueError(f"金额“{text}”无法识别，请写成以元为单位的数字，例如 250 或 250.00")
    if match.group(1) is not None and len(match.group(1)) > 2:
        raise ValueError(f"金额“{text}”超过两位小数（分以下），请核对")
    return _bounded(int(Decimal(s.replace(",", "")) * 100), text)


def parse_fen(text: str) -> int:
    s = halfwidth(text).strip()
    if not s.isdigit() or not s.isascii():
        raise ValueError(f"金额（分）“{text}”须为整数分，例如 25000")
    return _bounded(int(s), text)


def _bounded(fen: int, text: str) -> int:
    if fen > FEN_MAX:
        raise ValueError(f"金额“{text}”过大（超过{yuan_decimal(FEN_MAX):,}元），请核对")
    return fen


def receipt_number(written: str) -> int | None:
    """The number of a receipt as written in a cash file or on the command line (full-width
    digits and leading zeros allowed); None when it is not a positive number of at most
    RECEIPT_DIGITS_MAX digits."""
    key = payment_key(written)
    if key.isascii() and key.isdigit() and key != "0" and len(key) <= RECEIPT_DIGITS_MAX:
        return int(key)
    return None


def payment_key(written: str) -> str:
    """A payment's key (流水号, 批次行号, 收据号码) as compared and recorded, on every channel:
    full-width forms half-width, and a key of digits only without its leading zeros. Excel drops
    them when a column of numbers passes through it, and no channel issues two keys that differ
    only by them: tax e-ticket numbers and bank serials have a fixed length, receipt numbers are
    numbers."""
    key = halfwidth(written).strip()
    if key.isascii() and key.isdigit():
        return key.lstrip("0") or "0"
    return key


@dataclass(frozen=True)
class PaymentLimits:
    """What one payment of a campaign can plausibly be. At most ten times the policy's full
    price (personal + fiscal part; the personal part alone while the fiscal part is pending):
    more is no one person's contribution. Paid from the first day a window of the policy opens
    (1 January of the year before the coverage year when its collection period states no first
    day) to the end of the coverage year."""

    full_fen: int
    fiscal_pending: bool
    first_day: date
    last_day: date

    @property
    def max_fen(self) -> int:
        return 10 * self.full_fen

    @classmethod
    def of(cls, policy: Policy) -> PaymentLimits:
        fiscal = policy.contribution.fiscal_subsidy_fen
        opens = [rule.paid_from for rule in policy.enrollment if not rule.events]
        return cls(
            full_fen=policy.contribution.personal_fen + (0 if fiscal == "pending" else fiscal),
            fiscal_pending=fiscal == "pending",
            first_day=min(day for day in opens if day is not None)
            if opens and None not in opens
            else date(policy.coverage_year - 1, 1, 1),
            last_day=date(policy.coverage_year, 12, 31),
        )

    def amount_problem(self, fen: int, text: str) -> str | None:
        if fen <= self.max_fen:
            return None
        price = "个人缴费" if self.fiscal_pending else "足额缴费（个人缴费与财政补助之和）"
        return (
            f"金额“{text}”超过本政策{price}{yuan_decimal(self.full_fen):,}元的十倍"
            f"（{yuan_decimal(self.max_fen):,}元），不会是一个人的缴费，请核对。"
        )

    def date_problem(self, day: date) -> str | None:
        if self.first_day <= day <= self.last_day:
            return None
        return (
            f"缴费日期{day.isoformat()}不在本次参保缴费工作的期间内（{self.first_day.isoformat()}"
            f"至{self.last_day.isoformat()}），请核对。"
        )
