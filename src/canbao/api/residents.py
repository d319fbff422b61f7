"""Residents: found by ID number (POST, so that the number stays out of URLs and logs), read by
their internal id, with their assessment and their position in the ledger. Every read goes
through the caller's scope and leaves a ``view_resident`` audit row."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router

from canbao.accounts.scope import Permission, Scope
from canbao.api.auth import campaign_for, scope_of
from canbao.api.errors import Refused
from canbao.api.schemas import (
    ERRORS,
    AssessmentOut,
    Pk,
    PositionOut,
    ResidentListOut,
    ResidentOut,
    ResidentSearchIn,
)
from canbao.campaigns.models import Assessment
from canbao.campaigns.selectors import resident_quote
from canbao.collection.ledger import resident_statement
from canbao.collection.models import Enrollment
from canbao.idnumber import normalize
from canbao.masking import mask_id, mask_phone
from canbao.policy.codes import CATEGORY_NAMES, FUNDER_NAMES, pending_names
from canbao.registry.batches import record_audit
from canbao.registry.models import Resident
from canbao.registry.selectors import with_id_number

router = Router(tags=["人员"])
SEARCH_LIMIT = 20


def _viewed(scope: Scope, resident: Resident, read: str) -> None:
    record_audit(
        action="view_resident",
        actor=scope.user,
        resident_id=resident.pk,
        details={"via": "api", "read": read},
    )


def resident_json(scope: Scope, resident: Resident) -> dict[str, Any]:
    village = resident.village
    township = village.parent
    facts = sorted(resident.categories.all(), key=lambda f: (f.category, f.source))
    return {
        "id": resident.pk,
        "id_type": resident.id_type,
        "id_type_label": resident.get_id_type_display(),
        "id_number": mask_id(resident.id_number) if scope.masks_identity else resident.id_number,
        "name": resident.name,
        "sex": resident.sex,
        "birth_date": resident.birth_date,
        "phone": mask_phone(resident.phone) if scope.masks_identity else resident.phone,
        "village": {"code": village.code, "name": village.name},
        "township": {"code": township.code, "name": township.name} if township else None,
        "household": {"number": resident.household.number, "relation": resident.relation},
        "categories": [
            {
                "category": f.category,
                "label": CATEGORY_NAMES.get(f.category, f.category),
                "source": f.source,
                "valid_from": f.valid_from,
                "valid_to": f.valid_to,
            }
            for f in facts
        ],
        "status": resident.status,
        "status_label": resident.get_status_display(),
        "status_date": resident.status_date,
        "employee_insured": resident.employee_insured,
        "insured_elsewhere": resident.insured_elsewhere,
    }


def _resident(scope: Scope, pk: int) -> Resident:
    scope.require(Permission.VIEW_RESIDENTS)
    return scope.resident(pk)


@router.post(
    "/residents/search",
    response={200: ResidentListOut, **ERRORS},
    operation_id="search_residents",
    summary="按证件号码查找人员",
    description="本账号管辖范围内持此证件号码的人员（每种证件至多一人），没有则为空列表。"
    "证件号码放在请求体中，不进入地址和日志。需要“查看人员”权限。",
)
def search_residents(request: HttpRequest, payload: ResidentSearchIn) -> dict[str, Any]:
    scope = scope_of(request)
    scope.require(Permission.VIEW_RESIDENTS)
    number = normalize(payload.id_number).upper()
    found = list(
        with_id_number(scope.residents(), number)
        .select_related("village__parent", "household")
        .prefetch_related("categories")
        .order_by("pk")[:SEARCH_LIMIT]
    )
    for resident in found:
        _viewed(scope, resident, "search")
    return {"residents": [resident_json(scope, r) for r in found]}


@router.get(
    "/residents/{pk}",
    response={200: ResidentOut, **ERRORS},
    operation_id="get_resident",
    summary="人员信息",
    description="身份、所在村和户、人员类别、状态。无权查看完整身份的角色看到遮蔽的证件号码和电话。"
    "不存在和不在管辖范围内一样，都是 404 not_found。",
)
def get_resident(request: HttpRequest, pk: Path[Pk]) -> dict[str, Any]:
    scope = scope_of(request)
    resident = _resident(scope, pk)
    _viewed(scope, resident, "identity")
    return resident_json(scope, resident)


@router.get(
    "/residents/{pk}/assessment",
    response={200: AssessmentOut, **ERRORS},
    operation_id="get_assessment",
    summary="人员的核定：应缴、各资助方资助、适用规则、待遇期",
    description="campaign 不填为当前的参保缴费工作。已参保的，规则和待遇期为缴费时适用的；"
    "未参保的，为核定日适用的。本次工作中尚未核定的人员：404 not_assessed。",
)
def get_assessment(
    request: HttpRequest, pk: Path[Pk], campaign: Query[Pk | None] = None
) -> dict[str, Any]:
    scope = scope_of(request)
    resident = _resident(scope, pk)
    chosen = campaign_for(campaign)
    assessment = Assessment.objects.filter(campaign=chosen, resident=resident).first()
    _viewed(scope, resident, "assessment")
    if assessment is None:
        raise Refused(404, "not_assessed", "该人员在本次参保缴费工作中尚未核定应缴金额。")
    enrollment = Enrollment.objects.filter(campaign=chosen, resident=resident).first()
    day, explained = resident_quote(chosen, resident)
    rule = explained.rule.name if explained.rule is not None else None
    return {
        "campaign": chosen.pk,
        "resident": resident.pk,
        "eligible": assessment.eligible,
        "refusal_code": assessment.refusal_code,
        "refusal": assessment.refusal,
        "attribute": assessment.attribute,
        "categories": [c for c in assessment.categories.split(",") if c],
        "personal_fen": assessment.personal_fen,
        "subsidy_fen": assessment.subsidy_fen,
        "payable_fen": assessment.payable_fen,
        "shares": [
            {"funder": funder, "funder_name": FUNDER_NAMES.get(funder, funder), "fen": fen}
            for funder, fen in assessment.shares.order_by("funder").values_list("funder", "fen")
        ],
        "pending": pending_names(assessment.pending) if assessment.pending else "",
        "assessed_at": assessment.assessed_at,
        "frozen_at": assessment.frozen_at,
        "reference_day": day,
        "rule": enrollment.rule if enrollment else rule,
        "explain": list(explained.explain),
        "coverage_start": enrollment.coverage_start if enrollment else explained.coverage_start,
        "coverage_end": enrollment.coverage_end if enrollment else explained.coverage_end,
        "enrollment": None
        if enrollment is None
        else {
            "enrolled_on": enrollment.enrolled_on,
            "coverage_start": enrollment.coverage_start,
            "coverage_end": enrollment.coverage_end,
            "rule": enrollment.rule,
            "paid_fen": enrollment.paid_fen,
        },
    }


@router.get(
    "/residents/{pk}/position",
    response={200: PositionOut, **ERRORS},
    operation_id="get_position",
    summary="人员的账：应缴、已缴、参保入账、挂账、冲正，及每笔缴费",
    description="收到 = 参保入账 + 挂账 + 冲正（balanced 为 true）。金额均为分。",
)
def get_position(
    request: HttpRequest, pk: Path[Pk], campaign: Query[Pk | None] = None
) -> dict[str, Any]:
    scope = scope_of(request)
    resident = _resident(scope, pk)
    chosen = campaign_for(campaign)
    statement = resident_statement(campaign=chosen, resident=resident)
    _viewed(scope, resident, "position")
    position = statement["position"]
    for part in ("shares", "by_funder"):
        for row in position[part]:
            row["funder_name"] = FUNDER_NAMES.get(row["funder"], row["funder"])
    return {
        **position,
        "campaign": chosen.pk,
        "resident": resident.pk,
        "payments": statement["payments"],
    }
