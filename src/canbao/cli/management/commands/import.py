"""`canbao import residents|roster|divisions|payments FILE`: thin over the import services.

Exit status: 0 committed (or a clean dry run), 1 refused for errors (nothing written), 2 usage
error (no such file, unknown category or funder code, bad options, an --errors-xlsx path in a
missing folder or already there without --force: then nothing is imported).
"""

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from canbao.campaigns.selectors import campaign_by_id
from canbao.cli import REFUSED, USAGE_ERROR
from canbao.cli.output import CanbaoCommand, add_force, check_outputs, output_file
from canbao.collection.payment_imports import FILE_CHANNELS, import_payments
from canbao.errors import InputError
from canbao.policy.codes import CATEGORY_NAMES, FUNDER_NAMES
from canbao.regions.services import import_divisions
from canbao.registry.batches import ImportResult, ImportUsageError, write_errors_xlsx
from canbao.registry.services import import_residents, import_roster


class Command(CanbaoCommand):
    help = "导入户籍人员、部门名册或行政区划（.xlsx、.xls、UTF-8 或 GB18030 编码的 .csv）。"

    def add_arguments(self, parser: CommandParser) -> None:
        kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
        residents = kinds.add_parser("residents", help="导入户籍人员（户、居民）")
        roster = kinds.add_parser("roster", help="导入部门的特殊人员名册（一个文件一个类别）")
        roster.add_argument(
            "--category",
            required=True,
            choices=sorted(CATEGORY_NAMES),
            metavar="CODE",
            help="人员类别代码，如 extreme_poverty（特困人员）、rural_dibao（农村低保对象）",
        )
        roster.add_argument(
            "--source",
            required=True,
            choices=sorted(FUNDER_NAMES),
            metavar="FUNDER",
            help="来源部门（资助方）代码，如 civil_affairs（民政部门）",
        )
        divisions = kinds.add_parser("divisions", help="导入统计用区划代码（县、乡、村三级）")
        payments = kinds.add_parser(
            "payments", help="导入缴费明细（税务、银行每日明细，部门代缴，现金收款）"
        )
        payments.add_argument(
            "--channel",
            required=True,
            choices=list(FILE_CHANNELS),
            metavar="CHANNEL",
            help="缴费渠道：tax（税务）、bank（银行）、proxy（部门代缴）、cash（现金收款收据）",
        )
        payments.add_argument(
            "--campaign", type=int, help="参保缴费工作编号（默认为唯一进行中的那一项）"
        )
        payments.add_argument(
            "--funder",
            choices=sorted(FUNDER_NAMES),
            metavar="FUNDER",
            help="部门代缴文件没有“代缴部门”列时，指定代缴部门代码，如 medical_assistance",
        )
        for sub in (residents, roster, divisions, payments):
            sub.add_argument("file", type=Path, help="要导入的文件")
            sub.add_argument("--dry-run", action="store_true", help="只检查并报告，不写入数据库")
            sub.add_argument("--json", action="store_true", help="输出一个 JSON 对象")
            sub.add_argument("--user", help="操作人（默认为当前系统用户）")
            sub.add_argument(
                "--errors-xlsx", type=Path, help="有错误时把错误清单写入这个 .xlsx 文件"
            )
            add_force(sub)

    def handle(self, *args: Any, **options: Any) -> None:
        check_outputs(options, "errors_xlsx")
        progress, close = _progress_bar()
        common: dict[str, Any] = {
            "path": options["file"],
            "username": options["user"],
            "dry_run": options["dry_run"],
            "progress": progress,
        }
        try:
            if options["kind"] == "residents":
                result = import_residents(**common)
            elif options["kind"] == "roster":
                result = import_roster(
                    category=options["category"], source=options["source"], **common
                )
            elif options["kind"] == "payments":
                result = import_payments(
                    campaign=campaign_by_id(options["campaign"]),
                    channel=options["channel"],
                    funder=options["funder"],
                    **common,
                )
            else:
                result = import_divisions(**common)
        except (ImportUsageError, InputError) as error:
            raise CommandError(str(error), returncode=USAGE_ERROR) from None
        finally:
            close()
        if result.errors and options["errors_xlsx"]:
            with output_file(options["errors_xlsx"], force=options["force"]) as path:
                write_errors_xlsx(result.errors, path)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
        else:
            self._report(result)
        if result.errors:
            self.stdout.flush()
            raise SystemExit(REFUSED)

    def _report(self, result: ImportResult) -> None:
        self.stdout.write(result.message)
        for error in result.errors:
            self.stdout.write(error.describe())
        if result.unknown:
            self.stdout.write("登记库中查无此人（待核实）：")
            for person in result.unknown:
                self.stdout.write(f"第{person['row']}行 {person['name']} {person['id_number']}")


def _progress_bar() -> tuple[Callable[[int], None] | None, Callable[[], None]]:
    """A tqdm bar on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(unit="行", file=sys.stderr, desc="导入", dynamic_ncols=True)

    def update(rows: int) -> None:
        bar.update(rows - bar.n)

    return update, bar.close
