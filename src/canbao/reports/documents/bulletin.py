"""The weekly bulletin (参保缴费进度通报): title and number (第N期), the day, every unit's
coverage ranked, the special groups short of 100% by unit name, the units below the policy's
line, and a bar chart of the rates against the target line. The figures are
``canbao.reports.coverage``'s, as of the end of the day; nothing is counted here again.

The number, unless the bureau gives its own, counts the weeks since the campaign's first payment
(the week of the first payment is 第1期), so the same day always gets the same number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from django.db.models import Min

from canbao.campaigns.models import Campaign
from canbao.campaigns.selectors import campaign_policy
from canbao.collection.models import Payment
from canbao.policy.codes import CATEGORY_NAMES
from canbao.regions.models import Division
from canbao.reports.coverage import (
    LEVEL_NAMES,
    CoverageReport,
    Level,
    UnitCoverage,
    coverage,
    percent,
)
from canbao.reports.documents.chart import rate_chart
from canbao.reports.documents.formats import date_text, rate_text
from canbao.reports.documents.pdf import write_pdf
from canbao.reports.documents.sheets import Row, Styles, header

__all__ = [
    "Bulletin",
    "build_bulletin",
    "bulletin_summary",
    "write_bulletin_pdf",
    "write_bulletin_xlsx",
]


@dataclass(frozen=True)
class Bulletin:
    title: str
    number: int
    report: CoverageReport
    target_percent: Decimal  # the policy's target rate, against the population base
    base: str  # what the population base is, in the policy's words

    @property
    def scope(self) -> str:
        return self.report.total.name

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES[self.report.level]

    @property
    def by_village(self) -> bool:
        """Villages are ranked: their township is shown beside them (names repeat)."""
        return self.report.level == "village"

    @property
    def group_labels(self) -> dict[str, str]:
        """The special groups the units are counted by, code -> Chinese name."""
        return {code: CATEGORY_NAMES[code] for code in self.report.total.groups}

    def as_json(self) -> dict[str, Any]:
        """The coverage report's JSON with the bulletin's title, number and target."""
        return {
            "title": self.title,
            "number": self.number,
            "target_percent": str(self.target_percent),
            "base": self.base,
            **self.report.as_json(),
        }


def bulletin_number(campaign: Campaign, as_of: date) -> int:
    """The week of the collection `as_of` falls in, the first payment's week being 1."""
    days = Payment.objects.filter(campaign=campaign).aggregate(first=Min("paid_on"))
    first: date | None = days["first"]
    if first is None or as_of < first:
        return 1
    return (as_of - first).days // 7 + 1


def build_bulletin(
    *,
    campaign: Campaign,
    as_of: date,
    level: Level = "township",
    within: Division | None = None,
    number: int | None = None,
) -> Bulletin:
    policy = campaign_policy(campaign)
    report = coverage(campaign=campaign, as_of=as_of, level=level, within=within)
    title = f"{report.total.name}{policy.coverage_year}年度城乡居民基本医疗保险参保缴费进度通报"
    return Bulletin(
        title=title,
        number=number if number is not None else bulletin_number(campaign, as_of),
        report=report,
        target_percent=policy.targets.rate_percent,
        base=policy.targets.base,
    )


def bulletin_summary(bulletin: Bulletin) -> str:
    """The bulletin's opening sentence."""
    total = bulletin.report.total
    task = (
        f"，任务数 {total.task:,} 人，完成 {rate_text(total.rate_of_task)}"
        if total.task is not None
        else ""
    )
    return (
        f"截至{date_text(bulletin.report.as_of)}，{bulletin.scope}已参保 {total.enrolled:,} 人"
        f"{task}，占人口基数 {total.population_base:,} 人的 {rate_text(total.rate_of_base)}"
        f"（目标 {rate_text(bulletin.target_percent)}），较上期"
        f"（{date_text(bulletin.report.previous_as_of)}）增加 {total.change:,} 人。"
    )


def write_bulletin_pdf(bulletin: Bulletin, path: Path) -> None:
    report = bulletin.report
    chart = rate_chart(
        [unit.name for unit in report.units],
        [unit.rate_of_base for unit in report.units],
        target=bulletin.target_percent,
        line=report.line_percent,
    )
    write_pdf(
        "bulletin.html",
        {
            "bulletin": bulletin,
            "report": report,
            "summary": bulletin_summary(bulletin),
            "chart": chart,
        },
        path,
    )


