"""The schema of one campaign's policy: what a TOML preset or a county's own file must say.

Every amount is integer fen. Every rule about a person, an amount or a date is data here, so a
new county-year is a new file, not new code.
"""

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from canbao.policy.codes import CategoryCode, DocumentKind, EventKind, FunderCode, WindowKind

Fen = Annotated[int, Field(ge=0, strict=True)]
Percent = Annotated[Decimal, Field(gt=0, le=100)]
Pending = Literal["pending"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contribution(Strict):
    personal_fen: Annotated[int, Field(gt=0, strict=True)]
    # The government's per-head subsidy to the fund; "pending" when the notice does not state it.
    fiscal_subsidy_fen: Fen | Pending = "pending"


class Eligibility(Strict):
    # Residents without local hukou may enroll only with one of these documents.
    non_hukou_documents: list[DocumentKind] = []
    description: str


class EnrollmentRule(Strict):
    """One way to enroll: when the payment may be made, by whom, at what price, covered since when.

    A person may match several rules; the engine takes the one that covers earliest, then the
    cheaper one, then the earlier in the list.
    """

    name: str
    paid_from: date | None = None
    paid_until: date | None = None
    by_household: bool | None = None
    categories: list[CategoryCode] = []
    events: list[EventKind] = []
    anchor: Literal["event", "birth"] = "event"
    within_days: Annotated[int, Field(gt=0)] | None = None
    within_months: Annotated[int, Field(gt=0)] | None = None
    born_in_coverage_year: bool = False
    price: Literal["personal", "full"] = "personal"
    coverage: Literal["year_start", "birth", "payment_date", "next_month"]
    concentrated: bool = False
    free_when_parents_enrolled: bool = False
    note: str = ""

    @model_validator(mode="after")
    def _relative_windows_need_an_event(self) -> Self:
        if (self.within_days or self.within_months) and not self.events:
            raise ValueError("within_days/within_months 只能用于指定了 events 的规则")
        if self.within_days and self.within_months:
            raise ValueError("within_days 与 within_months 只能写一个")
        if self.coverage == "birth" and self.events != ["newborn"]:
            raise ValueError('coverage = "birth" 只适用于 events = ["newborn"] 的规则')
        if self.born_in_coverage_year and "newborn" not in self.events:
            raise ValueError("born_in_coverage_year 只适用于新生儿规则")
        # Without a time limit every person with a birth date would count as a newborn.
        if (
            "newborn" in self.events
            and not (self.within_days or self.within_months)
            and not self.born_in_coverage_year
        ):
            raise ValueError(
                "新生儿规则须写 within_days/within_months 或 born_in_coverage_year = true"
            )
        if self.free_when_parents_enrolled and not (
            self.events == ["newborn"] and self.born_in_coverage_year
        ):
            raise ValueError(
                'free_when_parents_enrolled 只适用于 events = ["newborn"] 且 '
                "born_in_coverage_year = true 的规则（出生当年免缴）"
            )
        if self.paid_from and self.paid_until and self.paid_from > self.paid_until:
            raise ValueError("paid_from 晚于 paid_until")
        return self


class WaitingPeriod(Strict):
    """The 2024 national guideline (国办发〔2024〕38号): months without benefits after enrolling
    outside the concentrated period or after lapsed years."""

    enabled: bool = False
    fixed_months: Annotated[int, Field(ge=0)] = 3
    months_per_lapsed_year: Annotated[int, Field(ge=0)] = 1
    months_off_per_repaid_year: Annotated[int, Field(ge=0)] = 1
    floor_after_lapsed_years: Annotated[int, Field(ge=1)] = 4
    floor_months: Annotated[int, Field(ge=0)] = 6
    exempt_events: list[EventKind] = ["newborn"]


class FunderShare(Strict):
    funder: FunderCode
    # Of the personal contribution (percent) or in fen; a share with neither takes the remainder.
    percent: Percent | None = None
    fen: Fen | None = None


class Subsidy(Strict):
    percent: Percent | None = None
    fen: Fen | None = None
    pending: bool = False
    funders: list[FunderShare] = []
    note: str = ""

    @model_validator(mode="after")
    def _one_amount_and_a_remainder(self) -> Self:
        given = [k for k in ("percent", "fen") if getattr(self, k) is not None]
        if self.pending:
            if given:
                raise ValueError("pending = true 的补助不能同时写金额")
            return self
        if len(given) != 1:
            raise ValueError("补助须且只须写 percent、fen 或 pending = true 之一")
        if not self.funders:
            raise ValueError("已定金额的补助须列出出资方 funders")
        remainders = [s for s in self.funders if s.percent is None and s.fen is None]
        if len(remainders) != 1:
            raise ValueError("funders 中须恰有一个不写份额的出资方，承担余额")
        kind = given[0]
        for share in self.funders:
            other = "fen" if kind == "percent" else "percent"
            if getattr(share, other) is not None:
                raise ValueError(f"补助按 {kind} 计，出资方份额不能写 {other}")
        explicit = sum((getattr(s, kind) or 0) for s in self.funders)
        if explicit > getattr(self, kind):
            raise ValueError("出资方份额之和超过补助总额")
        return self


class Category(Strict):
    code: CategoryCode
    # Without a label the category's canonical Chinese name is shown.
    label: str | None = None
    # The label a registered-poor person takes instead (Daligang's 建档立卡 column).
    poor_label: str | None = None
    min_age: Annotated[int, Field(ge=0)] | None = None
    max_age: Annotated[int, Field(ge=0)] | None = None
    # The category counts only together with one of these (Chuxiong: veterans in 低保/特困).
    requires_any: list[CategoryCode] = []
    subsidy: Subsidy | None = None


class Identity(Strict):
    # priority: the first held category in list order decides (Daligang's 标识顺序);
    # highest: the largest subsidy decides (Chuxiong's 就高).
    mode: Literal["priority", "highest"]
    ordinary_label: str
    poor_category: CategoryCode | None = None
    categories: list[Category] = []

    def aged_categories(self) -> frozenset[str]:
        """Categories with an age limit: for their holders the birth date always matters."""
        return frozenset(
            c.code for c in self.categories if c.min_age is not None or c.max_age is not None
        )

    @model_validator(mode="after")
    def _codes_once(self) -> Self:
        codes = [c.code for c in self.categories]
        for code in codes:
            if codes.count(code) > 1:
                raise ValueError(f"类别 {code} 重复出现")
        known = set(codes)
        for c in self.categories:
            for needed in c.requires_any:
                if needed not in known:
                    raise ValueError(f"{c.code} 的 requires_any 引用了未定义的类别 {needed}")
        return self


class Targets(Strict):
    rate_percent: Percent
    rounding: Literal["half_up", "down", "up"] = "half_up"
    level: Literal["township", "village"]
    base: str
    special_groups: list[CategoryCode] = []
    special_groups_rate_percent: Percent = Decimal(100)


class FundingTier(Strict):
    name: str
    min_rate_percent: Annotated[Decimal, Field(ge=0, le=100)] = Decimal(0)
    requires_task_met: bool = False
    requires_special_groups_complete: bool = False
    per_person_fen: Fen
    reward_per_person_fen: Fen = 0


class PerRecordFunding(Strict):
    name: str
    payee: Literal["unit", "bureau"]
    fen: Fen
    basis: Literal["enrolled", "paid_records"]


class WorkFunding(Strict):
    level: Literal["township", "village"]
    counted_from: date | None = None
    counted_until: date | None = None
    # Groups that must all be fully enrolled; each group is a set of categories held together.
    special_groups: list[list[CategoryCode]] = []
    tiers: list[FundingTier] = []
    per_record: list[PerRecordFunding] = []


class Accountability(Strict):
    below_rate_percent: Percent | None = None
    special_groups_incomplete: bool = False
    description: str = ""


class Policy(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    title: str
    issuer: str
    document: str = ""
    pooling_area: str
    division_code: Annotated[str, Field(pattern=r"^\d{6}(\d{3})?$")]
    coverage_year: Annotated[int, Field(ge=2000, le=2100)]
    enrollment_unit: Literal["household", "person"]
    source: str = ""
    contribution: Contribution
    eligibility: Eligibility
    enrollment: Annotated[list[EnrollmentRule], Field(min_length=1)]
    closed_message: str
    # How residents pay, one line per way as the notice words it: printed on the households'
    # payment notices. Optional (a policy may leave it out; the notice then names none).
    channels: list[Annotated[str, Field(min_length=1)]] = []
    waiting_period: WaitingPeriod = WaitingPeriod()
    identity: Identity
    targets: Targets
    work_funding: WorkFunding | None = None
    accountability: Accountability | None = None

    def window_kind(self, rule: EnrollmentRule) -> WindowKind:
        """What kind of window a rule is, from its data alone."""
        if rule.concentrated:
            return "concentrated"
        if rule.events:
            return "newborn" if set(rule.events) == {"newborn"} else "status_change"
        # A dated window that still covers some of its payers from 1 January prolongs the
        # concentrated period (Daligang's approved extension); otherwise it is for late payers.
        extends = any(
            other.coverage == "year_start"
            and not other.events
            and not other.concentrated
            and (other.paid_from, other.paid_until) == (rule.paid_from, rule.paid_until)
            for other in self.enrollment
        )
        return "extension" if extends else "late"

    @model_validator(mode="after")
    def _one_concentrated_period(self) -> Self:
        if not any(rule.concentrated for rule in self.enrollment):
            raise ValueError("enrollment 中须有一条 concentrated = true 的集中缴费期规则")
        return self
