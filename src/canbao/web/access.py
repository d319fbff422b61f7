"""The pages' door: every staff page is a ``staff_page`` with the permission it needs; the view
receives the request's ``Scope`` and reads only through it."""

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from canbao.accounts.scope import NotPermitted, Permission, Scope

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, Scope, P], HttpResponseBase]
# What a page needs: one permission, or any one of a set.
Needs = Permission | frozenset[Permission]
IMPORT_PERMISSIONS: Needs = frozenset(
    {
        Permission.IMPORT_REGISTRY,
        Permission.IMPORT_ROSTER,
        Permission.IMPORT_PAYMENTS,
        Permission.WITHHOLDING,
    }
)
MONEY_PERMISSIONS: Needs = frozenset(
    {Permission.VIEW_MONEY, Permission.RECORD_PAYMENT, Permission.WITHHOLDING}
)
# The reports' tabs (web.views.reports.TABS): the bulletin, funding and students, the villages'
# follow-up lists, the fund summary, the department bills.
REPORT_PERMISSIONS: Needs = frozenset(
    {Permission.REPORTS, Permission.FOLLOW_UP, Permission.VIEW_MONEY, Permission.BILLS}
)


def allows(scope: Scope, needs: Needs) -> bool:
    if isinstance(needs, Permission):
        return scope.allows(needs)
    return any(scope.allows(permission) for permission in needs)


def staff_page(
    permission: Needs | None = None,
) -> Callable[[View[P]], Callable[Concatenate[HttpRequest, P], HttpResponseBase]]:
    """Log in first; then an account without a role, or a role without ``permission`` (without
    any of them, for a set), gets the 403 page. ``permission=None`` lets any account with a
    role in."""

    def decorate(view: View[P]) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
        @wraps(view)
        def page(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
            scope = Scope.of(request.user)
            if scope.account is None:
                raise NotPermitted(Permission.VIEW_PROGRESS)
            if permission is not None and not allows(scope, permission):
                raise NotPermitted(
                    permission if isinstance(permission, Permission) else min(permission)
                )
            return view(request, scope, *args, **kwargs)

        return login_required(page)  # type: ignore[return-value]

    return decorate


def nav_items(scope: Scope) -> list[dict[str, Any]]:
    """The menu of an account: only what its role may open."""
    items: list[tuple[str, str, Needs | None]] = [
        # An account without the overview starts on the first entry it has: a department on
        # its bills.
        ("web:dashboard", "总览", Permission.VIEW_PROGRESS),
        ("web:reports", "报表", REPORT_PERMISSIONS),
        ("web:resident_search", "人员查询", Permission.VIEW_RESIDENTS),
        ("web:payments", "收缴", MONEY_PERMISSIONS),
        ("web:imports", "导入", IMPORT_PERMISSIONS),
        ("web:audit", "审计", Permission.AUDIT),
    ]
    return [
        {"url": url, "label": label}
        for url, label, permission in items
        if permission is None or allows(scope, permission)
    ]
