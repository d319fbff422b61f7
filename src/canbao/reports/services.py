"""Writes of the reports app: a campaign's unit tasks (任务数), from a task table, from the
registry's population, or changed by hand. Every change is kept (who, when, why) as a
``TaskChange`` row and an audit row; a table with any name that does not match exactly one unit
writes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from canbao.campaigns.models import Campaign
from canbao.campaigns.selectors import campaign_policy
from canbao.errors import InputError
from canbao.policy.targets import TargetReport, compute_targets, read_target_table, task_for
from canbao.regions.models import Division
from canbao.registry.batches import record_audit
from canbao.registry.models import Resident
from canbao.reports.coverage import Level
from canbao.reports.matching import Candidate, Match, NameProblem, match_names
from canbao.reports.models import TaskChange, TaskSource, UnitTask

__all__ = [
    "TaskImport",
    "TaskImportRefused",
    "import_task_table",
    "override_task",
    "tasks_from_registry",
]


@dataclass(frozen=True)
class RowProblem:
    row: int
    problem: NameProblem

    def describe(self) -> str:
        return f"第{self.row}行 {self.problem.name}：{self.problem.message}"

    def as_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "name": self.problem.name,
            "code": self.problem.code,
            "message": self.problem.message,
            "candidates": [{"code": c.code, "name": c.name} for c in self.problem.candidates],
        }


class TaskImportRefused(Exception):
    """The table's names could not all be matched: nothing was written."""

    def __init__(self, problems: list[RowProblem], report: TargetReport) -> None:
        super().__init__("; ".join(p.describe() for p in problems))
        self.problems = problems
        self.report = report


@dataclass(frozen=True)
class TaskImport:
    report: TargetReport  # the table with the policy's checks (findings)
    matches: dict[int, Match]  # by the table's row number
    changed: int
    unchanged: int
    dry_run: bool


def _scope(campaign: Campaign, within: Division | None) -> Division:
    return within if within is not None else campaign.area


def _units(campaign: Campaign, level: Level, within: Division | None) -> list[Division]:
    scope = _scope(campaign, within)
    return list(Division.objects.filter(code__startswith=scope.code, level=level).order_by("code"))


def import_task_table(
    *,
    campaign: Campaign,
    path: Path,
    level: Level | None = None,
    within: Division | None = None,
    given: Mapping[str, str] | None = None,
    reason: str = "",
    dry_run: bool = False,
    actor: AbstractBaseUser,
) -> TaskImport:
    """Set the tasks of the units a table lists (by name, as notices write them), each with the
    population the table gives. The policy's checks come back with the result; a table whose
    names do not all match one unit each is refused (``TaskImportRefused``).
    Raises ``TableError`` for a file that cannot be read as a task table."""
    policy = campaign_policy(campaign)
    table = read_target_table(path)
    report = compute_targets(policy.targets, table)
    units = _units(campaign, level or policy.targets.level, within)
    candidates = [Candidate(u.code, u.name) for u in units]
    matches, problems = match_names([u.unit for u in report.units], candidates, given=given)
    rows = {u.unit: u.row for u in report.units}
    refused = [RowProblem(rows[p.name], p) for p in problems]
    by_code: dict[str, list[str]] = {}
    for match in matches:
        by_code.setdefault(match.candidate.code, []).append(match.name)
    for code, names in by_code.items():
        if len(names) > 1:
            for name in names:
                others = "、".join(n for n in names if n != name)
                problem = NameProblem(
                    name, "duplicate_unit", (), f"与 {others} 对应同一单位（{code}）"
                )
                refused.append(RowProblem(rows[name], problem))
    if refused:
        raise TaskImportRefused(sorted(refused, key=lambda p: p.row), report)
    by_row = {rows[m.name]: m for m in matches}
    if dry_run:
        return TaskImport(report, by_row, 0, 0, dry_run=True)
    division_of = {u.code: u for u in units}
    why = reason or f"导入任务分解表 {path.name}"
    user = actor.get_username()
    changed = unchanged = 0
    with transaction.atomic():
        now = timezone.now()
        for unit in report.units:
            division = division_of[by_row[unit.row].candidate.code]
            if _set_task(
                campaign, division, unit.population, unit.task, TaskSource.TABLE, why, user, now
            ):
                changed += 1
            else:
                unchanged += 1
        record_audit(
            action="report.tasks.import",
            actor=actor,
            details={
                "campaign": campaign.pk,
                "file": path.name,
                "units": len(report.units),
                "changed": changed,
                "findings": list(report.findings),
            },
        )
    return TaskImport(report, by_row, changed, unchanged, dry_run=False)


