"""Department bills (部门资助账单): what each funder owes for the persons it subsidises, what it
has paid by proxy and the balance, by township; a department clerk sees its own funder's only."""

from __future__ import annotations

from dataclasses import replace

from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse

from canbao.accounts.scope import Permission, Scope
from canbao.collection.bills import Bill, funder_bill, write_bill_xlsx
from canbao.masking import mask_id
from canbao.policy.codes import FUNDER_NAMES
from canbao.web.access import staff_page
from canbao.web.context import current_campaign
from canbao.web.views.downloads import download
from canbao.web.views.reports import tabs

# Persons listed on the page per bill; the download lists them all.
LINES_SHOWN = 100


def _funders(scope: Scope) -> list[str]:
    allowed = scope.funders()
    return list(FUNDER_NAMES) if allowed is None else [f for f in allowed if f in FUNDER_NAMES]


def _bill(scope: Scope, bill: Bill) -> Bill:
    if not scope.masks_identity:
        return bill
    return replace(bill, lines=[replace(x, id_number=mask_id(x.id_number)) for x in bill.lines])


@staff_page(Permission.BILLS)
def bills(request: HttpRequest, scope: Scope) -> HttpResponse:
    campaign = current_campaign()
    shown: list[Bill] = []
    if campaign is not None:
        shown = [_bill(scope, funder_bill(campaign, funder)) for funder in _funders(scope)]
        if scope.funders() is None:
            # The whole county: only the funders with something on their bill.
            shown = [b for b in shown if b.lines or b.unattributed_count]
    context = {
        "tabs": tabs(scope, "web:report_bills"),
        "bills": shown,
        "lines_shown": LINES_SHOWN,
        "campaign_exists": campaign is not None,
    }
    return render(request, "web/reports/bills.html", context)


@staff_page(Permission.BILLS)
def bill_file(request: HttpRequest, scope: Scope, funder: str) -> HttpResponseBase:
    campaign = current_campaign()
    if campaign is None or funder not in _funders(scope):
        raise Http404
    bill = _bill(scope, funder_bill(campaign, funder))
    return download(
        request,
        write=lambda path: write_bill_xlsx(bill, path),
        filename=f"{bill.title}.xlsx",
        details={
            "what": "bill",
            "format": "xlsx",
            "funder": funder,
            "division": campaign.area.code,
            "campaign": campaign.pk,
            "persons": bill.total.persons,
        },
        back=reverse("web:report_bills"),
    )
