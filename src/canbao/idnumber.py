"""Identity documents as they are found in bureaus' spreadsheets.

The main document is the resident identity card (居民身份证) with its 18-character citizen
identity number, GB 11643-1999: a 6-digit address code (the division code where the number
was first issued), an 8-digit birth date YYYYMMDD, a 3-digit order code whose last digit is odd
for men and even for women, and a check character (ISO 7064 MOD 11-2, ``X`` stands for 10).

``parse`` is on the bulk import path (a county has up to a million rows), so it does no work per
call that could be done once: the checksum is one C-level ``int(..., 13)`` call (see
``_weighted_sum``), birth dates are looked up in a cache, and plain ASCII input skips Unicode
normalisation.

Every error is an ``IdNumberError`` with a stable English ``code`` and a Chinese ``message``
that says what is wrong and how to fix it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from types import MemberDescriptorType
from typing import Literal

from canbao.errors import InputError

__all__ = [
    "DOCUMENT_KINDS",
    "IdNumber",
    "IdNumberError",
    "check_character",
    "make",
    "normalize",
    "parse",
    "parse_document",
]

Sex = Literal["M", "F"]


class IdNumberError(InputError):
    """An identity document number that cannot be accepted; the message says how to fix it."""


@dataclass(frozen=True, slots=True)
class IdNumber:
    """A checked GB 11643-1999 citizen identity number and what it says."""

    number: str  # 18 characters, upper-case X
    birth_date: date
    sex: Sex  # 17th digit odd = male
    division_code: str  # the first 6 digits (address code)


# --- GB 11643 / ISO 7064 MOD 11-2 -------------------------------------------------------------
#
# The weight of the digit at position i (1-based, from the left, 1..17) is 2**(18-i) mod 11, i.e.
# 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2. Because 13 = 2 (mod 11), reading the 17 digits as a
# base-13 numeral gives sum(d_i * 13**(17-i)) = sum(d_i * 2**(17-i)) (mod 11), which is half the
# weighted sum; so S = 2 * int(first17, 13) (mod 11), computed in C. The tests check this
# against the explicit weights.
WEIGHTS: tuple[int, ...] = tuple(pow(2, 17 - i, 11) for i in range(17))
# S mod 11 -> check character: the check value v satisfies S + v = 1 (mod 11).
_CHECK_BY_REMAINDER = "10X98765432"
_CHECK_CHARS = frozenset("0123456789X")


def _weighted_sum_mod11(first17: str) -> int:
    """Weighted sum of 17 ASCII digits mod 11.

    The caller must have checked they are ASCII digits: ``int`` also accepts signs, underscores
    and surrounding whitespace.
    """
    return (2 * int(first17, 13)) % 11


def check_character(first17: str) -> str:
    """The GB 11643 check character (``0``-``9`` or ``X``) for 17 digits."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise ValueError(f"check_character needs 17 ASCII digits, got {first17!r}")
    return _CHECK_BY_REMAINDER[_weighted_sum_mod11(first17)]


# --- normalisation ------------------------------------------------------------------------------

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
# Excel's "store as text" prefix, and what word processors turn it into.
_LEADING_QUOTES = "'‘’`"


def normalize(raw: str) -> str:
    """What real files do to ID numbers, undone.

    NFKC (full-width digits and letters become half-width; U+3000 and NBSP become spaces), then
    every whitespace character (spaces, tabs, newlines) and zero-width character is removed, then
    one leading apostrophe (Excel's text prefix), and a trailing lower-case ``x`` becomes ``X``.
    Nothing is checked here.
    """
    if not raw.isascii():  # ASCII is already NFKC and has no zero-width characters
        raw = unicodedata.normalize("NFKC", raw).translate(_ZERO_WIDTH)
    s = "".join(raw.split())
    if s and s[0] in _LEADING_QUOTES:
        s = s[1:]
    if s.endswith("x"):
        s = s[:-1] + "X"
    return s


# --- parse --------------------------------------------------------------------------------------

# Excel shows a long number as e.g. 5.30102E+17; the CSV it saves then holds that text, or the
# full-precision float 5.30102199001011E+17, or a reader writes 530102E17. Either way at most
# 15 significant digits survive (Excel's precision): the last digits cannot be recovered.
_SCIENTIFIC = re.compile(r"^[0-9]+(?:\.[0-9]*)?[eE]\+?[0-9]+$")

_birth_dates: dict[str, date] = {}
_BIRTH_DATE_CACHE_MAX = 200_000  # about 550 years of days; real data uses ~40,000 entries


def _birth_date(yyyymmdd: str) -> date | None:
    cached = _birth_dates.get(yyyymmdd)
    if cached is not None:
        return cached
    try:
        value = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return None
    if len(_birth_dates) < _BIRTH_DATE_CACHE_MAX:
        _birth_dates[yyyymmdd] = value
    return value


