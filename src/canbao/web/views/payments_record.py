"""记现金缴费: a village collector or township clerk records one cash payment against its
receipt for a resident of their own (``canbao.collection.cash``), and sees where the resident
stands afterwards: enrolled, or held and why.

The resident is found by a search (a POST: ID numbers never travel in a URL) among the residents
of the account's scope, and addressed by the internal key; another village's resident is not
found, exactly as one that does not exist. The receipt number is the payment's key: the same
form sent twice (a double click, a reload) records once and says so.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from canbao.accounts.scope import Permission, Scope
from canbao.collection.cash import record_cash_payment
from canbao.collection.ledger import positions
from canbao.collection.payment_values import RECEIPT_DIGITS_MAX, parse_yuan, receipt_number
from canbao.collection.receipts import receipt_label
from canbao.errors import InputError
from canbao.masking import mask_id
from canbao.web.access import staff_page
from canbao.web.styled import StyledForm
from canbao.web.views.payments import money_context
from canbao.web.views.residents import SEARCH_LIMIT, SearchForm, search


class CashForm(StyledForm):
    amount = forms.CharField(
        label="金额（元）",
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text="以元为单位，最多两位小数，例如 250 或 250.00",
    )
    receipt = forms.CharField(
        label="收据号码",
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        help_text="收款收据上印的号码",
    )
    paid_on = forms.DateField(
        label="缴费日期", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean_amount(self) -> int:
        text = self.cleaned_data["amount"]
        try:
            fen = parse_yuan(text)
        except ValueError as error:
            raise ValidationError(str(error)) from None
        if fen <= 0:
            raise ValidationError("金额须大于0。")
        return fen

    def clean_receipt(self) -> int:
        text = self.cleaned_data["receipt"]
        number = receipt_number(text)
        if number is None:
            raise ValidationError(
                f"收据号码“{text}”须为收据上印的正整数号码（至多{RECEIPT_DIGITS_MAX}位）。"
            )
        return number


@never_cache
@staff_page(Permission.RECORD_PAYMENT)
def record_payment(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Whose payment: a search among the account's own residents."""
    form = SearchForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {
        **money_context(scope, "web:payments_record"),
        "form": form,
        "limit": SEARCH_LIMIT,
    }
    if request.method == "POST" and form.is_valid():
        context["results"], context["more"] = search(scope, form.cleaned_data["q"])
        context["searched"] = True
    return render(request, "web/payments/record_search.html", context)


@never_cache
@staff_page(Permission.RECORD_PAYMENT)
def record_payment_for(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    resident = scope.resident(pk)
    context: dict[str, Any] = {
        **money_context(scope, "web:payments_record"),
        "resident": resident,
        "shown_id": mask_id(resident.id_number) if scope.masks_identity else resident.id_number,
    }
    campaign = context["money_campaign"]
    if campaign is None:
        return render(request, "web/payments/record.html", context)
    if request.method == "POST":
        form = CashForm(request.POST)
        if form.is_valid():
            try:
                outcome = record_cash_payment(
                    campaign=campaign,
                    resident=resident,
                    receipt=form.cleaned_data["receipt"],
                    amount_fen=form.cleaned_data["amount"],
                    paid_on=form.cleaned_data["paid_on"],
                    actor=scope.user,
                )
            except InputError as refused:
                form.add_error(None, f"未记账：{refused.message}")
            else:
                context["recorded"] = outcome
                context["receipt"] = receipt_label(form.cleaned_data["receipt"])
    else:
        form = CashForm(initial={"paid_on": timezone.localdate()})
    context["form"] = form
    context["position"] = positions(campaign=campaign, resident_ids=[resident.pk])[resident.pk]
    return render(request, "web/payments/record.html", context)
