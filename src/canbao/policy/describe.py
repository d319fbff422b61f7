"""A policy as a bureau's staff would read it, in Chinese, and as a script reads it, in JSON."""

from typing import Any

from canbao.policy.codes import (
    CATEGORY_NAMES,
    DOCUMENT_NAMES,
    EVENT_NAMES,
    FUNDER_NAMES,
    WINDOW_KIND_NAMES,
)
from canbao.policy.money import yuan
from canbao.policy.schema import EnrollmentRule, Policy, Subsidy
from canbao.policy.targets import ROUNDING_NAMES

_COVERAGE = {
    "year_start": "自参保年度1月1日起",
    "birth": "自出生之日起",
    "payment_date": "自缴费之日起",
    "next_month": "自缴费次月1日起",
}


def _rule(policy: Policy, rule: EnrollmentRule) -> str:
    when = []
    if rule.paid_from or rule.paid_until:
        when.append(
            f"{rule.paid_from.isoformat() if rule.paid_from else '开征'}"
            f" 至 {rule.paid_until.isoformat() if rule.paid_until else '年度末'} 缴费"
        )
    if rule.by_household is not None:
        when.append("以户为单位" if rule.by_household else "未以户为单位")
    if rule.categories:
        when.append("限" + "、".join(CATEGORY_NAMES[c] for c in rule.categories))
    if rule.events:
        events = "、".join(EVENT_NAMES[e] for e in rule.events)
        anchor = "出生" if rule.anchor == "birth" else "事件（新生儿为落户）"
        limit = (
            f"{anchor}后 {rule.within_days} 天内"
            if rule.within_days
            else f"{anchor}后 {rule.within_months} 个月内"
            if rule.within_months
            else "不受时间限定"
        )
        when.append(f"{events}，{limit}")
    if rule.born_in_coverage_year:
        when.append("参保年度内出生")
    price = "个人缴费" if rule.price == "personal" else "个人缴费 + 财政补助（足额）"
    extra = "；父母均参保的出生当年免缴" if rule.free_when_parents_enrolled else ""
    kind = WINDOW_KIND_NAMES[policy.window_kind(rule)]
    return (
        f"【{kind}】{rule.name}：{'，'.join(when)}；缴纳{price}；"
        f"{_COVERAGE[rule.coverage]}享受待遇{extra}"
    )


def _subsidy(subsidy: Subsidy | None) -> str:
    if subsidy is None:
        return "无资助"
    if subsidy.pending:
        payers = "、".join(FUNDER_NAMES[s.funder] for s in subsidy.funders)
        who = f"（{payers}）" if payers else ""
        note = f"：{subsidy.note}" if subsidy.note else ""
        return f"金额待公布{who}{note}"
    total = f"{subsidy.percent}%" if subsidy.percent is not None else f"{yuan(subsidy.fen or 0)} 元"
    parts = []
    for share in subsidy.funders:
        if share.percent is not None:
            parts.append(f"{FUNDER_NAMES[share.funder]} {share.percent}%")
        elif share.fen is not None:
            parts.append(f"{FUNDER_NAMES[share.funder]} {yuan(share.fen)} 元")
        else:
            parts.append(
                f"{FUNDER_NAMES[share.funder]}{'（余额）' if len(subsidy.funders) > 1 else ''}"
            )
    return f"资助 {total}：{'，'.join(parts)}"


