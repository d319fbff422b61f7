"""`canbao account add|list|passwd|disable|token|revoke`: the accounts people and systems act as.

A password is typed twice on the terminal (not echoed), or read from standard input with
--password-stdin (one line, for scripts). The first account of a fresh database is created
without --as, and must be a county administrator; every other use needs an account with the
MANAGE permission.

Exit status: 0 done, 2 usage error (an unknown account, role, division, funder or channel; a
password too weak or typed differently twice; an account that may not manage accounts: then
nothing is written).
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db.models import Count, Q

from canbao.accounts.models import Account, Role
from canbao.accounts.scope import Permission, Scope
from canbao.accounts.services import (
    change_password,
    create_account,
    disable_account,
    issue_token,
    revoke_tokens,
)
from canbao.cli import USAGE_ERROR
from canbao.cli.acting import NO_ACCOUNT
from canbao.cli.output import CanbaoCommand
from canbao.collection.models import Channel
from canbao.errors import InputError
from canbao.policy.codes import CATEGORY_NAMES, FUNDER_NAMES

ROLE_HELP = "、".join(f"{role.value}（{role.label}）" for role in Role)


class Command(CanbaoCommand):
    help = (
        "账号：新建带角色的账号（add）、列出（list）、改密码（passwd）、停用（disable），"
        "为系统对接账号签发（token）和吊销（revoke）接口令牌。"
    )
    takes_account = True

    def permission(self, options: dict[str, Any]) -> Permission:
        return Permission.MANAGE

    def act_as(self, options: dict[str, Any]) -> Scope:
        if options["action"] == "add" and not Account.objects.exists():
            return NO_ACCOUNT  # the bootstrap: nobody to act as yet
        return super().act_as(options)

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="操作")
        add = actions.add_parser(
            "add", help="新建一个账号（数据库中的第一个账号须为县医保局管理员）"
        )
        add.add_argument("username", metavar="用户名", help="登录用的用户名")
        add.add_argument(
            "--role",
            required=True,
            choices=[role.value for role in Role],
            metavar="角色",
            help=f"角色：{ROLE_HELP}",
        )
        add.add_argument(
            "--division",
            default="",
            metavar="区划代码",
            help="乡镇经办人员的乡镇、村级收缴员的村（社区）的区划代码",
        )
        add.add_argument(
            "--funder",
            default="",
            choices=sorted(FUNDER_NAMES),
            metavar="资助方代码",
            help="部门经办人员所在的部门（资助方），如 civil_affairs（民政部门）",
        )
        add.add_argument(
            "--categories",
            default="",
            metavar="类别代码,…",
            help="部门经办人员负责的人员类别，逗号分隔，如 rural_dibao,extreme_poverty",
        )
        add.add_argument(
            "--channel",
            default="",
            choices=list(Channel.values),
            metavar="渠道",
            help="系统对接账号报送的缴费渠道，如 tax（税务）",
        )
        listing = actions.add_parser("list", help="列出全部账号：角色、负责范围、是否在用")
        listing.add_argument("--json", action="store_true", help="输出一个 JSON 对象")
        passwd = actions.add_parser("passwd", help="更改一个账号的密码")
        disable = actions.add_parser(
            "disable", help="停用一个账号（不能再登录和操作，令牌一并吊销）"
        )
        token = actions.add_parser("token", help="为系统对接账号签发一个接口令牌（只显示这一次）")
        token.add_argument("--json", action="store_true", help="输出一个 JSON 对象")
        revoke = actions.add_parser("revoke", help="吊销一个系统对接账号的全部接口令牌")
        for sub in (passwd, disable, token, revoke):
            sub.add_argument("username", metavar="用户名", help="账号的用户名")
        for sub in (add, passwd):
            sub.add_argument(
                "--password-stdin",
                action="store_true",
                help="从标准输入读入密码（一行，供脚本使用；默认在终端上输入两次）",
            )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "add":
                self._add(options)
            elif action == "list":
                self._list(options["json"])
            else:
                account = _account(options["username"])
                if action == "passwd":
                    change_password(
                        account=account, password=self._password(options), actor=self.actor
                    )
                    self.stdout.write(f"账号“{options['username']}”的密码已更改。")
                elif action == "disable":
                    self._disable(account)
                elif action == "token":
                    self._token(account, options["json"])
                else:
                    count = revoke_tokens(account=account, actor=self.actor)
                    self.stdout.write(f"已吊销账号“{options['username']}”的接口令牌 {count} 个。")
        except InputError as error:
            raise CommandError(error.message, returncode=USAGE_ERROR) from None

    def _add(self, options: dict[str, Any]) -> None:
        categories = tuple(c.strip() for c in options["categories"].split(",") if c.strip())
        unknown = [c for c in categories if c not in CATEGORY_NAMES]
        if unknown:
            raise InputError(
                "unknown_category",
                f"未知的人员类别：{'、'.join(unknown)}（类别代码见 docs/policy.md）",
            )
        role = Role(options["role"])
        account = create_account(
            username=options["username"],
            password=self._password(options),
            role=role,
            division_code=options["division"],
            funder=options["funder"],
            categories=categories,
            channel=options["channel"],
            actor=self.scope.user,
        )
        self.stdout.write(f"已建立账号“{account.user.get_username()}”：{_where(account)}。")

    def _password(self, options: dict[str, Any]) -> str:
        if options["password_stdin"]:
            return sys.stdin.readline().rstrip("\r\n")
        if not sys.stdin.isatty():
            raise InputError(
                "no_terminal", "没有终端可输入密码：加 --password-stdin 从标准输入读入密码"
            )
        first = getpass.getpass("密码：")
        if getpass.getpass("再输入一次：") != first:
            raise InputError("passwords_differ", "两次输入的密码不一致，未作任何改动")
        return first

    def _list(self, as_json: bool) -> None:
        accounts = (
            Account.objects.select_related("user", "division")
            .annotate(tokens_live=Count("tokens", filter=Q(tokens__revoked_at__isnull=True)))
            .order_by("user__username")
        )
        if as_json:
            listed = [
                {
                    "username": a.user.get_username(),
                    "role": a.role,
                    "role_label": a.get_role_display(),
                    "division": a.division.code if a.division else "",
                    "funder": a.funder,
                    "categories": a.categories,
                    "channel": a.channel,
                    "active": a.user.is_active,
                    "tokens": a.tokens_live,
                }
                for a in accounts
            ]
            self.stdout.write(json.dumps({"accounts": listed}, ensure_ascii=False))
            return
        for a in accounts:
            state = "在用" if a.user.is_active else "已停用"
            tokens = f"，有效令牌 {a.tokens_live} 个" if a.role == Role.INTEGRATION else ""
            self.stdout.write(f"{a.user.get_username()}\t{_where(a)}{tokens}\t{state}")
        if not accounts:
            self.stdout.write("还没有账号：用 canbao account add 用户名 --role county_admin 建立。")

    def _disable(self, account: Account) -> None:
        name = account.user.get_username()
        if account.user.pk == self.actor.pk:
            raise InputError("disable_self", f"不能停用正在使用的账号“{name}”")
        disable_account(account=account, actor=self.actor)
        self.stdout.write(f"账号“{name}”已停用，它的接口令牌已一并吊销。")

    def _token(self, account: Account, as_json: bool) -> None:
        token = issue_token(account=account, actor=self.actor)
        name = account.user.get_username()
        if as_json:
            self.stdout.write(json.dumps({"account": name, "token": token}, ensure_ascii=False))
            return
        self.stdout.write(
            f"已为账号“{name}”签发接口令牌。令牌只显示这一次，请立即交给对接的系统妥善保存"
            "（遗失时用 canbao account revoke 吊销后重新签发）："
        )
        self.stdout.write(token)


def _account(username: str) -> Account:
    account = (
        Account.objects.select_related("user", "division").filter(user__username=username).first()
    )
    if account is None:
        raise InputError("unknown_account", f"没有账号“{username}”")
    return account


def _where(account: Account) -> str:
    """The role in Chinese and what it works on."""
    role = Role(account.role)
    if account.division is not None:
        where = f"{account.division.name}（{account.division.code}）"
    elif role is Role.DEPARTMENT_CLERK:
        kept = "、".join(CATEGORY_NAMES[c] for c in account.categories) or "无"
        where = f"{FUNDER_NAMES.get(account.funder, account.funder)}，负责名册：{kept}"
    elif role is Role.INTEGRATION:
        where = f"缴费渠道 {account.channel}（{Channel(account.channel).label}）"
    else:
        where = "全县"
    return f"{role.label}，{where}"