def _fix_hint(ch: str) -> str:
    hints = {
        "O": "（字母O应为数字0）",
        "o": "（字母o应为数字0）",
        "I": "（字母I应为数字1）",
        "l": "（字母l应为数字1）",
        "×": "（乘号×应为字母X）",
    }
    return hints.get(ch, "")


def _check_characters(s: str, what: str) -> None:
    """Raise ``id_characters`` unless ``s`` is digits with an optional final X."""
    body, last = s[:-1], s[-1]
    if (not body or (body.isascii() and body.isdigit())) and last in _CHECK_CHARS:
        return
    for pos, ch in enumerate(s, start=1):
        if ch.isascii() and ch.isdigit():
            continue
        if ch == "X" and pos == len(s):
            continue
        if ch == "X":
            detail = f"第{pos}位是字母X，X只能出现在最后一位（校验码）"
        else:
            detail = f"第{pos}位“{ch}”不是数字{_fix_hint(ch)}"
        raise IdNumberError(
            "id_characters",
            f"{what}含有不允许的字符：{detail}。{what}只能由数字组成，最后一位可以是X，"
            "请对照证件原件改正。",
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _raise_if_empty_or_scientific(s: str, what: str) -> None:
    if not s:
        raise IdNumberError("id_empty", f"{what}为空，请填写{what}。")
    if ("E" in s or "e" in s) and _SCIENTIFIC.match(s):
        raise IdNumberError(
            "id_scientific_notation",
            f"{what}“{s}”被Excel当成数字存成了科学计数法，后几位数字已经丢失，无法恢复。"
            f"请把这一列的单元格格式设为“文本”，再按证件原件重新录入完整的{what}。",
        )


def _convert_15(s: str) -> str | None:
    """The 18-digit number for a valid 15-digit first-generation number (born 19YY)."""
    if not (s.isascii() and s.isdigit()) or _birth_date("19" + s[6:12]) is None:
        return None
    first17 = s[:6] + "19" + s[6:]
    return first17 + check_character(first17)


def _length_error(s: str, what: str) -> IdNumberError:
    if len(s) == 15:
        converted = _convert_15(s)
        if converted:
            suggestion = f"按国家标准换算的18位号码是{converted}，请与居民身份证核对后录入。"
        else:
            suggestion = "请按居民身份证上的18位号码重新录入。"
        return IdNumberError(
            "id_length",
            f"{what}“{s}”只有15位，是第一代身份证号码，需要换算成18位"
            f"（在出生年份前补“19”，再计算最后一位校验码）：{suggestion}",
        )
    return IdNumberError(
        "id_length",
        f"{what}应为18位，“{s}”是{len(s)}位，请核对是否多录或漏录了数字。",
    )


def _check_18(s: str, today: date | None, what: str) -> IdNumber:
    """Check a normalised string as a GB 11643 number."""
    _raise_if_empty_or_scientific(s, what)
    _check_characters(s, what)
    if len(s) != 18:
        raise _length_error(s, what)
    return _check_body(s, today, what)


def _check_body(s: str, today: date | None, what: str) -> IdNumber:
    """Birth date and checksum of 18 characters already known to be 17 digits + [0-9X].

    This is the hot path of a bulk import: the success path does nothing but a cache lookup,
    one comparison, one ``int(..., 13)`` and the construction of the result; the messages are
    built only on failure.
    """
    born = _birth_dates.get(s[6:14]) or _birth_date(s[6:14])
    if born is None:
        raise _impossible_birth_date(s, what)
    if today is None:
        today = date.today()
    if born > today:
        raise _future_birth_date(s, born, today, what)
    expected = _CHECK_BY_REMAINDER[(2 * int(s[:17], 13)) % 11]
    if s[17] != expected:
        raise _checksum_error(s, expected, what)
    return _new_id_number(s, born, "M" if s[16] in "13579" else "F", s[:6])


# Building the frozen dataclass through its slot descriptors skips the four
# object.__setattr__ calls of the generated __init__ (0.3 instead of 0.55 us; a test checks that
# the result equals the one built by IdNumber(...)).
def _slot(name: str) -> MemberDescriptorType:
    descriptor = vars(IdNumber)[name]
    assert isinstance(descriptor, MemberDescriptorType)
    return descriptor


_object_new = object.__new__
_set_number = _slot("number").__set__
_set_birth_date = _slot("birth_date").__set__
_set_sex = _slot("sex").__set__
_set_division_code = _slot("division_code").__set__


def _new_id_number(number: str, birth_date: date, sex: Sex, division_code: str) -> IdNumber:
    result = _object_new(IdNumber)
    _set_number(result, number)
    _set_birth_date(result, birth_date)
    _set_sex(result, sex)
    _set_division_code(result, division_code)
    return result


def _impossible_birth_date(s: str, what: str) -> IdNumberError:
    return IdNumberError(
        "id_birth_date",
        f"{what}“{s}”第7至14位的出生日期{s[6:10]}年{s[10:12]}月{s[12:14]}日不存在，"
        "请对照证件原件改正。",
    )


def _future_birth_date(s: str, born: date, today: date, what: str) -> IdNumberError:
    return IdNumberError(
        "id_birth_date",
        f"{what}“{s}”中的出生日期{born.isoformat()}晚于今天（{today.isoformat()}），"
        "请对照证件原件改正。",
    )


def _checksum_error(s: str, expected: str, what: str) -> IdNumberError:
    return IdNumberError(
        "id_checksum",
        f"{what}“{s}”的最后一位校验码应为“{expected}”，实际是“{s[17]}”：号码中有数字录错了，"
        "请逐位对照证件原件核对（不要直接把最后一位改成计算出的校验码）。",
    )


def parse(raw: str, today: date | None = None) -> IdNumber:
    """Normalise and check an 18-character GB 11643-1999 citizen identity number.

    ``today`` (default: the system date) is the latest acceptable birth date; bulk callers should
    pass it once rather than have it looked up per row. The address code is not checked against
    a division table (residence permits use 810000/820000/830000, numbers outlive divisions).

    Raises ``IdNumberError`` with code ``id_empty``, ``id_scientific_notation``,
    ``id_characters``, ``id_length``, ``id_birth_date`` or ``id_checksum``, in that order.
    """
    # Fast path: already clean ASCII (the common case in a million-row file).
    if len(raw) == 18 and raw.isascii() and raw[:17].isdigit() and raw[17] in _CHECK_CHARS:
        return _check_body(raw, today, "身份证号码")
    return _check_18(normalize(raw), today, "身份证号码")


def make(division_code: str, birth_date: date, sequence: int, sex: Sex) -> str:
    """Build a valid ID number (synthetic data and tests).

    ``sequence`` 0..499 becomes the 3-digit order code ``2 * sequence + (1 if male else 0)``, so
    its last digit has the parity of the sex.
    """
    if len(division_code) != 6 or not (division_code.isascii() and division_code.isdigit()):
        raise ValueError(f"division_code must be 6 digits, got {division_code!r}")
    if not 0 <= sequence <= 499:
        raise ValueError(f"sequence must be in 0..499, got {sequence}")
    if sex not in ("M", "F"):
        raise ValueError(f"sex must be 'M' or 'F', got {sex!r}")
    if birth_date.year < 1000:
        raise ValueError(f"birth_date must have a 4-digit year, got {birth_date}")
    order = 2 * sequence + (1 if sex == "M" else 0)
    first17 = f"{division_code}{birth_date:%Y%m%d}{order:03d}"
    return first17 + check_character(first17)


# --- other identity documents ------------------------------------------------------------------
#
# Formats, as verified (sources: the Ministry of Public Security's published number rule for the
# 港澳居民来往内地通行证; the 2008 announcement of the one-person-one-number 台胞证; the
# National Immigration Administration's 2023 machine-readable rules for the new 永居证; the
# residence-permit address codes 810000/820000/830000):
# - hk_macau_permit: the 1999 card number is 11 characters, H (Hong Kong) or M (Macau) followed
#   by the holder's 8-digit lifelong number and a 2-digit renewal count (00 on first issue).
#   The 9-character form H/M + the 8-digit lifelong number (printed on newer cards) is accepted
#   too; it was not verified against an official text.
# - taiwan_permit: since 2008-09-25 the number is the holder's 8-digit lifelong number; older
#   numbers are those 8 digits + a 2-digit issue count, and cards issued in Hong Kong or Macau
#   added the issuing office's code in brackets, e.g. 1234567801(B).
# - foreign_permanent_residence: up to 2023, 15 characters = 3 Latin letters (country code) +
#   12 digits; from 2023-12-01, 18 characters = 17 digits + a GB 11643 MOD 11-2 check character,
#   first digit 9 (citizens' numbers start with 1-8).
# - hk_macau_residence_permit / taiwan_residence_permit: citizen identity numbers (GB 11643)
#   whose address code is 810000 (Hong Kong), 820000 (Macau) or 830000 (Taiwan).

DOCUMENT_KINDS: dict[str, str] = {
    "resident_id": "居民身份证",
    "hk_macau_permit": "港澳居民来往内地通行证",
    "taiwan_permit": "台湾居民来往大陆通行证",
    "foreign_permanent_residence": "外国人永久居留身份证",
    "hk_macau_residence_permit": "港澳居民居住证",
    "taiwan_residence_permit": "台湾居民居住证",
}

_HK_MACAU_PERMIT = re.compile(r"^[HM](?:\d{8}|\d{10})$")
_TAIWAN_PERMIT = re.compile(r"^(?:\d{8}|\d{10}|\d{10}\([A-Z0-9]\))$")
_FOREIGN_OLD = re.compile(r"^[A-Z]{3}\d{12}$")
_RESIDENCE_PREFIXES: dict[str, tuple[str, ...]] = {
    "hk_macau_residence_permit": ("810000", "820000"),
    "taiwan_residence_permit": ("830000",),
}


def _document_format_error(what: str, s: str, expected: str, hint: str = "") -> IdNumberError:
    return IdNumberError(
        "id_format", f"{what}号码“{s}”格式不对：应为{expected}。{hint}请对照证件原件改正。"
    )


def parse_document(kind: str, raw: str, *, today: date | None = None) -> str:
    """Normalise and check the number of an identity document; return the normalised number.

    ``kind`` is one of ``DOCUMENT_KINDS``. Numbers are normalised as by ``normalize`` and
    upper-cased. Raises ``IdNumberError``: the codes of ``parse`` for the GB 11643 numbers;
    ``id_empty``, ``id_scientific_notation``, ``id_length`` and ``id_format`` for the others;
    ``id_prefix`` for a valid-looking number of another document; ``document_kind`` for an
    unknown kind.
    """
    what = DOCUMENT_KINDS.get(kind)
    if what is None:
        raise IdNumberError(
            "document_kind",
            f"不支持的证件类型“{kind}”，可选：{'、'.join(DOCUMENT_KINDS.values())}。",
        )
    s = normalize(raw).upper()
    if kind == "resident_id":
        return _check_18(s, today, "身份证号码").number
    if kind in _RESIDENCE_PREFIXES:
        number = _check_18(s, today, f"{what}号码").number
        prefixes = _RESIDENCE_PREFIXES[kind]
        if not number.startswith(prefixes):
            raise IdNumberError(
                "id_prefix",
                f"{what}号码应以{'或'.join(prefixes)}开头，“{number}”不是{what}号码；"
                "如果是居民身份证号码，请把证件类型改为居民身份证。",
            )
        return number

    _raise_if_empty_or_scientific(s, f"{what}号码")
    if kind == "hk_macau_permit":
        if _HK_MACAU_PERMIT.match(s):
            return s
        if s[0] not in "HM":
            raise IdNumberError(
                "id_prefix",
                f"{what}号码应以字母H（香港居民）或M（澳门居民）开头，“{s}”不是。"
                "请对照证件原件改正，或改选正确的证件类型。",
            )
        if s[1:].isascii() and s[1:].isdigit():
            raise IdNumberError(
                "id_length",
                f"{what}号码应为H或M加8位数字（旧证加10位数字），"
                f"“{s}”是{s[0]}加{len(s) - 1}位数字，请核对是否多录或漏录了数字。",
            )
        raise _document_format_error(what, s, "H或M加8位数字（旧证加10位数字）")
    if kind == "taiwan_permit":
        if _TAIWAN_PERMIT.match(s):
            return s
        if s.isascii() and s.isdigit():
            hint = (
                "如果开头的0被Excel去掉了，请把这一列设为“文本”后重新录入。"
                if len(s) in (7, 9)
                else ""
            )
            raise IdNumberError(
                "id_length",
                f"{what}号码应为8位数字（旧证10位），“{s}”是{len(s)}位。{hint}请对照证件原件改正。",
            )
        raise _document_format_error(what, s, "8位数字（旧证10位数字）")
    # foreign_permanent_residence
    if len(s) == 15:
        if _FOREIGN_OLD.match(s):
            return s
        raise _document_format_error(what, s, "旧版3位字母加12位数字，或2023年版18位号码")
    if len(s) == 18:
        _check_characters(s, f"{what}号码")
        if s[0] != "9":
            raise IdNumberError(
                "id_prefix",
                f"2023年版{what}号码以9开头，“{s}”不是；以1-8开头的18位号码是居民身份证号码，"
                "请改选证件类型。",
            )
        expected = check_character(s[:17])
        if s[17] != expected:
            raise IdNumberError(
                "id_checksum",
                f"{what}号码“{s}”的最后一位校验码应为“{expected}”，实际是“{s[17]}”："
                "号码中有字符录错了，请逐位对照证件原件核对。",
            )
        return s
    raise IdNumberError(
        "id_length",
        f"{what}号码应为15位（旧版）或18位（2023年版），“{s}”是{len(s)}位，请核对是否多录或漏录。",
    )
