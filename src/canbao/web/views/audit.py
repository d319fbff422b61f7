"""The auditor's page: the audit trail (who did what, when, from where), filtered and paged, and
the ledger's accounting equation checked on demand."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import django_filters
import django_tables2 as tables
from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.cache import never_cache

from canbao.accounts.scope import Permission, Scope
from canbao.collection.ledger import check_ledger
from canbao.masking import mask_id
from canbao.registry.models import AuditEntry, ImportBatch
from canbao.web.access import staff_page
from canbao.web.context import current_campaign

PAGE_SIZE = 50

ACTION_LABELS = {
    "view_resident": "查看人员信息",
    "export": "下载文件",
    "open_campaign": "开始参保缴费工作",
    "assess_campaign": "核定应缴",
    "record_payments": "记录缴费",
    "reverse_payment": "冲正缴费",
    "recheck_held_payments": "重新核对挂账",
    "issue_receipt_book": "发放收据本",
    "cancel_receipt_book": "缴销收据本",
    "use_receipts": "使用收据",
    "void_receipt": "作废收据",
    "reconcile_day": "日对账",
    "explain_difference": "说明对账差异",
    "close_day": "结账",
    "reopen_day": "重新打开已结账日",
    "withholding_batch": "生成代扣批次",
    "withholding_retry": "代扣重试",
    "account_create": "创建账号",
    "account_password": "重设密码",
    "account_disable": "停用账号",
    "token_issue": "签发接口令牌",
    "token_revoke": "吊销接口令牌",
    "report.tasks.import": "导入目标任务",
    "report.tasks.registry": "按登记人数定任务",
    "report.tasks.override": "调整目标任务",
}
_IMPORT_KINDS = dict(ImportBatch.Kind.choices)


def action_label(action: str) -> str:
    """An audit action in Chinese; an action this list does not know, as recorded."""
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    if action.startswith("import_"):
        kind = action.removeprefix("import_")
        refused = kind.endswith("_refused")
        kind = kind.removesuffix("_refused")
        if kind in _IMPORT_KINDS:
            return f"导入{_IMPORT_KINDS[kind]}" + ("（有错误，未导入）" if refused else "")
    return action


def details_text(details: dict[str, Any]) -> str:
    """An audit row's details on one line: key: value；…"""
    return "；".join(
        f"{key}: {value if isinstance(value, str | int) else json.dumps(value, ensure_ascii=False)}"
        for key, value in details.items()
    )


def _choices(field: str) -> list[tuple[str, str]]:
    values = AuditEntry.objects.order_by(field).values_list(field, flat=True).distinct()
    labels = action_label if field == "action" else str
    return [(value, labels(value)) for value in values]


_SELECT = {"class": "form-select form-select-sm"}
_DATE = {"class": "form-control form-control-sm", "type": "date"}


class AuditFilter(django_filters.FilterSet):  # type: ignore[misc]
    username = django_filters.ChoiceFilter(
        label="操作人",
        choices=lambda: _choices("username"),
        empty_label="全部",
        widget=forms.Select(attrs=_SELECT),
    )
    action = django_filters.ChoiceFilter(
        label="操作",
        choices=lambda: _choices("action"),
        empty_label="全部",
        widget=forms.Select(attrs=_SELECT),
    )
    since = django_filters.DateFilter(
        label="起始日期",
        field_name="at",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs=_DATE),
    )
    until = django_filters.DateFilter(
        label="截止日期",
        field_name="at",
        lookup_expr="date__lte",
        widget=forms.DateInput(attrs=_DATE),
    )

    class Meta:
        model = AuditEntry
        fields = ("username", "action", "since", "until")


_NOWRAP = {"td": {"class": "text-nowrap"}}


class AuditTable(tables.Table):  # type: ignore[misc]
    at = tables.DateTimeColumn(verbose_name="时间", format="Y-m-d H:i:s", attrs=_NOWRAP)
    username = tables.Column(verbose_name="操作人", attrs=_NOWRAP)
    action = tables.Column(verbose_name="操作", attrs=_NOWRAP)
    origin = tables.Column(verbose_name="来源地址", attrs=_NOWRAP)
    batch = tables.Column(verbose_name="导入批次", empty_values=(None,))
    details = tables.Column(verbose_name="详情", orderable=False)

    class Meta:
        model = AuditEntry
        fields = ("at", "username", "action", "origin", "batch", "details")
        attrs: ClassVar[dict[str, str]] = {"class": "table table-sm table-striped align-top small"}
        empty_text = "没有符合条件的操作记录。"
        order_by = ("-at",)

    def render_action(self, value: str) -> str:
        return action_label(value)

    def render_batch(self, value: ImportBatch) -> str:
        return f"#{value.pk} {value.file_name}"

    def render_details(self, value: dict[str, Any], record: AuditEntry) -> str:
        """The details; a row about a person links to their page (which checks the scope)."""
        text = details_text(value)
        if record.resident_id is not None:
            link = reverse("web:resident", args=[record.resident_id])
            return format_html('<a href="{}">人员页面</a> {}', link, text)
        return text


@never_cache
@staff_page(Permission.AUDIT)
def audit_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    entries = AuditEntry.objects.select_related("batch").order_by("-at", "-pk")
    trail = AuditFilter(request.GET or None, queryset=entries)
    table = AuditTable(trail.qs)
    tables.RequestConfig(request, paginate={"per_page": PAGE_SIZE}).configure(table)
    return render(request, "web/audit/page.html", {"filter": trail, "table": table})


@never_cache
@staff_page(Permission.AUDIT)
def ledger_check(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The accounting equation of the campaign shown, checked now: a fragment for htmx, a page
    without it."""
    campaign = current_campaign()
    context: dict[str, Any] = {"checked": campaign is not None, "campaign": campaign}
    if campaign is not None:
        check = check_ledger(campaign)
        readable = set(
            scope.residents()
            .filter(pk__in=[line["resident"] for line in check.unbalanced if line["resident"]])
            .values_list("pk", flat=True)
        )
        context["check"] = check
        context["difference_fen"] = (
            check.received_fen - check.enrolled_fen - check.held_fen - check.reversed_fen
        )
        shown = mask_id if scope.masks_identity else str
        context["unbalanced"] = [
            {
                **line,
                "id_number": shown(line["id_number"]),
                "link": line["resident"] if line["resident"] in readable else None,
            }
            for line in check.unbalanced
        ]
    partial = getattr(request, "htmx", False)
    template = "web/audit/_ledger.html" if partial else "web/audit/ledger.html"
    return render(request, template, context)
