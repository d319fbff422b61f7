"""`canbao report tasks|coverage|funding|funds|bulletin|followup|notices`: a campaign's progress
reports, and the documents a bureau prints (the weekly bulletin, a village's follow-up list and
its households' payment notices, also as PDF with --pdf).

Each subcommand is one entry of ``SUBCOMMANDS``: a function that adds its own options and a
function that runs it and returns what to print (JSON and text) and how to write its .xlsx (and
PDF). The options every subcommand shares (--campaign, --json, --xlsx, --force) are added for all.

Exit status: 0 done, 1 refused (a task table whose unit names do not all match one unit each,
or with a bad row; an override without a reason: nothing written; in JSON
``{"error": {code, message}, "problems": [...]}``), 2 usage error (no such campaign or unit, a bad
date, an unreadable file, an output path in a missing folder or already there without --force,
a unit that is not a village where one is needed, no Chinese font for --pdf).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from canbao.accounts.scope import NotFound, Permission, Scope
from canbao.campaigns.models import Campaign
from canbao.campaigns.selectors import campaign_by_id, campaign_policy
from canbao.cli import REFUSED, USAGE_ERROR
from canbao.cli.management.commands.policy import iso_date
from canbao.cli.output import CanbaoCommand, add_force, check_outputs, output_file
from canbao.errors import InputError
from canbao.regions.models import Division
from canbao.reports import texts, workbooks
from canbao.reports.coverage import LEVEL_NAMES, coverage
from canbao.reports.documents.bulletin import (
    build_bulletin,
    bulletin_summary,
    write_bulletin_pdf,
    write_bulletin_xlsx,
)
from canbao.reports.documents.followup_list import (
    NO_GROUPS,
    build_followup_list,
    write_followup_pdf,
    write_followup_xlsx,
)
from canbao.reports.documents.fonts import cjk_font
from canbao.reports.documents.formats import date_text, yuan_text
from canbao.reports.documents.notices import build_notices, write_notices_pdf, write_notices_xlsx
from canbao.reports.funding import funding
from canbao.reports.funds import fund_summary
from canbao.reports.selectors import stored_tasks, task_history
from canbao.reports.services import (
    TaskImportRefused,
    import_task_table,
    override_task,
    tasks_from_registry,
)
from canbao.reports.students import student_statistics, students_text, write_students_xlsx
from canbao.tabular import TableError


@dataclass
class Output:
    """What a subcommand produced: JSON for --json, text otherwise, and its workbook writer."""

    data: dict[str, Any]
    text: str
    xlsx: Callable[[Path], None] | None = None
    pdf: Callable[[Path], None] | None = None  # for the subcommands that take --pdf


class Refused(Exception):
    def __init__(self, code: str, message: str, problems: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.code, self.message, self.problems = code, message, problems or []


def _within(campaign: Campaign, code: str | None) -> Division | None:
    if code is None:
        return None
    unit = Division.objects.filter(code=code, code__startswith=campaign.area.code).first()
    if unit is None:
        raise InputError("unknown_unit", f"区划代码 {code} 不在本次工作（{campaign.area.name}）内")
    return unit


def _as_of(options: dict[str, Any]) -> date:
    day: date | None = options["as_of"]
    return day if day is not None else date.today()


# --- tasks -----------------------------------------------------------------------------------


def tasks_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--table", type=Path, help="导入任务分解表（.xlsx/.xls/.csv），按单位名称对应区划"
    )
    parser.add_argument(
        "--match",
        action="append",
        default=[],
        metavar="名称=区划代码",
        help="指定表中某个名称对应的区划（用于相近或重名的单位），可多次给出",
    )
    parser.add_argument("--dry-run", action="store_true", help="只核对任务分解表，不保存")
    parser.add_argument(
        "--from-registry",
        action="store_true",
        help="按登记在册人口 × 政策目标参保率测算各单位任务数并保存",
    )
    parser.add_argument(
        "--set", metavar="区划代码", help="调整一个单位的任务数（须 --task 和 --reason）"
    )
    parser.add_argument("--task", type=int, help="调整后的任务数")
    parser.add_argument("--population", type=int, help="调整后的人口基数（可省略）")
    parser.add_argument("--reason", help="导入、测算或调整的原因（调整时必填）")
    parser.add_argument("--history", action="store_true", help="列出任务数的每一次变更")
    parser.add_argument("--level", choices=sorted(LEVEL_NAMES), help="表中单位的级别（默认按政策）")
    parser.add_argument("--within", metavar="区划代码", help="只在这个乡镇（或村）范围内")


# The options of `report tasks` that change the tasks (MANAGE), not only list them.
TASK_CHANGES = ("table", "from_registry", "set")


def _given(pairs: list[str]) -> dict[str, str]:
    given = {}
    for pair in pairs:
        name, sep, code = pair.partition("=")
        if not sep or not name.strip() or not code.strip():
            raise InputError("bad_match", f"--match 须写作 名称=区划代码：{pair}")
        given[name.strip()] = code.strip()
    return given


def tasks(campaign: Campaign, options: dict[str, Any], scope: Scope) -> Output:
    within = _within(campaign, options["within"])
    acting = ("table", "from_registry", "set", "history")
    if options["xlsx"] is not None and any(options[a] not in (None, False) for a in acting):
        raise InputError("xlsx_listing_only", "--xlsx 只用于列出各单位任务数（不带其他操作时）")
    if options["table"] is not None:
        try:
            result = import_task_table(
                campaign=campaign,
                path=options["table"],
                level=options["level"],
                within=within,
                given=_given(options["match"]),
                reason=options["reason"] or "",
                dry_run=options["dry_run"],
                actor=scope.user,
            )
        except TaskImportRefused as refused:
            raise Refused(
                "names_unmatched",
                "任务分解表未导入：" + "；".join(p.describe() for p in refused.problems),
                [p.as_json() for p in refused.problems],
            ) from None
        except TableError as error:
            if error.row is None:
                raise InputError("unreadable_table", error.message) from None
            raise Refused("bad_table", error.message) from None
        return Output(texts.task_import_json(result), texts.task_import_text(result))
    if options["from_registry"]:
        changed, unchanged = tasks_from_registry(
            campaign=campaign, within=within, reason=options["reason"] or "", actor=scope.user
        )
        listed = stored_tasks(campaign=campaign, within=within)
        data = {"changed": changed, "unchanged": unchanged, **texts.tasks_json(listed)}
        text = f"已按登记人口测算：变更 {changed} 个单位，未变 {unchanged} 个\n"
        return Output(data, text + texts.tasks_text(listed))
    if options["set"] is not None:
        if options["task"] is None:
            raise InputError("task_required", "调整任务数须给出 --task")
        try:
            override_task(
                campaign=campaign,
                code=options["set"],
                task=options["task"],
                population=options["population"],
                reason=options["reason"] or "",
                actor=scope.user,
            )
        except InputError as error:
            if error.code == "unknown_unit":
                raise
            raise Refused(error.code, error.message) from None
        history = task_history(campaign=campaign, code=options["set"])
        return Output({"changes": [h.as_json() for h in history]}, texts.history_text(history))
    if options["history"]:
        history = task_history(campaign=campaign)
        return Output({"changes": [h.as_json() for h in history]}, texts.history_text(history))
    listed = stored_tasks(campaign=campaign, within=within)
    return Output(
        texts.tasks_json(listed),
        texts.tasks_text(listed, campaign_policy(campaign)),
        lambda path: workbooks.write_tasks(listed, campaign, path),
    )


# --- coverage --------------------------------------------------------------------------------


def coverage_arguments(parser: CommandParser) -> None:
    parser.add_argument("--as-of", type=iso_date, help="截至日期 YYYY-MM-DD（默认今天）")
    parser.add_argument("--level", choices=sorted(LEVEL_NAMES), help="按乡镇或按村（默认按政策）")
    parser.add_argument("--within", metavar="区划代码", help="只报告这个乡镇（或村）")


def coverage_report(campaign: Campaign, options: dict[str, Any], scope: Scope) -> Output:
    level = options["level"] or campaign_policy(campaign).targets.level
    report = coverage(
        campaign=campaign,
        as_of=_as_of(options),
        level=level,
        within=_within(campaign, options["within"]),
    )
    return Output(
        report.as_json(),
        texts.coverage_text(report),
        lambda path: workbooks.write_coverage(report, path),
    )


# --- funding ---------------------------------------------------------------------------------


def funding_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--as-of", type=iso_date, help="截至日期 YYYY-MM-DD（默认为政策的考核截止日）"
    )
    parser.add_argument("--within", metavar="区划代码", help="只报告这个乡镇（或村）")


def funding_report(campaign: Campaign, options: dict[str, Any], scope: Scope) -> Output:
    report = funding(
        campaign=campaign,
        as_of=options["as_of"],
        within=_within(campaign, options["within"]),
    )
    return Output(
        report.as_json(),
        texts.funding_text(report),
        lambda path: workbooks.write_funding(report, path),
    )


# --- funds -----------------------------------------------------------------------------------


def funds_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--as-of", type=iso_date, help="截至日期 YYYY-MM-DD（默认不限；部门账单与总账为当前数）"
    )


def funds_report(campaign: Campaign, options: dict[str, Any], scope: Scope) -> Output:
    summary = fund_summary(campaign=campaign, as_of=options["as_of"])
    return Output(
        summary.as_json(),
        texts.funds_text(summary),
        lambda path: workbooks.write_funds(summary, path),
    )


# --- students --------------------------------------------------------------------------------


def students_arguments(parser: CommandParser) -> None:
    parser.add_argument("--as-of", type=iso_date, help="截至日期 YYYY-MM-DD（默认今天）")


def students_report(campaign: Campaign, options: dict[str, Any], scope: Scope) -> Output:
    report = student_statistics(campaign=campaign, as_of=_as_of(options))
    return Output(
        report.as_json(),
        students_text(report),
        lambda path: write_students_xlsx(report, path),
    )


# --- the documents: bulletin, follow-up list, payment notices -----------------------------------


def _pdf_argument(parser: CommandParser) -> None:
    parser.add_argument("--pdf", type=Path, help="同时写入这个 PDF 文件（供打印、印发）")


def _village(campaign: Campaign, code: str, scope: Scope) -> Division:
    """A village of the campaign the account may follow up."""
    unit = _within(campaign, code)
    assert unit is not None
    try:
        scope.division(code)
    except NotFound:
        raise InputError("unknown_unit", f"区划代码 {code} 不在本账号负责的范围内") from None
    if unit.level != Division.Level.VILLAGE:
        raise InputError("not_a_village", f"区划代码 {code}（{unit.name}）不是村（社区）")
    return unit


def _font_for(options: dict[str, Any]) -> None:
    """With --pdf, fail before any work when the Chinese font is missing."""
    if options["pdf"] is not None:
        cjk_font()


def bulletin_arguments(parser: CommandParser) -> None:
    parser.add_argument("--as-of", type=iso_date, required=True, help="截至日期 YYYY-MM-DD")
    parser.add_argument("--level", choices=sorted(LEVEL_NAMES), help="按乡镇或按村（默认按政策）")
    parser.add_argument("--within", metavar="区划代码", help="只通报这个乡镇（或村）")
    parser.add_argument(
        "--number", type=int, help="期数（默认按首笔缴费起的周数：首笔缴费那周为第1期）"
    )
    _pdf_argument(parser)


def bulletin_report(campaign: Campaign, options: dict[str, Any], scope: Scope) -> Output:
    _font_for(options)
    if options["number"] is not None and options["number"] < 1:
        raise InputError("bad_number", f"--number 须为正整数：{options['number']}")
    bulletin = build_bulletin(
        campaign=campaign,
        as_of=options["as_of"],
        level=options["level"] or campaign_policy(campaign).targets.level,
        within=_within(campaign, options["within"]),
        number=options["number"],
    )
    head = f"{bulletin.title}\n第{bulletin.number}期\n{bulletin_summary(bulletin)}\n\n"
    return Output(
        bulletin.as_json(),
        head + texts.coverage_text(bulletin.report),
        lambda path: write_bulletin_xlsx(bulletin, path),
        lambda path: write_bulletin_pdf(bulletin, path),
    )


def village_arguments(parser: CommandParser) -> None:
    parser.add_argument("--village", metavar="区划代码", required=True, help="村（社区）的区划代码")
    _pdf_argument(parser)


def notices_arguments(parser: CommandParser) -> None:
    village_arguments(parser)
    parser.add_argument(
        "--unpaid",
        action="store_true",
        help="只给尚有成员未缴费的户出通知单（催缴时用；默认每户一张，供宣传发动）",
    )


def followup_report(campaign: Campaign, options: dict[str, Any], scope: Scope) -> Output:
    _font_for(options)
    listed = build_followup_list(
        campaign=campaign,
        village=_village(campaign, options["village"], scope),
        today=timezone.localdate(),
    )
    lines = [
        listed.title,
        f"截至{date_text(listed.as_of)}：未参保 {len(listed.households)} 户 {listed.residents} 人，"
        f"其中特殊群体 {listed.special} 人（★），尚需本人缴纳 {yuan_text(listed.owing_fen)} 元",
        NO_GROUPS,
    ]
    for household in listed.households:
        lines.append(f"{household.number} {household.head} {household.phone}")
        for m in household.members:
            notes = "；".join(m.notes)
            lines.append(
                f"  {'★' if m.special else ''}{m.name}（{m.relation}，{m.attribute}）"
                f"应缴 {yuan_text(m.due_fen)} 元，尚需缴 {yuan_text(m.owing_fen)} 元"
                + (f"；{notes}" if notes else "")
            )
    return Output(
        listed.as_json(),
        "\n".join(lines),
        lambda path: write_followup_xlsx(listed, path),
        lambda path: write_followup_pdf(listed, path),
    )


def notices_report(campaign: Campaign, options: dict[str, Any], scope: Scope) -> Output:
    _font_for(options)
    notices = build_notices(
        campaign=campaign,
        village=_village(campaign, options["village"], scope),
        today=timezone.localdate(),
        unpaid_only=options["unpaid"],
    )
    lines = [
        f"{notices.township}{notices.village}：{notices.title} {len(notices.notices)} 户"
        + ("（尚未缴清的户）" if notices.unpaid_only else "")
        + "，"
        f"缴费截止 {date_text(notices.deadline)}",
        *(
            f"  {n.household} {n.head}：{len(n.members)} 人，本户应缴 "
            + ("待公布" if n.payable_fen is None else f"{yuan_text(n.payable_fen)} 元")
            for n in notices.notices
        ),
    ]
    return Output(
        notices.as_json(),
        "\n".join(lines),
        lambda path: write_notices_xlsx(notices, path),
        lambda path: write_notices_pdf(notices, path),
    )


@dataclass(frozen=True)
class Subcommand:
    help: str
    arguments: Callable[[CommandParser], None]
    run: Callable[[Campaign, dict[str, Any], Scope], Output]
    # What the account must be allowed: always (``reads``: names of persons), or to write the
    # report to a file (``exports``); a report of totals on the terminal needs no account.
    exports: Permission
    reads: Permission | None = None


# The options an export's audit row repeats: what the file covers.
EXPORT_DETAILS = ("as_of", "level", "within", "village", "number", "unpaid")

SUBCOMMANDS: dict[str, Subcommand] = {
    "tasks": Subcommand(
        "各单位任务数：导入任务分解表（按名称对应）、按登记人口测算、调整（留痕）、查看",
        tasks_arguments,
        tasks,
        exports=Permission.VIEW_PROGRESS,
    ),
    "coverage": Subcommand(
        "截至某日的参保进度：各乡镇或村的人口基数、任务数、已参保、完成率、较上期、排名、"
        "特殊群体参保率",
        coverage_arguments,
        coverage_report,
        exports=Permission.VIEW_PROGRESS,
    ),
    "funding": Subcommand(
        "工作经费与问责：按政策规则逐单位计算，每笔金额注明所依规则",
        funding_arguments,
        funding_report,
        exports=Permission.REPORTS,
    ),
    "funds": Subcommand(
        "基金筹集情况：个人缴费分渠道、部门资助应缴与实缴、财政补助、转入财政专户",
        funds_arguments,
        funds_report,
        exports=Permission.VIEW_MONEY,
    ),
    "students": Subcommand(
        "在校学生参保情况：截至某日各学校、各年级的名册人数、已参保、参保率和未参保学生名单"
        "（学校名册由 canbao import schools 导入）",
        students_arguments,
        students_report,
        exports=Permission.REPORTS,
        reads=Permission.REPORTS,
    ),
    "bulletin": Subcommand(
        "参保缴费进度通报（第N期）：排名表、特殊群体未达标单位、低于问责线的单位、参保率与"
        "目标对比图；可写 .xlsx 与 PDF",
        bulletin_arguments,
        bulletin_report,
        exports=Permission.REPORTS,
    ),
    "followup": Subcommand(
        "一个村（社区）的催缴名单：未参保人员按户列出，特殊群体在前，注明代扣失败与挂账；"
        "可写 .xlsx 与 PDF",
        village_arguments,
        followup_report,
        exports=Permission.FOLLOW_UP,
        reads=Permission.FOLLOW_UP,
    ),
    "notices": Subcommand(
        "一个村（社区）的缴费通知单：每户一张，列出每人应缴金额、缴费截止日期与缴费方式；"
        "可写 .xlsx 与 PDF（每页两张，供打印裁开）",
        notices_arguments,
        notices_report,
        exports=Permission.FOLLOW_UP,
        reads=Permission.FOLLOW_UP,
    ),
}


class Command(CanbaoCommand):
    takes_account = True
    help = (
        "参保进度报告：任务数（tasks）、参保进度（coverage）、工作经费与问责（funding）、"
        "基金筹集（funds）；印发的文书：进度通报（bulletin）、催缴名单（followup）、"
        "缴费通知单（notices）。"
    )

    def permission(self, options: dict[str, Any]) -> Permission | None:
        sub = SUBCOMMANDS[options["action"]]
        if options["action"] == "tasks" and any(
            options[o] not in (None, False) for o in TASK_CHANGES
        ):
            return Permission.MANAGE
        if options["xlsx"] is not None or options.get("pdf") is not None:
            return sub.exports
        return sub.reads

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        for name, sub in SUBCOMMANDS.items():
            sub_parser = actions.add_parser(name, help=sub.help, description=sub.help)
            sub.arguments(sub_parser)
            sub_parser.add_argument(
                "--campaign", type=int, help="工作编号（只有一项进行中时可省略）"
            )
            sub_parser.add_argument("--json", action="store_true", help="输出一个 JSON 对象")
            sub_parser.add_argument("--xlsx", type=Path, help="同时写入这个 .xlsx 文件")
            add_force(sub_parser)

    def handle(self, *args: Any, **options: Any) -> None:
        check_outputs(options, "xlsx", "pdf")
        sub = SUBCOMMANDS[options["action"]]
        try:
            campaign = campaign_by_id(options["campaign"])
            output = sub.run(campaign, options, self.scope)
        except InputError as error:
            raise CommandError(str(error), returncode=USAGE_ERROR) from None
        except Refused as refused:
            self._refuse(refused, options["json"])
        written: list[Path] = []
        if options["xlsx"] is not None:
            if output.xlsx is None:
                raise CommandError("这项操作没有可写入 .xlsx 的报告", returncode=USAGE_ERROR)
            with output_file(options["xlsx"], force=options["force"]) as path:
                output.xlsx(path)
            written.append(options["xlsx"])
        if options.get("pdf") is not None:
            assert output.pdf is not None  # only the subcommands that write one take --pdf
            with output_file(options["pdf"], force=options["force"]) as path:
                output.pdf(path)
            written.append(options["pdf"])
        if written:
            given = {
                key: value if isinstance(value, bool | int) else str(value)
                for key in EXPORT_DETAILS
                if (value := options.get(key)) not in (None, False)
            }
            self.record_export(
                f"report {options['action']}", written, campaign=campaign.pk, **given
            )
        if options["json"]:
            self.stdout.write(json.dumps(output.data, ensure_ascii=False))
        else:
            self.stdout.write(output.text.rstrip("\n"))

    def _refuse(self, refused: Refused, as_json: bool) -> None:
        if as_json:
            data: dict[str, Any] = {"error": {"code": refused.code, "message": refused.message}}
            data["problems"] = refused.problems
            self.stdout.write(json.dumps(data, ensure_ascii=False))
        else:
            self.stderr.write(f"未执行：{refused.message}")
        self.stdout.flush()
        raise SystemExit(REFUSED)
