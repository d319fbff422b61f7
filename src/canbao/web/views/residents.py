"""Finding a resident and reading everything about them: household, categories and where they
come from, the assessment and the rule behind it, payments, held money, coverage, history.

Both pages read residents through the account's scope only. A search is a POST (ID numbers never
travel in a URL); a resident's page is addressed by the internal key, and each view of it leaves
an audit row naming that key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from canbao.accounts.scope import Permission, Scope
from canbao.campaigns.models import Assessment, Campaign
from canbao.campaigns.selectors import resident_quote
from canbao.collection.ledger import positions
from canbao.collection.models import Enrollment, Payment
from canbao.idnumber import normalize
from canbao.masking import mask_id, mask_phone
from canbao.policy.codes import CATEGORY_NAMES, FUNDER_NAMES, pending_names
from canbao.registry.batches import record_audit
from canbao.registry.models import AuditEntry, Resident
from canbao.registry.selectors import with_id_number
from canbao.web.access import staff_page
from canbao.web.selfquery import campaign_of
from canbao.web.views.audit import action_label, details_text

# A search lists at most this many residents; more asks for a narrower search.
SEARCH_LIMIT = 50
# What a search for an ID number looks like once normalised: 15 or 18 characters of a citizen
# ID (the other kinds of ID are as long or longer, all digits and capitals).
ID_NUMBER = re.compile(r"[0-9A-Z]{15,20}")
# The history shows the latest this many audit rows about the person.
HISTORY_LIMIT = 50


class SearchForm(forms.Form):
    q = forms.CharField(label="身份证号码、姓名或户编号", max_length=100)


@dataclass(frozen=True)
class Found:
    """A line of the search results."""

    pk: int
    name: str
    id_number: str  # whole, or masked for a scope that masks identity
    sex: str
    household: str
    relation: str
    village: str
    status: str  # empty while active; moved out, deceased
    enrolled: bool | None  # in the campaign of the resident's area; None without a campaign


def search(scope: Scope, text: str) -> tuple[list[Found], bool]:
    """Residents in scope whose ID number or household number is ``text`` or whose name holds
    it, at most ``SEARCH_LIMIT`` (and whether there were more). Full-width digits, spaces and a
    lower-case x are undone first, as an ID number typed on a phone comes."""
    term = normalize(text)
    if not term:
        return [], False
    if ID_NUMBER.fullmatch(term.upper()):
        matching = with_id_number(scope.residents(), term.upper())
    else:
        matching = scope.residents().filter(
            Q(household__number__iexact=term) | Q(name__icontains=term)
        )
    rows = list(
        matching.select_related("household", "village").order_by(
            "village__code", "household__number", "pk"
        )[: SEARCH_LIMIT + 1]
    )
    more = len(rows) > SEARCH_LIMIT
    rows = rows[:SEARCH_LIMIT]
    campaigns: dict[str, Campaign | None] = {}
    for row in rows:
        if row.village.code not in campaigns:
            campaigns[row.village.code] = campaign_of(row.village.code)
    enrolled = set(
        Enrollment.objects.filter(
            resident_id__in=[r.pk for r in rows],
            campaign_id__in=[c.pk for c in campaigns.values() if c is not None],
        ).values_list("resident_id", "campaign_id")
    )
    found = []
    for r in rows:
        campaign = campaigns[r.village.code]
        found.append(
            Found(
                pk=r.pk,
                name=r.name,
                id_number=mask_id(r.id_number) if scope.masks_identity else r.id_number,
                sex=r.get_sex_display() if r.sex else "",
                household=r.household.number,
                relation=r.relation,
                village=r.village.name,
                status=_status_note(r),
                enrolled=None if campaign is None else (r.pk, campaign.pk) in enrolled,
            )
        )
    return found, more


def _status_note(resident: Resident) -> str:
    """Nothing while the resident is active; 迁出 or 死亡 otherwise."""
    return "" if resident.status == Resident.Status.ACTIVE else resident.get_status_display()


@never_cache
@staff_page(Permission.VIEW_RESIDENTS)
def resident_search(request: HttpRequest, scope: Scope) -> HttpResponse:
    form = SearchForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {"form": form, "limit": SEARCH_LIMIT}
    if request.method == "POST" and form.is_valid():
        context["results"], context["more"] = search(scope, form.cleaned_data["q"])
        context["searched"] = True
    # htmx swaps the results in place; without JavaScript the whole page comes back.
    partial = getattr(request, "htmx", False) and request.method == "POST"
    template = "web/residents/_results.html" if partial else "web/residents/search.html"
    return render(request, template, context)


@never_cache
@staff_page(Permission.VIEW_RESIDENTS)
def resident_page(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    resident = scope.resident(pk)
    record_audit(action="view_resident", actor=scope.user, resident_id=resident.pk)
    campaign = campaign_of(resident.village.code)
    context: dict[str, Any] = {
        "resident": resident,
        "shown_id": mask_id(resident.id_number) if scope.masks_identity else resident.id_number,
        "shown_phone": mask_phone(resident.phone) if scope.masks_identity else resident.phone,
        "members": _members(scope, resident),
        "facts": _facts(resident),
        "the_campaign": campaign,
        "enrollments": _enrollments(resident),
        "history": _history(resident),
    }
    if campaign is not None:
        context.update(_money(campaign, resident))
    return render(request, "web/residents/page.html", context)


def _members(scope: Scope, resident: Resident) -> list[dict[str, Any]]:
    """The household, the resident among them; an ID number and a link only for those the
    account may read."""
    household = resident.household
    readable = set(scope.residents().filter(household=household).values_list("pk", flat=True))
    members = []
    for member in household.members.order_by("pk"):
        mine = member.pk in readable
        shown = ""
        if mine:
            shown = mask_id(member.id_number) if scope.masks_identity else member.id_number
        members.append(
            {
                "pk": member.pk if mine else None,
                "name": member.name,
                "relation": member.relation,
                "id_number": shown,
                "status": ""
                if member.status == Resident.Status.ACTIVE
                else member.get_status_display(),
                "self": member.pk == resident.pk,
            }
        )
    return members


def _facts(resident: Resident) -> list[dict[str, Any]]:
    return [
        {
            "category": CATEGORY_NAMES.get(f.category, f.category),
            "source": FUNDER_NAMES.get(f.source, f.source),
            "batch": f.batch,
            "valid_from": f.valid_from,
            "valid_to": f.valid_to,
        }
        for f in resident.categories.select_related("batch").order_by("category", "source")
    ]


def _enrollments(resident: Resident) -> list[Enrollment]:
    return list(
        Enrollment.objects.filter(resident=resident)
        .select_related("campaign__area")
        .order_by("-campaign__coverage_year", "-pk")
    )


def _money(campaign: Campaign, resident: Resident) -> dict[str, Any]:
    """The campaign's assessment with the policy's reasoning, the payments and the position."""
    assessment = Assessment.objects.filter(campaign=campaign, resident=resident).first()
    # Sorted here: an ORDER BY paid_on can lead SQLite to the campaign's day index, a walk
    # through every payment of the county, instead of the person's few.
    payments = sorted(
        Payment.objects.filter(campaign=campaign, resident=resident).select_related("receipt"),
        key=lambda p: (p.paid_on, p.pk),
    )
    reversed_ids = {p.reverses_id for p in payments if p.reverses_id is not None}
    position = positions(campaign=campaign, resident_ids=[resident.pk])[resident.pk]
    enrollment = Enrollment.objects.filter(campaign=campaign, resident=resident).first()
    day, explained = resident_quote(campaign, resident)
    return {
        "assessment": assessment,
        "shares": _shares(assessment),
        "pending": pending_names(assessment.pending) if assessment else "",
        "quote_day": day,
        "quote": explained,
        "payments": [
            {
                "payment": p,
                # "税务（银行、微信…）" as 税务: the table is read on a phone.
                "channel": p.get_channel_display().split("（")[0],
                "funder": FUNDER_NAMES.get(p.funder, p.funder),
                "reversal": p.reverses_id is not None,
                "reversed": p.pk in reversed_ids,
            }
            for p in payments
        ],
        "position": position,
        "enrollment": enrollment,
        "by_funder": _named(position.by_funder),
        "held": position.held,
    }


def _shares(assessment: Assessment | None) -> list[tuple[str, int]]:
    if assessment is None:
        return []
    return [
        (FUNDER_NAMES.get(funder, funder), fen)
        for funder, fen in assessment.shares.order_by("funder").values_list("funder", "fen")
    ]


def _named(by_funder: dict[str, int]) -> list[tuple[str, int]]:
    return [(FUNDER_NAMES.get(f, f), fen) for f, fen in sorted(by_funder.items())]


def _history(resident: Resident) -> list[dict[str, Any]]:
    """The audit rows about the person or their payments, latest first (views left out)."""
    rows = (
        AuditEntry.objects.filter(resident=resident)
        .exclude(action="view_resident")
        .order_by("-at", "-pk")[:HISTORY_LIMIT]
    )
    return [
        {
            "at": row.at,
            "username": row.username,
            "action": action_label(row.action),
            "details": details_text(row.details),
        }
        for row in rows
    ]
