"""The demo's collection season: each step runs the command a user would run (through
``call_command`` with ``--json``) on the files ``write_season`` wrote, and is summarised in
Chinese. Running it again on the same database changes nothing and says so."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Max

from canbao.campaigns.models import Assessment, Campaign
from canbao.collection.models import (
    Payment,
    ReceiptBook,
    ReconciliationDay,
    Suspense,
    WithholdingBatch,
    WithholdingLine,
)
from canbao.collection.selectors import enrollment_counts, money_summary
from canbao.demo.accounts import ADMIN, AUDITOR, CLERK
from canbao.demo.bank import write_withholding_return
from canbao.demo.plans import PresetSeason, WithholdingPlan
from canbao.demo.policies import DemoPolicy
from canbao.demo.schools import school_statistics
from canbao.demo.season import Season, write_season
from canbao.policy.codes import FUNDER_NAMES
from canbao.policy.money import yuan
from canbao.registry.models import Household
from canbao.reports.documents.formats import count_text, date_text, rate_text, yuan_text

__all__ = ["SeasonDemo", "money"]


def money(fen: int | None) -> str:
    return "待定" if fen is None else yuan(fen)


def acting(command: str) -> str:
    """The demo account a command runs as: the administrator opens and assesses the campaign,
    the auditor checks the ledger, the county clerk does the rest."""
    return {"campaign": ADMIN, "check": AUDITOR}.get(command, CLERK)


def reason_label(reason: str) -> str:
    return str(Suspense.Reason(reason).label)


def held(suspended: dict[str, int]) -> str:
    return "，".join(f"{reason_label(r)} {n} 笔" for r, n in sorted(suspended.items()))


def result_label(result: str) -> str:
    return str(WithholdingLine.Result(result).label)


class SeasonDemo:
    """A preset's collection season on the demo county, as its notice runs it."""

    def __init__(
        self,
        write: Callable[[str], Any],
        out_dir: Path,
        seed: int,
        preset: PresetSeason,
        policy: DemoPolicy,
    ) -> None:
        self.write = write
        self.out_dir = out_dir
        self.seed = seed
        self.preset = preset
        self.policy = policy
        self.campaign_id = ""

    # -- plumbing

    def call(self, *argv: str, echo: bool = True) -> tuple[dict[str, Any], int]:
        """Run a command as the user would (its JSON form) and as the demo account whose work
        it is (``acting``), echo its command line; return its JSON object and exit status (0
        done, 1 refused, 2 usage error)."""
        argv = (*argv, "--as", acting(argv[0]))
        if echo:
            shown = [Path(a).name if "/" in a else a for a in argv]
            self.write(f"$ canbao {' '.join(shown)}")
        buffer = io.StringIO()
        status = 0
        try:
            call_command(*argv, "--json", stdout=buffer)
        except SystemExit as exit:
            status = int(exit.code or 0)
        except CommandError as error:  # a usage error, e.g. a campaign opened twice
            return {"error": str(error)}, error.returncode
        lines = buffer.getvalue().strip().splitlines()
        return (json.loads(lines[-1]) if lines else {}), status

    def say(self, text: str) -> None:
        self.write(f"  {text}")

    def refused(self, report: dict[str, Any]) -> None:
        """A refusal or usage error as the command reported it."""
        error = report.get("error")
        if isinstance(error, dict):
            self.say(f"未执行：{error['message']}")
        elif error:
            self.say(f"未执行：{error}")
        else:
            self.say(report.get("message") or "未执行")
            errors = report.get("errors", [])
            for row in errors[:5]:
                where = f"第{row['row']}行" if row.get("row") else ""
                self.say(f"{where}{row['message']}")
            if len(errors) > 5:
                self.say(f"…… 另有 {len(errors) - 5} 处错误")

    # -- the steps

    def run(self) -> None:
        policy = self.policy.policy
        county = self.preset.county
        self.write(
            f"\n== 参保缴费：{county.name}{policy.coverage_year}年度"
            f"（按{policy.title}，{policy.id}）"
        )
        self.say(f"缴费方式（按通知）：{self.preset.channels}")
        campaign = self.open_campaign()
        self.campaign_id = str(campaign.pk)
        self.assess()
        try:
            season = write_season(
                campaign=campaign, out_dir=self.out_dir, seed=self.seed, plan=self.preset.plan
            )
        except ValueError:
            self.say("模拟县人数太少，不足以演示缴费季（请用 --residents 指定更多居民）。")
            return
        self.files(season)
        if season.tax_days:
            self.tax(season)
        if season.cash:
            self.cash(season)
        if self.preset.plan.withholding is not None:
            self.withholding(self.preset.plan.withholding)
        self.proxy(season)
        if season.tax_days:
            self.reconcile(season)
        else:
            self.write("\n== 每日对账")
            self.say(self.preset.no_reconciliation)
        self.suspense()
        self.four_match()
        self.bills(season)
        self.progress(campaign)
        school_statistics(self, campaign)
        self.ledger()
        self.documents(campaign)

    def open_campaign(self) -> Campaign:
        demo = self.policy
        if demo.file_name:
            path = self.out_dir / demo.file_name
            self.out_dir.mkdir(parents=True, exist_ok=True)
            if not path.is_file() or path.read_text(encoding="utf-8") != demo.text:
                path.write_text(demo.text, encoding="utf-8")
            self.say(
                f"通知未载明部分金额，本工作按县级政策文件 {demo.file_name}（由内置政策 "
                f"{demo.preset.id} 派生，{path}）开展，以下金额为演示假设："
            )
            for line in demo.assumptions:
                self.say(f"  - {line}")
            policy = str(path)
        else:
            policy = demo.preset.id
        if demo.pending:
            self.say(f"政策中仍待公布的金额：{'、'.join(demo.pending)}")
        area = self.preset.county.code
        report, status = self.call("campaign", "open", "--area", area, "--policy", policy)
        year = demo.policy.coverage_year
        campaign = Campaign.objects.get(area__code=area, coverage_year=year)
        if status:  # a second run: the campaign is open already
            self.say(f"未执行：{report['error']}；沿用已开始的工作（编号 {campaign.pk}）。")
        else:
            self.say(f"已开始：{campaign}，编号 {campaign.pk}")
        return campaign

    def assess(self) -> None:
        report, _ = self.call("campaign", "assess", "--campaign", self.campaign_id)
        self.say(
            f"按 {report['day']} 缴费核定 {report['residents']} 人：新增 {report['created']}、"
            f"更新 {report['updated']}、未变 {report['unchanged']}、"
            f"已缴费冻结 {report['frozen']}；不能参保 {report['ineligible']} 人，"
            f"金额待公布 {report['pending']} 人"
        )
        self.say(
            "可参保居民应缴："
            + "，".join(
                f"{money(row['payable_fen'])} 元 {row['residents']} 人"
                + ("（全额资助）" if row["payable_fen"] == 0 else "")
                for row in report["payable"]
            )
        )

    def files(self, season: Season) -> None:
        self.write(f"\n== 缴费季送到医保局的文件（模拟生成，在 {season.out_dir}）")
        if season.tax_days:
            lines = sum(day.lines for day in season.tax_days)
            fen = sum(day.fen for day in season.tax_days)
            self.say(
                f"税务每日缴费明细 {len(season.tax_days)} 天，共 {lines} 笔 {yuan(fen)} 元；"
                "银行入账汇总每日一份"
            )
        for cash in season.cash:
            self.say(f"{cash.name}现金收款登记 {cash.lines} 笔 {yuan(cash.fen)} 元")
        if season.books:
            first, last = season.books[0], season.books[-1]
            self.say(
                f"收款收据本 {len(season.books)} 本（No.{first.first:07d}–No.{last.last:07d}），"
                "现金缴费前发放给收款人"
            )
        if season.agreements is not None:
            self.say(f"委托代扣三方协议 {season.agreement_count} 份")
        for proxy in season.proxy:
            self.say(
                f"{FUNDER_NAMES[proxy.funder]}代缴明细 {proxy.lines} 笔 {yuan(proxy.fen)} 元"
                + (f"（另有 {proxy.skipped} 人尚未代缴）" if proxy.skipped else "")
            )
        if season.faults or season.bank_short:
            self.say("其中有常见的问题：")
        for fault in season.faults:
            self.say(f"  - {fault.detail}")
        if season.bank_short:
            self.say(f"  - {season.bank_short.reason.split('：')[0]}")

    def payments(self, *argv: str) -> None:
        report, status = self.call(*argv, "--campaign", self.campaign_id)
        if report.get("repeated"):
            self.say(report["message"])
            return
        if status:
            self.refused(report)
            return
        text = (
            f"{report['rows']} 笔 {yuan(report['file_fen'])} 元：新入账 {report['created']} 笔 "
            f"{yuan(report['created_fen'])} 元"
        )
        if report["unchanged"]:
            text += f"，已入账未变 {report['unchanged']} 笔"
        text += f"；新参保 {report['enrolled']} 人"
        if report["suspended"]:
            text += f"；挂账 {held(report['suspended'])}"
        self.say(text)

    def tax(self, season: Season) -> None:
        self.write("\n== 税务每日缴费明细")
        for day in season.tax_days:
            self.payments("import", "payments", "--channel", "tax", str(day.path))
            if day.day == season.repeated_of and season.repeated is not None:
                self.say("税务局把同一天的明细又送来一次：")
                self.payments("import", "payments", "--channel", "tax", str(season.repeated))

    def cash(self, season: Season) -> None:
        self.write("\n== 现金收款（凭收款收据）")
        issued = 0
        for number, book in enumerate(season.books):
            report, status = self.call(
                *("receipts", "issue", "--collector", book.collector),
                *("--village", book.village_code, "--from", str(book.first)),
                *("--to", str(book.last), "--campaign", self.campaign_id),
                echo=number == 0,
            )
            if not status:
                issued += 1
            elif number == 0:
                self.refused(report)
        kept = ReceiptBook.objects.filter(campaign_id=int(self.campaign_id)).count()
        if issued:
            first = season.books[0]
            self.say(
                f"已发放收据本 {issued} 本：{first.village_name}{first.collector} "
                f"No.{first.first:07d}–No.{first.last:07d}"
                + (f"，另 {issued - 1} 个村（社区）的收款人各一本" if issued > 1 else "")
            )
        else:
            self.say(f"收据本已于前次发放（{kept} 本），沿用。")
        for cash in season.cash:
            self.payments("import", "payments", "--channel", "cash", str(cash.path))

    def withholding(self, plan: WithholdingPlan) -> None:
        self.write(
            "\n== 银行委托代扣（签三方协议，医保局发代扣文件，银行回盘，失败跟进，再次代扣）"
        )
        report, status = self.call(
            "withholding", "agreements", str(self.out_dir / "委托代扣三方协议.csv")
        )
        if status:
            self.refused(report)
        elif report["repeated"]:
            self.say(report["message"])
        else:
            self.say(
                f"三方协议 {report['rows']} 份：新增 {report['created']}、"
                f"未变 {report['unchanged']}"
            )
        for retry in (False, True):
            self.round(plan, retry=retry)
            follow, _ = self.call("withholding", "followup", "--campaign", self.campaign_id)
            self.followup(follow)

    def round(self, plan: WithholdingPlan, *, retry: bool) -> None:
        """A deduction batch (first round or retry), the bank's return for it, and its import.
        On a second run there is nothing to send: the return already imported is unchanged."""
        batches = WithholdingBatch.objects.filter(campaign_id=int(self.campaign_id))
        sequence = (
            batches.order_by("-sequence").values_list("sequence", flat=True).first() or 0
        ) + 1
        out = self.out_dir / f"代扣批次{sequence}.csv"
        out.unlink(missing_ok=True)  # left by a run on another database: this one never sent it
        action = "retry" if retry else "batch"
        report, status = self.call(
            "withholding", action, "--out", str(out), "--campaign", self.campaign_id
        )
        if status:
            self.refused(report)
            return
        if report["batch"] is not None:
            what = "重扣批次" if retry else "代扣批次"
            self.say(
                f"{what}{report['sequence']}：{report['lines']} 笔 {yuan(report['total_fen'])} 元"
                + (
                    f"（重扣批次{'、'.join(map(str, report['sources']))}中余额不足的）"
                    if retry
                    else ""
                )
            )
            returned = write_withholding_return(
                batch_file=out,
                out=self.out_dir / f"代扣回盘{sequence}.csv",
                paid_on=plan.retry_day if retry else plan.first_day,
                seed=self.seed,
                failures=not retry,
            )
            self.say(f"银行回盘（模拟）：{returned.path.name}，{returned.lines} 行")
            path = returned.path
        else:
            self.say(report["message"])
            last = batches.filter(retry_of__isnull=not retry).order_by("-sequence").first()
            if last is None:
                return
            path = self.out_dir / f"代扣回盘{last.sequence}.csv"
            if not path.is_file():
                return
        report, status = self.call(
            "withholding", "returns", str(path), "--campaign", self.campaign_id
        )
        if status:
            self.refused(report)
            return
        if report["repeated"]:
            self.say(report["message"])
            return
        results = "，".join(f"{result_label(code)} {n} 笔" for code, n in report["results"].items())
        recorded = report["recorded"] or {}
        self.say(
            f"回盘 {report['rows']} 行：{results}；扣款成功入账 {report['payments']} 笔 "
            f"{yuan(report['payments_fen'])} 元，新参保 {recorded.get('enrolled', 0)} 人"
        )

    def followup(self, report: dict[str, Any]) -> None:
        counts: dict[str, int] = {}
        pending = 0
        for row in report["rows"]:
            counts[row["reason"]] = counts.get(row["reason"], 0) + 1
            pending += bool(row["pending"])
        if not counts:
            self.say("没有需要跟进的代扣失败记录")
            return
        self.say(
            f"失败跟进名单 {report['count']} 人："
            + "，".join(f"{reason} {n} 人" for reason, n in counts.items())
            + (f"（其中 {pending} 人已在重扣中）" if pending else "")
        )

    def proxy(self, season: Season) -> None:
        self.write("\n== 部门代缴（全额资助的人员，以及已缴个人部分的部分资助人员）")
        if not season.proxy:
            self.say("没有需要部门代缴的人员。")
        for proxy in season.proxy:
            self.say(FUNDER_NAMES[proxy.funder])
            self.payments(
                *("import", "payments", "--channel", "proxy"),
                *("--funder", proxy.funder, str(proxy.path)),
            )

    def reconcile(self, season: Season) -> None:
        self.write("\n== 每日对账（税务明细、银行入账、本系统入账）")
        short = season.bank_short
        for day in season.tax_days:
            record = ReconciliationDay.objects.filter(
                campaign_id=int(self.campaign_id), day=day.day
            ).first()
            iso = day.day.isoformat()
            if record is None or record.status != ReconciliationDay.Status.CLOSED:
                report, status = self.call(
                    *("reconcile", "--date", iso, "--tax-file", str(day.path)),
                    *("--bank-file", str(day.bank_file), "--campaign", self.campaign_id),
                )
                if status:
                    self.refused(report)
                    continue
                self.say(report["message"])
                for diff in report["differences"]:
                    self.say(f"差异{diff['id']}（{diff['label']}）：{diff['detail']}")
                    if (
                        short is None
                        or diff["explanation"]
                        or (short.day, short.bank) != (day.day, diff["key"])
                    ):
                        continue
                    view, _ = self.call(
                        "reconcile", "explain", str(diff["id"]), "--reason", short.reason
                    )
                    self.say(f"差异{view['id']}已说明：{view['explanation']}")
            report, status = self.call(
                "reconcile", "close", "--date", iso, "--campaign", self.campaign_id
            )
            if status:
                self.refused(report)
            else:
                self.say(report["message"])

    def suspense(self) -> None:
        self.write("\n== 挂账清单（已收到但未能参保的钱）")
        report, _ = self.call("payments", "suspense", "--campaign", self.campaign_id)
        if not report["items"]:
            self.say("没有挂账的缴费。")
            return
        by_reason: dict[str, list[dict[str, Any]]] = {}
        for item in report["items"]:
            by_reason.setdefault(item["reason"], []).append(item)
        self.say(f"共 {report['count']} 笔 {yuan(report['amount_fen'])} 元：")
        for reason, items in sorted(by_reason.items()):
            first = items[0]
            self.say(
                f"{reason_label(reason)} {len(items)} 笔 "
                f"{yuan(sum(i['amount_fen'] for i in items))} 元，如 "
                f"{first['name']}（{first['id_number']}）{yuan(first['amount_fen'])} 元："
                f"{first['message']}"
            )

    def four_match(self) -> None:
        self.write("\n== 人、钱、票、册四相符（各村）")
        report, _ = self.call("receipts", "report", "--campaign", self.campaign_id)
        villages = report["villages"]
        self.say(
            f"{len(villages)} 个村（社区）：相符 {report['matching']} 个，"
            f"不相符 {report['mismatching']} 个"
        )
        shown = 0
        cash = [village for village in villages if village["cash_payments"]]
        for village in cash[:3]:
            self.say(
                f"{village['village_name']}：现金 {village['cash_payments']} 笔 "
                f"{yuan(village['cash_fen'])} 元，使用收据 {village['receipts_used']} 张"
            )
        if len(cash) > 3:
            self.say(f"……另有 {len(cash) - 3} 个村（社区）收了现金")
        for village in villages:
            for line in village["mismatches"]:
                if shown < 6:
                    self.say(f"{village['village_name']}：{line}")
                shown += 1
        if shown > 6:
            self.say(f"……另有 {shown - 6} 项不相符")

    def bills(self, season: Season) -> None:
        self.write("\n== 部门资助账单")
        for proxy in season.proxy:
            report, _ = self.call("bills", "--funder", proxy.funder, "--campaign", self.campaign_id)
            self.say(FUNDER_NAMES[proxy.funder])
            for township in report["townships"]:
                self.say(
                    f"  {township['township_name']}：{township['persons']} 人（已参保 "
                    f"{township['enrolled']} 人），应资助 {yuan(township['fen'])} 元，已代缴 "
                    f"{yuan(township['received_fen'])} 元，未缴 {yuan(township['balance_fen'])} 元"
                )
            self.say(
                f"  合计：{report['persons']} 人（已参保 {report['enrolled']} 人），应资助 "
                f"{yuan(report['total_fen'])} 元，已代缴 {yuan(report['received_fen'])} 元，"
                f"未缴 {yuan(report['balance_fen'])} 元"
            )

    def progress(self, campaign: Campaign) -> None:
        self.write("\n== 参保进度")
        eligible = Assessment.objects.filter(campaign=campaign, eligible=True).count()
        for row in enrollment_counts(campaign=campaign, level="township"):
            self.say(f"{row['name']}（{row['code']}）：已参保 {row['enrolled']} 人")
        summary = money_summary(campaign=campaign)
        rate = f"{summary['enrolled'] * 100 / eligible:.1f}%" if eligible else "—"
        self.say(
            f"全县已参保 {summary['enrolled']} 人，占可参保 {eligible} 人的 {rate}；"
            f"入账合计 {yuan(summary['net_fen'])} 元，挂账 {summary['suspense']} 笔 "
            f"{yuan(summary['suspense_fen'])} 元"
        )

    def ledger(self) -> None:
        self.write("\n== 账目核对（收到 = 参保入账 + 挂账 + 冲正，逐人并合计）")
        report, _ = self.call("check", "ledger", "--campaign", self.campaign_id)
        (check,) = report["campaigns"]
        verdict = "平衡" if check["balanced"] else f"不平衡（{len(check['unbalanced'])} 人）"
        self.say(
            f"账目{verdict}：收到 {yuan(check['received_fen'])} 元 = 参保入账 "
            f"{yuan(check['enrolled_fen'])} 元 + 挂账 {yuan(check['held_fen'])} 元 + 冲正 "
            f"{yuan(check['reversed_fen'])} 元"
        )

    def documents(self, campaign: Campaign) -> None:
        """The bulletin as of the season's last payment day, and the follow-up list and payment
        notices of the village with the fewest households, each as PDF and xlsx (written anew
        on every run). The season is over: the notices go to the households that still owe."""
        self.write("\n== 印发的文书：进度通报、催缴名单、缴费通知单（PDF 与 xlsx）")
        last = Payment.objects.filter(campaign=campaign).aggregate(day=Max("paid_on"))["day"]
        smallest = (
            Household.objects.filter(village__code__startswith=campaign.area.code)
            .values("village__code", "village__name")
            .annotate(households=Count("pk"))
            .order_by("households", "village__code")
            .first()
        )
        if last is None or smallest is None:
            self.say("本次工作还没有缴费，不印发文书。")
            return
        folder = self.out_dir.parent / "documents"
        folder.mkdir(parents=True, exist_ok=True)
        village, village_name = smallest["village__code"], smallest["village__name"]
        written: list[Path] = []

        def document(name: str, *argv: str) -> dict[str, Any]:
            pdf, xlsx = folder / f"{name}.pdf", folder / f"{name}.xlsx"
            report, status = self.call(
                "report",
                *argv,
                *("--pdf", str(pdf), "--xlsx", str(xlsx), "--force"),
                *("--campaign", self.campaign_id),
            )
            if status:
                self.refused(report)
                return {}
            written.extend((pdf, xlsx))
            return report

        bulletin = document("参保缴费进度通报", "bulletin", "--as-of", last.isoformat())
        if bulletin:
            total = bulletin["total"]
            rate = total["rate_of_base"]
            self.say(
                f"进度通报第{bulletin['number']}期（截至{date_text(last)}）：{total['name']}已参保 "
                f"{count_text(total['enrolled'])} 人，参保率 "
                f"{rate_text(Decimal(rate) if rate else None)}；特殊群体未达标 "
                f"{len(bulletin['special_groups'])} 项，参保率低于 "
                f"{rate_text(Decimal(bulletin['line_percent']))} 的单位 "
                f"{len(bulletin['units_below_line'])} 个"
            )
        listed = document(f"催缴名单-{village_name}", "followup", "--village", village)
        if listed:
            self.say(
                f"催缴名单（{village_name}）：未参保 {listed['households_count']} 户 "
                f"{listed['residents']} 人，其中特殊群体 {listed['special']} 人、银行代扣失败 "
                f"{listed['withholding_failures']} 人、有挂账 {listed['held']} 人；尚需本人缴纳 "
                f"{yuan_text(listed['owing_fen'])} 元"
            )
        notices = document(
            f"缴费通知单-{village_name}", "notices", "--village", village, "--unpaid"
        )
        if notices:
            self.say(
                f"缴费通知单（{village_name}）：尚未缴清的 {notices['households']} 户各一张，"
                "每页两张，"
                f"缴费截止 {date_text(date.fromisoformat(notices['deadline']))}"
            )
        if written:
            self.say(f"文书已写入 {folder}：")
            for path in written:
                self.say(f"  {path.name}")
