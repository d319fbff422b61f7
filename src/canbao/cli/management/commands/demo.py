from datetime import date, timedelta
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from canbao.policy.codes import CATEGORY_NAMES
from canbao.policy.loader import load_preset, preset_ids
from canbao.policy.money import yuan
from canbao.policy.quote import Event, Facts, quote
from canbao.policy.schema import Policy


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
    help = "演示：准备数据库，并按每个内置政策为几位样例居民核定缴费与待遇。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--preset", choices=preset_ids(), help="只演示一个政策")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("init", stdout=self.stdout)
        for preset in [options["preset"]] if options["preset"] else preset_ids():
            policy = load_preset(preset)
            self.stdout.write(f"\n== {policy.title}（{preset}）")
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
