"""Reads of campaigns and their assessments."""

from datetime import date, timedelta
from functools import lru_cache

from canbao.campaigns.models import Assessment, Campaign
from canbao.campaigns.quotes import facts_of
from canbao.errors import InputError
from canbao.policy.loader import parse_policy_text
from canbao.policy.quote import Quote, quote
from canbao.policy.schema import Policy
from canbao.registry.models import CategoryFact, Resident


@lru_cache(maxsize=16)
def _parsed(sha256: str, text: str, source: str) -> Policy:
    return parse_policy_text(text, source)


def campaign_policy(campaign: Campaign) -> Policy:
    """The policy the campaign was opened with (its own copy, parsed once)."""
    return _parsed(campaign.policy_sha256, campaign.policy_toml, campaign.policy_id)


def reference_day(policy: Policy) -> date:
    """The day an assessment is made for: the last day of the concentrated period that applies
    to a resident enrolling as the policy enrolls (Songming's rural households pay by 10-25,
    while its individual window runs to 12-25)."""
    by_household = policy.enrollment_unit == "household"
    ends = [
        rule.paid_until
        for rule in policy.enrollment
        if rule.concentrated
        and rule.paid_until
        and rule.by_household in (None, by_household)
        and not rule.categories
    ]
    return max(ends, default=date(policy.coverage_year, 1, 1) - timedelta(days=1))


def campaign_by_id(campaign_id: int | None) -> Campaign:
    """The campaign asked for, or the only open one when none is named."""
    if campaign_id is not None:
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        if campaign is None:
            raise InputError("unknown_campaign", f"没有编号为 {campaign_id} 的参保缴费工作")
        return campaign
    open_campaigns = list(Campaign.objects.filter(status=Campaign.Status.OPEN).order_by("pk"))
    if len(open_campaigns) != 1:
        listed = "、".join(f"{c.pk}（{c}）" for c in open_campaigns) or "无"
        raise InputError(
            "campaign_required", f"请用 --campaign 指明参保缴费工作；进行中的有：{listed}"
        )
    return open_campaigns[0]


def assessment_of(campaign: Campaign, resident_id: int) -> Assessment | None:
    return Assessment.objects.filter(campaign=campaign, resident_id=resident_id).first()


def resident_quote(campaign: Campaign, resident: Resident) -> tuple[date, Quote]:
    """The policy's reasoning for the resident as the registry knows them now, on the day the
    campaign assesses for (``reference_day``): which category counts, which rule applies, the
    amounts and the coverage."""
    policy = campaign_policy(campaign)
    day = reference_day(policy)
    held = sorted(
        set(
            CategoryFact.objects.filter(resident=resident)
            .exclude(valid_from__gt=day)
            .exclude(valid_to__lt=day)
            .values_list("category", flat=True)
        )
    )
    facts = facts_of(
        birth_date=resident.birth_date,
        categories=held,
        employee_insured=resident.employee_insured,
        insured_elsewhere=resident.insured_elsewhere,
        id_type=resident.id_type,
    )
    return day, quote(policy, facts, day)