def tasks_from_registry(
    *,
    campaign: Campaign,
    within: Division | None = None,
    reason: str = "",
    actor: AbstractBaseUser,
) -> tuple[int, int]:
    """Set each unit's task at the policy's level from the registry's active residents now
    (population x the target rate, rounded as the policy says): the base is then fixed for later
    reports. Returns (changed, unchanged)."""
    targets = campaign_policy(campaign).targets
    units = _units(campaign, targets.level, within)
    path = "village" if targets.level == "village" else "village__parent"
    counts = dict(
        Resident.objects.filter(status=Resident.Status.ACTIVE, **{f"{path}__in": units})
        .values_list(path)
        .order_by()
        .annotate(n=Count("pk"))
    )
    user = actor.get_username()
    why = reason or "按登记在册人口测算"
    changed = unchanged = 0
    with transaction.atomic():
        now = timezone.now()
        for unit in units:
            population = counts.get(unit.pk, 0)
            task = task_for(population, targets.rate_percent, targets.rounding)
            if _set_task(campaign, unit, population, task, TaskSource.REGISTRY, why, user, now):
                changed += 1
            else:
                unchanged += 1
        record_audit(
            action="report.tasks.registry",
            actor=actor,
            details={"campaign": campaign.pk, "units": len(units), "changed": changed},
        )
    return changed, unchanged


def override_task(
    *,
    campaign: Campaign,
    code: str,
    task: int,
    reason: str,
    population: int | None = None,
    actor: AbstractBaseUser,
) -> UnitTask:
    """Change one unit's task by hand, with the reason (required)."""
    if not reason.strip():
        raise InputError("reason_required", "调整任务数须说明原因（--reason）")
    if task < 0 or (population is not None and population < 0):
        raise InputError("negative", "任务数和人口数不能为负")
    scope = campaign.area
    division = Division.objects.filter(code=code, code__startswith=scope.code).first()
    if division is None or division.level == Division.Level.COUNTY:
        raise InputError(
            "unknown_unit", f"区划代码 {code} 不是本次工作（{scope.name}）内的乡镇或村（社区）"
        )
    user = actor.get_username()
    with transaction.atomic():
        current = UnitTask.objects.filter(campaign=campaign, division=division).first()
        if population is None and current is not None:
            population = current.population
        _set_task(
            campaign, division, population, task, TaskSource.OVERRIDE, reason, user, timezone.now()
        )
        record_audit(
            action="report.tasks.override",
            actor=actor,
            details={
                "campaign": campaign.pk,
                "division": code,
                "old_task": None if current is None else current.task,
                "new_task": task,
                "population": population,
                "reason": reason,
            },
        )
    return UnitTask.objects.get(campaign=campaign, division=division)


def _set_task(
    campaign: Campaign,
    division: Division,
    population: int | None,
    task: int,
    source: str,
    reason: str,
    user: str,
    now: datetime,
) -> bool:
    """Store the unit's task and a change row; False (nothing written) when it is unchanged."""
    current = UnitTask.objects.filter(campaign=campaign, division=division).first()
    if current is not None and (current.population, current.task) == (population, task):
        return False
    TaskChange.objects.create(
        campaign=campaign,
        division=division,
        source=source,
        old_task=None if current is None else current.task,
        new_task=task,
        old_population=None if current is None else current.population,
        new_population=population,
        reason=reason,
        at=now,
        by=user,
    )
    UnitTask.objects.update_or_create(
        campaign=campaign,
        division=division,
        defaults={
            "population": population,
            "task": task,
            "source": source,
            "updated_at": now,
            "updated_by": user,
        },
    )
    return True
