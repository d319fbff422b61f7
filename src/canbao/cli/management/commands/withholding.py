"""`canbao withholding agreements|batch|returns|followup|retry`: bank withholding (委托代扣), thin
over ``canbao.collection.withholding``.

Exit status: 0 done (or a clean dry run, or nothing to send), 1 refused for errors (nothing
written), 2 usage error (no such file, unknown campaign, an output path in a missing folder or
already there without --force, bad options: then nothing is done).
"""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from canbao.accounts.scope import Permission
from canbao.campaigns.models import Campaign
from canbao.campaigns.selectors import campaign_by_id
from canbao.cli import REFUSED, USAGE_ERROR
from canbao.cli.output import CanbaoCommand, add_force, check_outputs, output_file
from canbao.collection.models import WithholdingLine
from canbao.collection.withholding import (
    BatchResult,
    ReturnSummary,
    WithholdingError,
    create_batch,
    create_retry,
    followup,
    import_agreements,
    import_returns,
    write_followup_xlsx,
)
from canbao.errors import InputError
from canbao.policy.money import yuan
from canbao.registry.batches import ImportResult, ImportUsageError

ENCODINGS = {"utf-8": "utf-8-sig", "gb18030": "gb18030"}


class Command(CanbaoCommand):
    help = (
        "银行委托代扣：导入三方协议、生成代扣文件、导入银行回盘、列出失败跟进名单、"
        "生成失败重扣文件。"
    )
    takes_account = True

    def permission(self, options: dict[str, Any]) -> Permission:
        return Permission.WITHHOLDING

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="操作")
        agreements = actions.add_parser(
            "agreements",
            help="导入三方协议（姓名、公民身份号码、开户银行、账号、户名、签订日期）",
        )
        batch = actions.add_parser("batch", help="生成给银行的代扣文件（首轮）")
        returns = actions.add_parser("returns", help="导入银行的代扣回盘文件")
        follow = actions.add_parser("followup", help="代扣失败跟进名单（按乡镇、失败原因）")
        retry = actions.add_parser("retry", help="只对可重扣的失败记录生成重扣文件")
        for sub in (agreements, returns):
            sub.add_argument(
                "file", type=Path, metavar="文件", help="要导入的文件（.xlsx、.xls、.csv）"
            )
            sub.add_argument("--dry-run", action="store_true", help="只检查并报告，不写入")
            sub.add_argument(
                "--errors-xlsx",
                type=Path,
                metavar="文件",
                help="有错误时把完整的错误清单写入此文件",
            )
        for sub in (batch, retry):
            sub.add_argument(
                "--out", type=Path, required=True, metavar="文件", help="代扣文件（.csv 或 .xlsx）"
            )
            sub.add_argument(
                "--encoding",
                choices=sorted(ENCODINGS),
                default="utf-8",
                metavar="编码",
                help="CSV 的编码：utf-8（带 BOM，默认）或 gb18030",
            )
        follow.add_argument("--township", metavar="乡镇代码", help="只列这个乡镇（9位区划代码）")
        follow.add_argument("--xlsx", type=Path, metavar="文件", help="把名单写入这个 .xlsx 文件")
        for sub in (agreements, batch, returns, follow, retry):
            sub.add_argument("--json", action="store_true", help="输出一个 JSON 对象")
            add_force(sub)
        for sub in (batch, returns, follow, retry):
            sub.add_argument(
                "--campaign",
                type=int,
                metavar="编号",
                help="参保缴费工作编号（只有一项进行中时可省略）",
            )

    def handle(self, *args: Any, **options: Any) -> None:
        check_outputs(options, "errors_xlsx", "out", "xlsx")
        action = options["action"]
        try:
            if action == "agreements":
                with self.progress(options, "导入三方协议") as progress:
                    result = import_agreements(
                        path=options["file"],
                        actor=self.actor,
                        dry_run=options["dry_run"],
                        progress=progress,
                    )
                self._import_done(result, {}, options)
                return
            campaign = self._campaign(options)
            if action == "returns":
                summary = ReturnSummary()
                with self.progress(options, "导入回盘") as progress:
                    result = import_returns(
                        path=options["file"],
                        campaign=campaign,
                        actor=self.actor,
                        dry_run=options["dry_run"],
                        summary=summary,
                        progress=progress,
                    )
                self._import_done(result, summary.as_json(), options)
            elif action in ("batch", "retry"):
                make = create_retry if action == "retry" else create_batch
                done = make(
                    campaign=campaign,
                    out=options["out"],
                    actor=self.actor,
                    encoding=ENCODINGS[options["encoding"]],
                    force=options["force"],
                )
                self._batch_done(done, options)
            else:
                self._followup(campaign, options)
        except (ImportUsageError, WithholdingError) as error:
            raise CommandError(str(error), returncode=USAGE_ERROR) from None

    def _campaign(self, options: dict[str, Any]) -> Campaign:
        try:
            return campaign_by_id(options["campaign"])
        except InputError as error:
            raise CommandError(error.message, returncode=USAGE_ERROR) from None

    def _import_done(
        self, result: ImportResult, extra: dict[str, Any], options: dict[str, Any]
    ) -> None:
        written = self.save_errors(result.errors, options)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json() | extra, ensure_ascii=False))
        else:
            self.stdout.write(result.message)
            self.write_errors(result.errors, written)
            results = extra.get("results")
            if results:
                self.stdout.write(
                    "回盘结果："
                    + "，".join(f"{_label(code)}{count}笔" for code, count in results.items())
                )
            if extra.get("payments"):
                self.stdout.write(
                    f"扣款成功入账{extra['payments']}笔，合计{yuan(extra['payments_fen'])}元。"
                )
        if result.errors:
            self.stdout.flush()
            raise SystemExit(REFUSED)

    def _batch_done(self, done: BatchResult, options: dict[str, Any]) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(done.as_json(), ensure_ascii=False))
        else:
            self.stdout.write(done.message)

    def _followup(self, campaign: Campaign, options: dict[str, Any]) -> None:
        rows = followup(campaign=campaign, township=options["township"])
        if options["xlsx"]:
            with output_file(options["xlsx"], force=options["force"]) as path:
                write_followup_xlsx(rows, path)
            self.record_export(
                "withholding followup",
                [options["xlsx"]],
                campaign=campaign.pk,
                township=options["township"],
                rows=len(rows),
            )
        if options["json"]:
            counts: dict[str, dict[str, int]] = {}
            for row in rows:
                mine = counts.setdefault(row.township_code, {})
                mine[row.result] = mine.get(row.result, 0) + 1
            self.stdout.write(
                json.dumps(
                    {
                        "count": len(rows),
                        "by_township": counts,
                        "rows": [r.as_json() for r in rows],
                    },
                    ensure_ascii=False,
                )
            )
            return
        if not rows:
            self.stdout.write("没有需要跟进的代扣失败记录。")
            return
        township: str | None = None
        for row in rows:
            if row.township_code != township:
                township = row.township_code
                self.stdout.write(f"== {row.township}（{row.township_code}）")
            self.stdout.write(
                f"{row.reason}\t{row.village}\t{row.name}\t{row.id_number}\t{row.phone}\t"
                f"{row.bank} {row.account}\t{yuan(row.amount_fen)}元\t{row.action}"
            )
        self.stdout.write(f"共{len(rows)}人。")


def _label(code: str) -> str:
    return str(dict(WithholdingLine.Result.choices).get(code, code))
