"""Coverage at any date (参保进度): per township or village, the population base, the task, who is
enrolled as of the day and a week before, the rates, the gap, the ranking and each special
group's rate.

"Enrolled as of D" is the ledger's enrollment with ``enrolled_on <= D`` (the day the payments
reached the amount due), so a report for a past day comes out the same when run again later,
unless a payment of that period was reversed since (the reversal undoes the enrollment) or a
payment dated on or before D was recorded after the first run (a late file, a back-dated cash
receipt). The population base is the task table's when one was imported (fixed); otherwise it is
the registry's active residents now, which moves as the registry does: ``report tasks
--from-registry`` freezes it. Special groups are read from the department rosters' facts valid on
D, as the registry holds them now.

The registry carries no village group (村民小组) for a resident, so coverage stops at villages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, Literal

from django.db import connection

from canbao.campaigns.models import Campaign
from canbao.campaigns.selectors import campaign_policy
from canbao.policy.codes import CATEGORY_NAMES
from canbao.policy.schema import Policy
from canbao.policy.targets import task_for
from canbao.regions.models import Division
from canbao.registry.models import Resident
from canbao.reports.models import UnitTask

__all__ = [
    "LEVEL_NAMES",
    "CoverageReport",
    "GroupCoverage",
    "GroupKey",
    "GroupShortfall",
    "Level",
    "UnitCoverage",
    "coverage",
    "group_counts",
    "percent",
    "percent_text",
]

Level = Literal["township", "village"]
LEVEL_NAMES: dict[str, str] = {"township": "乡镇（街道）", "village": "村（社区）"}
# Where a unit's task comes from: a stored task (see reports.models.TaskSource), the sum of its
# villages' stored tasks, or computed now from the registry's population (nothing stored).
TaskOrigin = Literal["table", "registry", "override", "sum", "computed"]
PREVIOUS_REPORT_DAYS = 7

_ENROLLED_SQL = """
SELECT r.village_id,
       SUM(CASE WHEN e.enrolled_on <= %(previous)s THEN 1 ELSE 0 END) AS previous,
       COUNT(*) AS enrolled
