"""Work funding (工作经费) and accountability (问责) per township or village, from coverage.

The rules are the policy's (``canbao.policy.funding.work_funding``); this module gives them each
unit's figures as of a day: the population base, the enrolled (the ledger's enrollments), the
records the tax system shows as paid (enrolled residents with a live tax payment), whether the
task was finished by the deadline (the end of the counting period, else of the concentrated
period) and whether every special group the rules name is fully enrolled.

Counting is cumulative: everyone enrolled in the campaign by the day counts, also those who paid
before a counting period's first day (Daligang counts 11-01..12-31; its campaign opens then).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection

from canbao.campaigns.models import Campaign
from canbao.campaigns.selectors import campaign_policy, reference_day
from canbao.collection.models import Channel
from canbao.policy.codes import CATEGORY_NAMES
from canbao.policy.funding import FundingResult, UnitProgress, work_funding
from canbao.policy.schema import Policy
from canbao.regions.models import Division
from canbao.reports.coverage import (
    GroupKey,
    Level,
    UnitCoverage,
    coverage,
    group_counts,
    percent_text,
)

__all__ = ["FundingReport", "GroupStatus", "UnitFunding", "funding", "funding_deadline"]

# Enrolled residents per village whose payments include a live (not reversed) tax payment made
# by the day: the records "the tax system shows as paid".
_PAID_RECORDS_SQL = """
SELECT r.village_id, COUNT(*)
FROM collection_enrollment e JOIN registry_resident r ON r.id = e.resident_id
WHERE e.campaign_id = %(campaign)s AND e.enrolled_on <= %(as_of)s
  AND EXISTS (
    SELECT 1 FROM collection_payment p
    WHERE p.campaign_id = %(campaign)s AND p.resident_id = e.resident_id
      AND p.channel = %(tax)s AND p.amount_fen > 0 AND p.paid_on <= %(as_of)s
      AND NOT EXISTS (SELECT 1 FROM collection_payment q WHERE q.reverses_id = p.id)
  )
GROUP BY r.village_id
"""


@dataclass(frozen=True)
class GroupStatus:
    categories: GroupKey
    label: str
    members: int
    enrolled: int

    @property
    def complete(self) -> bool:
        return self.enrolled >= self.members


@dataclass(frozen=True)
class UnitFunding:
    unit: UnitCoverage
    paid_records: int
    task_met: bool  # enrolled >= task by the deadline
    groups: tuple[GroupStatus, ...]
    result: FundingResult

    @property
    def special_groups_complete(self) -> bool:
        return all(g.complete for g in self.groups)

    def as_json(self) -> dict[str, Any]:
        u, r = self.unit, self.result
        return {
            "code": u.code,
            "name": u.name,
            "parent_code": u.parent_code,
            "parent_name": u.parent_name,
            "population_base": u.population_base,
            "task": u.task,
            "enrolled": u.enrolled,
            "rate_of_base": percent_text(u.rate_of_base),
            "rate_of_task": percent_text(u.rate_of_task),
            "paid_records": self.paid_records,
            "task_met": self.task_met,
            "special_groups_complete": self.special_groups_complete,
            "groups": [
                {
                    "categories": list(g.categories),
                    "label": g.label,
                    "members": g.members,
                    "enrolled": g.enrolled,
                    "complete": g.complete,
                }
                for g in self.groups
            ],
            "lines": [
                {
                    "payee": line.payee,
                    "rule": line.name,
                    "count": line.count,
                    "fen_each": line.fen_each,
                    "fen": line.fen,
                    "why": line.why,
                    "explain": line.explain(),
                }
                for line in r.lines
            ],
            "unit_fen": r.total_fen("unit"),
            "bureau_fen": r.total_fen("bureau"),
            "notes": list(r.notes),
            "accountable": r.accountable,
            "reasons": list(r.reasons),
        }


@dataclass(frozen=True)
class FundingReport:
    campaign: Campaign
    as_of: date
    deadline: date
    level: Level
    units: list[UnitFunding]  # in the coverage ranking

    @property
    def unit_fen(self) -> int:
        return sum(u.result.total_fen("unit") for u in self.units)

    @property
    def bureau_fen(self) -> int:
        return sum(u.result.total_fen("bureau") for u in self.units)

    @property
    def accountable(self) -> list[UnitFunding]:
        return [u for u in self.units if u.result.accountable]

    def as_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign.pk,
            "as_of": self.as_of.isoformat(),
            "deadline": self.deadline.isoformat(),
            "level": self.level,
            "units": [u.as_json() for u in self.units],
            "unit_fen": self.unit_fen,
            "bureau_fen": self.bureau_fen,
            "accountable": [u.unit.code for u in self.accountable],
        }


def funding_deadline(policy: Policy) -> date:
    """The day a task must be finished by: the end of the rules' counting period, else of the
    concentrated period."""
    rules = policy.work_funding
    if rules is not None and rules.counted_until is not None:
        return rules.counted_until
    return reference_day(policy)


def _groups(policy: Policy) -> list[GroupKey]:
    """The groups that must be fully enrolled: the funding rules' own (Daligang's poor disabled
    are a pair of categories), else the targets' special groups."""
    rules = policy.work_funding
    if rules is not None and rules.special_groups:
        return [tuple(g) for g in rules.special_groups]
    return [(c,) for c in policy.targets.special_groups]


