"""Reads of the registry."""

from django.db.models import QuerySet

from canbao.registry.models import CategoryFact, ImportBatch, Resident, RosterFollowUp


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
