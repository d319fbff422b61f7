import contextlib
import io
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count
from platformdirs import user_data_path

from canbao.campaigns.models import Assessment, Campaign
from canbao.collection.models import (
    ReceiptBook,
    ReconciliationDay,
    Suspense,
    WithholdingBatch,
    WithholdingLine,
)
from canbao.collection.selectors import enrollment_counts, money_summary
from canbao.demo.season import Season, write_season, write_withholding_return
from canbao.demo.synthetic import generate_county
from canbao.policy.codes import CATEGORY_NAMES, FUNDER_NAMES
from canbao.policy.loader import load_preset, preset_ids
from canbao.policy.money import yuan
from canbao.policy.quote import Event, Facts, quote
from canbao.policy.schema import Policy
from canbao.registry.selectors import category_counts, residents_by_township

REGISTRY_AS_OF = date(2019, 10, 31)


def sample_residents(policy: Policy) -> list[tuple[str, Facts, date]]:
    """A handful of residents that show each kind of rule the policy has."""
    concentrated = next(rule for rule in policy.enrollment if rule.concentrated)
    assert concentrated.paid_until is not None
    in_period = concentrated.paid_until - timedelta(days=10)
    samples = [("普通居民，集中期缴费", Facts(), in_period)]
    subsidised = [c for c in policy.identity.categories if c.subsidy is not None]
    for category in subsidised[:3]:
        samples.append(
            (CATEGORY_NAMES[category.code], Facts(categories=[category.code]), in_period)
        )
    if len(subsidised) >= 2:
        both = [subsidised[1].code, subsidised[0].code]
        names = "+".join(CATEGORY_NAMES[c] for c in both)
        samples.append((names, Facts(categories=both), in_period))
    if any("newborn" in rule.events for rule in policy.enrollment):
        born = date(policy.coverage_year, 3, 1)
        samples.append(
            (
                "3月1日出生的新生儿，3月20日落户缴费",
                Facts(birth_date=born, event=Event(kind="newborn", date=born + timedelta(19))),
                born + timedelta(days=19),
            )
        )
    samples.append(("已参加职工医保", Facts(employee_insured=True), in_period))
    samples.append(("年度中逾期缴费", Facts(), date(policy.coverage_year, 9, 1)))
    return samples


def money(fen: int | None) -> str:
    return "待定" if fen is None else yuan(fen)


