"""How ID numbers and phone numbers are shown to whoever does not need them whole: on printed
notices and in the lists of roles that only count people."""

import re

# A citizen ID number (15 or 18 characters) or a mainland mobile number standing alone in a
# text: not part of a longer run of digits, such as a bank's 20-digit transaction number.
_ID_OR_MOBILE = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15}|1[3-9]\d{9})(?![0-9A-Za-z])")


def mask_id(id_number: str) -> str:
    """The ID number with its middle hidden: 430922********1234."""
    keep = 6 if len(id_number) >= 14 else 2
    hidden = max(len(id_number) - keep - 4, 0)
    return id_number[:keep] + "*" * hidden + id_number[keep + hidden :]


def mask_phone(phone: str) -> str:
    """A phone number with all but its first three and last four digits hidden: 138****5678."""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_identities(text: str) -> str:
    """``text`` with every ID or mobile number in it masked."""

    def hide(found: re.Match[str]) -> str:
        number = found.group()
        return mask_phone(number) if len(number) == 11 else mask_id(number)

    return _ID_OR_MOBILE.sub(hide, text)
