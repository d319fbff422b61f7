"""A resident's own query, without an account: ID number and name in, the person's enrollment in
the campaign of their area out, and nothing else (no household, no categories).

"No such ID number" and "the name does not match" are one answer (``None``), reached by the same
single query, so that neither the answer nor its time tells whether an ID number is registered.
The page (``canbao.web.views.selfquery``) and the JSON API both read through ``self_query``.
"""

from __future__ import annotations

import hmac
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from canbao.campaigns.models import Assessment, Campaign
from canbao.campaigns.selectors import campaign_policy, reference_day
from canbao.collection.models import Enrollment
from canbao.idnumber import normalize, parse
from canbao.masking import mask_id
from canbao.registry.models import Resident
from canbao.registry.selectors import with_id_number

__all__ = ["STATUS_LABELS", "SelfQueryAnswer", "Status", "campaign_of", "self_query"]

# The longest document number the registry keeps (Resident.id_number).
ID_MAX = 20
NAME_MAX = 100


class Status(StrEnum):
    """What a resident's query can say of their enrollment (the API's codes)."""

    ENROLLED = "enrolled"  # paid in full: covered
    PAYABLE = "payable"  # assessed, not yet enrolled: pay ``payable_fen``
    PENDING = "pending"  # assessed, but the policy has not announced the amount yet
    NOT_ELIGIBLE = "not_eligible"  # the policy does not enroll this person here
    NOT_ASSESSED = "not_assessed"  # known, but not assessed for the campaign


STATUS_LABELS = {
    Status.ENROLLED: "已参保",
    Status.PAYABLE: "未参保，尚未缴清",
    Status.PENDING: "未参保，应缴金额尚未公布",
    Status.NOT_ELIGIBLE: "不能在本统筹区参加城乡居民医保",
    Status.NOT_ASSESSED: "尚未核定应缴金额",
}


@dataclass(frozen=True)
class SelfQueryAnswer:
    """One resident's enrollment in the campaign of their area. Money in fen."""

    name: str
    id_number_masked: str  # 430922********1234: enough to see which card was asked about
    campaign: int
    area: str  # the pooling area's name
    coverage_year: int
    status: Status
    enrolled: bool
    payable_fen: int | None  # what the person pays (after subsidies); None when not known
    paid_on: date | None  # the day the payment in full was made (enrolled only)
    coverage_start: date | None
    coverage_end: date | None
    deadline: date  # the last day of the concentrated payment period
    channels: tuple[str, ...]  # how to pay, a line per way, as the policy's notice words it

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id_number_masked": self.id_number_masked,
            "campaign": self.campaign,
            "area": self.area,
            "coverage_year": self.coverage_year,
            "status": self.status.value,
            "status_label": self.status_label,
            "enrolled": self.enrolled,
            "payable_fen": self.payable_fen,
            "paid_on": _iso(self.paid_on),
            "coverage_start": _iso(self.coverage_start),
            "coverage_end": _iso(self.coverage_end),
            "deadline": self.deadline.isoformat(),
            "channels": list(self.channels),
        }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def clean_id_number(raw: str) -> str:
    """An ID number as typed (full-width digits, spaces, a lower-case x) as the registry keeps
    it. A citizen number's mistakes raise ``IdNumberError`` with a Chinese message saying which
    digit; other documents' numbers are only normalised."""
    number = normalize(raw).upper()
    if len(number) == 18 and number[:17].isdigit():
        return parse(number).number
    return number


def clean_name(raw: str) -> str:
    """A name as typed, without the spaces and full-width forms a phone keyboard adds."""
    return "".join(unicodedata.normalize("NFKC", raw).split())


def self_query(id_number: str, name: str) -> SelfQueryAnswer | None:
    """The enrollment of the person with this ID number and name, or None: for an unknown ID
    number and for a known one under another name alike. Raises ``IdNumberError`` for a citizen
    ID number that cannot be one (wrong length aside: that is simply not found)."""
    number = clean_id_number(id_number)
    wanted = clean_name(name)
    if not number or not wanted or len(number) > ID_MAX or len(wanted) > NAME_MAX:
        return None
    candidates = list(
        with_id_number(Resident.objects.all(), number).select_related("village").order_by("pk")
    )
    # Compared in Python, in constant time, so that a wrong name costs what an unknown number
    # costs: one query for the number, whatever the name.
    found = [
        r for r in candidates if hmac.compare_digest(clean_name(r.name).encode(), wanted.encode())
    ]
    if len(found) != 1:
        return None
    resident = found[0]
    campaign = campaign_of(resident.village.code)
    if campaign is None:
        return None
    return _answer(resident, campaign)


def campaign_of(village_code: str) -> Campaign | None:
    """The campaign of the area a village belongs to: its latest open one, else its latest."""
    campaigns = Campaign.objects.select_related("area").order_by("-coverage_year", "-pk")
    mine = [c for c in campaigns if village_code.startswith(c.area.code)]
    return next((c for c in mine if c.status == Campaign.Status.OPEN), None) or next(
        iter(mine), None
    )


def _answer(resident: Resident, campaign: Campaign) -> SelfQueryAnswer:
    policy = campaign_policy(campaign)
    enrollment = Enrollment.objects.filter(campaign=campaign, resident=resident).first()
    assessment = Assessment.objects.filter(campaign=campaign, resident=resident).first()
    payable = assessment.payable_fen if assessment is not None else None
    if enrollment is not None:
        status = Status.ENROLLED
    elif assessment is None:
        status = Status.NOT_ASSESSED
    elif not assessment.eligible:
        status = Status.NOT_ELIGIBLE
    elif payable is None:
        status = Status.PENDING
    else:
        status = Status.PAYABLE
    return SelfQueryAnswer(
        name=resident.name,
        id_number_masked=mask_id(resident.id_number),
        campaign=campaign.pk,
        area=campaign.area.name,
        coverage_year=campaign.coverage_year,
        status=status,
        enrolled=enrollment is not None,
        payable_fen=payable if status in (Status.ENROLLED, Status.PAYABLE) else None,
        paid_on=enrollment.enrolled_on if enrollment is not None else None,
        coverage_start=enrollment.coverage_start if enrollment is not None else None,
        coverage_end=enrollment.coverage_end if enrollment is not None else None,
        deadline=reference_day(policy),
        channels=tuple(policy.channels),
    )