class Command(BaseCommand):
    help = (
        "演示：生成一个模拟县（乡镇、村、户、居民、部门名册及常见错误），经正式导入流程入库，"
        "显示登记情况，再按内置政策为样例居民核定缴费与待遇。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--residents", type=int, default=50_000, help="模拟县的居民人数")
        parser.add_argument(
            "--seed", type=int, default=2026, help="随机种子（同一种子生成同样的县）"
        )
        parser.add_argument("--preset", choices=preset_ids(), help="只演示一个政策的核定")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("init", stdout=self.stdout)
        out_dir = (
            user_data_path("canbao") / "demo" / f"county-{options['seed']}-{options['residents']}"
        )
        self._registry(out_dir, options["residents"], options["seed"])
        for preset in [options["preset"]] if options["preset"] else preset_ids():
            self._quotes(load_preset(preset))
        SeasonDemo(self.stdout.write, out_dir / "season", options["seed"]).run()

    def _registry(self, out_dir: Path, residents: int, seed: int) -> None:
        # The registry as the bureau holds it before the 2020 campaign the season runs.
        county = generate_county(
            residents=residents, seed=seed, out_dir=out_dir, as_of=REGISTRY_AS_OF
        )
        self.stdout.write("\n== 生成模拟县")
        for line in county.summary():
            self.stdout.write(line)

        self.stdout.write(
            "\n== 导入（与 canbao import 相同的流程；文件未变时再次导入不会重复写入）"
        )
        commands = county.import_commands(corrected_dir=out_dir / "corrected")
        for argv in commands[:2]:
            self._import(argv)
        faulty = county.import_commands()[2]
        self.stdout.write(f"部门送来的名册有常见错误：{faulty[2]}")
        report = io.StringIO()
        with contextlib.suppress(SystemExit):  # refused for its errors: nothing is written
            call_command(*faulty, stdout=report)
        for line in report.getvalue().splitlines()[:8]:
            self.stdout.write(f"    {line}")
        self.stdout.write("改正后重新导入各部门名册：")
        for argv in commands[2:]:
            self._import(argv)

        self.stdout.write("\n== 登记情况")
        for row in residents_by_township():
            township = f"{row['township']}（{row['code']}）"
            self.stdout.write(f"  {township}：{row['households']} 户，{row['residents']} 人")
        counts = category_counts()
        self.stdout.write(
            "  特殊人员：" + "，".join(f"{CATEGORY_NAMES[c]} {n} 人" for c, n in counts.items())
        )

    def _import(self, argv: list[str]) -> None:
        report = io.StringIO()
        call_command(*argv, stdout=report)
        name = argv[2].rsplit("/", 1)[-1]
        self.stdout.write(f"  {argv[1]} {name}：{report.getvalue().splitlines()[0]}")

    def _quotes(self, policy: Policy) -> None:
        self.stdout.write(f"\n== {policy.title}（{policy.id}）")
        self.stdout.write(
            "样例居民 | 缴费日 | 身份属性 | 个人缴费 | 资助 | 应缴 | 待遇起始 / 不能参保的原因"
        )
        for name, facts, paid_on in sample_residents(policy):
            q = quote(policy, facts, paid_on)
            if q.refusal:
                self.stdout.write(
                    f"{name} | {paid_on.isoformat()} | {q.attribute} | — | — | — | "
                    f"{q.refusal.message}"
                )
                continue
            outcome = q.coverage_start.isoformat() if q.coverage_start else "本年度无待遇"
            self.stdout.write(
                f"{name} | {paid_on.isoformat()} | {q.attribute} | {money(q.personal_fen)} | "
                f"{money(q.subsidy_fen)} | {money(q.payable_fen)} | {outcome}"
            )


# --- the collection season ------------------------------------------------------------------

SEASON_AREA = "430922"
SEASON_POLICY = "daligang-2020"
WITHHOLDING_DAY = date(2019, 12, 16)
RETRY_DAY = date(2019, 12, 23)


def reason_label(reason: str) -> str:
    return f"{Suspense.Reason(reason).label}（{reason}）"


def held(suspended: dict[str, int]) -> str:
    return "，".join(f"{reason_label(r)} {n} 笔" for r, n in sorted(suspended.items()))


def result_label(result: str) -> str:
    return str(WithholdingLine.Result(result).label)


