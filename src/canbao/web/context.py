"""What every page's template knows: the account's scope, its menu and the campaign shown."""

from typing import Any

from django.http import HttpRequest

from canbao.accounts.scope import Scope
from canbao.campaigns.models import Campaign
from canbao.web.access import nav_items


def current_campaign() -> Campaign | None:
    """The campaign the pages show: the latest open one, else the latest."""
    campaigns = Campaign.objects.select_related("area").order_by("-coverage_year", "-pk")
    return campaigns.filter(status=Campaign.Status.OPEN).first() or campaigns.first()


def canbao(request: HttpRequest) -> dict[str, Any]:
    scope = Scope.of(getattr(request, "user", None))
    nav = nav_items(scope)
    current = f"web:{request.resolver_match.url_name}" if request.resolver_match else ""
    for item in nav:
        # An area's pages are named after its first: web:payments, web:payments_reconcile, ...
        item["active"] = current == item["url"] or current.startswith(f"{item['url']}_")
    return {"scope": scope, "nav": nav, "campaign": current_campaign()}
