import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from canbao.accounts.scope import Permission
from canbao.campaigns.selectors import campaign_by_id, campaign_policy
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.cli import USAGE_ERROR
from canbao.cli.output import CanbaoCommand
from canbao.errors import InputError
from canbao.policy.loader import PolicyError, implausible_amounts


class Command(CanbaoCommand):
    help = "参保缴费工作：开始一个统筹区某年度的工作（open），为全部居民核定缴费（assess）。"
    takes_account = True

    def permission(self, options: dict[str, Any]) -> Permission:
        return Permission.MANAGE

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="操作")
        opening = actions.add_parser("open", help="按政策开始一个统筹区的参保缴费工作")
        opening.add_argument(
            "--area", required=True, metavar="区划代码", help="统筹区的区划代码（须已导入）"
        )
        opening.add_argument(
            "--policy", required=True, metavar="政策", help="内置政策编号或 TOML 文件"
        )
        assess = actions.add_parser(
            "assess", help="按政策为统筹区内全部在册居民核定身份属性、个人缴费、资助与应缴"
        )
        assess.add_argument(
            "--campaign", type=int, metavar="编号", help="工作编号（只有一项进行中时可省略）"
        )
        for sub in (opening, assess):
            sub.add_argument("--json", action="store_true", help="输出一个 JSON 对象")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "open":
                campaign = open_campaign(
                    area_code=options["area"], policy=options["policy"], actor=self.actor
                )
                report: dict[str, Any] = {
                    "campaign": campaign.pk,
                    "area": campaign.area.code,
                    "coverage_year": campaign.coverage_year,
                    "policy": campaign.policy_id,
                }
                warnings = implausible_amounts(campaign_policy(campaign))
                report["warnings"] = warnings
                text = "\n".join(
                    [f"已开始：{campaign}，编号 {campaign.pk}"]
                    + [f"注意，政策中的金额不合常理，请核对：{warning}" for warning in warnings]
                )
            else:
                campaign = campaign_by_id(options["campaign"])
                with self.progress(options, "核定") as progress:
                    result = assess_campaign(campaign=campaign, actor=self.actor, progress=progress)
                report = result.as_json()
                text = (
                    f"{campaign}：按 {result.day.isoformat()} 缴费核定 {result.residents} 人，"
                    f"新增 {result.created}、"
                    f"更新 {result.updated}、未变 {result.unchanged}、已缴费冻结 {result.frozen}；"
                    f"不能参保 {result.ineligible} 人，金额待公布 {result.pending} 人"
                )
        except (InputError, PolicyError) as error:
            raise CommandError(str(error), returncode=USAGE_ERROR) from None
        self.stdout.write(json.dumps(report, ensure_ascii=False) if options["json"] else text)
