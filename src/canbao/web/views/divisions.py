"""A division's page (county, township, village): its progress, the units below it ranked, its
special groups; for a village, the follow-up list (催缴名单) and the payment notices to print,
with their downloads."""

from __future__ import annotations

from dataclasses import replace

from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from canbao.accounts.scope import Permission, Scope
from canbao.campaigns.models import Campaign
from canbao.masking import mask_id, mask_phone
from canbao.policy.codes import CATEGORY_NAMES
from canbao.regions.models import Division
from canbao.reports.documents.followup_list import (
    NO_GROUPS,
    FollowupList,
    build_followup_list,
    write_followup_pdf,
    write_followup_xlsx,
)
from canbao.reports.documents.notices import (
    Notices,
    build_notices,
    write_notices_pdf,
    write_notices_xlsx,
)
from canbao.web.access import staff_page
from canbao.web.context import current_campaign
from canbao.web.views.downloads import download, file_format
from canbao.web.views.progress import day_asked, progress


@staff_page(Permission.VIEW_PROGRESS)
def division(request: HttpRequest, scope: Scope, code: str) -> HttpResponse:
    unit = scope.division(code)
    campaign = current_campaign()
    context: dict[str, object] = {"unit": unit, "trail": _trail(scope, unit), "shown": None}
    if campaign is not None:
        shown = progress(campaign, unit, day_asked(request))
        context["shown"] = shown
        context["groups"] = [
            (CATEGORY_NAMES[category], group, group.members - group.enrolled)
            for category, group in shown.report.total.groups.items()
        ]
        if unit.level == Division.Level.VILLAGE and scope.allows(Permission.FOLLOW_UP):
            today = timezone.localdate()
            listed = build_followup_list(campaign=campaign, village=unit, today=today)
            context["followup"] = masked_followup(listed) if scope.masks_identity else listed
            context["followup_note"] = NO_GROUPS
            context["opens_residents"] = scope.allows(Permission.VIEW_RESIDENTS)
            context["notices"] = build_notices(
                campaign=campaign, village=unit, today=today, unpaid_only=True
            )
    return render(request, "web/division.html", context)


def _trail(scope: Scope, unit: Division) -> list[tuple[Division, bool]]:
    """The divisions above `unit`, the county first, each with whether the account may open
    its page."""
    above: list[Division] = []
    parent = unit.parent
    while parent is not None:
        above.insert(0, parent)
        parent = parent.parent
    opened = set(
        scope.divisions().filter(pk__in=[d.pk for d in above]).values_list("pk", flat=True)
    )
    return [(d, d.pk in opened) for d in above]


def _village(scope: Scope, code: str) -> tuple[Campaign, Division]:
    """The campaign shown and the account's village of `code`; 404 for anything else."""
    unit = scope.division(code)
    campaign = current_campaign()
    if unit.level != Division.Level.VILLAGE or campaign is None:
        raise Http404
    return campaign, unit


@staff_page(Permission.FOLLOW_UP)
def followup_file(request: HttpRequest, scope: Scope, code: str, fmt: str) -> HttpResponseBase:
    """The village's follow-up list, as the ledger stands now, as PDF or .xlsx."""
    fmt = file_format(fmt)
    campaign, village = _village(scope, code)
    listed = build_followup_list(campaign=campaign, village=village, today=timezone.localdate())
    if scope.masks_identity:
        listed = masked_followup(listed)
    write = write_followup_pdf if fmt == "pdf" else write_followup_xlsx
    return download(
        request,
        write=lambda path: write(listed, path),
        filename=f"{listed.township}{listed.village}催缴名单.{fmt}",
        details={"what": "followup", "format": fmt, "division": code, "campaign": campaign.pk},
        back=reverse("web:division", args=[code]),
    )


@staff_page(Permission.FOLLOW_UP)
def notices_file(request: HttpRequest, scope: Scope, code: str, fmt: str) -> HttpResponseBase:
    """The payment notices of the village's households that still have to pay, as PDF (two to
    a page, ID numbers masked) or .xlsx."""
    fmt = file_format(fmt)
    campaign, village = _village(scope, code)
    notices = build_notices(
        campaign=campaign, village=village, today=timezone.localdate(), unpaid_only=True
    )
    if scope.masks_identity:
        notices = masked_notices(notices)
    write = write_notices_pdf if fmt == "pdf" else write_notices_xlsx
    return download(
        request,
        write=lambda path: write(notices, path),
        filename=f"{notices.township}{notices.village}缴费通知单.{fmt}",
        details={
            "what": "notices",
            "format": fmt,
            "division": code,
            "campaign": campaign.pk,
            "households": len(notices.notices),
            "unpaid_only": True,
        },
        back=reverse("web:division", args=[code]),
    )


def masked_followup(listed: FollowupList) -> FollowupList:
    """The list with ID and phone numbers masked, for an account that only counts people."""
    households = [
        replace(
            household,
            phone=mask_phone(household.phone),
            members=[
                replace(m, id_number=mask_id(m.id_number), phone=mask_phone(m.phone))
                for m in household.members
            ],
        )
        for household in listed.households
    ]
    return replace(listed, households=households)


def masked_notices(notices: Notices) -> Notices:
    return replace(
        notices,
        notices=[
            replace(n, members=[replace(m, id_number=mask_id(m.id_number)) for m in n.members])
            for n in notices.notices
        ],
    )
