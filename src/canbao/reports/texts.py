"""The progress reports as the command line prints them (Chinese, aligned columns) and their
JSON shapes where the report has no ``as_json`` of its own."""

from __future__ import annotations

from typing import Any

from canbao.policy.codes import CATEGORY_NAMES
from canbao.policy.schema import Policy
from canbao.policy.targets import aligned
from canbao.reports.coverage import LEVEL_NAMES, CoverageReport, UnitCoverage
from canbao.reports.documents.formats import count_text, date_text, rate_text, yuan_text
from canbao.reports.funding import FundingReport
from canbao.reports.funds import FundSummary
from canbao.reports.selectors import StoredTask, TaskHistory
from canbao.reports.services import TaskImport

MATCHED_HOW = {
    "exact": "名称相同",
    "suffix": "补全后缀",
    "core": "去掉后缀后相同",
    "given": "按指定区划代码",
}


def task_import_json(result: TaskImport) -> dict[str, Any]:
    data = result.report.as_json()
    for unit in data["units"]:
        match = result.matches[unit["row"]]
        unit["division"] = {"code": match.candidate.code, "name": match.candidate.name}
        unit["matched"] = match.how
    data.update(changed=result.changed, unchanged=result.unchanged, dry_run=result.dry_run)
    return data


def task_import_text(result: TaskImport) -> str:
    lines = [result.report.render_text().rstrip("\n"), "", "单位对应："]
    for unit in result.report.units:
        match = result.matches[unit.row]
        lines.append(
            f"  第{unit.row}行 {unit.unit} → {match.candidate.name}（{match.candidate.code}，"
            f"{MATCHED_HOW[match.how]}）"
        )
    if result.dry_run:
        lines.append("试运行：核对通过，未保存")
    else:
        lines.append(f"已保存：变更 {result.changed} 个单位，未变 {result.unchanged} 个")
    return "\n".join(lines) + "\n"


def tasks_json(listed: list[StoredTask]) -> dict[str, Any]:
    return {
        "units": [t.as_json() for t in listed],
        "total_task": sum(t.task for t in listed),
        "differs_from_rule": [t.code for t in listed if t.differs_from_rule],
    }


def tasks_text(listed: list[StoredTask], policy: Policy | None = None) -> str:
    if not listed:
        rate = policy.targets.rate_percent if policy is not None else None
        return (
            "尚未设定任务数：进度报告按登记在册人口"
            + (f" × {rate}%" if rate is not None else "")
            + " 测算。可用 canbao report tasks --table 导入任务分解表，"
            "或 --from-registry 保存测算结果。\n"
        )
    header = ("区划代码", "单位", "上级", "人口基数", "任务数", "按规则测算", "来源", "备注")
    body = [
        (
            t.code,
            t.name,
            t.parent_name,
            count_text(t.population),
            count_text(t.task),
            count_text(t.computed_task),
            t.as_json()["source_label"],
            "与规则测算数不符" if t.differs_from_rule else "",
        )
        for t in listed
    ]
    total = sum(t.task for t in listed)
    body.append(("", "合计", "", "", count_text(total), "", "", ""))
    return "\n".join(aligned([header, *body], right=(3, 4, 5))) + "\n"


def history_text(history: list[TaskHistory]) -> str:
    if not history:
        return "任务数没有变更记录\n"
    lines = []
    for h in history:
        old = "无" if h.old_task is None else count_text(h.old_task)
        lines.append(
            f"{h.at:%Y-%m-%d %H:%M} {h.by} {h.name}（{h.code}）任务数 {old} → "
            f"{count_text(h.new_task)}，人口基数 {count_text(h.old_population)} → "
            f"{count_text(h.new_population)}（{h.as_json()['source_label']}：{h.reason}）"
        )
    return "\n".join(lines) + "\n"


def _coverage_row(u: UnitCoverage, categories: list[str]) -> tuple[str, ...]:
    change = f"{u.change:+,}" if u.change else "0"
    return (
        "" if u.rank is None else str(u.rank),
        u.name,
        count_text(u.population_base),
        count_text(u.task),
        count_text(u.enrolled),
        change,
        rate_text(u.rate_of_task),
        rate_text(u.rate_of_base),
        count_text(u.gap_to_task),
        *(rate_text(u.groups[c].rate) for c in categories),
    )


