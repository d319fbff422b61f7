"""`canbao import residents|roster|schools|divisions|payments FILE`: thin over the import services.

Exit status: 0 committed (or a clean dry run), 1 refused for errors (nothing written), 2 usage
error (no such file, unknown category or funder code, bad options, an --errors-xlsx path in a
missing folder or already there without --force, an account that may not import this: then
nothing is imported).
"""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from canbao.accounts.scope import Permission
from canbao.campaigns.selectors import campaign_by_id
from canbao.cli import REFUSED, USAGE_ERROR
from canbao.cli.management.commands.policy import iso_date
from canbao.cli.output import CanbaoCommand, add_force, check_outputs
from canbao.collection.payment_imports import FILE_CHANNELS, import_payments
from canbao.errors import InputError
from canbao.policy.codes import CATEGORY_NAMES, FUNDER_NAMES
from canbao.regions.services import import_divisions
from canbao.registry.batches import ImportResult, ImportUsageError, Progress
from canbao.registry.rosters import import_roster
from canbao.registry.schools import import_schools
from canbao.registry.services import import_residents

PERMISSIONS = {
    "residents": Permission.IMPORT_REGISTRY,
    "divisions": Permission.IMPORT_REGISTRY,
    "schools": Permission.IMPORT_REGISTRY,
    "roster": Permission.IMPORT_ROSTER,
    "payments": Permission.IMPORT_PAYMENTS,
}


class Command(CanbaoCommand):
    help = "导入户籍人员、部门名册或行政区划（.xlsx、.xls、UTF-8 或 GB18030 编码的 .csv）。"
    takes_account = True

    def permission(self, options: dict[str, Any]) -> Permission:
        return PERMISSIONS[options["kind"]]

    def add_arguments(self, parser: CommandParser) -> None:
        kinds = parser.add_subparsers(dest="kind", required=True, metavar="类别")
        residents = kinds.add_parser("residents", help="导入户籍人员（户、居民）")
        roster = kinds.add_parser("roster", help="导入部门的特殊人员名册（一个文件一个类别）")
        roster.add_argument(
            "--category",
            required=True,
            choices=sorted(CATEGORY_NAMES),
            metavar="类别代码",
            help="人员类别代码，如 extreme_poverty（特困人员）、rural_dibao（农村低保对象）",
        )
        roster.add_argument(
            "--source",
            required=True,
            choices=sorted(FUNDER_NAMES),
            metavar="部门代码",
            help="来源部门（资助方）代码，如 civil_affairs（民政部门）",
        )
        schools = kinds.add_parser(
            "schools", help="导入学校名册（学校名称、年级、班级、姓名、身份证号码）"
        )
        schools.add_argument(
            "--as-of", type=iso_date, metavar="日期", help="名册日期 YYYY-MM-DD（默认今天）"
        )
        divisions = kinds.add_parser("divisions", help="导入统计用区划代码（县、乡、村三级）")
        payments = kinds.add_parser(
            "payments", help="导入缴费明细（税务、银行每日明细，部门代缴，现金收款）"
        )
        payments.add_argument(
            "--channel",
            required=True,
            choices=[channel.value for channel in FILE_CHANNELS],
            metavar="渠道",
            help="缴费渠道：tax（税务）、bank（银行）、proxy（部门代缴）、cash（现金收款收据）",
        )
        payments.add_argument(
            "--campaign",
            type=int,
            metavar="编号",
            help="参保缴费工作编号（默认为唯一进行中的那一项）",
        )
        payments.add_argument(
            "--funder",
            choices=sorted(FUNDER_NAMES),
            metavar="部门代码",
            help="部门代缴文件没有“代缴部门”列时，指定代缴部门代码，如 medical_assistance",
        )
        for sub in (residents, roster, schools, divisions, payments):
            sub.add_argument("file", type=Path, metavar="文件", help="要导入的文件")
            sub.add_argument("--dry-run", action="store_true", help="只检查并报告，不写入数据库")
            sub.add_argument("--json", action="store_true", help="输出一个 JSON 对象")
            sub.add_argument(
                "--errors-xlsx",
                type=Path,
                metavar="文件",
                help="有错误时把完整的错误清单写入这个 .xlsx 文件",
            )
            add_force(sub)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["kind"] == "roster" and not self.scope.may_import_roster(options["category"]):
            raise CommandError(
                f"账号“{self.actor.get_username()}”不负责"
                f"{CATEGORY_NAMES[options['category']]}名册，不能导入",
                returncode=USAGE_ERROR,
            )
        check_outputs(options, "errors_xlsx")
        try:
            with self.progress(options, "导入") as progress:
                result = self._import(options, progress)
        except (ImportUsageError, InputError) as error:
            raise CommandError(str(error), returncode=USAGE_ERROR) from None
        written = self.save_errors(result.errors, options)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
        else:
            self.stdout.write(result.message)
            self.write_errors(result.errors, written)
            if result.unknown:
                self.stdout.write("登记库中查无此人（待核实）：")
                self.write_persons(result.unknown)
        if result.errors:
            self.stdout.flush()
            raise SystemExit(REFUSED)

    def _import(self, options: dict[str, Any], progress: Progress | None) -> ImportResult:
        common: dict[str, Any] = {
            "path": options["file"],
            "actor": self.actor,
            "dry_run": options["dry_run"],
            "progress": progress,
        }
        if options["kind"] == "residents":
            return import_residents(**common)
        if options["kind"] == "roster":
            return import_roster(category=options["category"], source=options["source"], **common)
        if options["kind"] == "schools":
            return import_schools(as_of=options["as_of"], **common)
        if options["kind"] == "payments":
            return import_payments(
                campaign=campaign_by_id(options["campaign"]),
                channel=options["channel"],
                funder=options["funder"],
                **common,
            )
        return import_divisions(**common)
