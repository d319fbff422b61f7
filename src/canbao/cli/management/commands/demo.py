import contextlib
import io
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError, CommandParser

from canbao.cli import USAGE_ERROR
from canbao.cli.management.commands.serve import (
    DEFAULT_THREADS,
    add_bind,
    check_free,
    parse_bind,
    serve,
)
from canbao.cli.output import CanbaoCommand
from canbao.demo.accounts import CLERK, demo_logins, ensure_demo_accounts
from canbao.demo.plans import PRESET_SEASONS, PresetSeason
from canbao.demo.policies import demo_policy
from canbao.demo.runner import SeasonDemo, money
from canbao.demo.synthetic import SyntheticCounty, generate_county
from canbao.errors import InputError
from canbao.policy.codes import CATEGORY_NAMES
from canbao.policy.loader import load_preset, preset_ids
from canbao.policy.quote import Event, Facts, quote
from canbao.policy.schema import Policy
from canbao.registry.batches import file_sha256
from canbao.registry.models import ImportBatch
from canbao.registry.selectors import category_counts, residents_by_township

# The season `canbao demo` runs without --preset.
DEFAULT_PRESET = "daligang-2020"
# Lines of a refused import's report shown in the demo.
REPORT_LINES = 30


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


class Command(CanbaoCommand):
    help = (
        "演示：生成政策所在的模拟县（乡镇、村、户、居民、部门名册及常见错误），经正式导入流程"
        "入库，为样例居民核定缴费与待遇，再按通知的缴费方式和日期走完整个缴费季。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--residents", type=int, default=50_000, metavar="人数", help="模拟县的居民人数"
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=2026,
            metavar="种子",
            help="随机种子（同一种子生成同样的县）",
        )
        parser.add_argument(
            "--preset",
            choices=preset_ids(),
            metavar="政策",
            help=(
                f"按这个政策在它的县演示整个缴费季（默认 {DEFAULT_PRESET}，"
                "并列出各内置政策的核定样例）"
            ),
        )
        parser.add_argument(
            "--no-serve",
            action="store_true",
            help="走完缴费季后不启动网页服务（默认启动，列出演示账号，按 Ctrl-C 停止）",
        )
        add_bind(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_serve"]:  # a port in use is said now, not after the whole season
            check_free(*parse_bind(options["bind"]))
        call_command("init", stdout=self.stdout)
        preset = options["preset"] or DEFAULT_PRESET
        season = PRESET_SEASONS[preset]
        policy = demo_policy(preset)
        out_dir = settings.DATA_DIR / "demo" / f"{preset}-{options['seed']}-{options['residents']}"
        try:
            ensure_demo_accounts(season.county.code)
        except InputError as error:  # a database with accounts but no county administrator
            raise CommandError(
                f"不能建立演示账号：{error.message}", returncode=USAGE_ERROR
            ) from None
        self._registry(out_dir, options["residents"], options["seed"], season, policy.policy)
        if options["preset"]:
            self._quotes(policy.policy)
        else:
            for preset_id in preset_ids():
                self._quotes(load_preset(preset_id))
        SeasonDemo(self.stdout.write, out_dir / "season", options["seed"], season, policy).run()
        if not options["no_serve"]:
            self._serve(options["bind"])

    def _serve(self, bind: str) -> None:
        """The pages of the demo county, until Ctrl-C, and the accounts to log in with."""
        self.stdout.write("\n== 网页")
        self.stdout.write("用浏览器打开下面的地址，以其中一个演示账号登录（密码仅供演示）：")
        self.stdout.write("角色 | 账号 | 密码 | 能看到什么")
        for login in demo_logins():
            self.stdout.write(f"{login.role} | {login.username} | {login.password} | {login.sees}")

        def say(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        serve(say, bind=bind, workers=None, threads=DEFAULT_THREADS)

    def _registry(
        self, out_dir: Path, residents: int, seed: int, season: PresetSeason, policy: Policy
    ) -> None:
        # The registry as the bureau holds it before the campaign the season runs.
        county = generate_county(
            residents=residents,
            seed=seed,
            county=season.county,
            out_dir=out_dir,
            as_of=season.registry_as_of,
            rosters=season.rosters(policy),
            poor_category=season.poor_category,
        )
        self.stdout.write("\n== 生成模拟县")
        for line in county.summary():
            self.stdout.write(line)

        self.stdout.write(
            "\n== 导入（与 canbao import 相同的流程；文件未变时再次导入不会重复写入）"
        )
        self.stdout.write(
            f"以演示账号 {CLERK}（县医保局经办人员）操作：每个命令加 --as {CLERK}，"
            "或设环境变量 CANBAO_AS。"
        )
        commands = county.import_commands(corrected_dir=out_dir / "corrected")
        for argv in commands[:2]:
            self._import(argv)
        ensure_demo_accounts(season.county.code)  # the township's and the village's
        self._faulty_roster(county, county.import_commands()[2])
        self.stdout.write(
            "改正后重新导入各部门名册（改正姓名和号码、删去重复的行；查无此人的由部门担保，保留）："
        )
        for argv in commands[2:]:
            self._import(argv)

        self.stdout.write("\n== 登记情况")
        for row in residents_by_township(within=season.county.code):
            township = f"{row['township']}（{row['code']}）"
            self.stdout.write(f"  {township}：{row['households']} 户，{row['residents']} 人")
        counts = category_counts(within=season.county.code)
        self.stdout.write(
            "  特殊人员：" + "，".join(f"{CATEGORY_NAMES[c]} {n} 人" for c, n in counts.items())
        )

    def _faulty_roster(self, county: SyntheticCounty, argv: list[str]) -> None:
        """The first roster as its department sent it, with the errors the demo put in: refused,
        nothing written. Refused before (a second run): checked again with --dry-run, so that
        the run records nothing new."""
        path = Path(argv[2])
        category = argv[argv.index("--category") + 1]
        faults = Counter(fault.kind for fault in county.faults if fault.category == category)
        total = sum(faults.values())
        self.stdout.write(f"部门送来的名册有常见错误：{path}（埋入 {total} 处）")
        refused = ImportBatch.objects.filter(
            kind=ImportBatch.Kind.ROSTER,
            status=ImportBatch.Status.REFUSED,
            category=category,
            file_sha256=file_sha256(path),
        )
        if refused.exists():
            argv = [*argv, "--dry-run"]
            self.stdout.write("  该名册前次已被拒收，本次只检查、不再记录：")
        report = io.StringIO()
        with contextlib.suppress(SystemExit):  # refused for its errors: nothing is written
            call_command(*argv, "--as", CLERK, stdout=report)
        lines = report.getvalue().splitlines()
        for line in lines[:REPORT_LINES]:
            self.stdout.write(f"    {line}")
        if len(lines) > REPORT_LINES:
            self.stdout.write(f"    …… 另有 {len(lines) - REPORT_LINES} 行")
        accepted = faults["lowercase_x"] + faults["not_in_registry"]
        self.stdout.write(
            f"  埋入的 {total} 处中：{faults['lowercase_x']} 处小写 x 导入时改为大写 X，"
            f"{faults['not_in_registry']} 人不在登记库中、列入待核实名单，都不拒收；"
            f"其余 {total - accepted} 处使整批被拒收"
        )

    def _import(self, argv: list[str]) -> None:
        report = io.StringIO()
        call_command(*argv, "--as", CLERK, stdout=report)
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