class SeasonDemo:
    """A collection season on the demo county: each step runs the command a user would run
    (through ``call_command`` with ``--json``) and is summarised in Chinese. Running it again on
    the same database changes nothing and says so."""

    def __init__(self, write: Any, out_dir: Path, seed: int) -> None:
        self.write = write
        self.out_dir = out_dir
        self.seed = seed
        self.campaign_id = ""

    # -- plumbing

    def call(self, *argv: str) -> tuple[dict[str, Any], int]:
        """Run a command as the user would (its JSON form), echo its command line; return its
        JSON object and exit status (0 done, 1 refused)."""
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
            self.say(f"未执行：{error['message']}（{error['code']}）")
        elif error:
            self.say(f"未执行：{error}")
        else:
            self.say(report.get("message") or "未执行")
            self.errors(report)

    def errors(self, report: dict[str, Any]) -> None:
        for error in report.get("errors", [])[:5]:
            where = f"第{error['row']}行" if error.get("row") else ""
            self.say(f"{where}{error['message']}（{error['code']}）")

    # -- the steps

    def run(self) -> None:
        self.write("\n== 参保缴费：桃江县2020年度（按大栗港镇政策 daligang-2020）")
        campaign = self.open_campaign()
        self.campaign_id = str(campaign.pk)
        self.assess()
        try:
            season = write_season(campaign=campaign, out_dir=self.out_dir, seed=self.seed)
        except ValueError:
            self.say("模拟县人数太少，不足以演示缴费季（请用 --residents 指定更多居民）。")
            return
        self.files(season)
        self.tax(season)
        self.proxy(season)
        self.cash(season)
        self.withholding(campaign)
        self.reconcile(season)
        self.suspense()
        self.four_match()
        self.bill()
        self.progress(campaign)

    def open_campaign(self) -> Campaign:
        report, status = self.call(
            "campaign", "open", "--area", SEASON_AREA, "--policy", SEASON_POLICY
        )
        year = load_preset(SEASON_POLICY).coverage_year
        campaign = Campaign.objects.get(area__code=SEASON_AREA, coverage_year=year)
        if status:  # a second run: the campaign is open already
            self.say(f"未执行：{report['error']}；沿用已开始的工作（编号 {campaign.pk}）。")
        else:
            self.say(f"已开始：{campaign}，编号 {campaign.pk}")
        return campaign

    def assess(self) -> None:
        report, _ = self.call("campaign", "assess", "--campaign", self.campaign_id)
        self.say(
            f"核定 {report['residents']} 人：新增 {report['created']}、更新 {report['updated']}、"
            f"未变 {report['unchanged']}、已缴费冻结 {report['frozen']}；"
            f"不能参保 {report['ineligible']} 人"
        )
        by_amount = (
            Assessment.objects.filter(campaign_id=int(self.campaign_id), eligible=True)
            .values_list("payable_fen")
            .annotate(n=Count("pk"))
            .order_by("-payable_fen")
        )
        self.say(
            "可参保居民应缴："
            + "，".join(
                f"{money(fen)} 元 {n} 人" + ("（全额资助）" if fen == 0 else "")
                for fen, n in by_amount
            )
        )

    def files(self, season: Season) -> None:
        self.write(f"\n== 缴费季送到医保局的文件（模拟生成，在 {season.out_dir}）")
        tax_lines = sum(day.lines for day in season.tax_days)
        tax_fen = sum(day.fen for day in season.tax_days)
        self.say(
            f"税务每日缴费明细 {len(season.tax_days)} 天，共 {tax_lines} 笔 {yuan(tax_fen)} 元；"
            f"银行入账汇总每日一份"
        )
        for proxy in season.proxy:
            self.say(
                f"{FUNDER_NAMES[proxy.funder]}代缴明细 {proxy.lines} 笔 {yuan(proxy.fen)} 元"
                + (f"（另有 {proxy.skipped} 人尚未代缴）" if proxy.skipped else "")
            )
        cash = season.cash
        self.say(
            f"{cash.village_name}收款人{cash.collector}现金收款登记 {cash.lines} 笔 "
            f"{yuan(cash.fen)} 元（收据 No.{cash.first:07d} 起）"
        )
        self.say(f"委托代扣三方协议 {season.agreement_count} 份（未缴费户中的一部分）")
        self.say("其中有常见的问题：")
        for fault in season.faults:
            self.say(f"  - {fault.detail}")
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
        self.write("\n== 税务每日明细（手机银行、微信、支付宝、POS、银行柜台缴费）")
        for day in season.tax_days:
            self.payments("import", "payments", "--channel", "tax", str(day.path))
            if day.day == season.repeated_of:
                self.say("税务局把同一天的明细又送来一次：")
                self.payments("import", "payments", "--channel", "tax", str(season.repeated))

    def proxy(self, season: Season) -> None:
        self.write("\n== 部门代缴（全额资助的人员，以及已缴个人部分的部分资助人员）")
        for proxy in season.proxy:
            self.say(FUNDER_NAMES[proxy.funder])
            self.payments(
                "import",
                "payments",
                "--channel",
                "proxy",
                "--funder",
                proxy.funder,
                str(proxy.path),
            )

    def cash(self, season: Season) -> None:
        cash = season.cash
        self.write("\n== 现金收款（凭收款收据）")
        report, status = self.call(
            "receipts",
            "issue",
            "--collector",
            cash.collector,
            "--village",
            cash.village_code,
            "--from",
            str(cash.first),
            "--to",
            str(cash.last),
            "--campaign",
            self.campaign_id,
        )
        if status:
            self.refused(report)
            issued = ReceiptBook.objects.filter(
                campaign_id=int(self.campaign_id),
                first_number=cash.first,
                last_number=cash.last,
            ).exists()
            if issued:
                self.say("收据本已于前次发放，沿用。")
        else:
            self.say(
                f"已向{cash.village_name}{cash.collector}发放收据本 "
                f"No.{cash.first:07d}–No.{cash.last:07d}"
            )
        self.payments("import", "payments", "--channel", "cash", str(cash.path))

    def withholding(self, campaign: Campaign) -> None:
        self.write("\n== 银行委托代扣（未缴费户签三方协议，医保局发代扣文件，银行回盘）")
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
        self.round(campaign, retry=False)
        follow, _ = self.call("withholding", "followup", "--campaign", self.campaign_id)
        self.followup(follow)
        self.round(campaign, retry=True)
        follow, _ = self.call("withholding", "followup", "--campaign", self.campaign_id)
        self.followup(follow)

    def round(self, campaign: Campaign, *, retry: bool) -> None:
        """A deduction batch (first round or retry), the bank's return for it, and its import.
        On a second run there is nothing to send: the return already imported is unchanged."""
        batches = WithholdingBatch.objects.filter(campaign=campaign)
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
                paid_on=RETRY_DAY if retry else WITHHOLDING_DAY,
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

    def reconcile(self, season: Season) -> None:
        self.write("\n== 每日对账（税务明细、银行入账、本系统入账）")
        for day in season.tax_days:
            record = ReconciliationDay.objects.filter(
                campaign_id=int(self.campaign_id), day=day.day
            ).first()
            iso = day.day.isoformat()
            if record is None or record.status != ReconciliationDay.Status.CLOSED:
                report, status = self.call(
                    "reconcile",
                    "--date",
                    iso,
                    "--tax-file",
                    str(day.path),
                    "--bank-file",
                    str(day.bank_file),
                    "--campaign",
                    self.campaign_id,
                )
                if status:
                    self.refused(report)
                    continue
                self.say(report["message"])
                for diff in report["differences"]:
                    self.say(f"差异{diff['id']}（{diff['label']}）：{diff['detail']}")
                    short = season.bank_short
                    if diff["explanation"] or (short.day, short.bank) != (day.day, diff["key"]):
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
        for village in villages:
            if village["cash_payments"]:
                self.say(
                    f"{village['village_name']}：现金 {village['cash_payments']} 笔 "
                    f"{yuan(village['cash_fen'])} 元，使用收据 {village['receipts_used']} 张"
                )
            for line in village["mismatches"]:
                if shown < 6:
                    self.say(f"{village['village_name']}：{line}")
                shown += 1
        if shown > 6:
            self.say(f"……另有 {shown - 6} 项不相符")

    def bill(self) -> None:
        self.write("\n== 医疗救助资金资助账单")
        report, _ = self.call(
            "bills", "--funder", "medical_assistance", "--campaign", self.campaign_id
        )
        for township in report["townships"]:
            self.say(
                f"{township['township_name']}：{township['persons']} 人（已参保 "
                f"{township['enrolled']} 人），应资助 {yuan(township['fen'])} 元，已代缴 "
                f"{yuan(township['received_fen'])} 元，未缴 {yuan(township['balance_fen'])} 元"
            )
        self.say(
            f"合计：{report['persons']} 人（已参保 {report['enrolled']} 人），应资助 "
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
