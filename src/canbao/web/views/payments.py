"""收缴: the money's pages. This module holds their tabs and the suspense list (挂账) with the
actions that resolve a held amount: recheck after the registry, an assessment or the policy's
amount is settled (``recheck_held_payments``), or reverse the payment (``reverse_payment``);
otherwise the page says what to do. The other tabs: recording a cash payment
(``payments_record``), bank withholding (``payments_withholding``) and daily reconciliation
(``payments_reconcile``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from canbao.accounts.scope import NotFound, Permission, Scope
from canbao.campaigns.models import Campaign
from canbao.collection.models import Payment, Suspense
from canbao.collection.selectors import suspense_list
from canbao.collection.services import recheck_held_payments, reverse_payment
from canbao.errors import InputError
from canbao.masking import mask_id
from canbao.reports.documents.formats import yuan_text
from canbao.web.access import MONEY_PERMISSIONS, staff_page
from canbao.web.context import current_campaign
from canbao.web.styled import StyledForm

Reason = Suspense.Reason

TABS = (
    ("web:payments_suspense", "挂账", Permission.VIEW_MONEY),
    ("web:payments_record", "记现金缴费", Permission.RECORD_PAYMENT),
    ("web:payments_withholding", "委托代扣", Permission.WITHHOLDING),
    ("web:payments_reconcile", "每日对账", Permission.VIEW_MONEY),
)
SUSPENSE_PAGE = 50

# What resolves a held amount of each reason: recheck it, reverse a payment, and what to do.
RECHECK = frozenset({Reason.NOT_ASSESSED, Reason.PENDING_AMOUNT, Reason.NOT_ELIGIBLE})
REVERSE = frozenset(
    {Reason.UNKNOWN_PERSON, Reason.EXCESS, Reason.OUTSIDE_WINDOW, Reason.NOT_ELIGIBLE}
)
ADVICE = {
    Reason.UNKNOWN_PERSON: (
        "核对证件号码和姓名：填错的，请缴费渠道按正确的号码、姓名更正后重新缴费；"
        "不是本县居民的，退还本人。原来这一笔退库后冲正。"
    ),
    Reason.NOT_ASSESSED: "此人尚未核定：核定后重新核对，能参保的即参保。",
    Reason.PENDING_AMOUNT: "政策尚未公布应缴金额：公布并核定后重新核对。",
    Reason.NOT_ELIGIBLE: (
        "核定为不能参保：登记有误的（如职工医保标错），改正登记、重新核定后重新核对；"
        "确实不能参保的，退还后冲正。"
    ),
    Reason.PARTIAL: "通知本人补足差额，补缴的钱到账后自动参保。",
    Reason.EXCESS: (
        "多缴的部分按当地规定退还或结转下一年度；同一人缴了两笔的，退还其中一笔后把那一笔冲正。"
    ),
    Reason.OUTSIDE_WINDOW: "缴清之日不在政策的缴费期内：按政策处理，退还的把该笔缴费冲正。",
}


def tabs(scope: Scope, active: str) -> list[dict[str, Any]]:
    return [
        {"url": url, "label": label, "active": url == active}
        for url, label, permission in TABS
        if scope.allows(permission)
    ]


def money_context(scope: Scope, active: str) -> dict[str, Any]:
    """What every money page shows: its tabs, and the campaign (None before there is one)."""
    return {"tabs": tabs(scope, active), "money_campaign": current_campaign()}


@staff_page(MONEY_PERMISSIONS)
def payments(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The first tab the account may open."""
    return redirect(tabs(scope, "")[0]["url"])


