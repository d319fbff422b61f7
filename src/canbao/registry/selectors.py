"""Reads of the registry."""

from typing import Any

from django.db.models import Count, F, QuerySet

from canbao.registry.models import CategoryFact, ImportBatch, Resident, RosterFollowUp


def with_id_number(residents: QuerySet[Resident], number: str) -> QuerySet[Resident]:
    """Those of ``residents`` holding ``number``, of any type of ID. Naming every type lets the
    database search the unique (id_type, id_number) index instead of reading every resident."""
    return residents.filter(id_type__in=Resident.IdType.values, id_number=number)


def resident_by_id_number(id_number: str, id_type: str = "resident_id") -> Resident | None:
    return Resident.objects.filter(id_type=id_type, id_number=id_number).first()


def residents_of_village(village_code: str) -> QuerySet[Resident]:
    return Resident.objects.filter(village__code=village_code).order_by("household", "id")


def categories_of(resident: Resident) -> QuerySet[CategoryFact]:
    return resident.categories.order_by("category", "source")


def batch_errors(batch_id: int) -> list[dict[str, object]]:
    """The errors a refused batch kept, for the download of its error workbook."""
    batch = ImportBatch.objects.get(pk=batch_id)
    return list(batch.errors)


def follow_ups(batch_id: int) -> QuerySet[RosterFollowUp]:
    return RosterFollowUp.objects.filter(batch_id=batch_id).order_by("row")


def residents_by_township(within: str = "") -> list[dict[str, Any]]:
    """Active residents and households of each township (of the division ``within``, by code),
    for the registry overview."""
    rows = (
        Resident.objects.filter(status=Resident.Status.ACTIVE, village__code__startswith=within)
        .values(township=F("village__parent__name"), code=F("village__parent__code"))
        .annotate(residents=Count("id"), households=Count("household", distinct=True))
        .order_by("code")
    )
    return [dict(row) for row in rows]


def category_counts(within: str = "") -> dict[str, int]:
    """Residents per special category (of the division ``within``, by code), as the department
    rosters marked them."""
    rows = (
        CategoryFact.objects.filter(resident__village__code__startswith=within)
        .values("category")
        .annotate(n=Count("resident", distinct=True))
    )
    return {row["category"]: row["n"] for row in rows.order_by("category")}
