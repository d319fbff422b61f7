"""The progress reports as .xlsx for clerks: one sheet each, numbers as numbers in the Chinese
formats the documents use (counts 608,897; yuan 12,345.50; rates 95.3%)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xlsxwriter

from canbao.campaigns.models import Campaign
from canbao.policy.codes import CATEGORY_NAMES
from canbao.reports.coverage import CoverageReport, UnitCoverage
from canbao.reports.documents.formats import date_text, yuan_text
from canbao.reports.documents.sheets import Row, Styles, header
from canbao.reports.funding import FundingReport
from canbao.reports.funds import FundSummary
from canbao.reports.selectors import StoredTask


def _book(path: Path, sheet_name: str, title: str) -> tuple[Any, Any, Styles]:
    workbook = xlsxwriter.Workbook(str(path))
    styles = Styles(workbook)
    sheet = workbook.add_worksheet(sheet_name)
    sheet.write_string(0, 0, title, styles.title)
    return workbook, sheet, styles


def write_tasks(listed: list[StoredTask], campaign: Campaign, path: Path) -> None:
    workbook, sheet, styles = _book(
        path, "任务数", f"{campaign.area.name}{campaign.coverage_year}年度参保任务数"
    )
    names = ["区划代码", "单位", "上级", "人口基数", "任务数", "按规则测算", "来源", "备注"]
    header(sheet, styles, 2, names, [14, 20, 14, 12, 12, 12, 14, 18])
    row = 3
    for t in listed:
        (
            Row(sheet, styles, row)
            .text(t.code)
            .text(t.name)
            .text(t.parent_name)
            .count(t.population)
            .count(t.task)
            .count(t.computed_task)
            .text(t.as_json()["source_label"])
            .text("与规则测算数不符" if t.differs_from_rule else "")
        )
        row += 1
    total = Row(sheet, styles, row, total=True).text("").text("合计").text("").text("")
    total.count(sum(t.task for t in listed))
    workbook.close()


def _coverage_cells(row: Row, u: UnitCoverage, categories: list[str]) -> None:
    row.count(u.population_base).count(u.task).count(u.enrolled).count(u.change)
    row.rate(u.rate_of_task).rate(u.rate_of_base).count(u.gap_to_task)
    for code in categories:
        group = u.groups[code]
        row.count(group.members).count(group.enrolled).rate(group.rate)


def write_coverage(report: CoverageReport, path: Path) -> None:
    campaign = report.campaign
    workbook, sheet, styles = _book(
        path,
        "参保进度",
        f"{campaign.area.name}{campaign.coverage_year}年度城乡居民医保参保进度"
        f"（截至{date_text(report.as_of)}）",
    )
    categories = list(report.total.groups)
    names = ["名次", "区划代码", "单位", "上级", "人口基数", "任务数", "已参保", "较上期"]
    names += ["任务完成率", "参保率", "差任务数"]
    widths = [6, 14, 20, 14, 11, 11, 11, 9, 11, 9, 10]
    for code in categories:
        label = CATEGORY_NAMES[code]
        names += [f"{label}人数", f"{label}已参保", f"{label}参保率"]
        widths += [10, 10, 10]
    header(sheet, styles, 2, names, widths)
    row = 3
    for u in report.units:
        cells = Row(sheet, styles, row).count(u.rank).text(u.code).text(u.name)
        _coverage_cells(cells.text(u.parent_name or ""), u, categories)
        row += 1
    total = Row(sheet, styles, row, total=True).text("").text(report.total.code)
    _coverage_cells(total.text(f"{report.total.name}合计").text(""), report.total, categories)
    sheet.freeze_panes(3, 3)
    workbook.close()


def write_funding(report: FundingReport, path: Path) -> None:
    campaign = report.campaign
    workbook, sheet, styles = _book(
        path,
        "工作经费",
        f"{campaign.area.name}{campaign.coverage_year}年度参保缴费工作经费与问责"
        f"（截至{date_text(report.as_of)}）",
    )
    names = ["区划代码", "单位", "人口基数", "任务数", "已参保", "参保率", "缴费成功人数"]
    names += ["规则", "人数", "标准（元/人）", "金额（元）", "领取方", "依据", "问责"]
    header(sheet, styles, 2, names, [14, 20, 11, 11, 11, 9, 12, 40, 10, 12, 14, 8, 40, 30])
    row = 3
    payees = {"unit": "单位", "bureau": "经办机构"}
    for f in report.units:
        u = f.unit
        accountable = "；".join(f.result.reasons) if f.result.accountable else ""
        for line in f.result.lines or [None]:
            cells = Row(sheet, styles, row).text(u.code).text(u.name).count(u.population_base)
            cells.count(u.task).count(u.enrolled).rate(u.rate_of_base).count(f.paid_records)
            if line is None:
                cells.text("（无适用的经费规则）").count(None).money(None).money(None).text("")
                cells.text("；".join(f.result.notes))
            else:
                cells.text(line.name).count(line.count).money(line.fen_each).money(line.fen)
                cells.text(payees[line.payee]).text(line.why)
            cells.text(accountable)
            row += 1
    total = Row(sheet, styles, row, total=True).text("").text("合计")
    for _ in range(8):
        total.text("")
    total.money(report.unit_fen + report.bureau_fen)
    workbook.close()


def write_funds(summary: FundSummary, path: Path) -> None:
    campaign = summary.campaign
    workbook, sheet, styles = _book(
        path,
        "基金筹集",
        f"{campaign.area.name}{campaign.coverage_year}年度城乡居民医保基金筹集情况",
    )
    header(sheet, styles, 2, ["项目", "笔数/人数", "金额（元）", "说明"], [30, 12, 16, 40])
    row = 3

    def line(name: str, count: int | None, fen: int | None, note: str = "") -> None:
        nonlocal row
        Row(sheet, styles, row).text(name).count(count).money(fen).text(note)
        row += 1

    for c in summary.personal:
        line(f"个人缴费：{c.label}", c.payments, c.net_fen, f"冲正 {yuan_text(-c.reversed_fen)} 元")
    line("个人缴费合计", None, summary.personal_net_fen)
    for f in summary.subsidies:
        line(f"{f.name}：应资助", f.persons, f.owed_fen)
        line(f"{f.name}：已代缴", None, f.received_fen)
    line("财政补助", summary.enrolled, summary.fiscal_fen, "按已参保人数")
    for t in summary.transfers:
        line(f"转入财政专户：{t.bank}", t.count, t.fen, f"{t.days} 天")
    line("转入财政专户合计", None, summary.transferred_fen)
    workbook.close()
