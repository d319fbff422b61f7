"""What a person owes and since when they are covered, if they pay on a given day."""

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Self

from pydantic import Field, model_validator

from canbao.policy.codes import (
    DOCUMENT_NAMES,
    EVENT_NAMES,
    CategoryCode,
    DocumentKind,
    EventKind,
)
from canbao.policy.dates import add_months, first_of_next_month
from canbao.policy.identity import Share, resolve
from canbao.policy.money import yuan
from canbao.policy.schema import EnrollmentRule, Policy, Strict


class Event(Strict):
    kind: EventKind
    date: date


class Facts(Strict):
    """What is known of a person. Absent facts take these defaults."""

    birth_date: date | None = None
    categories: list[CategoryCode] = Field(default_factory=list)
    employee_insured: bool = False
    insured_elsewhere: bool = False
    # None: as the policy enrolls (by household where its unit is the household).
    by_household: bool | None = None
    parents_enrolled: bool = False
    hukou_local: bool = True
    document: DocumentKind = "id_card"
    # The status change (newborn: the hukou registration date) that opens a window of its own.
    event: Event | None = None
    years_lapsed: Annotated[int, Field(ge=0)] = 0
    years_repaid: Annotated[int, Field(ge=0)] = 0

    @model_validator(mode="after")
    def _newborns_have_a_birth_date(self) -> Self:
        if self.event and self.event.kind == "newborn" and self.birth_date is None:
            raise ValueError("event.kind 为 newborn 时须提供 birth_date")
        return self


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


@dataclass(frozen=True)
class Quote:
    refusal: Refusal | None
    categories: tuple[str, ...]
    attribute: str
    personal_fen: int | None
    subsidies: tuple[Share, ...]
    subsidy_fen: int | None
    payable_fen: int | None
    coverage_start: date | None
    coverage_end: date | None
    pending: tuple[str, ...]
    explain: tuple[str, ...]
    rule: EnrollmentRule | None

    @property
    def eligible(self) -> bool:
        return self.refusal is None

    def as_json(self) -> dict[str, Any]:
        return {
            "eligible": self.eligible,
            "refusal": (
                None
                if self.refusal is None
                else {"code": self.refusal.code, "message": self.refusal.message}
            ),
            "categories": list(self.categories),
            "attribute": self.attribute,
            "personal_fen": self.personal_fen,
            "subsidies": [{"funder": s.funder, "fen": s.fen} for s in self.subsidies],
            "subsidy_fen": self.subsidy_fen,
            "payable_fen": self.payable_fen,
            "coverage_start": self.coverage_start.isoformat() if self.coverage_start else None,
            "coverage_end": self.coverage_end.isoformat() if self.coverage_end else None,
            "pending": list(self.pending),
            "explain": list(self.explain),
        }


@dataclass(frozen=True)
class _Option:
    rule: EnrollmentRule
    start: date
    note: str
    free: bool


def _anchors(policy: Policy, rule: EnrollmentRule, facts: Facts) -> list[tuple[date, str]]:
    """The days a rule's relative window may run from: the person's own status change if the
    rule names it, then, for a newborn rule, the hukou registration or the birth (as the rule
    anchors it) of a child the rule admits."""
    anchors = []
    event = facts.event
    if event is not None and event.kind != "newborn" and event.kind in rule.events:
        anchors.append((event.date, EVENT_NAMES[event.kind]))
    born = facts.birth_date
    if (
        "newborn" in rule.events
        and born is not None
        and (not rule.born_in_coverage_year or born.year == policy.coverage_year)
    ):
        if rule.anchor == "event" and event is not None and event.kind == "newborn":
            anchors.append((event.date, "落户"))
        else:
            anchors.append((born, "出生"))
    return anchors


def _within(rule: EnrollmentRule, day: date, paid_on: date) -> bool:
    if day > paid_on:
        return False
    if rule.within_days is not None and (paid_on - day).days > rule.within_days:
        return False
    return rule.within_months is None or paid_on <= add_months(day, rule.within_months)


def _option(
    policy: Policy, rule: EnrollmentRule, facts: Facts, counted: frozenset[str], paid_on: date
) -> _Option | None:
    if rule.paid_from and paid_on < rule.paid_from:
        return None
    if rule.paid_until and paid_on > rule.paid_until:
        return None
    by_household = (
        facts.by_household
        if facts.by_household is not None
        else policy.enrollment_unit == "household"
    )
    if rule.by_household is not None and rule.by_household != by_household:
        return None
    if rule.categories and not counted.intersection(rule.categories):
        return None
    note = rule.name
    if rule.events:
        anchors = _anchors(policy, rule, facts)
        anchor = next((a for a in anchors if _within(rule, a[0], paid_on)), None)
        if anchor is None:
            return None
        day, what = anchor
        limit = (
            f"{rule.within_days} 天内"
            if rule.within_days
            else f"{rule.within_months} 个月内"
            if rule.within_months
            else ""
        )
        note = f"{rule.name}（{what}于 {day.isoformat()}{'，' + limit + '缴费' if limit else ''}）"

    year_start = date(policy.coverage_year, 1, 1)
    if rule.coverage == "year_start":
        start = year_start
    elif rule.coverage == "birth":
        assert facts.birth_date is not None
        start = facts.birth_date
    elif rule.coverage == "payment_date":
        start = paid_on
    else:
        start = first_of_next_month(paid_on)
    start = max(start, year_start, facts.birth_date or year_start)
    if start > date(policy.coverage_year, 12, 31):
        return None
    # The schema keeps this to rules for children born in the coverage year.
    free = rule.free_when_parents_enrolled and facts.parents_enrolled
    return _Option(rule, start, note, free)


