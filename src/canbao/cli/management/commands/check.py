"""`canbao check ledger [--campaign ID] [--json]`: the accounting equation of every campaign (or
of one): fen received = fen enrolled + fen held + fen reversed, per resident, per payment of an
unknown person and in total.

Exit status: 0 every campaign checked adds up, 1 some money does not add up (listed), 2 usage
error (no such campaign, an account without the AUDIT permission). Reads only.
"""

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from canbao.accounts.scope import Permission
from canbao.campaigns.models import Campaign
from canbao.campaigns.selectors import campaign_by_id
from canbao.cli import REFUSED, USAGE_ERROR
from canbao.cli.output import CanbaoCommand
from canbao.collection.ledger import LedgerCheck, check_ledger
from canbao.errors import InputError
from canbao.policy.money import yuan

SHOWN = 20  # unbalanced lines printed on a terminal; --json lists them all


class Command(CanbaoCommand):
    help = "审计核对：检查账目是否平衡（收到的钱 = 参保入账 + 挂账 + 冲正，逐人并合计）。"
    takes_account = True

    def permission(self, options: dict[str, Any]) -> Permission:
        return Permission.AUDIT

    def add_arguments(self, parser: CommandParser) -> None:
        checks = parser.add_subparsers(dest="check", required=True, metavar="核对项")
        ledger = checks.add_parser(
            "ledger", help="核对每项参保缴费工作的账目：收到 = 参保入账 + 挂账 + 冲正（到分）"
        )
        ledger.add_argument(
            "--campaign", type=int, metavar="编号", help="只核对这一项工作（默认核对全部）"
        )
        ledger.add_argument("--json", action="store_true", help="输出一个 JSON 对象（金额为分）")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["campaign"] is not None:
            try:
                campaigns = [campaign_by_id(options["campaign"])]
            except InputError as error:
                raise CommandError(str(error), returncode=USAGE_ERROR) from None
        else:
            campaigns = list(Campaign.objects.select_related("area").order_by("pk"))
        checks = [(campaign, check_ledger(campaign)) for campaign in campaigns]
        balanced = all(check.balanced for _, check in checks)
        if options["json"]:
            report = {
                "balanced": balanced,
                "campaigns": [check.as_json() for _, check in checks],
            }
            self.stdout.write(json.dumps(report, ensure_ascii=False))
        else:
            if not checks:
                self.stdout.write("还没有参保缴费工作，无账可核。")
            for campaign, check in checks:
                self._say(campaign, check)
        if not balanced:
            self.stdout.flush()
            raise SystemExit(REFUSED)

    def _say(self, campaign: Campaign, check: LedgerCheck) -> None:
        verdict = "平衡" if check.balanced else "不平衡"
        self.stdout.write(
            f"{campaign}（编号 {campaign.pk}）：账目{verdict}。"
            f"收到 {yuan(check.received_fen)} 元 = 参保入账 {yuan(check.enrolled_fen)} 元"
            f" + 挂账 {yuan(check.held_fen)} 元 + 冲正 {yuan(check.reversed_fen)} 元"
            f"（{check.residents} 人，另有查无此人的缴费 {check.unknown_payments} 笔）"
        )
        for line in check.unbalanced[:SHOWN]:
            self.stdout.write(
                f"  {line['name']}（{line['id_number']}）：收到 {yuan(line['received_fen'])} 元，"
                f"参保入账 {yuan(line['enrolled_fen'])} 元，挂账 {yuan(line['held_fen'])} 元，"
                f"冲正 {yuan(line['reversed_fen'])} 元，差 {yuan(line['difference_fen'])} 元"
            )
        if len(check.unbalanced) > SHOWN:
            self.stdout.write(f"  … 另有 {len(check.unbalanced) - SHOWN} 人（用 --json 列出全部）")
        for day in check.closed_days:
            self.stdout.write(
                f"  {day['day']}已结账：结账时税务入账 {day['closed_count']} 笔 "
                f"{yuan(day['closed_fen'])} 元，现在 {day['ledger_count']} 笔 "
                f"{yuan(day['ledger_fen'])} 元"
            )
