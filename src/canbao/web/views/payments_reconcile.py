"""每日对账: per day, the tax bureau's detail against the banks' credits and what Canbao recorded
(``canbao.collection.reconciliation``), each difference explained, the day closed, and a closed
day reopened with a reason (``canbao.collection.closing``): the same services as
``canbao reconcile``. Those who see the money see the days; reconciling, explaining, closing and
reopening need RECONCILE."""

from __future__ import annotations

import shutil
from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from canbao.accounts.scope import NotFound, Permission, Scope
from canbao.campaigns.models import Campaign
from canbao.collection.closing import close_day, explain_difference, reopen_day
from canbao.collection.models import Difference, ReconciliationDay
from canbao.collection.reconciliation import DayResult, DifferenceView, figures, reconcile_day
from canbao.errors import InputError
from canbao.registry.batches import ERRORS_LISTED, ImportUsageError
from canbao.web.access import staff_page
from canbao.web.context import current_campaign
from canbao.web.styled import StyledForm
from canbao.web.views.imports import keep_upload, upload_folder
from canbao.web.views.payments import money_context


class ReconcileForm(StyledForm):
    day = forms.DateField(
        label="对账日期", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    tax_file = forms.FileField(label="税务部门当日缴费明细", help_text="与税务缴费明细的格式相同")
    bank_file = forms.FileField(
        label="银行入账合计（可不选）",
        required=False,
        help_text="日期、银行、入账金额、笔数；已导入过的不必再选",
    )


class ReasonForm(StyledForm):
    reason = forms.CharField(label="原因", max_length=300)


def _campaign() -> Campaign:
    campaign = current_campaign()
    if campaign is None:
        raise NotFound
    return campaign


@staff_page(Permission.VIEW_MONEY)
def reconcile(request: HttpRequest, scope: Scope) -> HttpResponse:
    context: dict[str, Any] = money_context(scope, "web:payments_reconcile")
    campaign = context["money_campaign"]
    may_act = scope.allows(Permission.RECONCILE)
    if campaign is None:
        return render(request, "web/payments/reconcile.html", context)
    form = ReconcileForm(request.POST or None, request.FILES or None) if may_act else None
    if request.method == "POST":
        scope.require(Permission.RECONCILE)
        assert form is not None
        if form.is_valid():
            result = _reconcile(form, campaign, scope)
            if result is not None and not result.refused:
                messages.success(request, result.message)
                return redirect("web:payments_reconcile_day", day=result.day.isoformat())
            context["refused"] = result
            if result is not None:
                context["errors"] = result.errors[:ERRORS_LISTED]
                context["more_errors"] = max(len(result.errors) - ERRORS_LISTED, 0)
    days = (
        ReconciliationDay.objects.filter(campaign=campaign)
        .annotate(
            differences_n=Count("differences"),
            unexplained=Count("differences", filter=Q(differences__explanation="")),
        )
        .order_by("-day")
    )
    context.update(form=form, days=days, may_act=may_act)
    return render(request, "web/payments/reconcile.html", context)


def _reconcile(form: ReconcileForm, campaign: Campaign, scope: Scope) -> DayResult | None:
    """Run the day's reconciliation on the uploaded files (removed afterwards); None, with the
    form's error, when it could not run."""
    folder = upload_folder()
    try:
        tax = keep_upload(folder / "tax", form.cleaned_data["tax_file"])
        bank_upload = form.cleaned_data["bank_file"]
        bank = keep_upload(folder / "bank", bank_upload) if bank_upload else None
        return reconcile_day(
            campaign=campaign,
            day=form.cleaned_data["day"],
            tax_file=tax,
            bank_file=bank,
            actor=scope.user,
        )
    except (InputError, ImportUsageError) as refused:
        form.add_error(None, f"未对账：{refused}")
        return None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _day(campaign: Campaign, day: str) -> ReconciliationDay:
    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise NotFound from None
    record = ReconciliationDay.objects.filter(campaign=campaign, day=when).first()
    if record is None:
        raise NotFound
    return record


@staff_page(Permission.VIEW_MONEY)
def reconcile_day_page(request: HttpRequest, scope: Scope, day: str) -> HttpResponse:
    campaign = _campaign()
    record = _day(campaign, day)
    result = figures(DayResult(campaign=campaign.pk, day=record.day), record)
    may_act = scope.allows(Permission.RECONCILE)
    context = {
        **money_context(scope, "web:payments_reconcile"),
        "record": record,
        "result": result,
        "may_act": may_act,
        "open": record.status == ReconciliationDay.Status.OPEN,
        "reason_form": ReasonForm(),
    }
    return render(request, "web/payments/reconcile_day.html", context)


@staff_page(Permission.RECONCILE)
@require_POST
def explain(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    campaign = _campaign()
    difference = Difference.objects.filter(pk=pk, day__campaign=campaign).select_related("day")
    found = difference.first()
    if found is None:
        raise NotFound
    form = ReasonForm(request.POST)
    refused = ""
    view = DifferenceView.of(found)
    if not form.is_valid():
        refused = "请写明差异原因（不超过300个字）。"
    else:
        try:
            view = explain_difference(
                difference_id=pk, reason=form.cleaned_data["reason"], actor=scope.user
            )
        except InputError as error:
            refused = error.message
    if not request.htmx:  # type: ignore[attr-defined]
        if refused:
            messages.error(request, f"未说明：{refused}")
        return redirect("web:payments_reconcile_day", day=found.day.day.isoformat())
    open_day = found.day.status == ReconciliationDay.Status.OPEN
    return render(
        request,
        "web/payments/_difference_row.html",
        {"d": view, "may_act": True, "open": open_day, "refused": refused},
    )


@staff_page(Permission.RECONCILE)
@require_POST
def close(request: HttpRequest, scope: Scope, day: str) -> HttpResponse:
    campaign = _campaign()
    record = _day(campaign, day)
    try:
        result = close_day(campaign=campaign, day=record.day, actor=scope.user)
    except InputError as error:
        messages.error(request, error.message)
    else:
        if result.refused:
            messages.error(request, result.message)
        else:
            messages.success(request, result.message)
    return redirect("web:payments_reconcile_day", day=day)


@staff_page(Permission.RECONCILE)
@require_POST
def reopen(request: HttpRequest, scope: Scope, day: str) -> HttpResponse:
    campaign = _campaign()
    record = _day(campaign, day)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "重新打开已结账的日期须写明原因（不超过300个字）。")
        return redirect("web:payments_reconcile_day", day=day)
    try:
        result = reopen_day(
            campaign=campaign, day=record.day, reason=form.cleaned_data["reason"], actor=scope.user
        )
    except InputError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, result.message)
    return redirect("web:payments_reconcile_day", day=day)
