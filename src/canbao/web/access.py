"""The pages' door: every staff page is a ``staff_page`` with the permission it needs; the view
receives the request's ``Scope`` and reads only through it."""

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from canbao.accounts.scope import NotPermitted, Permission, Scope

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, Scope, P], HttpResponse]


def staff_page(
    permission: Permission | None = None,
) -> Callable[[View[P]], Callable[Concatenate[HttpRequest, P], HttpResponse]]:
    """Log in first; then an account without a role, or a role without ``permission``, gets
    the 403 page. ``permission=None`` lets any account with a role in."""

    def decorate(view: View[P]) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
        @wraps(view)
        def page(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            scope = Scope.of(request.user)
            if scope.account is None:
                raise NotPermitted(permission or Permission.VIEW_PROGRESS)
            if permission is not None:
                scope.require(permission)
            return view(request, scope, *args, **kwargs)

        return login_required(page)  # type: ignore[return-value]

    return decorate


def nav_items(scope: Scope) -> list[dict[str, Any]]:
    """The menu of an account: only what its role may open."""
    items = [
        ("web:dashboard", "总览", Permission.VIEW_PROGRESS),
    ]
    return [
        {"url": url, "label": label}
        for url, label, permission in items
        if permission is None or scope.allows(permission)
    ]