def _waiting_months(policy: Policy, rule: EnrollmentRule, facts: Facts) -> tuple[int, str]:
    waiting = policy.waiting_period
    if not waiting.enabled:
        return 0, ""
    exempt = set(waiting.exempt_events)
    if (facts.event and facts.event.kind in exempt) or exempt.intersection(rule.events):
        return 0, "待遇等待期：该类人员免设等待期"
    if rule.concentrated and facts.years_lapsed == 0:
        return 0, ""
    variable = max(
        0,
        facts.years_lapsed * waiting.months_per_lapsed_year
        - facts.years_repaid * waiting.months_off_per_repaid_year,
    )
    months = waiting.fixed_months + variable
    text = f"待遇等待期：固定 {waiting.fixed_months} 个月 + 变动 {variable} 个月"
    if facts.years_lapsed >= waiting.floor_after_lapsed_years and months < waiting.floor_months:
        months = waiting.floor_months
        text += f"，连续断保 {facts.years_lapsed} 年，不少于 {waiting.floor_months} 个月"
    return months, f"{text}（断保 {facts.years_lapsed} 年，补缴 {facts.years_repaid} 年）"


def quote(policy: Policy, facts: Facts, paid_on: date) -> Quote:
    personal = policy.contribution.personal_fen
    resolution = resolve(policy, list(facts.categories), facts.birth_date, personal)
    coverage_end = date(policy.coverage_year, 12, 31)

    def refused(code: str, message: str) -> Quote:
        return Quote(
            refusal=Refusal(code, message),
            categories=tuple(facts.categories),
            attribute=resolution.attribute,
            personal_fen=None,
            subsidies=(),
            subsidy_fen=None,
            payable_fen=None,
            coverage_start=None,
            coverage_end=None,
            pending=(),
            explain=(*resolution.explain, message),
            rule=None,
        )

    if facts.employee_insured:
        return refused("employee_insured", "已参加职工基本医疗保险，不能参加城乡居民医保")
    if facts.insured_elsewhere:
        return refused("insured_elsewhere", "已在其他统筹区参加基本医疗保险，不得重复参保")
    if not facts.hukou_local and facts.document not in policy.eligibility.non_hukou_documents:
        return refused(
            "not_eligible",
            f"非本地户籍，持{DOCUMENT_NAMES[facts.document]}不属参保范围："
            f"{policy.eligibility.description}",
        )

    options = [
        option
        for rule in policy.enrollment
        if (option := _option(policy, rule, facts, resolution.counted, paid_on)) is not None
    ]
    if not options:
        return refused(
            "window_closed", f"{paid_on.isoformat()} 不在可参保缴费的期间：{policy.closed_message}"
        )
    chosen = min(
        options,
        key=lambda o: (
            o.start,
            not o.free,
            o.rule.price == "full",
            policy.enrollment.index(o.rule),
        ),
    )
    rule = chosen.rule
    explain = [*resolution.explain, f"适用：{chosen.note}"]
    if rule.note:
        explain.append(rule.note)

    pending = list(resolution.pending)
    subsidies = resolution.shares
    subsidy_fen = resolution.subsidy_fen
    due: int | None = personal
    if chosen.free:
        due, subsidies, subsidy_fen, pending = 0, (), 0, []
        explain.append("父母均已参保的新生儿，出生当年免缴个人费用")
    elif rule.price == "full":
        fiscal = policy.contribution.fiscal_subsidy_fen
        if fiscal == "pending":
            due = None
            pending.append("fiscal_subsidy")
            explain.append("须按个人缴费与财政补助之和足额缴纳，本政策未载明财政补助标准")
        else:
            due = personal + fiscal
            explain.append(f"须足额缴纳：个人缴费 {yuan(personal)} 元 + 财政补助 {yuan(fiscal)} 元")
    else:
        explain.append(f"个人缴费标准 {yuan(personal)} 元")

    start = chosen.start
    months, waiting_text = _waiting_months(policy, rule, facts)
    if waiting_text:
        explain.append(waiting_text)
    start = add_months(start, months)
    covered = start <= coverage_end
    if not covered:
        explain.append("等待期届满已在参保年度之后，本年度不享受待遇")
    else:
        explain.append(f"待遇享受期 {start.isoformat()} 至 {coverage_end.isoformat()}")

    payable = None if due is None or subsidy_fen is None else due - subsidy_fen
    return Quote(
        refusal=None,
        categories=tuple(facts.categories),
        attribute=resolution.attribute,
        personal_fen=due,
        subsidies=subsidies,
        subsidy_fen=subsidy_fen,
        payable_fen=payable,
        coverage_start=start if covered else None,
        coverage_end=coverage_end if covered else None,
        pending=tuple(pending),
        explain=tuple(explain),
        rule=rule,
    )
