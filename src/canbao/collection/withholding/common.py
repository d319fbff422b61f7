"""What every step of the withholding round trip shares: the file columns, the bank's return
codes and how they are classified, and reading a cell of money or an account number."""

from __future__ import annotations

import re
from collections.abc import Sequence

from canbao.collection.models import (
    WithholdingLine,
)
from canbao.collection.payment_imports import parse_fen, parse_yuan
from canbao.errors import InputError
from canbao.registry.batches import (
    ID_ALIASES,
    RowError,
)
from canbao.tabular import (
    Column,
    Table,
)

Result = WithholdingLine.Result


AGREEMENT_COLUMNS = (
    Column("name", ("姓名",)),
    Column("id_number", ID_ALIASES),
    Column("bank", ("开户银行", "银行")),
    Column("account", ("账号", "银行账号", "卡号")),
    Column("account_name", ("户名", "账户名称")),
    Column("signed_on", ("签订日期", "签约日期")),
)

RETURN_COLUMNS = (
    Column("batch", ("批次号",)),
    Column("line", ("行号",)),
    Column("account", ("账号", "银行账号", "卡号")),
    Column("amount_fen", ("金额（分）", "扣款金额（分）"), required=False),
    Column("amount_yuan", ("金额（元）", "扣款金额（元）", "金额"), required=False),
    Column("code", ("返回码", "响应码")),
    Column("message", ("返回说明", "返回信息", "响应信息"), required=False),
    Column("paid_on", ("扣款日期", "交易日期"), required=False),
)

# The deduction file sent to the bank.
BATCH_HEADER = ("批次号", "行号", "姓名", "公民身份号码", "开户银行", "账号", "户名", "金额（分）")

# The bank's return codes. Banks differ; these are the codes Canbao documents for the return file
# (docs/collection.md), and any other code is classified by its text, else as "other".
CODE_TABLE: dict[str, str] = {
    "0000": Result.SUCCESS,
    "1001": Result.INSUFFICIENT_BALANCE,
    "1002": Result.ACCOUNT_CLOSED,
    "1003": Result.ACCOUNT_FROZEN,
    "1004": Result.NAME_MISMATCH,
    "1005": Result.ACCOUNT_NOT_FOUND,
}
# Texts banks write, checked in this order (failures before success: "扣款不成功" is no success).
TEXT_TABLE: tuple[tuple[tuple[str, ...], str], ...] = (
    (("余额不足", "资金不足", "可用余额不足"), Result.INSUFFICIENT_BALANCE),
    (("销户", "已注销", "账户注销", "卡已注销"), Result.ACCOUNT_CLOSED),
    (("冻结", "止付"), Result.ACCOUNT_FROZEN),
    (("户名不符", "户名不一致", "户名错误", "姓名不符", "账户名称不符"), Result.NAME_MISMATCH),
    (("账号不存在", "账户不存在", "无此账户", "无此账号", "卡号不存在"), Result.ACCOUNT_NOT_FOUND),
)
SUCCESS_TEXTS = frozenset({"成功", "扣款成功", "交易成功", "处理成功", "代扣成功"})

# Failures a new deduction may cure (the resident tops up, the bank lifts a freeze, a passing
# fault); the others need a new agreement and are never retried.
RETRYABLE = (Result.INSUFFICIENT_BALANCE, Result.ACCOUNT_FROZEN, Result.OTHER)
NEEDS_NEW_AGREEMENT = (Result.ACCOUNT_CLOSED, Result.NAME_MISMATCH, Result.ACCOUNT_NOT_FOUND)
# The follow-up list's order: what the township can fix fastest first.
FOLLOWUP_ORDER = (
    Result.INSUFFICIENT_BALANCE,
    Result.ACCOUNT_FROZEN,
    Result.OTHER,
    Result.ACCOUNT_CLOSED,
    Result.NAME_MISMATCH,
    Result.ACCOUNT_NOT_FOUND,
)
FOLLOWUP_ACTIONS: dict[str, str] = {
    Result.INSUFFICIENT_BALANCE: "通知本人存足余额，待重新扣款",
    Result.ACCOUNT_FROZEN: "通知本人到银行解除冻结，待重新扣款",
    Result.OTHER: "核实原因，待重新扣款",
    Result.ACCOUNT_CLOSED: "账户已销户：重新签订三方协议（新账号）",
    Result.NAME_MISMATCH: "户名不符：核对户名后重新签订三方协议",
    Result.ACCOUNT_NOT_FOUND: "账号不存在：核对账号后重新签订三方协议",
}

_ACCOUNT = re.compile(r"[0-9]{6,32}")
_SEPARATORS = str.maketrans("", "", " -\u3000\t'")


class WithholdingError(InputError):
    """A withholding action refused as asked (nothing written): code and Chinese message."""


def read_amount(
    number: int, fen_text: str, yuan_text: str, headers: dict[str, str], errors: list[RowError]
) -> int | None:
    """The row's amount from 金额（分） if the file has it, else 金额（元）."""
    key, text = ("amount_fen", fen_text) if "amount_fen" in headers else ("amount_yuan", yuan_text)
    try:
        fen = parse_fen(text) if key == "amount_fen" else parse_yuan(text)
    except ValueError as error:
        errors.append(RowError(number, headers[key], "amount_format", str(error)))
        return None
    if fen <= 0:
        errors.append(RowError(number, headers[key], "amount_zero", "金额须大于零。"))
        return None
    return fen


def read_account(number: int, text: str, header: str, errors: list[RowError]) -> str | None:
    s = text.translate(_SEPARATORS)
    if "E" in s.upper() and "+" in s:
        errors.append(
            RowError(
                number,
                header,
                "account_scientific_notation",
                f"账号“{text}”被 Excel 改成了科学计数法，末几位已丢失："
                "请把该列设为文本后重新填写。",
            )
        )
        return None
    if not _ACCOUNT.fullmatch(s):
        errors.append(
            RowError(
                number,
                header,
                "account_format",
                f"账号“{text}”不是有效的银行账号（应为6至32位数字）。",
            )
        )
        return None
    return s


def header_texts(table: Table, columns: Sequence[Column]) -> dict[str, str]:
    """Header text per key: as the file writes it, else the canonical one (absent columns are
    left out, so ``key in headers`` says whether the file has the column)."""
    return {c.key: table.headers[c.key] for c in columns if c.key in table.headers}


def canonical_headers(columns: Sequence[Column]) -> dict[str, str]:
    return {c.key: c.aliases[0] for c in columns}
