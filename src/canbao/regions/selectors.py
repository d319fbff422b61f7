"""Reads of the divisions."""

from django.db.models import QuerySet

from canbao.divisions import normalize_code
from canbao.regions.models import Division


def division_by_code(code: str) -> Division | None:
    return Division.objects.filter(code=normalize_code(code)).first()


def villages_within(code: str) -> QuerySet[Division]:
    """The villages of a county or township (any form of its code)."""
    prefix = normalize_code(code)
    return Division.objects.filter(level=Division.Level.VILLAGE, code__startswith=prefix)
