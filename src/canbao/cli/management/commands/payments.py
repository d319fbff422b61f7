"""`canbao payments reverse KEY --channel C --reason TEXT`, `canbao payments suspense`,
`canbao payments recheck` and `canbao payments position ID`.

Exit status: 0 done, 1 refused (nothing written: unknown key, already reversed), 2 usage error
(no such campaign, bad options, no resident with that ID number).
"""

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from canbao.accounts.scope import Permission
from canbao.campaigns.models import Campaign
from canbao.campaigns.selectors import campaign_by_id
from canbao.cli import REFUSED, USAGE_ERROR
from canbao.cli.output import CanbaoCommand
from canbao.collection.ledger import resident_statement
from canbao.collection.models import Channel, Suspense
from canbao.collection.selectors import suspense_list
from canbao.collection.services import PaymentError, recheck_held_payments, reverse_payment
from canbao.errors import InputError
from canbao.policy.money import yuan
from canbao.registry.batches import record_audit
from canbao.registry.selectors import with_id_number

PERMISSIONS = {
    "reverse": Permission.RESOLVE_HELD,
    "recheck": Permission.RESOLVE_HELD,
    "suspense": Permission.VIEW_MONEY,
    "position": Permission.VIEW_RESIDENTS,
}


class Command(CanbaoCommand):
    help = "缴费的冲正，以及查看挂账（未能入账参保的缴费）清单。"
    takes_account = True

    def permission(self, options: dict[str, Any]) -> Permission:
        return PERMISSIONS[options["action"]]

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="操作")
        reverse = actions.add_parser(
            "reverse", help="冲正一笔已入账的缴费（记一笔反向金额，原记录不改）"
        )
        reverse.add_argument("key", metavar="流水号", help="原缴费的流水号（收据号码、批次行号）")
        reverse.add_argument(
            "--channel",
            required=True,
            choices=list(Channel.values),
            metavar="渠道",
            help="原缴费的渠道：tax、bank、cash、withholding、proxy",
        )
        reverse.add_argument("--reason", required=True, metavar="原因", help="冲正原因")
        suspense = actions.add_parser("suspense", help="列出挂账的缴费及原因")
        suspense.add_argument(
            "--all", action="store_true", help="连同已处理的一并列出（默认只列未处理的）"
        )
        suspense.add_argument(
            "--reason",
            choices=list(Suspense.Reason.values),
            metavar="原因代码",
            help="只列此原因：" + "、".join(f"{r.value}（{r.label}）" for r in Suspense.Reason),
        )
        recheck = actions.add_parser(
            "recheck", help="核定或登记库更新后，重新核对挂账缴费（能入账的即参保）"
        )
        position = actions.add_parser(
            "position", help="一个人的账：应缴、已缴（本人、各资助方）、参保入账、挂账、冲正"
        )
        position.add_argument("id_number", metavar="证件号码", help="证件号码")
        for sub in (reverse, suspense, recheck, position):
            sub.add_argument(
                "--campaign",
                type=int,
                metavar="编号",
                help="参保缴费工作编号（默认为唯一进行中的那一项）",
            )
            sub.add_argument("--json", action="store_true", help="输出一个 JSON 对象")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            campaign = campaign_by_id(options["campaign"])
        except InputError as error:
            raise CommandError(str(error), returncode=USAGE_ERROR) from None
        if options["action"] == "reverse":
            try:
                reversal = reverse_payment(
                    campaign=campaign,
                    channel=options["channel"],
                    key=options["key"],
                    reason=options["reason"],
                    actor=self.actor,
                )
            except PaymentError as error:
                if options["json"]:
                    self.stdout.write(
                        json.dumps(
                            {"errors": [{"code": error.code, "message": error.message}]},
                            ensure_ascii=False,
                        )
                    )
                else:
                    self.stdout.write(f"未冲正：{error.message}")
                self.stdout.flush()
                raise SystemExit(REFUSED) from None
            done: dict[str, Any] = {
                "reversal": reversal.pk,
                "key": reversal.key,
                "channel": reversal.channel,
                "amount_fen": reversal.amount_fen,
                "reverses": reversal.reverses_id,
                "errors": [],
                "message": (
                    f"已冲正流水号{options['key']}，冲正金额{yuan(-reversal.amount_fen)}元。"
                ),
            }
            if options["json"]:
                self.stdout.write(json.dumps(done, ensure_ascii=False))
            else:
                self.stdout.write(str(done["message"]))
            return
        if options["action"] == "position":
            self._position(campaign, options["id_number"], as_json=options["json"])
            return
        if options["action"] == "recheck":
            applied = recheck_held_payments(campaign=campaign, actor=self.actor)
            result: dict[str, Any] = {
                "campaign": campaign.pk,
                "enrolled": applied.enrolled,
                "withdrawn": applied.withdrawn,
                "resolved": applied.resolved,
                "suspended": applied.suspended,
                "errors": [],
                "message": (
                    f"已重新核对挂账缴费：新参保{applied.enrolled}人，挂账已处理{applied.resolved}笔。"
                ),
            }
            self.stdout.write(
                json.dumps(result, ensure_ascii=False) if options["json"] else result["message"]
            )
            return
        rows = suspense_list(
            campaign=campaign, open_only=not options["all"], reason=options["reason"]
        )
        if options["json"]:
            total = sum(row["amount_fen"] for row in rows)
            self.stdout.write(
                json.dumps(
                    {
                        "campaign": campaign.pk,
                        "count": len(rows),
                        "amount_fen": total,
                        "items": rows,
                    },
                    ensure_ascii=False,
                )
            )
            return
        if not rows:
            self.stdout.write("没有挂账的缴费。")
        for row in rows:
            status = f"［已处理：{row['resolution']}］" if row["resolved_at"] else ""
            payment = row["payment"]
            paid = f"{payment['paid_on']} 流水号{payment['key']} " if payment else ""
            self.stdout.write(
                f"{paid}{row['name']} {row['id_number']} {yuan(row['amount_fen'])}元 "
                f"{row['reason_label']}：{row['message']}{status}"
            )

    def _position(self, campaign: Campaign, id_number: str, *, as_json: bool) -> None:
        number = id_number.strip().upper()
        resident = with_id_number(self.scope.residents(), number).first()
        if resident is None:
            raise CommandError(f"登记库中没有证件号码为{id_number}的人员", returncode=USAGE_ERROR)
        statement = resident_statement(campaign=campaign, resident=resident)
        record_audit(
            action="view_resident",
            actor=self.actor,
            resident_id=resident.pk,
            details={"campaign": campaign.pk},
        )
        if as_json:
            self.stdout.write(json.dumps(statement, ensure_ascii=False))
            return
        p = statement["position"]
        due = "尚未核定或待公布" if p["due_fen"] is None else f"{yuan(p['due_fen'])} 元"
        self.stdout.write(f"{resident.name}（{resident.id_number}）{campaign}")
        self.stdout.write(
            f"应缴 {due}；收到 {yuan(p['received_fen'])} 元，冲正 {yuan(p['reversed_fen'])} 元，"
            f"参保入账 {yuan(p['enrolled_fen'])} 元，挂账 {yuan(p['held_fen'])} 元"
        )
        if p["enrolled"]:
            self.stdout.write(
                f"已参保：{p['enrolled_on']}缴清，"
                f"待遇期 {p['coverage_start']} 至 {p['coverage_end']}"
            )
        for held in p["held"]:
            self.stdout.write(
                f"挂账 {yuan(held['fen'])} 元（{held['reason_label']}）：{held['message']}"
            )
        for paid in statement["payments"]:
            self.stdout.write(
                f"  {paid['paid_on']} {paid['channel_label']} 流水号{paid['key']} "
                f"{yuan(paid['amount_fen'])} 元"
            )
