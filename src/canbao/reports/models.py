"""Tasks (任务数) of a campaign's units, and every change made to them: who, when and why."""

from django.db import models

from canbao.campaigns.models import Campaign
from canbao.regions.models import Division


class TaskSource(models.TextChoices):
    TABLE = "table", "任务分解表"
    REGISTRY = "registry", "按登记人口测算"
    OVERRIDE = "override", "人工调整"


class UnitTask(models.Model):
    """The task a township or village stands at in a campaign, with the population it was
    measured against (none when the table states tasks only)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="unit_tasks")
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    population = models.PositiveIntegerField("人口基数", null=True, blank=True)
    task = models.PositiveIntegerField("任务数")
    source = models.CharField("来源", max_length=10, choices=TaskSource.choices)
    updated_at = models.DateTimeField("更新时间")
    updated_by = models.CharField("操作人", max_length=150)

    class Meta:
        verbose_name = "单位任务数"
        verbose_name_plural = "单位任务数"
        constraints = [
            models.UniqueConstraint(fields=["campaign", "division"], name="unit_task_once"),
        ]

    def __str__(self) -> str:
        return f"{self.division_id} {self.task}"


class TaskChange(models.Model):
    """One change of one unit's task: a table imported, a computation, or an override."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="task_changes")
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    source = models.CharField("来源", max_length=10, choices=TaskSource.choices)
    old_task = models.PositiveIntegerField("原任务数", null=True, blank=True)
    new_task = models.PositiveIntegerField("新任务数")
    old_population = models.PositiveIntegerField("原人口基数", null=True, blank=True)
    new_population = models.PositiveIntegerField("新人口基数", null=True, blank=True)
    reason = models.CharField("原因", max_length=300)
    at = models.DateTimeField("时间")
    by = models.CharField("操作人", max_length=150)

    class Meta:
        verbose_name = "任务数变更"
        verbose_name_plural = "任务数变更"
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.division_id} {self.old_task}→{self.new_task}"
