"""The dashboard: the campaign's progress against its task where the account works — a county's
townships, a township's villages, a collector's own village with what is left to collect."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from canbao.accounts.scope import NotPermitted, Permission, Scope
from canbao.regions.models import Division
from canbao.reports.documents.followup_list import build_followup_list
from canbao.web.access import nav_items, staff_page
from canbao.web.context import current_campaign
from canbao.web.views.progress import day_asked, progress


@staff_page()
def dashboard(request: HttpRequest, scope: Scope) -> HttpResponse:
    if not scope.allows(Permission.VIEW_PROGRESS):
        # A department clerk starts on its bills; a role with no page at all is refused.
        menu = nav_items(scope)
        if not menu:
            raise NotPermitted(Permission.VIEW_PROGRESS)
        return redirect(menu[0]["url"])
    campaign = current_campaign()
    home = scope.home()
    as_of = day_asked(request)
    context: dict[str, object] = {"home": home, "shown": None, "followup": None}
    if campaign is not None and home is not None:
        shown = progress(campaign, home, as_of)
        context["shown"] = shown
        if home.level == Division.Level.VILLAGE and scope.allows(Permission.FOLLOW_UP):
            context["followup"] = build_followup_list(
                campaign=campaign, village=home, today=timezone.localdate()
            )
    return render(request, "web/dashboard.html", context)