def _label(key: GroupKey) -> str:
    return "且".join(CATEGORY_NAMES[c] for c in key)


def funding(
    *,
    campaign: Campaign,
    as_of: date | None = None,
    within: Division | None = None,
) -> FundingReport:
    """Each unit's work funding and accountability at the policy's level, as of `as_of` (by
    default the deadline), every amount with the rule that produced it."""
    policy = campaign_policy(campaign)
    deadline = funding_deadline(policy)
    day = as_of if as_of is not None else deadline
    rules = policy.work_funding
    level: Level = rules.level if rules is not None else policy.targets.level
    report = coverage(campaign=campaign, as_of=day, level=level, within=within)
    on_time = (
        report
        if day <= deadline
        else coverage(campaign=campaign, as_of=deadline, level=level, within=within)
    )
    met = {u.code: u.task is not None and u.enrolled >= u.task for u in on_time.units}
    keys = _groups(policy)
    scope = within if within is not None else campaign.area
    villages = list(
        Division.objects.filter(code__startswith=scope.code, level=Division.Level.VILLAGE)
        .select_related("parent")
        .order_by("code")
    )
    unit_of = {
        v.pk: (v.code if level == "village" else (v.parent.code if v.parent else ""))
        for v in villages
    }
    counted = group_counts(campaign=campaign, as_of=day, keys=keys)
    group_tally: dict[tuple[str, GroupKey], list[int]] = {}
    for (village_id, key), (members, enrolled) in counted.items():
        tally = group_tally.setdefault((unit_of.get(village_id, ""), key), [0, 0])
        tally[0] += members
        tally[1] += enrolled
    records = _paid_records(campaign, day, unit_of)
    units = []
    for unit in report.units:
        groups = tuple(
            GroupStatus(key, _label(key), *group_tally.get((unit.code, key), [0, 0]))
            for key in keys
        )
        progress = UnitProgress(
            name=unit.name,
            base=unit.population_base,
            enrolled=unit.enrolled,
            paid_records=records.get(unit.code, 0),
            task_met=met.get(unit.code, False),
            special_groups_complete=all(g.complete for g in groups),
        )
        units.append(
            UnitFunding(
                unit,
                progress.paid_records,
                progress.task_met,
                groups,
                work_funding(policy, progress),
            )
        )
    return FundingReport(campaign, day, deadline, level, units)


def _unit_code(village: Division, level: Level) -> str:
    if level == "village" or village.parent is None:
        return village.code
    return village.parent.code


def _paid_records(campaign: Campaign, day: date, unit_of: dict[int, str]) -> dict[str, int]:
    found: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            _PAID_RECORDS_SQL,
            {"campaign": campaign.pk, "as_of": day, "tax": Channel.TAX.value},
        )
        for village_id, count in cursor.fetchall():
            if village_id in unit_of:
                code = unit_of[village_id]
                found[code] = found.get(code, 0) + int(count)
    return found
