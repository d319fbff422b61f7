"""From the special categories a person holds to ONE attribute and ONE subsidy."""

from dataclasses import dataclass, field
from datetime import date

from canbao.policy.codes import CATEGORY_NAMES, FUNDER_NAMES
from canbao.policy.dates import age_on
from canbao.policy.money import percent_of, yuan
from canbao.policy.schema import Category, Policy, Subsidy


@dataclass(frozen=True)
class Share:
    funder: str
    fen: int


@dataclass(frozen=True)
class Resolution:
    attribute: str
    # The category that decided the attribute, None for an ordinary resident.
    deciding: Category | None
    # Categories held and counted under this policy (after age and companion conditions).
    counted: frozenset[str]
    # None when the amount is not announced yet (see `pending`).
    subsidy_fen: int | None
    shares: tuple[Share, ...]
    pending: tuple[str, ...]
    explain: tuple[str, ...] = field(default=())


def subsidy_shares(subsidy: Subsidy, personal_fen: int) -> tuple[Share, ...]:
    """Split a category's subsidy of a personal contribution across its funders.

    The amount never exceeds the contribution; the remainder funder takes what the explicit
    shares leave, so the shares always add up to the amount.
    """
    if subsidy.percent is not None:
        amount = percent_of(personal_fen, subsidy.percent)
    else:
        assert subsidy.fen is not None
        amount = min(subsidy.fen, personal_fen)
    left = amount
    explicit: dict[int, int] = {}
    for index, share in enumerate(subsidy.funders):
        if share.percent is not None:
            fen = percent_of(personal_fen, share.percent)
        elif share.fen is not None:
            fen = share.fen
        else:
            continue
        explicit[index] = min(fen, left)
        left -= explicit[index]
    shares = [
        Share(share.funder, explicit.get(index, left))
        for index, share in enumerate(subsidy.funders)
    ]
    return tuple(share for share in shares if share.fen > 0)


def _label(policy: Policy, category: Category, counted: frozenset[str]) -> str:
    poor = policy.identity.poor_category is not None and policy.identity.poor_category in counted
    if poor and category.poor_label:
        return category.poor_label
    return category.label or CATEGORY_NAMES[category.code]


def _counted_categories(
    policy: Policy, held: list[str], birth_date: date | None
) -> tuple[frozenset[str], list[str]]:
    explain: list[str] = []
    defined: dict[str, Category] = {c.code: c for c in policy.identity.categories}
    for code in held:
        if code not in defined:
            explain.append(f"{CATEGORY_NAMES[code]}：本政策未设此类别，不予认定")
    counted = set()
    year_start = date(policy.coverage_year, 1, 1)
    for code in held:
        category = defined.get(code)
        if category is None:
            continue
        if birth_date is not None:
            age = age_on(birth_date, year_start)
            if (category.min_age is not None and age < category.min_age) or (
                category.max_age is not None and age > category.max_age
            ):
                explain.append(
                    f"{CATEGORY_NAMES[code]}：{year_start.isoformat()} 时 {age} 周岁，"
                    f"不在本类别的年龄范围（{category.min_age or 0}–{category.max_age or '不限'}）"
                )
                continue
        counted.add(code)
    for code in sorted(counted):
        needed = defined[code].requires_any
        if needed and not counted.intersection(needed):
            names = "、".join(CATEGORY_NAMES[n] for n in needed)
            explain.append(f"{CATEGORY_NAMES[code]}：须同时为{names}方予资助，不予认定")
            counted.discard(code)
    return frozenset(counted), explain


def resolve(
    policy: Policy, held: list[str], birth_date: date | None, personal_fen: int
) -> Resolution:
    """Resolve the categories a person holds, for a personal contribution of `personal_fen`."""
    counted, explain = _counted_categories(policy, held, birth_date)
    ordered = [c for c in policy.identity.categories if c.code in counted]
    if not ordered:
        return Resolution(policy.identity.ordinary_label, None, counted, 0, (), (), tuple(explain))

    if policy.identity.mode == "priority":
        deciding = ordered[0]
        if len(ordered) > 1:
            others = "、".join(CATEGORY_NAMES[c.code] for c in ordered[1:])
            explain.append(
                f"按标识优先顺序，{CATEGORY_NAMES[deciding.code]}先于{others}，不重复享受"
            )
        return _with_subsidy(policy, deciding, counted, personal_fen, explain)

    subsidised = [c for c in ordered if c.subsidy is not None]
    if not subsidised:
        return _with_subsidy(policy, ordered[0], counted, personal_fen, explain)
    known = [c for c in subsidised if c.subsidy and not c.subsidy.pending]
    amounts = {c.code: sum(s.fen for s in _shares(c, personal_fen)) for c in known}
    best = max(known, key=lambda c: amounts[c.code], default=None)
    unknown = [c for c in subsidised if c.subsidy and c.subsidy.pending]
    if best is not None and amounts[best.code] >= personal_fen:
        # Nothing can exceed the whole contribution: what is not announced cannot change it.
        unknown = []
    if len(subsidised) > 1:
        listed = "、".join(
            f"{CATEGORY_NAMES[c.code]} {yuan(amounts[c.code])} 元"
            if c.code in amounts
            else f"{CATEGORY_NAMES[c.code]} 金额未公布"
            for c in subsidised
        )
        explain.append(f"符合多种资助条件（{listed}），按就高原则只享受一项")
    if unknown:
        resolution = _with_subsidy(policy, best or unknown[0], counted, personal_fen, explain)
        pending = tuple(f"subsidy:{c.code}" for c in unknown)
        return Resolution(
            resolution.attribute,
            resolution.deciding,
            counted,
            None,
            resolution.shares,
            tuple(dict.fromkeys(resolution.pending + pending)),
            resolution.explain,
        )
    assert best is not None
    return _with_subsidy(policy, best, counted, personal_fen, explain)


def _shares(category: Category, personal_fen: int) -> tuple[Share, ...]:
    assert category.subsidy is not None
    return subsidy_shares(category.subsidy, personal_fen)


def _with_subsidy(
    policy: Policy,
    category: Category,
    counted: frozenset[str],
    personal_fen: int,
    explain: list[str],
) -> Resolution:
    attribute = _label(policy, category, counted)
    explain = [*explain, f"身份属性标识为“{attribute}”"]
    subsidy = category.subsidy
    if subsidy is None:
        explain.append(f"“{attribute}”在本政策中无个人缴费资助")
        return Resolution(attribute, category, counted, 0, (), (), tuple(explain))
    if subsidy.pending:
        note = f"：{subsidy.note}" if subsidy.note else ""
        explain.append(f"{CATEGORY_NAMES[category.code]}的资助金额尚未公布{note}")
        return Resolution(
            attribute, category, counted, None, (), (f"subsidy:{category.code}",), tuple(explain)
        )
    shares = subsidy_shares(subsidy, personal_fen)
    total = sum(s.fen for s in shares)
    parts = "，".join(f"{FUNDER_NAMES[s.funder]} {yuan(s.fen)} 元" for s in shares)
    if subsidy.percent is not None:
        basis = f"{subsidy.percent}%"
    else:
        assert subsidy.fen is not None
        basis = f"定额 {yuan(subsidy.fen)} 元"
    explain.append(f"资助个人缴费 {yuan(total)} 元（{basis}）：{parts}")
    return Resolution(attribute, category, counted, total, shares, (), tuple(explain))
