"""`canbao reconcile`: daily reconciliation (每日对账), thin over
``canbao.collection.reconciliation``.

    canbao reconcile --date DATE --tax-file FILE [--bank-file FILE]
    canbao reconcile explain DIFF_ID --reason TEXT
    canbao reconcile close --date DATE
    canbao reconcile credits FILE            (import the banks' credit totals alone)

Exit status: 0 done (a reconciliation that ran, balanced or not: see "balanced"; an explanation
recorded; a day closed or already closed; credits imported), 1 refused (file errors, a closed
day, a close while differences are unexplained; nothing written), 2 usage error (also an
--errors-xlsx path in a missing folder or already there without --force: nothing is done).
"""

import json
from argparse import ArgumentTypeError
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from canbao.accounts.scope import Permission
from canbao.campaigns.models import Campaign
from canbao.campaigns.selectors import campaign_by_id
from canbao.cli import REFUSED, USAGE_ERROR
from canbao.cli.output import CanbaoCommand, add_force, check_outputs
from canbao.collection.bank_credits import import_bank_credits
from canbao.collection.closing import close_day, explain_difference, reopen_day
from canbao.collection.reconciliation import (
    DayResult,
    ReconciliationError,
    reconcile_day,
)
from canbao.errors import InputError
from canbao.policy.money import yuan
from canbao.registry.batches import ImportUsageError


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ArgumentTypeError(f"日期须为 YYYY-MM-DD：{text!r}") from None


class Command(CanbaoCommand):
    help = (
        "每日对账：税务明细、银行入账与本系统入账逐笔、逐行核对；差异逐项说明；账平或差异"
        "均已说明后结账。"
    )
    takes_account = True

    def permission(self, options: dict[str, Any]) -> Permission:
        if options.get("action") == "credits":
            return Permission.IMPORT_PAYMENTS
        return Permission.RECONCILE

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date", type=iso_date, dest="day", metavar="日期", help="对账日期 YYYY-MM-DD"
        )
        parser.add_argument("--tax-file", type=Path, metavar="文件", help="税务部门当日缴费明细")
        parser.add_argument(
            "--bank-file", type=Path, metavar="文件", help="银行入账合计（日期、银行、金额、笔数）"
        )
        parser.add_argument(
            "--errors-xlsx",
            type=Path,
            metavar="文件",
            help="文件有错误时把完整的错误清单写入此文件",
        )
        add_force(parser)
        actions = parser.add_subparsers(dest="action", required=False, metavar="操作")
        explain = actions.add_parser("explain", help="说明一项对账差异")
        explain.add_argument("difference", type=int, metavar="差异编号", help="差异编号")
        explain.add_argument("--reason", required=True, metavar="原因", help="差异原因")
        close = actions.add_parser("close", help="结账（差异均已说明后）")
        close.add_argument(
            "--date",
            type=iso_date,
            dest="close_day",
            required=True,
            metavar="日期",
            help="结账日期",
        )
        reopen = actions.add_parser("reopen", help="重新打开已结账的日期（须写明原因）")
        reopen.add_argument(
            "--date",
            type=iso_date,
            dest="reopen_day",
            required=True,
            metavar="日期",
            help="重新打开的日期",
        )
        reopen.add_argument("--reason", required=True, metavar="原因", help="原因")
        credits = actions.add_parser("credits", help="只导入银行入账合计文件")
        credits.add_argument("file", type=Path, metavar="文件", help="银行入账合计文件")
        credits.add_argument("--dry-run", action="store_true", help="只检查并报告，不写入")
        for sub in (parser, explain, close, reopen, credits):
            sub.add_argument("--json", action="store_true", help="输出一个 JSON 对象")
        for sub in (parser, close, reopen, credits):
            sub.add_argument(
                "--campaign",
                type=int,
                metavar="编号",
                help="参保缴费工作编号（只有一项进行中时可省略）",
            )

    def handle(self, *args: Any, **options: Any) -> None:
        check_outputs(options, "errors_xlsx")
        action = options.get("action")
        try:
            if action == "explain":
                view = explain_difference(
                    difference_id=options["difference"],
                    reason=options["reason"],
                    actor=self.actor,
                )
                if options["json"]:
                    self.stdout.write(json.dumps(view.as_json(), ensure_ascii=False))
                else:
                    self.stdout.write(
                        f"差异{view.id}（{view.label} {view.key}）已说明：{view.explanation}"
                    )
                return
            campaign = self._campaign(options)
            if action == "close":
                day = options["close_day"]
                self._day_done(close_day(campaign=campaign, day=day, actor=self.actor), options)
            elif action == "reopen":
                reopened = reopen_day(
                    campaign=campaign,
                    day=options["reopen_day"],
                    reason=options["reason"],
                    actor=self.actor,
                )
                self._day_done(reopened, options)
            elif action == "credits":
                self._credits(campaign, options)
            else:
                if options["day"] is None or options["tax_file"] is None:
                    raise CommandError(
                        "对账须给出 --date 和 --tax-file（或使用 explain、close、credits）",
                        returncode=USAGE_ERROR,
                    )
                result = reconcile_day(
                    campaign=campaign,
                    day=options["day"],
                    tax_file=options["tax_file"],
                    bank_file=options["bank_file"],
                    actor=self.actor,
                )
                self._day_done(result, options, self.save_errors(result.errors, options))
        except ReconciliationError as error:
            if error.code in ("unknown_difference", "not_reconciled"):
                raise CommandError(error.message, returncode=USAGE_ERROR) from None
            self._refuse(error, options)
        except ImportUsageError as error:
            raise CommandError(str(error), returncode=USAGE_ERROR) from None

    def _campaign(self, options: dict[str, Any]) -> Campaign:
        try:
            return campaign_by_id(options["campaign"])
        except InputError as error:
            raise CommandError(error.message, returncode=USAGE_ERROR) from None

    def _refuse(self, error: InputError, options: dict[str, Any]) -> None:
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {"errors": [{"code": error.code, "message": error.message}]},
                    ensure_ascii=False,
                )
            )
        else:
            self.stdout.write(error.message)
        self.stdout.flush()
        raise SystemExit(REFUSED)

    def _day_done(
        self, result: DayResult, options: dict[str, Any], written: Path | None = None
    ) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
        else:
            self.stdout.write(result.message)
            self.write_errors(result.errors, written)
            if not result.refused or result.status == "closed":
                self.stdout.write(
                    f"税务明细 {result.tax_count}笔 {yuan(result.tax_fen)}元；"
                    f"银行入账 {yuan(result.bank_fen)}元；"
                    f"本系统 {result.recorded_count}笔 {yuan(result.recorded_fen)}元。"
                )
                for d in result.differences:
                    state = f"已说明：{d.explanation}" if d.explanation else "未说明"
                    self.stdout.write(f"差异{d.id}\t{d.label}\t{d.key}\t{d.detail}\t{state}")
        if result.refused:
            self.stdout.flush()
            raise SystemExit(REFUSED)

    def _credits(self, campaign: Campaign, options: dict[str, Any]) -> None:
        result = import_bank_credits(
            path=options["file"],
            campaign=campaign,
            actor=self.actor,
            dry_run=options["dry_run"],
        )
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
        else:
            self.stdout.write(result.message)
            self.write_errors(result.errors, None)
        if result.errors:
            self.stdout.flush()
            raise SystemExit(REFUSED)
