"""The demo's accounts: one per role, for the demo county, with fixed passwords, so that a person
trying Canbao can log in as each role and see what it sees. The demo's commands act as the
county clerk (the campaign's opening as the administrator, the ledger check as the auditor).

Made idempotently: a second call changes nothing. The local roles need the county's divisions:
``ensure_demo_accounts`` made before the divisions are imported makes the county-wide ones, and
made again after, the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser

from canbao.accounts.models import Account, Role
from canbao.accounts.services import create_account
from canbao.collection.models import Channel
from canbao.policy.codes import CATEGORY_NAMES, FUNDER_NAMES
from canbao.regions.models import Division

ADMIN = "demo_admin"
CLERK = "demo_clerk"
AUDITOR = "demo_auditor"

# The department of the demo: the civil affairs bureau, which keeps the rosters of the poor.
DEPARTMENT = "civil_affairs"
DEPARTMENT_CATEGORIES = ("extreme_poverty", "rural_dibao", "urban_dibao")


@dataclass(frozen=True)
class _Demo:
    username: str
    password: str
    role: Role


# The order the logins are listed in; the administrator first (it creates the others).
DEMO_ACCOUNTS = (
    _Demo(ADMIN, "canbao-guanli-2026", Role.COUNTY_ADMIN),
    _Demo(CLERK, "canbao-jingban-2026", Role.COUNTY_CLERK),
    _Demo("demo_township", "canbao-xiangzhen-2026", Role.TOWNSHIP_CLERK),
    _Demo("demo_collector", "canbao-cunji-2026", Role.VILLAGE_COLLECTOR),
    _Demo("demo_department", "canbao-bumen-2026", Role.DEPARTMENT_CLERK),
    _Demo("demo_finance", "canbao-caizheng-2026", Role.FINANCE),
    _Demo(AUDITOR, "canbao-shenji-2026", Role.AUDITOR),
    _Demo("demo_tax", "canbao-shuiwu-2026", Role.INTEGRATION),
)


class DemoLogin(NamedTuple):
    role: str  # the role's Chinese name
    username: str
    password: str
    sees: str  # what the account sees and does, in Chinese


def ensure_demo_accounts(county_code: str) -> None:
    """Make the demo accounts not made yet whose place exists: the township and the village
    of the local roles are the first of `county_code` by code."""
    made = set(
        Account.objects.filter(
            user__username__in=[demo.username for demo in DEMO_ACCOUNTS]
        ).values_list("user__username", flat=True)
    )
    township = (
        Division.objects.filter(code__startswith=county_code, level=Division.Level.TOWNSHIP)
        .order_by("code")
        .first()
    )
    village = (
        Division.objects.filter(code__startswith=township.code, level=Division.Level.VILLAGE)
        .order_by("code")
        .first()
        if township is not None
        else None
    )
    places = {Role.TOWNSHIP_CLERK: township, Role.VILLAGE_COLLECTOR: village}
    for demo in DEMO_ACCOUNTS:
        if demo.username in made:
            continue
        place = places.get(demo.role)
        if demo.role in places and place is None:
            continue  # the county's divisions are not imported yet
        create_account(
            username=demo.username,
            password=demo.password,
            role=demo.role,
            division_code=place.code if place is not None else "",
            funder=DEPARTMENT if demo.role is Role.DEPARTMENT_CLERK else "",
            categories=DEPARTMENT_CATEGORIES if demo.role is Role.DEPARTMENT_CLERK else (),
            channel="tax" if demo.role is Role.INTEGRATION else "",
            actor=_creator(),
        )


def demo_logins() -> list[DemoLogin]:
    """The demo accounts there are, each with its password and what it sees."""
    accounts = {
        account.user.get_username(): account
        for account in Account.objects.select_related("user", "division").filter(
            user__username__in=[demo.username for demo in DEMO_ACCOUNTS]
        )
    }
    return [
        DemoLogin(demo.role.label, demo.username, demo.password, sees(accounts[demo.username]))
        for demo in DEMO_ACCOUNTS
        if demo.username in accounts
    ]


def sees(account: Account) -> str:
    role = Role(account.role)
    place = account.division.name if account.division is not None else ""
    if role is Role.COUNTY_ADMIN:
        return "全县：全部页面和操作，含账号管理、操作记录和账目核对"
    if role is Role.COUNTY_CLERK:
        return "全县：导入、收缴、对账、账单和报告（不含账号管理和审计）"
    if role is Role.TOWNSHIP_CLERK:
        return f"{place}：本镇的参保进度、居民、催缴名单和缴费通知单，登记现金缴费，报告"
    if role is Role.VILLAGE_COLLECTOR:
        return f"{place}：本村的参保进度、居民、催缴名单和缴费通知单，登记现金缴费"
    if role is Role.DEPARTMENT_CLERK:
        kept = "、".join(CATEGORY_NAMES[c] for c in account.categories)
        funder = FUNDER_NAMES[account.funder]
        return f"{funder}：{kept}名册上的人员，导入这些名册，{funder}的资助账单"
    if role is Role.FINANCE:
        return "全县：参保进度、挂账和对账、基金筹集、部门资助账单和报告"
    if role is Role.AUDITOR:
        return "全县，只读：参保进度、居民、资金、账单、报告、操作记录和账目核对"
    return (
        f"不登录网页：凭接口令牌报送{Channel(account.channel).label}渠道的缴费"
        f"（令牌用 canbao account token {account.user.get_username()} 签发）"
    )


def _creator() -> AbstractBaseUser | None:
    """Who makes a demo account: the demo administrator; before it exists, a county
    administrator already there, or nobody on a fresh database (the bootstrap)."""
    admin = (
        Account.objects.select_related("user")
        .filter(role=Role.COUNTY_ADMIN, user__is_active=True)
        .order_by("user__username")
    )
    first = admin.filter(user__username=ADMIN).first() or admin.first()
    return first.user if first is not None else None
