from typing import TYPE_CHECKING

from django.contrib import admin

from canbao.registry.models import (
    AuditEntry,
    CategoryFact,
    Household,
    ImportBatch,
    Resident,
    RosterFollowUp,
)

if TYPE_CHECKING:
    ImportBatchBase = admin.ModelAdmin[ImportBatch]
    AuditEntryBase = admin.ModelAdmin[AuditEntry]
    HouseholdBase = admin.ModelAdmin[Household]
    ResidentBase = admin.ModelAdmin[Resident]
    CategoryFactBase = admin.ModelAdmin[CategoryFact]
    RosterFollowUpBase = admin.ModelAdmin[RosterFollowUp]
else:  # ModelAdmin is not subscriptable at run time
    ImportBatchBase = admin.ModelAdmin
    AuditEntryBase = admin.ModelAdmin
    HouseholdBase = admin.ModelAdmin
    ResidentBase = admin.ModelAdmin
    CategoryFactBase = admin.ModelAdmin
    RosterFollowUpBase = admin.ModelAdmin


@admin.register(ImportBatch)
class ImportBatchAdmin(ImportBatchBase):
    list_display = ("pk", "kind", "status", "file_name", "username", "created_at", "rows")
    list_filter = ("kind", "status")


@admin.register(AuditEntry)
class AuditEntryAdmin(AuditEntryBase):
    list_display = ("at", "username", "action", "batch")
    list_filter = ("action",)


@admin.register(Household)
class HouseholdAdmin(HouseholdBase):
    list_display = ("number", "village")
    search_fields = ("number",)
    raw_id_fields = ("village", "batch")


@admin.register(Resident)
class ResidentAdmin(ResidentBase):
    list_display = ("name", "id_number", "household", "relation", "village", "status")
    list_filter = ("status", "id_type")
    search_fields = ("name", "id_number")
    raw_id_fields = ("household", "village", "batch", "flags_batch")


@admin.register(CategoryFact)
class CategoryFactAdmin(CategoryFactBase):
    list_display = ("resident", "category", "source", "valid_from", "valid_to", "batch")
    list_filter = ("category", "source")
    raw_id_fields = ("resident", "batch")


@admin.register(RosterFollowUp)
class RosterFollowUpAdmin(RosterFollowUpBase):
    list_display = ("batch", "row", "name", "id_number")
    raw_id_fields = ("batch",)