class ReverseForm(StyledForm):
    payment = forms.TypedChoiceField(
        label="冲正哪一笔",
        coerce=int,
        error_messages={
            "required": "请选择要冲正的缴费。",
            "invalid_choice": "请选择要冲正的缴费。",
        },
    )
    reason = forms.CharField(
        label="冲正原因", max_length=200, error_messages={"required": "请写明冲正原因。"}
    )

    def __init__(self, *args: Any, payments: list[Payment], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["payment"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(p.pk, _payment_label(p)) for p in payments]


def _payment_label(payment: Payment) -> str:
    return (
        f"{payment.paid_on.isoformat()} {payment.get_channel_display()} "
        f"流水号{payment.key} {yuan_text(payment.amount_fen)}元"
    )


def _live_payments(campaign: Campaign, item: Suspense) -> list[Payment]:
    """The payments a hold's reversal may take: its own (a payment held on its own), or the
    resident's neither reversed nor reversals."""
    if item.resident_id is None:
        return [item.payment] if item.payment is not None else []
    return list(
        Payment.objects.filter(
            campaign=campaign,
            resident_id=item.resident_id,
            reverses__isnull=True,
            reversed_by__isnull=True,
        ).order_by("paid_on", "pk")
    )


def _row(campaign: Campaign, scope: Scope, line: dict[str, Any]) -> dict[str, Any]:
    """A line of ``suspense_list`` as the page shows it, with what may resolve it."""
    reason = line["reason"]
    shown = dict(line)
    if scope.masks_identity:
        # The message of a hold may name the ID number too (查无此人).
        masked = mask_id(line["id_number"])
        shown["id_number"] = masked
        shown["message"] = line["message"].replace(line["id_number"], masked)
    shown["advice"] = ADVICE[Reason(reason)]
    open_now = line["resolved_at"] is None
    may = scope.allows(Permission.RESOLVE_HELD) and open_now
    shown["recheck"] = may and reason in RECHECK
    shown["reverse"] = None
    if may and reason in REVERSE:
        item = Suspense.objects.select_related("payment").get(pk=line["id"])
        shown["reverse"] = ReverseForm(
            payments=_live_payments(campaign, item), prefix=f"s{line['id']}"
        )
    return shown


@staff_page(Permission.VIEW_MONEY)
def suspense(request: HttpRequest, scope: Scope) -> HttpResponse:
    context = money_context(scope, "web:payments_suspense")
    campaign = context["money_campaign"]
    if campaign is None:
        return render(request, "web/payments/suspense.html", context)
    everything = suspense_list(campaign=campaign)
    reason = request.GET.get("reason", "")
    counts: dict[str, dict[str, Any]] = {}
    for line in everything:
        count = counts.setdefault(
            line["reason"], {"reason": line["reason"], "label": line["reason_label"], "n": 0}
        )
        count["n"] += 1
    lines = [line for line in everything if not reason or line["reason"] == reason]
    page = Paginator(lines, SUSPENSE_PAGE).get_page(request.GET.get("page"))
    context.update(
        reason=reason,
        may_resolve=scope.allows(Permission.RESOLVE_HELD),
        counts=list(counts.values()),
        total=len(everything),
        total_fen=sum(line["amount_fen"] for line in everything),
        page=page,
        rows=[_row(campaign, scope, line) for line in page.object_list],
    )
    return render(request, "web/payments/suspense.html", context)


def _campaign_and_hold(pk: int) -> tuple[Campaign, Suspense]:
    campaign = current_campaign()
    item = None
    if campaign is not None:
        item = Suspense.objects.filter(campaign=campaign, pk=pk).select_related("payment").first()
    if campaign is None or item is None:
        raise NotFound
    return campaign, item


def _answer(
    request: HttpRequest,
    scope: Scope,
    campaign: Campaign,
    pk: int,
    *,
    done: str = "",
    refused: str = "",
    form: ReverseForm | None = None,
) -> HttpResponse:
    """The hold's row again, redrawn in place (htmx), or the list with the outcome as a
    message."""
    if not request.htmx:  # type: ignore[attr-defined]
        if refused:
            messages.error(request, refused)
        else:
            messages.success(request, done)
        return redirect("web:payments_suspense")
    line = next(
        line for line in suspense_list(campaign=campaign, open_only=False) if line["id"] == pk
    )
    row = _row(campaign, scope, line)
    if form is not None and row["reverse"] is not None:
        row["reverse"] = form
    return render(
        request, "web/payments/_suspense_row.html", {"row": row, "done": done, "refused": refused}
    )


@staff_page(Permission.RESOLVE_HELD)
@require_POST
def recheck(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    campaign, _ = _campaign_and_hold(pk)
    outcome = recheck_held_payments(campaign=campaign, actor=scope.user)
    done = f"已重新核对挂账缴费：新参保{outcome.enrolled}人，挂账已处理{outcome.resolved}笔。"
    return _answer(request, scope, campaign, pk, done=done)


@staff_page(Permission.RESOLVE_HELD)
@require_POST
def recheck_all(request: HttpRequest, scope: Scope) -> HttpResponse:
    campaign = current_campaign()
    if campaign is None:
        raise NotFound
    outcome = recheck_held_payments(campaign=campaign, actor=scope.user)
    messages.success(
        request, f"已重新核对挂账缴费：新参保{outcome.enrolled}人，挂账已处理{outcome.resolved}笔。"
    )
    return redirect("web:payments_suspense")


@staff_page(Permission.RESOLVE_HELD)
@require_POST
def reverse(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    campaign, item = _campaign_and_hold(pk)
    if item.resolved_at is not None or item.reason not in REVERSE:
        raise NotFound
    form = ReverseForm(request.POST, payments=_live_payments(campaign, item), prefix=f"s{pk}")
    if not form.is_valid():
        refused = "；".join(str(e) for errors in form.errors.values() for e in errors)
        return _answer(request, scope, campaign, pk, refused=f"未冲正：{refused}", form=form)
    payment = Payment.objects.get(pk=form.cleaned_data["payment"])
    try:
        reversal = reverse_payment(
            campaign=campaign,
            channel=payment.channel,
            key=payment.key,
            reason=form.cleaned_data["reason"],
            actor=scope.user,
        )
    except InputError as error:
        return _answer(request, scope, campaign, pk, refused=f"未冲正：{error.message}", form=form)
    done = f"已冲正流水号{payment.key}，冲正金额{yuan_text(-reversal.amount_fen)}元。"
    return _answer(request, scope, campaign, pk, done=done)
