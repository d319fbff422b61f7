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
    for item in nav:
        item["active"] = request.resolver_match is not None and (
            f"web:{request.resolver_match.url_name}" == item["url"]
        )
    return {"scope": scope, "nav": nav, "campaign": current_campaign()}
