"""Creating accounts and issuing API tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from canbao.accounts.models import Account, ApiToken, Role
from canbao.collection.models import Channel
from canbao.errors import InputError
from canbao.policy.codes import CATEGORY_NAMES, FUNDER_NAMES
from canbao.regions.models import Division
from canbao.registry.batches import record_audit

TOKEN_PREFIX = "cb_"

_LEVEL_OF_ROLE = {
    Role.TOWNSHIP_CLERK: Division.Level.TOWNSHIP,
    Role.VILLAGE_COLLECTOR: Division.Level.VILLAGE,
}


def create_account(
    *,
    username: str,
    password: str,
    role: Role,
    division_code: str = "",
    funder: str = "",
    categories: tuple[str, ...] = (),
    channel: str = "",
    actor: AbstractBaseUser | None,
) -> Account:
    """A new user with its role. Each role gets exactly the attachments it needs: a township
    or village for the local roles, a funder and its categories for a department, one channel
    for an integration.

    ``actor`` None is the bootstrap of a fresh database: allowed only while no account exists,
    and only for a county administrator, who is recorded as having created itself."""
    User = get_user_model()
    if actor is None and Account.objects.exists():
        raise InputError("actor_required", "已有账号：新建账号须由有管理权限的账号操作")
    if actor is None and role is not Role.COUNTY_ADMIN:
        raise InputError(
            "first_account_admin", f"第一个账号须为{Role.COUNTY_ADMIN.label}（county_admin）"
        )
    if User.objects.filter(username=username).exists():
        raise InputError("account_exists", f"账号“{username}”已存在")
    division = _division_for(role, division_code)
    if role is Role.DEPARTMENT_CLERK:
        if funder not in FUNDER_NAMES:
            raise InputError(
                "unknown_funder", f"未知的资助方“{funder}”，可选：{'、'.join(FUNDER_NAMES)}"
            )
        unknown = [c for c in categories if c not in CATEGORY_NAMES]
        if unknown:
            raise InputError("unknown_category", f"未知的人员类别：{'、'.join(unknown)}")
    elif funder or categories:
        raise InputError("funder_not_for_role", "只有部门经办人员账号可指定资助方和人员类别")
    if role is Role.INTEGRATION:
        if channel not in Channel.values:
            raise InputError(
                "unknown_channel", f"未知的缴费渠道“{channel}”，可选：{'、'.join(Channel.values)}"
            )
    elif channel:
        raise InputError("channel_not_for_role", "只有系统对接账号可指定缴费渠道")
    _check_password(password, User(username=username))
    with transaction.atomic():
        user = User.objects.create_user(username=username, password=password)
        account = Account.objects.create(
            user=user,
            role=role,
            division=division,
            funder=funder,
            categories=list(categories),
            channel=channel,
        )
        record_audit(
            action="account_create",
            actor=actor or user,
            details={"account": username, "role": role.value, "division": division_code},
        )
    return account


def change_password(*, account: Account, password: str, actor: AbstractBaseUser) -> None:
    _check_password(password, account.user)
    with transaction.atomic():
        account.user.set_password(password)
        account.user.save(update_fields=["password"])
        record_audit(
            action="account_password",
            actor=actor,
            details={"account": account.user.get_username()},
        )


def disable_account(*, account: Account, actor: AbstractBaseUser) -> None:
    """The user can no longer log in nor act, and its tokens are revoked; its audit rows and
    the batches it imported keep naming it."""
    with transaction.atomic():
        account.user.is_active = False
        account.user.save(update_fields=["is_active"])
        account.tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        record_audit(
            action="account_disable",
            actor=actor,
            details={"account": account.user.get_username()},
        )


def _check_password(password: str, user: Any = None) -> None:
    try:
        validate_password(password, user)
    except ValidationError as invalid:
        raise InputError(
            "weak_password", "密码不符合要求：" + "；".join(invalid.messages)
        ) from None


def _division_for(role: Role, code: str) -> Division | None:
    level = _LEVEL_OF_ROLE.get(role)
    if level is None:
        if code:
            raise InputError("division_not_for_role", f"{role.label}的账号管辖全县，不指定区划")
        return None
    division = Division.objects.filter(code=code, level=level).first()
    if division is None:
        raise InputError(
            "unknown_division", f"{role.label}须指定所辖{level.label}区划，未找到代码“{code}”"
        )
    return division


def issue_token(*, account: Account, actor: AbstractBaseUser) -> str:
    """A new token for an integration; the caller shows it once, it is not kept."""
    if account.role != Role.INTEGRATION:
        raise InputError("token_not_for_role", "只有系统对接账号可以签发接口令牌")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        ApiToken.objects.create(account=account, prefix=raw[:8], digest=_digest(raw))
        record_audit(
            action="token_issue",
            actor=actor,
            details={"account": account.user.get_username(), "prefix": raw[:8]},
        )
    return raw


def account_for_token(raw: str) -> Account | None:
    """The integration a bearer token belongs to, if the token is live and its user active."""
    token = (
        ApiToken.objects.select_related("account__user")
        .filter(digest=_digest(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.account.user.is_active:
        return None
    return token.account


def revoke_tokens(*, account: Account, actor: AbstractBaseUser) -> int:
    with transaction.atomic():
        count = account.tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        record_audit(
            action="token_revoke",
            actor=actor,
            details={"account": account.user.get_username(), "count": count},
        )
    return count


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()