FROM collection_enrollment e JOIN registry_resident r ON r.id = e.resident_id
WHERE e.campaign_id = %(campaign)s AND e.enrolled_on <= %(as_of)s
GROUP BY r.village_id
"""

_POPULATION_SQL = """
SELECT village_id, COUNT(*) FROM registry_resident WHERE status = %(active)s GROUP BY village_id
"""

# Eligible (or enrolled) residents with special categories valid on the day, counted per village,
# set of categories held (a bit mask: bit i for the i-th category asked for) and whether they
# were enrolled by then. A resident appears once, whatever the number of rosters naming them.
_GROUP_MASKS_SQL = """
SELECT village_id, mask, enrolled, COUNT(*) FROM (
    SELECT MAX(r.village_id) AS village_id, {mask} AS mask,
           MAX(CASE WHEN e.enrolled_on <= %(as_of)s THEN 1 ELSE 0 END) AS enrolled
    FROM registry_categoryfact f
    JOIN registry_resident r ON r.id = f.resident_id
    LEFT JOIN campaigns_assessment a
      ON a.campaign_id = %(campaign)s AND a.resident_id = f.resident_id
    LEFT JOIN collection_enrollment e
      ON e.campaign_id = %(campaign)s AND e.resident_id = f.resident_id
    WHERE f.category IN ({categories})
      AND (f.valid_from IS NULL OR f.valid_from <= %(as_of)s)
      AND (f.valid_to IS NULL OR f.valid_to >= %(as_of)s)
      AND (a.eligible = %(true)s OR e.id IS NOT NULL)
    GROUP BY f.resident_id
) x
GROUP BY village_id, mask, enrolled
"""


@dataclass(frozen=True)
class GroupCoverage:
    members: int
    enrolled: int
    rate: Decimal | None  # percent, one decimal; None without members


@dataclass(frozen=True)
class UnitCoverage:
    code: str
    name: str
    parent_code: str | None
    parent_name: str | None
    population_base: int
    task: int | None
    task_origin: TaskOrigin | None
    enrolled: int
    enrolled_previous: int
    change: int
    rate_of_task: Decimal | None  # percent, one decimal; None without a task
    rate_of_base: Decimal | None  # percent, one decimal; None with a base of 0
    gap_to_task: int | None  # what the unit still lacks to its task, >= 0; None without a task
    rank: int | None  # 1 = best rate against the task (ties share a rank); None for the total
    groups: dict[str, GroupCoverage]

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "parent_code": self.parent_code,
            "parent_name": self.parent_name,
            "population_base": self.population_base,
            "task": self.task,
            "task_origin": self.task_origin,
            "enrolled": self.enrolled,
            "enrolled_previous": self.enrolled_previous,
            "change": self.change,
            "rate_of_task": percent_text(self.rate_of_task),
            "rate_of_base": percent_text(self.rate_of_base),
            "gap_to_task": self.gap_to_task,
            "rank": self.rank,
            "groups": {
                code: {"members": g.members, "enrolled": g.enrolled, "rate": percent_text(g.rate)}
                for code, g in self.groups.items()
            },
        }


@dataclass(frozen=True)
class GroupShortfall:
    unit_code: str
    unit_name: str
    category: str
    label: str
    members: int
    enrolled: int
    missing: int


@dataclass(frozen=True)
class CoverageReport:
    campaign: Campaign
    as_of: date
    previous_as_of: date
    level: Level
    units: list[UnitCoverage]  # in rank order
    total: UnitCoverage
    special_groups: list[GroupShortfall]
    special_groups_rate_percent: Decimal
    # The policy's line (accountability, else the target rate), against the population base.
    line_percent: Decimal
    units_below_line: list[UnitCoverage] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign.pk,
            "as_of": self.as_of.isoformat(),
            "previous_as_of": self.previous_as_of.isoformat(),
            "level": self.level,
            "units": [u.as_json() for u in self.units],
            "total": self.total.as_json(),
            "special_groups_rate_percent": percent_text(self.special_groups_rate_percent),
            "special_groups": [
                {
                    "unit_code": s.unit_code,
                    "unit_name": s.unit_name,
                    "category": s.category,
                    "label": s.label,
                    "members": s.members,
                    "enrolled": s.enrolled,
                    "missing": s.missing,
                }
                for s in self.special_groups
            ],
            "line_percent": percent_text(self.line_percent),
            "units_below_line": [u.code for u in self.units_below_line],
        }


def percent_text(value: Decimal | None) -> str | None:
    """A percent for JSON: a string, exact as computed ("95.0"); None stays None."""
    return None if value is None else str(value)


def percent(part: int, whole: int | None) -> Decimal | None:
    """part / whole as a percent with one decimal, rounded half up; None when whole is 0."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def coverage(
    *,
    campaign: Campaign,
    as_of: date,
    level: Level,
    within: Division | None = None,
) -> CoverageReport:
    """Coverage of the campaign's townships or villages (those under `within` if given) as of
    the end of `as_of`, against the tasks and the population base."""
    policy = campaign_policy(campaign)
    scope = within if within is not None else campaign.area
    previous = as_of - timedelta(days=PREVIOUS_REPORT_DAYS)
    divisions = list(
        Division.objects.filter(code__startswith=scope.code)
        .select_related("parent")
        .order_by("code")
    )
    children: dict[int, list[Division]] = {}
    for division in divisions:
        if division.parent_id is not None:
            children.setdefault(division.parent_id, []).append(division)
    villages = [d for d in divisions if d.level == Division.Level.VILLAGE]
    counts = _village_counts(campaign, as_of, previous, villages)
    categories: list[str] = list(policy.targets.special_groups)
    groups = group_counts(campaign=campaign, as_of=as_of, keys=[(c,) for c in categories])
    tree = _Tree(campaign, policy, counts, groups, children, categories)
    units = _ranked([tree.unit(d) for d in divisions if d.level == level])
    total = tree.unit(scope, rank=False)

    required = policy.targets.special_groups_rate_percent
    shortfalls = [
        GroupShortfall(
            unit.code,
            unit.name,
            code,
            CATEGORY_NAMES[code],
            group.members,
            group.enrolled,
            group.members - group.enrolled,
        )
        for unit in units
        for code, group in unit.groups.items()
        if group.members and Decimal(group.enrolled) * 100 < required * group.members
    ]
    line = _line_percent(policy)
    return CoverageReport(
        campaign=campaign,
        as_of=as_of,
        previous_as_of=previous,
        level=level,
        units=units,
        total=total,
        special_groups=shortfalls,
        special_groups_rate_percent=required,
        line_percent=line,
        units_below_line=[u for u in units if Decimal(u.enrolled) * 100 < line * u.population_base],
    )


