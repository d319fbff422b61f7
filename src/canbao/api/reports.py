"""Reports: coverage at a day (within the caller's divisions), a department's bill (its own, or
any for the county's roles), and the ledger's accounting equation (auditors). ID numbers in them
are masked for roles that do not see identities whole."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Path, Query, Router

from canbao.accounts.scope import NotFound, Permission, Scope
from canbao.api.auth import campaign_for, scope_of
from canbao.api.errors import FieldError, InvalidInput
from canbao.api.schemas import ERRORS, BillOut, CoverageOut, DivisionCode, LedgerCheckOut, Pk
from canbao.collection.bills import funder_bill
from canbao.collection.ledger import check_ledger
from canbao.masking import mask_id
from canbao.policy.codes import FUNDER_NAMES
from canbao.reports.coverage import coverage

router = Router(tags=["报表"])
# Days a coverage report can be asked for: Python's dates end in 9999, a week before must exist.
FIRST_DAY, LAST_DAY = date(1990, 1, 1), date(2999, 12, 31)


def _masked(scope: Scope, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if scope.masks_identity:
        for row in rows:
            row["id_number"] = mask_id(row["id_number"])
    return rows


@router.get(
    "/reports/coverage",
    response={200: CoverageOut, **ERRORS},
    operation_id="get_coverage",
    summary="参保进度：各乡镇或各村的任务数、参保人数、参保率、排名",
    description="as_of 不填为今天；level 为 township（各乡镇）或 village（各村）；within 为"
    "本账号管辖范围内的区划代码，不填为本账号所辖区划（县级角色为全县）。参保率为一位小数的"
    "百分数字符串。需要“查看进度”权限。",
)
def get_coverage(
    request: HttpRequest,
    as_of: Query[date | None] = None,
    level: Query[Literal["township", "village"]] = "township",
    within: Query[DivisionCode | None] = None,
    campaign: Query[Pk | None] = None,
) -> dict[str, Any]:
    scope = scope_of(request)
    scope.require(Permission.VIEW_PROGRESS)
    day = as_of or timezone.localdate()
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput(
            [FieldError("as_of", "date_out_of_range", f"日期须在{FIRST_DAY}至{LAST_DAY}之间")]
        )
    if within:
        division = scope.division(within)
    elif scope.county_wide:
        division = None  # the campaign's area
    else:
        division = scope.home()
    report = coverage(campaign=campaign_for(campaign), as_of=day, level=level, within=division)
    return report.as_json()


@router.get(
    "/reports/bills/{funder}",
    response={200: BillOut, **ERRORS},
    operation_id="get_bill",
    summary="部门资助账单：应资助、已代缴、未缴余额",
    description="funder 为资助方代码（如 civil_affairs、medical_assistance）。部门账号只能读"
    "本部门的账单，其他资助方与不存在的一样，都是 404。需要“资助账单”权限。",
)
def get_bill(
    request: HttpRequest, funder: Path[str], campaign: Query[Pk | None] = None
) -> dict[str, Any]:
    scope = scope_of(request)
    scope.require(Permission.BILLS)
    allowed = scope.funders()
    if funder not in FUNDER_NAMES or (allowed is not None and funder not in allowed):
        raise NotFound
    bill = funder_bill(campaign_for(campaign), funder).as_json()
    _masked(scope, bill["lines"])
    return bill


@router.get(
    "/ledger/check",
    response={200: LedgerCheckOut, **ERRORS},
    operation_id="check_ledger",
    summary="账目核对：收到 = 参保入账 + 挂账 + 冲正",
    description="逐人、逐笔查无此人的缴费及合计核对；已结账日的数字与缴费记录不符的也列出。"
    "需要“审计”权限。",
)
def get_ledger_check(request: HttpRequest, campaign: Query[Pk | None] = None) -> dict[str, Any]:
    scope = scope_of(request)
    scope.require(Permission.AUDIT)
    check = check_ledger(campaign_for(campaign)).as_json()
    _masked(scope, check["unbalanced"])
    return check
