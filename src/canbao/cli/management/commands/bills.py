"""`canbao bills --funder FUNDER`: a department's subsidy bill for a campaign.

Exit status: 0 printed (and written with --xlsx), 2 usage error (no such campaign, unknown
funder code, a funder whose bill the account may not read, an --xlsx path in a missing folder
or already there without --force). Nothing but the export's audit row is written to the
database, so nothing is ever refused.
"""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from canbao.accounts.scope import Permission
from canbao.campaigns.selectors import campaign_by_id
from canbao.cli import USAGE_ERROR
from canbao.cli.output import CanbaoCommand, add_force, check_outputs, output_file
from canbao.collection.bills import Subtotal, funder_bill, write_bill_xlsx
from canbao.errors import InputError
from canbao.policy.codes import FUNDER_NAMES
from canbao.policy.money import yuan


def _line(subtotal: Subtotal) -> str:
    return (
        f"{subtotal.name}：{subtotal.persons} 人（已参保 {subtotal.enrolled} 人），"
        f"应资助 {yuan(subtotal.fen)} 元，已代缴 {yuan(subtotal.received_fen)} 元，"
        f"未缴 {yuan(subtotal.balance_fen)} 元"
    )


class Command(CanbaoCommand):
    help = (
        "部门资助账单：某资助方在本次参保缴费工作中应资助的人员与金额（按乡镇小计），"
        "已代缴金额与未缴余额。"
    )
    takes_account = True

    def permission(self, options: dict[str, Any]) -> Permission:
        return Permission.BILLS

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--funder",
            required=True,
            choices=sorted(FUNDER_NAMES),
            metavar="资助方代码",
            help="资助方代码，如 medical_assistance（医疗救助资金）、county_finance（县财政）",
        )
        parser.add_argument(
            "--campaign", type=int, metavar="编号", help="工作编号（只有一项进行中时可省略）"
        )
        parser.add_argument("--xlsx", type=Path, metavar="文件", help="把账单写入这个 .xlsx 文件")
        add_force(parser)
        parser.add_argument("--json", action="store_true", help="输出一个 JSON 对象（金额为分）")

    def handle(self, *args: Any, **options: Any) -> None:
        check_outputs(options, "xlsx")
        funders = self.scope.funders()
        if funders is not None and options["funder"] not in funders:
            raise CommandError(
                f"账号“{self.actor.get_username()}”只能查看"
                + "、".join(FUNDER_NAMES[f] for f in funders)
                + "的账单",
                returncode=USAGE_ERROR,
            )
        try:
            campaign = campaign_by_id(options["campaign"])
            bill = funder_bill(campaign, options["funder"])
        except InputError as error:
            raise CommandError(str(error), returncode=USAGE_ERROR) from None
        if options["xlsx"]:
            with output_file(options["xlsx"], force=options["force"]) as path:
                write_bill_xlsx(bill, path)
            self.record_export(
                "bills", [options["xlsx"]], campaign=campaign.pk, funder=options["funder"]
            )
        if options["json"]:
            self.stdout.write(json.dumps(bill.as_json(), ensure_ascii=False))
            return
        self.stdout.write(bill.title)
        for township in bill.townships:
            self.stdout.write(_line(township))
        self.stdout.write(_line(bill.total))
        if bill.unattributed_count:
            self.stdout.write(
                f"另有 {bill.unattributed_count} 笔代缴 {yuan(bill.unattributed_fen)} 元"
                "查无此人，未计入上表"
            )
