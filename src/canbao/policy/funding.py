"""Work funding (工作经费) and accountability (问责) of a township or village, from its figures."""

from dataclasses import dataclass
from decimal import Decimal

from canbao.policy.schema import Policy


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


@dataclass(frozen=True)
class FundingLine:
    payee: str  # "unit" or "bureau"
    name: str
    count: int
    fen_each: int

    @property
    def fen(self) -> int:
        return self.count * self.fen_each


@dataclass(frozen=True)
class FundingResult:
    unit: str
    lines: tuple[FundingLine, ...]
    accountable: bool
    reasons: tuple[str, ...]

    def total_fen(self, payee: str) -> int:
        return sum(line.fen for line in self.lines if line.payee == payee)


def work_funding(policy: Policy, unit: UnitProgress) -> FundingResult:
    lines: list[FundingLine] = []
    rules = policy.work_funding
    if rules is not None:
        for tier in rules.tiers:
            if not unit.rate_at_least(tier.min_rate_percent):
                continue
            if tier.requires_task_met and not unit.task_met:
                continue
            if tier.requires_special_groups_complete and not unit.special_groups_complete:
                continue
            lines.append(FundingLine("unit", tier.name, unit.enrolled, tier.per_person_fen))
            if tier.reward_per_person_fen:
                lines.append(
                    FundingLine(
                        "unit", f"{tier.name}：奖励", unit.enrolled, tier.reward_per_person_fen
                    )
                )
            break
        for per_record in rules.per_record:
            count = unit.enrolled if per_record.basis == "enrolled" else unit.paid_records
            lines.append(FundingLine(per_record.payee, per_record.name, count, per_record.fen))

    reasons: list[str] = []
    accountability = policy.accountability
    if accountability is not None:
        limit = accountability.below_rate_percent
        if limit is not None and not unit.rate_at_least(limit):
            reasons.append(f"参保率 {unit.enrolled}/{unit.base} 低于 {limit}%")
        if accountability.special_groups_incomplete and not unit.special_groups_complete:
            reasons.append("特殊群体参保率未达100%")
    return FundingResult(unit.name, tuple(lines), bool(reasons), tuple(reasons))
