"""Jurisdiction: the one place that says what an account may see and do.

Every page, API endpoint and command reads residents, divisions and money through a ``Scope``.
It denies by default: a user without an account, an inactive one, or a role without the
permission gets nothing. A resident or division outside the scope is ``NotFound``, exactly as
one that does not exist, so that "not yours" and "not there" cannot be told apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db.models import QuerySet

from canbao.accounts.models import Account, Role
from canbao.regions.models import Division
from canbao.registry.models import Resident


class NotFound(Exception):
    """Not there, or not yours: the two are one answer."""


class NotPermitted(Exception):
    """The role may not do this anywhere."""

    def __init__(self, permission: Permission) -> None:
        super().__init__(permission.value)
        self.permission = permission


class Permission(StrEnum):
    VIEW_PROGRESS = "view_progress"  # coverage, tasks, rankings, charts
    VIEW_RESIDENTS = "view_residents"  # search and open a resident's page
    SEE_IDENTITY = "see_identity"  # whole ID and phone numbers in lists
    FOLLOW_UP = "follow_up"  # follow-up lists and payment notices of own villages
    IMPORT_REGISTRY = "import_registry"  # divisions, residents, schools
    IMPORT_ROSTER = "import_roster"  # category rosters (a department: its own categories)
    IMPORT_PAYMENTS = "import_payments"  # payment files of every channel, bank credits
    RECORD_PAYMENT = "record_payment"  # one payment collected in cash
    RESOLVE_HELD = "resolve_held"  # recheck held money, reverse a payment
    WITHHOLDING = "withholding"  # bank withholding rounds
    RECONCILE = "reconcile"  # explain, close and reopen a day
    VIEW_MONEY = "view_money"  # suspense list, reconciliation, fund summary
    BILLS = "bills"  # department bills (a department: its own)
    REPORTS = "reports"  # bulletin, funding, students
    MANAGE = "manage"  # campaigns, assessment, tasks, accounts
    AUDIT = "audit"  # the audit trail and the ledger check
    POST_PAYMENTS = "post_payments"  # the API's payment posting, one channel


_P = Permission
_COUNTY_WORK = frozenset(set(Permission) - {_P.POST_PAYMENTS, _P.MANAGE, _P.AUDIT})
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.COUNTY_ADMIN: frozenset(set(Permission) - {_P.POST_PAYMENTS}),
    Role.COUNTY_CLERK: _COUNTY_WORK,
    Role.TOWNSHIP_CLERK: frozenset(
        {
            _P.VIEW_PROGRESS,
            _P.VIEW_RESIDENTS,
            _P.SEE_IDENTITY,
            _P.FOLLOW_UP,
            _P.RECORD_PAYMENT,
            _P.REPORTS,
        }
    ),
    Role.VILLAGE_COLLECTOR: frozenset(
        {_P.VIEW_PROGRESS, _P.VIEW_RESIDENTS, _P.SEE_IDENTITY, _P.FOLLOW_UP, _P.RECORD_PAYMENT}
    ),
    # A department matches its bill and its proxy payments against its own rosters by ID
    # number; it sees only the members of its own categories.
    Role.DEPARTMENT_CLERK: frozenset(
        {_P.VIEW_RESIDENTS, _P.SEE_IDENTITY, _P.IMPORT_ROSTER, _P.BILLS}
    ),
    Role.FINANCE: frozenset({_P.VIEW_PROGRESS, _P.VIEW_MONEY, _P.BILLS, _P.REPORTS}),
    Role.AUDITOR: frozenset(
        {_P.VIEW_PROGRESS, _P.VIEW_RESIDENTS, _P.VIEW_MONEY, _P.BILLS, _P.REPORTS, _P.AUDIT}
    ),
    Role.INTEGRATION: frozenset({_P.POST_PAYMENTS}),
}


@dataclass(frozen=True)
class Scope:
    """What one account may reach. ``prefix`` is the division code its residents' villages
    start with ("" for the whole county); ``categories``, for a department, the rosters it
    keeps."""

    account: Account | None
    permissions: frozenset[Permission]
    prefix: str = ""
    funder: str = ""
    categories: tuple[str, ...] = ()
    channel: str = ""

    @classmethod
    def of(cls, user: Any) -> Scope:
        account = _account_of(user)
        if account is None:
            return cls(account=None, permissions=frozenset())
        role = Role(account.role)
        prefix = account.division.code if account.division is not None else ""
        return cls(
            account=account,
            permissions=ROLE_PERMISSIONS[role],
            prefix=prefix,
            funder=account.funder,
            categories=tuple(account.categories),
            channel=account.channel,
        )

    @property
    def role(self) -> Role | None:
        return Role(self.account.role) if self.account is not None else None

    @property
    def user(self) -> Any:
        return self.account.user if self.account is not None else None

    def allows(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if permission not in self.permissions:
            raise NotPermitted(permission)

    @property
    def county_wide(self) -> bool:
        return self.account is not None and not self.prefix and not self.funder

    @property
    def masks_identity(self) -> bool:
        return not self.allows(Permission.SEE_IDENTITY)

    def residents(self) -> QuerySet[Resident]:
        """The residents this account may read; none without VIEW_RESIDENTS."""
        if not self.allows(Permission.VIEW_RESIDENTS):
            return Resident.objects.none()
        residents = Resident.objects.all()
        if self.funder:
            return residents.filter(categories__category__in=self.categories).distinct()
        if self.prefix:
            return residents.filter(village__code__startswith=self.prefix)
        return residents

    def resident(self, pk: int | str) -> Resident:
        try:
            return self.residents().get(pk=int(pk))
        except (Resident.DoesNotExist, ValueError, TypeError) as missing:
            raise NotFound from missing

    def divisions(self) -> QuerySet[Division]:
        """The divisions whose progress this account may read: its own and those below it
        (and, for a township or village, the county above it by name only: not listed here)."""
        if not self.allows(Permission.VIEW_PROGRESS):
            return Division.objects.none()
        return Division.objects.filter(code__startswith=self.prefix)

    def division(self, code: str) -> Division:
        found = self.divisions().filter(code=code).first()
        if found is None:
            raise NotFound
        return found

    def home(self) -> Division | None:
        """The division the account's pages open on: its own, or the county."""
        if self.account is not None and self.account.division is not None:
            return self.account.division
        return Division.objects.filter(level=Division.Level.COUNTY).order_by("code").first()

    def funders(self) -> tuple[str, ...] | None:
        """The funders whose bills the account may read: its own, or all (None)."""
        if not self.allows(Permission.BILLS):
            return ()
        return (self.funder,) if self.funder else None

    def may_import_roster(self, category: str) -> bool:
        if not self.allows(Permission.IMPORT_ROSTER):
            return False
        return not self.funder or category in self.categories


def _account_of(user: Any) -> Account | None:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    try:
        account: Account = user.account
    except Account.DoesNotExist:
        return None
    return account
