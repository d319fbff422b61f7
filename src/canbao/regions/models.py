"""Divisions of a pooling area: county (6-digit code), township (9), village (12), with the
village groups (村民小组) a village may list."""

from django.db import models


class Division(models.Model):
    class Level(models.TextChoices):
        COUNTY = "county", "县级"
        TOWNSHIP = "township", "乡级"
        VILLAGE = "village", "村级"

    code = models.CharField("统计用区划代码", max_length=12, unique=True)
    name = models.CharField("名称", max_length=100)
    level = models.CharField("级别", max_length=8, choices=Level.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )

    class Meta:
        verbose_name = "行政区划"
        verbose_name_plural = "行政区划"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level__in=["county", "township", "village"]),
                name="division_level_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class VillageGroup(models.Model):
    """A group (村民小组) of a village; optional, villages need not list theirs."""

    village = models.ForeignKey(Division, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField("组名", max_length=50)

    class Meta:
        verbose_name = "村民小组"
        verbose_name_plural = "村民小组"
        constraints = [
            models.UniqueConstraint(fields=["village", "name"], name="village_group_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.village.name}{self.name}"
