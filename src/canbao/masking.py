"""How ID numbers and phone numbers are shown to whoever does not need them whole: on printed
notices and in the lists of roles that only count people."""


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
