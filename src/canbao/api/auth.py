"""Who is asking: an integration by its bearer token, or a member of staff by the session of
the pages (CSRF-checked on unsafe methods); and what they reach, through their ``Scope``.

A request that carries an ``Authorization`` header is judged by its token alone: a wrong token
is 401 even from a browser that is logged in."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth
from ninja.utils import check_csrf

from canbao.accounts.scope import NotFound, Scope
from canbao.accounts.services import account_for_token
from canbao.api.errors import CsrfFailed
from canbao.campaigns.models import Campaign
from canbao.web.context import current_campaign

# A token is "cb_" and 43 URL-safe characters; anything much longer is not one.
TOKEN_MAX = 200


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        if not token or len(token) > TOKEN_MAX:
            return None
        account = account_for_token(token)
        return account.user if account is not None else None


class StaffSession(SessionAuth):
    """The pages' login. Only a logged-in request is checked for CSRF, so that a request with
    no credentials at all is told 401, not a CSRF failure."""

    def __call__(self, request: HttpRequest) -> Any:
        if "Authorization" in request.headers or not request.user.is_authenticated:
            return None
        return super().__call__(request)

    def _get_key(self, request: HttpRequest) -> str | None:
        if check_csrf(request) is not None:
            raise CsrfFailed
        return request.COOKIES.get(self.param_name)


AUTH = [BearerToken(), StaffSession()]


def scope_of(request: HttpRequest) -> Scope:
    """The scope of the authenticated user (``request.auth``, set by ``AUTH``)."""
    return Scope.of(getattr(request, "auth", None))


def campaign_for(campaign_id: int | None) -> Campaign:
    """The campaign asked for, else the one the pages show (the latest open one); NotFound when
    there is none."""
    if campaign_id is not None:
        found = Campaign.objects.select_related("area").filter(pk=campaign_id).first()
    else:
        found = current_campaign()
    if found is None:
        raise NotFound
    return found