def write_bulletin_xlsx(bulletin: Bulletin, path: Path) -> None:
    """The bulletin as a workbook: the ranked table with its chart (xlsxwriter's own: the rates
    as columns, the target as a line), the special groups' shortfalls and the units below the
    line, each on its own sheet; counts, rates and amounts are numbers in Chinese formats."""
    report = bulletin.report
    groups = bulletin.group_labels
    with xlsxwriter.Workbook(str(path)) as workbook:
        styles = Styles(workbook)
        sheet = workbook.add_worksheet("进度通报")
        sheet.write_string(0, 0, bulletin.title, styles.title)
        sheet.write_string(
            1, 0, f"第{bulletin.number}期    截至{date_text(report.as_of)}", styles.subtitle
        )
        sheet.write_string(2, 0, bulletin_summary(bulletin), styles.subtitle)
        names = [
            "排名",
            *(["乡镇（街道）"] if bulletin.by_village else []),
            bulletin.level_name,
            "人口基数",
            "任务数",
            "已参保",
            "较上期增加",
            "任务完成率",
            "参保率（对人口基数）",
            "距任务数",
            *(f"{label}参保率" for label in groups.values()),
            "目标参保率",
        ]
        widths = [6, *([14] if bulletin.by_village else []), 18, 11, 11, 11, 11, 11, 12, 10]
        widths += [*(12 for _ in groups), 11]
        header(sheet, styles, 4, names, widths)
        first = 5
        for offset, unit in enumerate(report.units):
            row = _unit_row(Row(sheet, styles, first + offset), unit, groups, bulletin.by_village)
            row.rate(bulletin.target_percent)
        last = first + len(report.units) - 1
        total = Row(sheet, styles, last + 1, total=True)
        _unit_row(total, report.total, groups, bulletin.by_village)
        name = names.index(bulletin.level_name)
        rate = names.index("参保率（对人口基数）")
        sheet.freeze_panes(first, name + 1)
        if report.units:
            chart = workbook.add_chart({"type": "column"})
            chart.add_series(
                {
                    "name": "参保率（对人口基数）",
                    "categories": ["进度通报", first, name, last, name],
                    "values": ["进度通报", first, rate, last, rate],
                    "data_labels": {"value": True, "num_format": "0.0%"},
                }
            )
            target = workbook.add_chart({"type": "line"})
            target.add_series(
                {
                    "name": f"目标 {rate_text(bulletin.target_percent)}",
                    "categories": ["进度通报", first, name, last, name],
                    "values": ["进度通报", first, len(names) - 1, last, len(names) - 1],
                    "line": {"color": "#1565C0", "dash_type": "dash"},
                    "marker": {"type": "none"},
                }
            )
            chart.combine(target)
            chart.set_title({"name": f"各{bulletin.level_name}参保率与目标"})
            chart.set_y_axis({"num_format": "0%", "min": 0, "max": 1})
            chart.set_legend({"position": "bottom"})
            chart.set_size({"width": 760, "height": 360})
            sheet.insert_chart(last + 3, 1, chart)
        _shortfalls_sheet(workbook, styles, bulletin)
        _below_line_sheet(workbook, styles, bulletin)


def _unit_row(row: Row, unit: UnitCoverage, groups: dict[str, str], by_village: bool) -> Row:
    row.count(unit.rank)
    if by_village:
        row.text(unit.parent_name or "")
    row.text(unit.name if unit.rank is not None else f"{unit.name}合计")
    row.count(unit.population_base).count(unit.task).count(unit.enrolled).count(unit.change)
    row.rate(unit.rate_of_task).rate(unit.rate_of_base).count(unit.gap_to_task)
    for code in groups:
        row.rate(unit.groups[code].rate)
    return row


def _shortfalls_sheet(workbook: Any, styles: Styles, bulletin: Bulletin) -> None:
    report = bulletin.report
    sheet = workbook.add_worksheet("特殊群体未达标")
    sheet.write_string(
        0,
        0,
        f"特殊群体参保率未达 {rate_text(report.special_groups_rate_percent)} 的单位",
        styles.title,
    )
    names = [bulletin.level_name, "类别", "应参保人数", "已参保", "未参保", "参保率"]
    header(sheet, styles, 2, names, [18, 22, 12, 10, 10, 10])
    for offset, s in enumerate(report.special_groups, start=3):
        row = Row(sheet, styles, offset).text(s.unit_name).text(s.label)
        row.count(s.members).count(s.enrolled).count(s.missing)
        row.rate(percent(s.enrolled, s.members))
    if not report.special_groups:
        sheet.write_string(3, 0, "无（各单位特殊群体均已达标）", styles.subtitle)


def _below_line_sheet(workbook: Any, styles: Styles, bulletin: Bulletin) -> None:
    report = bulletin.report
    sheet = workbook.add_worksheet("低于问责线")
    sheet.write_string(
        0,
        0,
        f"参保率（对人口基数）低于 {rate_text(report.line_percent)} 的{bulletin.level_name}",
        styles.title,
    )
    names = [
        "排名",
        bulletin.level_name,
        "人口基数",
        "已参保",
        "参保率（对人口基数）",
        "任务完成率",
    ]
    header(sheet, styles, 2, names, [6, 18, 11, 11, 14, 11])
    for offset, unit in enumerate(report.units_below_line, start=3):
        row = Row(sheet, styles, offset).count(unit.rank).text(unit.name)
        row.count(unit.population_base).count(unit.enrolled)
        row.rate(unit.rate_of_base).rate(unit.rate_of_task)
    if not report.units_below_line:
        sheet.write_string(3, 0, "无", styles.subtitle)