def coverage_text(report: CoverageReport) -> str:
    categories = list(report.total.groups)
    title = (
        f"{report.campaign.area.name}{report.campaign.coverage_year}年度城乡居民医保参保进度"
        f"（截至{date_text(report.as_of)}，较上期{date_text(report.previous_as_of)}），"
        f"按{LEVEL_NAMES[report.level]}"
    )
    header = (
        "名次",
        "单位",
        "人口基数",
        "任务数",
        "已参保",
        "较上期",
        "任务完成率",
        "参保率",
        "差任务数",
        *(f"{CATEGORY_NAMES[c]}参保率" for c in categories),
    )
    body = [_coverage_row(u, categories) for u in report.units]
    total = _coverage_row(report.total, categories)
    body.append(("", f"{report.total.name}合计", *total[2:]))
    numeric = tuple(i for i in range(len(header)) if i != 1)
    lines = [title, "", *aligned([header, *body], right=numeric)]
    if report.special_groups:
        lines += ["", f"特殊群体参保率未达{report.special_groups_rate_percent}%："]
        lines += [
            f"  {s.unit_name} {s.label}：{s.enrolled}/{s.members}，差 {s.missing} 人"
            for s in report.special_groups
        ]
    below = report.units_below_line
    lines += [
        "",
        f"参保率低于{report.line_percent}%的单位："
        + ("、".join(f"{u.name}（{rate_text(u.rate_of_base)}）" for u in below) or "无"),
    ]
    return "\n".join(lines) + "\n"


def funding_text(report: FundingReport) -> str:
    campaign = report.campaign
    lines = [
        f"{campaign.area.name}{campaign.coverage_year}年度参保缴费工作经费与问责"
        f"（截至{date_text(report.as_of)}，任务完成期限{date_text(report.deadline)}）",
        "",
    ]
    for u in report.units:
        r = u.result
        state = "问责：" + "；".join(r.reasons) if r.accountable else "不问责"
        lines.append(
            f"{u.unit.name}：人口基数 {count_text(u.unit.population_base)}，"
            f"任务数 {count_text(u.unit.task)}，已参保 {count_text(u.unit.enrolled)}，"
            f"参保率 {rate_text(u.unit.rate_of_base)}；"
            f"村（镇）经费 {yuan_text(r.total_fen('unit'))} 元；{state}"
        )
        lines += [f"  - {line.explain()}" for line in r.lines]
        lines += [f"  · {note}" for note in r.notes]
        for g in u.groups:
            if not g.complete:
                lines.append(f"  · {g.label}：{g.enrolled}/{g.members}，未达100%")
    lines += [
        "",
        f"合计：单位经费 {yuan_text(report.unit_fen)} 元，"
        f"经办机构经费 {yuan_text(report.bureau_fen)} 元；"
        f"问责单位 {len(report.accountable)} 个",
    ]
    return "\n".join(lines) + "\n"


def funds_text(summary: FundSummary) -> str:
    campaign = summary.campaign
    until = f"（截至{date_text(summary.as_of)}）" if summary.as_of else ""
    lines = [f"{campaign.area.name}{campaign.coverage_year}年度城乡居民医保基金筹集情况{until}", ""]
    lines.append("个人缴费（按渠道）：")
    lines += [
        f"  {c.label}：{count_text(c.payments)} 笔，收到 {yuan_text(c.received_fen)} 元，"
        f"冲正 {yuan_text(-c.reversed_fen)} 元，净额 {yuan_text(c.net_fen)} 元"
        for c in summary.personal
    ] or ["  无"]
    lines.append(f"  合计净额 {yuan_text(summary.personal_net_fen)} 元")
    lines.append("部门资助（应资助 / 已代缴 / 未缴）：")
    lines += [
        f"  {f.name}：{count_text(f.persons)} 人，{yuan_text(f.owed_fen)} / "
        f"{yuan_text(f.received_fen)} / {yuan_text(f.balance_fen)} 元"
        + (
            f"（另有查无此人的代缴 {yuan_text(f.unattributed_fen)} 元）"
            if f.unattributed_fen
            else ""
        )
        for f in summary.subsidies
    ] or ["  无"]
    fiscal_each = summary.fiscal_fen_each
    if fiscal_each is None:
        lines.append(
            f"财政补助：政策未载明标准；个人缴费标准 {yuan_text(summary.personal_fen_each)} 元/人"
        )
    else:
        lines.append(
            f"财政补助：{yuan_text(fiscal_each)} 元/人 × "
            f"已参保 {count_text(summary.enrolled)} 人 = "
            f"{yuan_text(summary.fiscal_fen)} 元（人均筹资 "
            f"{yuan_text(summary.personal_fen_each + fiscal_each)} 元 = 个人 "
            f"{yuan_text(summary.personal_fen_each)} + 财政 {yuan_text(fiscal_each)}）"
        )
    lines.append("转入财政专户（银行入账）：")
    lines += [
        f"  {t.bank}：{t.days} 天，{count_text(t.count)} 笔，{yuan_text(t.fen)} 元"
        for t in summary.transfers
    ] or ["  无"]
    lines.append(f"  合计 {yuan_text(summary.transferred_fen)} 元")
    ledger = summary.ledger
    state = "平衡" if ledger.balanced else f"不平衡（{len(ledger.unbalanced)} 项）"
    lines.append(
        f"总账：收到 {yuan_text(ledger.received_fen)} = 参保 {yuan_text(ledger.enrolled_fen)} + "
        f"挂账 {yuan_text(ledger.held_fen)} + 冲正 {yuan_text(ledger.reversed_fen)} 元，{state}"
    )
    return "\n".join(lines) + "\n"
