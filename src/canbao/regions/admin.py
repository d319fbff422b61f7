from typing import TYPE_CHECKING

from django.contrib import admin

from canbao.regions.models import Division, VillageGroup

if TYPE_CHECKING:
    DivisionBase = admin.ModelAdmin[Division]
    VillageGroupBase = admin.ModelAdmin[VillageGroup]
else:  # ModelAdmin is not subscriptable at run time
    DivisionBase = admin.ModelAdmin
    VillageGroupBase = admin.ModelAdmin


@admin.register(Division)
class DivisionAdmin(DivisionBase):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    raw_id_fields = ("parent",)


@admin.register(VillageGroup)
class VillageGroupAdmin(VillageGroupBase):
    list_display = ("village", "name")
    raw_id_fields = ("village",)
