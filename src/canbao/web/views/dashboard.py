"""The dashboard: the campaign's progress against its task, where the account works."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from canbao.accounts.scope import Permission, Scope
from canbao.regions.models import Division
from canbao.reports.coverage import coverage
from canbao.web.access import staff_page
from canbao.web.context import current_campaign


@staff_page(Permission.VIEW_PROGRESS)
def dashboard(request: HttpRequest, scope: Scope) -> HttpResponse:
    campaign = current_campaign()
    home = scope.home()
    report = None
    if campaign is not None and home is not None:
        county = home.level == Division.Level.COUNTY
        report = coverage(
            campaign=campaign,
            as_of=timezone.localdate(),
            level="township" if county else "village",
            within=home,
        )
    return render(request, "web/dashboard.html", {"report": report, "home": home})
