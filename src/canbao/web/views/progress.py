"""What the progress pages share: the day asked for (?as_of=), a division's coverage with the
units one level below it, and the chart's data (drawn by static/web/charts.js)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest
from django.utils import timezone

from canbao.campaigns.models import Campaign
from canbao.campaigns.selectors import campaign_policy
from canbao.regions.models import Division
from canbao.reports.coverage import LEVEL_NAMES, CoverageReport, Level, UnitCoverage, coverage

# Days a report may be asked for (a week before the first must still be a date).
EARLIEST, LATEST = date(1990, 1, 1), date(2999, 12, 31)
BAD_DATE = "日期“{given}”无法识别，请按 年-月-日 填写（如 2019-11-27）；已按{used}显示。"


def day_asked(request: HttpRequest, default: date | None = None) -> date | None:
    """The day of ``?as_of=YYYY-MM-DD``; without one (or with one that is not a date, said in
    a message) ``default``, else today."""
    fallback = default if default is not None else timezone.localdate()
    given = request.GET.get("as_of", "").strip()
    if not given:
        return default
    try:
        day = date.fromisoformat(given)
    except ValueError:
        day = None
    if day is not None and EARLIEST <= day <= LATEST:
        return day
    used = f"{fallback.year}年{fallback.month}月{fallback.day}日"
    messages.error(request, BAD_DATE.format(given=given[:20], used=used))
    return default


def level_below(unit: Division) -> Level:
    """The units a division's progress is ranked by: a county's townships, else villages (a
    village's own line)."""
    return "township" if unit.level == Division.Level.COUNTY else "village"


@dataclass(frozen=True)
class Progress:
    unit: Division
    report: CoverageReport
    target_percent: Decimal  # the policy's target rate, against the population base

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES[self.report.level]

    @property
    def ranked(self) -> bool:
        """Units below the division are ranked (a village has none)."""
        return self.unit.level != Division.Level.VILLAGE

    @property
    def below_line(self) -> set[str]:
        """The codes of the units below the accountability line."""
        return {u.code for u in self.report.units_below_line}

    @property
    def chart(self) -> dict[str, Any]:
        return chart_data(self.report.units, self.target_percent, self.report.line_percent)


def progress(campaign: Campaign, unit: Division, as_of: date | None) -> Progress:
    """The division's coverage as of the end of `as_of` (today without one)."""
    report = coverage(
        campaign=campaign,
        as_of=as_of or timezone.localdate(),
        level=level_below(unit),
        within=unit,
    )
    return Progress(unit, report, campaign_policy(campaign).targets.rate_percent)


def chart_data(units: list[UnitCoverage], target: Decimal, line: Decimal) -> dict[str, Any]:
    """The bar chart as the PDF bulletin draws it: each unit's rate against its population base,
    in rank order, the target and the accountability line (drawn where it is lower)."""
    return {
        "units": [
            {
                "name": u.name,
                "rate": _number(u.rate_of_base),
                "task_rate": _number(u.rate_of_task),
                "enrolled": u.enrolled,
                "base": u.population_base,
            }
            for u in units
        ],
        "target": float(target),
        "line": float(line),
    }


def _number(percent: Decimal | None) -> float | None:
    return None if percent is None else float(percent)
