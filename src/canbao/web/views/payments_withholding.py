"""委托代扣: the withholding rounds of the campaign with their lines and what the bank returned,
the deduction file of a new round (first round or retry of the retryable failures) to download,
and the failures the townships must chase. Agreements and the bank's return files are imported
on the imports page, by the same services as ``canbao withholding``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from django import forms
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from canbao.accounts.scope import NotFound, Permission, Scope
from canbao.collection.models import WithholdingAgreement, WithholdingBatch, WithholdingLine
from canbao.collection.withholding import (
    FOLLOWUP_ORDER,
    WithholdingError,
    create_batch,
    create_retry,
    followup,
    write_followup_xlsx,
)
from canbao.web.access import staff_page
from canbao.web.context import current_campaign
from canbao.web.styled import StyledForm
from canbao.web.views.downloads import download
from canbao.web.views.payments import money_context

Result = WithholdingLine.Result
# The file formats the bank takes: (suffix, encoding of a CSV).
FORMATS = {
    "xlsx": ("xlsx", "utf-8-sig"),
    "csv": ("csv", "utf-8-sig"),
    "csv-gb18030": ("csv", "gb18030"),
}


class RoundForm(StyledForm):
    retry = forms.TypedChoiceField(
        label="生成",
        choices=[("0", "首轮代扣文件"), ("1", "失败重扣文件（只含可重扣的失败）")],
        coerce=lambda value: value == "1",
    )
    fmt = forms.ChoiceField(
        label="文件格式",
        choices=[
            ("xlsx", "Excel 表格（.xlsx）"),
            ("csv", "CSV（UTF-8）"),
            ("csv-gb18030", "CSV（GB18030）"),
        ],
    )


@staff_page(Permission.WITHHOLDING)
def withholding(request: HttpRequest, scope: Scope) -> HttpResponse:
    context: dict[str, Any] = {
        **money_context(scope, "web:payments_withholding"),
        "form": RoundForm(),
    }
    campaign = context["money_campaign"]
    if campaign is None:
        return render(request, "web/payments/withholding.html", context)
    rounds = (
        WithholdingBatch.objects.filter(campaign=campaign)
        .select_related("retry_of")
        .annotate(
            sent=Count("lines"),
            total_fen=Sum("lines__amount_fen"),
            waiting=Count("lines", filter=Q(lines__result="")),
            succeeded=Count("lines", filter=Q(lines__result=Result.SUCCESS)),
            succeeded_fen=Sum("lines__amount_fen", filter=Q(lines__result=Result.SUCCESS)),
            failed=Count("lines", filter=~Q(lines__result__in=["", Result.SUCCESS])),
        )
        .order_by("-sequence")
    )
    failures = Counter(row.result for row in followup(campaign=campaign))
    labels = dict(Result.choices)
    context.update(
        rounds=rounds,
        agreements=WithholdingAgreement.objects.filter(active=True).count(),
        failures=[
            {"label": labels[code], "n": failures[code]}
            for code in FOLLOWUP_ORDER
            if failures[code]
        ],
        failed=sum(failures.values()),
        imports=reverse("web:imports"),
    )
    return render(request, "web/payments/withholding.html", context)


@staff_page(Permission.WITHHOLDING)
@require_POST
def withholding_file(request: HttpRequest, scope: Scope) -> HttpResponseBase:
    """The deduction file of a new round, made and handed out at once: making it marks its lines
    as sent to the bank."""
    campaign = current_campaign()
    form = RoundForm(request.POST)
    if campaign is None or not form.is_valid():
        raise NotFound
    retry = form.cleaned_data["retry"]
    suffix, encoding = FORMATS[form.cleaned_data["fmt"]]
    make = create_retry if retry else create_batch

    def write(path: Path) -> None:
        done = make(campaign=campaign, out=path, actor=scope.user, encoding=encoding, force=True)
        if done.batch is None:
            raise WithholdingError("nothing_to_send", done.message)

    what = "失败重扣文件" if retry else "代扣文件"
    return download(
        request,
        write=write,
        filename=f"委托代扣-{what}.{suffix}",
        details={"what": "withholding_retry" if retry else "withholding_batch"},
        back="web:payments_withholding",
    )


@staff_page(Permission.WITHHOLDING)
def followup_file(request: HttpRequest, scope: Scope) -> HttpResponseBase:
    campaign = current_campaign()
    if campaign is None:
        raise NotFound

    def write(path: Path) -> None:
        write_followup_xlsx(followup(campaign=campaign), path)

    return download(
        request,
        write=write,
        filename="委托代扣失败跟进名单.xlsx",
        details={"what": "withholding_followup"},
        back="web:payments_withholding",
    )
