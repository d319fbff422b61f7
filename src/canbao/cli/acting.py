"""Who a command acts as: ``--as 账号`` (or the environment variable ``CANBAO_AS``) names an
account, checked before the command does anything: it must exist, be active, have a role, and
the role must have the permission the command needs (``canbao.accounts.scope``). What the command
writes is recorded under that account. A read that prints only totals needs no account."""

from __future__ import annotations

import os
from argparse import SUPPRESS, ArgumentParser, _SubParsersAction

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from canbao.accounts.scope import Permission, Scope
from canbao.cli import USAGE_ERROR

ENVIRONMENT = "CANBAO_AS"

PERMISSION_NAMES: dict[Permission, str] = {
    Permission.VIEW_PROGRESS: "查看参保进度",
    Permission.VIEW_RESIDENTS: "查看居民信息",
    Permission.SEE_IDENTITY: "查看完整的证件号码和电话",
    Permission.FOLLOW_UP: "催缴名单和缴费通知单",
    Permission.IMPORT_REGISTRY: "导入户籍人员、行政区划和学校名册",
    Permission.IMPORT_ROSTER: "导入部门名册",
    Permission.IMPORT_PAYMENTS: "导入缴费明细和银行入账",
    Permission.RECORD_PAYMENT: "登记现金缴费",
    Permission.RESOLVE_HELD: "处理挂账和冲正",
    Permission.WITHHOLDING: "银行委托代扣",
    Permission.RECONCILE: "对账、结账和收款收据",
    Permission.VIEW_MONEY: "查看挂账、对账和基金筹集",
    Permission.BILLS: "部门资助账单",
    Permission.REPORTS: "进度通报、工作经费和学生统计",
    Permission.MANAGE: "管理（参保缴费工作、核定、任务数、账号）",
    Permission.AUDIT: "审计（操作记录、账目核对）",
    Permission.POST_PAYMENTS: "通过接口报送缴费",
}

NO_ACCOUNT = Scope(account=None, permissions=frozenset())


def add_acting_option(parser: ArgumentParser) -> None:
    """``--as`` on the parser and on each of its subcommands, so that it may follow them. Left
    out of the options when not given, so that a subcommand's does not hide the command's."""
    parsers = [parser]
    for action in parser._actions:
        if isinstance(action, _SubParsersAction):
            parsers.extend(action.choices.values())
    for each in parsers:
        each.add_argument(
            "--as",
            dest="acting_as",
            metavar="账号",
            default=SUPPRESS,
            help=f"以这个账号操作，操作记在它名下（默认取环境变量 {ENVIRONMENT}）",
        )


def acting_scope(given: str | None, permission: Permission | None) -> Scope:
    """The scope of the account named by ``--as`` (`given`) or else ``CANBAO_AS``; a usage error
    when it is missing (and `permission` is needed), unknown, disabled, without a role or
    without `permission`. No account named and none needed: the empty scope."""
    name = (given or "").strip()
    where = ""
    if not name:
        name = os.environ.get(ENVIRONMENT, "").strip()
        where = f"（环境变量 {ENVIRONMENT}）"
    if not name:
        if permission is None:
            return NO_ACCOUNT
        raise _usage(
            f"须指明以哪个账号操作：加 --as 账号，或设环境变量 {ENVIRONMENT}=账号"
            "（账号由 canbao account add 建立）"
        )
    user = (
        get_user_model().objects.select_related("account__division").filter(username=name).first()
    )
    if user is None:
        raise _usage(f"没有账号“{name}”{where}")
    if not user.is_active:
        raise _usage(f"账号“{name}”{where}已停用")
    scope = Scope.of(user)
    role = scope.role
    if role is None:
        raise _usage(f"账号“{name}”{where}没有角色，不能操作 Canbao")
    if permission is not None and not scope.allows(permission):
        raise _usage(
            f"账号“{name}”（{role.label}）没有“{PERMISSION_NAMES[permission]}”的权限，"
            "不能执行这项操作"
        )
    return scope


def _usage(message: str) -> CommandError:
    return CommandError(message, returncode=USAGE_ERROR)
