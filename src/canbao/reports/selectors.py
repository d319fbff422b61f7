"""Reads of the reports app: a campaign's stored unit tasks, checked against the policy's rule,
and the history of their changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from canbao.campaigns.models import Campaign
from canbao.campaigns.selectors import campaign_policy
from canbao.policy.targets import task_for
from canbao.regions.models import Division
from canbao.reports.models import TaskChange, TaskSource, UnitTask

__all__ = ["StoredTask", "TaskHistory", "stored_tasks", "task_history"]


@dataclass(frozen=True)
class StoredTask:
    code: str
    name: str
    level: str
    parent_name: str
    population: int | None
    task: int
    computed_task: int | None  # population x the policy's rate, rounded as it says
    source: str
    updated_at: datetime
    updated_by: str

    @property
    def differs_from_rule(self) -> bool:
        return self.computed_task is not None and self.computed_task != self.task

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "level": self.level,
            "parent_name": self.parent_name,
            "population": self.population,
            "task": self.task,
            "computed_task": self.computed_task,
            "differs_from_rule": self.differs_from_rule,
            "source": self.source,
            "source_label": TaskSource(self.source).label,
            "updated_at": self.updated_at.isoformat(),
            "updated_by": self.updated_by,
        }


@dataclass(frozen=True)
class TaskHistory:
    code: str
    name: str
    source: str
    old_task: int | None
    new_task: int
    old_population: int | None
    new_population: int | None
    reason: str
    at: datetime
    by: str

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "source": self.source,
            "source_label": TaskSource(self.source).label,
            "old_task": self.old_task,
            "new_task": self.new_task,
            "old_population": self.old_population,
            "new_population": self.new_population,
            "reason": self.reason,
            "at": self.at.isoformat(),
            "by": self.by,
        }


def stored_tasks(*, campaign: Campaign, within: Division | None = None) -> list[StoredTask]:
    """The campaign's stored tasks by division code, each with what the policy's rule makes of
    its population."""
    targets = campaign_policy(campaign).targets
    rows = UnitTask.objects.filter(campaign=campaign).select_related("division__parent")
    if within is not None:
        rows = rows.filter(division__code__startswith=within.code)
    result = []
    for row in rows.order_by("division__code"):
        d = row.division
        computed = (
            None
            if row.population is None
            else task_for(row.population, targets.rate_percent, targets.rounding)
        )
        result.append(
            StoredTask(
                code=d.code,
                name=d.name,
                level=d.level,
                parent_name=d.parent.name if d.parent else "",
                population=row.population,
                task=row.task,
                computed_task=computed,
                source=row.source,
                updated_at=row.updated_at,
                updated_by=row.updated_by,
            )
        )
    return result


def task_history(*, campaign: Campaign, code: str | None = None) -> list[TaskHistory]:
    """Every change of the campaign's tasks (of one unit if `code` is given), oldest first."""
    rows = TaskChange.objects.filter(campaign=campaign).select_related("division")
    if code is not None:
        rows = rows.filter(division__code=code)
    return [
        TaskHistory(
            code=c.division.code,
            name=c.division.name,
            source=c.source,
            old_task=c.old_task,
            new_task=c.new_task,
            old_population=c.old_population,
            new_population=c.new_population,
            reason=c.reason,
            at=c.at,
            by=c.by,
        )
        for c in rows.order_by("at", "pk")
    ]
