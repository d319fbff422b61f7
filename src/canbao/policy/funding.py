"""Work funding (工作经费) and accountability (问责) of a township or village, from its figures.

Every amount says why: the line names the rule (the tier or the per-record payment) and ``why``
the figures that made it apply; ``notes`` says why a higher tier did not.
"""

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from canbao.policy.money import yuan
from canbao.policy.schema import FundingTier, Policy


@dataclass(frozen=True)
class UnitProgress:
    name: str
    base: int  # the population the coverage rate is measured against
    enrolled: int
    paid_records: int  # records the tax system shows as paid
    task_met: bool = False  # the task was finished on time
    special_groups_complete: bool = False  # every special group at its required rate

    def rate_at_least(self, percent: Decimal) -> bool:
        return Decimal(self.enrolled) * 100 >= percent * self.base

    def rate_text(self) -> str:
        """The rate as people read it, never rounded up to a threshold: 4769/5021 is 94.98%."""
        if not self.base:
            return f"参保 {self.enrolled} 人（人口基数为 0）"
        rate = (Decimal(self.enrolled) * 100 / self.base).quantize(Decimal("0.01"), ROUND_DOWN)
        return f"参保率 {rate}%（{self.enrolled}/{self.base}）"


@dataclass(frozen=True)
class FundingLine:
    payee: str  # "unit" or "bureau"
    name: str
    count: int
    fen_each: int
    why: str = ""  # the figures that made the rule apply

    @property
    def fen(self) -> int:
        return self.count * self.fen_each

    def explain(self) -> str:
        """name：count 人 × fen_each 元 = fen 元（why）."""
        why = f"（{self.why}）" if self.why else ""
        return f"{self.name}：{self.count} 人 × {yuan(self.fen_each)} 元 = {yuan(self.fen)} 元{why}"


@dataclass(frozen=True)
class FundingResult:
    unit: str
    lines: tuple[FundingLine, ...]
    accountable: bool
    reasons: tuple[str, ...]
    notes: tuple[str, ...] = ()  # why a higher tier did not apply

    def total_fen(self, payee: str) -> int:
        return sum(line.fen for line in self.lines if line.payee == payee)


def work_funding(policy: Policy, unit: UnitProgress) -> FundingResult:
    lines: list[FundingLine] = []
    notes: list[str] = []
    rules = policy.work_funding
    if rules is not None:
        for tier in rules.tiers:
            missing = _unmet(tier, unit)
            if missing:
                notes.append(f"不适用“{tier.name}”：{'；'.join(missing)}")
                continue
            why = "；".join(_met(tier, unit))
            lines.append(FundingLine("unit", tier.name, unit.enrolled, tier.per_person_fen, why))
            if tier.reward_per_person_fen:
                lines.append(
                    FundingLine(
                        "unit",
                        f"{tier.name}：奖励",
                        unit.enrolled,
                        tier.reward_per_person_fen,
                        why,
                    )
                )
            break
        for per_record in rules.per_record:
            if per_record.basis == "enrolled":
                count, why = unit.enrolled, f"实际参保 {unit.enrolled} 人"
            else:
                count, why = unit.paid_records, f"税务系统缴费成功 {unit.paid_records} 人"
            lines.append(FundingLine(per_record.payee, per_record.name, count, per_record.fen, why))

    reasons: list[str] = []
    accountability = policy.accountability
    if accountability is not None:
        limit = accountability.below_rate_percent
        if limit is not None and not unit.rate_at_least(limit):
            reasons.append(f"参保率 {unit.enrolled}/{unit.base} 低于 {limit}%")
        if accountability.special_groups_incomplete and not unit.special_groups_complete:
            reasons.append("特殊群体参保率未达100%")
    return FundingResult(unit.name, tuple(lines), bool(reasons), tuple(reasons), tuple(notes))


def _unmet(tier: FundingTier, unit: UnitProgress) -> list[str]:
    missing = []
    if not unit.rate_at_least(tier.min_rate_percent):
        missing.append(f"{unit.rate_text()}低于 {tier.min_rate_percent}%")
    if tier.requires_task_met and not unit.task_met:
        missing.append("未按时完成任务")
    if tier.requires_special_groups_complete and not unit.special_groups_complete:
        missing.append("特殊群体参保率未达100%")
    return missing


def _met(tier: FundingTier, unit: UnitProgress) -> list[str]:
    met = [unit.rate_text()]
    if tier.min_rate_percent:
        met[0] += f"，不低于 {tier.min_rate_percent}%"
    if tier.requires_task_met:
        met.append("按时完成任务")
    if tier.requires_special_groups_complete:
        met.append("特殊群体参保率均达100%")
    return met