def describe(policy: Policy) -> str:
    c = policy.contribution
    fiscal = (
        "未载明" if c.fiscal_subsidy_fen == "pending" else f"{yuan(c.fiscal_subsidy_fen)} 元/人"
    )
    lines = [
        f"{policy.title}（{policy.id}）",
        f"发文：{policy.issuer}{(' ' + policy.document) if policy.document else ''}",
        f"统筹区：{policy.pooling_area}（{policy.division_code}）",
        f"参保年度：{policy.coverage_year}年1月1日至12月31日",
        f"参保单位：{'以户为单位' if policy.enrollment_unit == 'household' else '以参保人为单位'}",
        f"个人缴费标准：{yuan(c.personal_fen)} 元/人·年；人均财政补助：{fiscal}",
        "",
        "参保范围：" + policy.eligibility.description,
    ]
    if policy.eligibility.non_hukou_documents:
        docs = "、".join(DOCUMENT_NAMES[d] for d in policy.eligibility.non_hukou_documents)
        lines.append(f"  非本地户籍人员凭：{docs}")
    lines += ["  不得参保：已参加职工医保的人员、已在其他统筹区参保的人员", "", "缴费与待遇："]
    lines += [f"  - {_rule(policy, rule)}" for rule in policy.enrollment]
    lines.append(f"  - 其他时间：{policy.closed_message}")
    if policy.channels:
        lines += ["", "缴费方式："]
        lines += [f"  - {channel}" for channel in policy.channels]
    w = policy.waiting_period
    if w.enabled:
        lines.append(
            f"  - 待遇等待期：固定 {w.fixed_months} 个月，"
            f"每断保1年加 {w.months_per_lapsed_year} 个月，"
            f"每补缴1年减 {w.months_off_per_repaid_year} 个月，"
            f"连续断保 {w.floor_after_lapsed_years} 年及以上不少于 {w.floor_months} 个月"
        )
    identity = policy.identity
    mode = (
        "按标识优先顺序（从上至下）只标识一项"
        if identity.mode == "priority"
        else "符合多项的按就高原则只享受一项"
    )
    lines += ["", f"身份属性与资助（{mode}）：", f"  - 正常参保：{identity.ordinary_label}"]
    for index, category in enumerate(identity.categories, start=1):
        label = category.label or "（未列）"
        if category.poor_label:
            label += f"；建档立卡贫困人口标识为：{category.poor_label}"
        conditions = []
        if category.min_age is not None or category.max_age is not None:
            conditions.append(f"{category.min_age or 0}–{category.max_age or '不限'} 周岁")
        if category.requires_any:
            conditions.append(
                "须同时为" + "或".join(CATEGORY_NAMES[r] for r in category.requires_any)
            )
        condition = f"（{'，'.join(conditions)}）" if conditions else ""
        name = CATEGORY_NAMES[category.code]
        lines.append(f"  {index:>2}. {name}{condition} → {label}；{_subsidy(category.subsidy)}")
    t = policy.targets
    level = "乡镇" if t.level == "township" else "村（社区）"
    lines += [
        "",
        f"目标任务：各{level}参保率 {t.rate_percent}% 以上，"
        f"任务数 = {t.base} × {t.rate_percent}%（{ROUNDING_NAMES[t.rounding]}）",
    ]
    if t.special_groups:
        groups = "、".join(CATEGORY_NAMES[g] for g in t.special_groups)
        lines.append(f"  特殊群体参保率须达 {t.special_groups_rate_percent}%：{groups}")
    if policy.work_funding:
        f = policy.work_funding
        lines.append("工作经费：")
        for tier in f.tiers:
            reward = (
                f"，另奖励 {yuan(tier.reward_per_person_fen)} 元/人"
                if tier.reward_per_person_fen
                else ""
            )
            lines.append(f"  - {tier.name}：{yuan(tier.per_person_fen)} 元/人{reward}")
        for per in f.per_record:
            payee = "经办机构" if per.payee == "bureau" else level
            lines.append(f"  - {per.name}：{yuan(per.fen)} 元/人（付给{payee}）")
    if policy.accountability:
        lines.append("问责：" + policy.accountability.description)
    return "\n".join(lines)


def policy_json(policy: Policy) -> dict[str, Any]:
    """The policy's data as JSON, each enrollment rule marked with the kind of window it is."""
    data = policy.model_dump(mode="json")
    data["enrollment"] = [
        {"kind": kind, "kind_name": WINDOW_KIND_NAMES[kind], **entry}
        for kind, entry in zip(
            (policy.window_kind(rule) for rule in policy.enrollment),
            data["enrollment"],
            strict=True,
        )
    ]
    return data