def _line_percent(policy: Policy) -> Decimal:
    accountability = policy.accountability
    if accountability is not None and accountability.below_rate_percent is not None:
        return accountability.below_rate_percent
    return policy.targets.rate_percent


@dataclass(frozen=True)
class _VillageCounts:
    population: int
    enrolled: int
    previous: int


def _village_counts(
    campaign: Campaign, as_of: date, previous: date, villages: list[Division]
) -> dict[int, _VillageCounts]:
    enrolled: dict[int, tuple[int, int]] = {}
    population: dict[int, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            _ENROLLED_SQL, {"campaign": campaign.pk, "as_of": as_of, "previous": previous}
        )
        for village_id, before, now in cursor.fetchall():
            enrolled[village_id] = (int(now), int(before))
        cursor.execute(_POPULATION_SQL, {"active": Resident.Status.ACTIVE.value})
        population = {village_id: int(count) for village_id, count in cursor.fetchall()}
    return {
        v.pk: _VillageCounts(population.get(v.pk, 0), *enrolled.get(v.pk, (0, 0))) for v in villages
    }


GroupKey = tuple[str, ...]


def group_counts(
    *, campaign: Campaign, as_of: date, keys: Iterable[GroupKey]
) -> dict[tuple[int, GroupKey], tuple[int, int]]:
    """Per (village id, group): the members eligible for (or enrolled in) the campaign and how
    many of them were enrolled as of `as_of`. A group is a set of categories a member holds all
    of (("registered_poor", "disabled_1_2") = the poor disabled)."""
    wanted = list(dict.fromkeys(tuple(k) for k in keys))
    categories = sorted({c for k in wanted for c in k})
    if not categories:
        return {}
    params: dict[str, Any] = {"campaign": campaign.pk, "as_of": as_of, "true": True}
    params.update({f"category{i}": c for i, c in enumerate(categories)})
    bit = {c: 1 << i for i, c in enumerate(categories)}
    mask = " + ".join(
        f"MAX(CASE WHEN f.category = %(category{i})s THEN {1 << i} ELSE 0 END)"
        for i in range(len(categories))
    )
    placeholders = ", ".join(f"%(category{i})s" for i in range(len(categories)))
    sql = _GROUP_MASKS_SQL.format(mask=mask, categories=placeholders)
    key_masks = [(key, sum(bit[c] for c in set(key))) for key in wanted]
    result: dict[tuple[int, GroupKey], tuple[int, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for village_id, held, enrolled, count in cursor.fetchall():
            for key, needed in key_masks:
                if int(held) & needed == needed:
                    members, done = result.get((village_id, key), (0, 0))
                    done += int(count) if enrolled else 0
                    result[village_id, key] = (members + int(count), done)
    return result


class _Tree:
    """Each division's figures, from its villages up: the population base and the task (stored,
    else computed while nothing is stored, else the sum of its parts), the enrolled and the
    special groups."""

    def __init__(
        self,
        campaign: Campaign,
        policy: Policy,
        counts: Mapping[int, _VillageCounts],
        groups: Mapping[tuple[int, GroupKey], tuple[int, int]],
        children: Mapping[int, list[Division]],
        categories: list[str],
    ):
        self.stored = {t.division_id: t for t in UnitTask.objects.filter(campaign=campaign)}
        self.targets = policy.targets
        self.counts, self.groups, self.children = counts, groups, children
        self.categories = categories

    def villages(self, unit: Division) -> list[Division]:
        if unit.level == Division.Level.VILLAGE:
            return [unit]
        return [v for child in self.children.get(unit.pk, []) for v in self.villages(child)]

    def base(self, unit: Division) -> int:
        stored = self.stored.get(unit.pk)
        if stored is not None and stored.population is not None:
            return stored.population
        if unit.level == Division.Level.VILLAGE:
            return self.counts[unit.pk].population
        return sum(self.base(child) for child in self.children.get(unit.pk, []))

    def task(self, unit: Division) -> tuple[int | None, TaskOrigin | None]:
        """The unit's stored task; else, with nothing stored for the campaign, the task computed
        from its base at the policy's level and below; else the sum of its parts' tasks."""
        stored = self.stored.get(unit.pk)
        if stored is not None:
            return stored.task, stored.source  # type: ignore[return-value]  # a TaskSource
        targets = self.targets
        if not self.stored and unit.level in (Division.Level.VILLAGE, targets.level):
            return task_for(self.base(unit), targets.rate_percent, targets.rounding), "computed"
        parts = self.children.get(unit.pk, [])
        if unit.level == Division.Level.VILLAGE or not parts:
            return None, None
        tasks = [self.task(part)[0] for part in parts]
        if any(t is None for t in tasks):
            return None, None
        return sum(t for t in tasks if t is not None), "sum"

    def unit(self, unit: Division, *, rank: bool = True) -> UnitCoverage:
        villages = self.villages(unit)
        enrolled = sum(self.counts[v.pk].enrolled for v in villages)
        previous = sum(self.counts[v.pk].previous for v in villages)
        base = self.base(unit)
        task, origin = self.task(unit)
        unit_groups: dict[str, GroupCoverage] = {}
        for code in self.categories:
            members = done = 0
            for v in villages:
                m, d = self.groups.get((v.pk, (code,)), (0, 0))
                members, done = members + m, done + d
            unit_groups[code] = GroupCoverage(members, done, percent(done, members))
        parent = unit.parent if rank else None
        return UnitCoverage(
            code=unit.code,
            name=unit.name,
            parent_code=parent.code if parent else None,
            parent_name=parent.name if parent else None,
            population_base=base,
            task=task,
            task_origin=origin,
            enrolled=enrolled,
            enrolled_previous=previous,
            change=enrolled - previous,
            rate_of_task=percent(enrolled, task),
            rate_of_base=percent(enrolled, base),
            gap_to_task=None if task is None else max(task - enrolled, 0),
            rank=0 if rank else None,
            groups=unit_groups,
        )


def _ranked(units: list[UnitCoverage]) -> list[UnitCoverage]:
    """Best rate against the task first (exact, not the rounded percent), units without a task
    after them by their rate against the base; equal rates share a rank (1, 2, 2, 4)."""

    def key(u: UnitCoverage) -> tuple[int, Fraction, str]:
        if u.task:
            return (0, -Fraction(u.enrolled, u.task), u.code)
        if u.population_base:
            return (1, -Fraction(u.enrolled, u.population_base), u.code)
        return (2, Fraction(0), u.code)

    ordered = sorted(units, key=key)
    ranked: list[UnitCoverage] = []
    for position, unit in enumerate(ordered, start=1):
        same = ranked and key(ranked[-1])[:2] == key(unit)[:2]
        rank = ranked[-1].rank if same else position
        ranked.append(replace(unit, rank=rank))
    return ranked
