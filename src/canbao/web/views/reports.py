"""The reports (报表): the progress bulletin (通报) as printed, the villages' follow-up lists and
payment notices, work funding, students and the fund summary, each with its download — the
same data and writers as ``canbao report``. A county account sees the county, a township clerk
its township; lists of people show only the account's own villages."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from itertools import groupby
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from canbao.accounts.scope import Permission, Scope
from canbao.campaigns.models import Campaign
from canbao.campaigns.selectors import campaign_policy
from canbao.masking import mask_id, mask_phone
from canbao.regions.models import Division
from canbao.reports import workbooks
from canbao.reports.documents.bulletin import (
    Bulletin,
    build_bulletin,
    bulletin_summary,
    write_bulletin_pdf,
    write_bulletin_xlsx,
)
from canbao.reports.funding import funding
from canbao.reports.funds import fund_summary
from canbao.reports.students import StudentsReport, student_statistics, write_students_xlsx
from canbao.web.access import REPORT_PERMISSIONS, staff_page
from canbao.web.context import current_campaign
from canbao.web.views.downloads import download, file_format
from canbao.web.views.progress import chart_data, day_asked, level_below

# The reports' tabs, each shown to the accounts that may open it (REPORT_PERMISSIONS, the menu's
# entry, is any of them).
TABS = (
    ("web:reports", "进度通报", Permission.REPORTS),
    ("web:report_villages", "催缴名单与通知单", Permission.FOLLOW_UP),
    ("web:report_funding", "工作经费", Permission.REPORTS),
    ("web:report_students", "在校学生", Permission.REPORTS),
    ("web:report_funds", "基金筹集", Permission.VIEW_MONEY),
    ("web:report_bills", "部门账单", Permission.BILLS),
)


def tabs(scope: Scope, current: str) -> list[dict[str, Any]]:
    return [
        {"url": url, "label": label, "active": url == current}
        for url, label, permission in TABS
        if scope.allows(permission)
    ]


def _campaign() -> Campaign:
    """The campaign shown; a download without one is not there."""
    campaign = current_campaign()
    if campaign is None:
        raise Http404
    return campaign


def _area(scope: Scope) -> Division | None:
    """What a report covers: the county (None) for a county-wide account, else its division."""
    return None if scope.county_wide else scope.home()


# --- the bulletin ----------------------------------------------------------------------------


def _bulletin(scope: Scope, campaign: Campaign, day: date) -> Bulletin:
    """The county's bulletin ranks the policy's units; a township's ranks its villages."""
    within = _area(scope)
    level = campaign_policy(campaign).targets.level if within is None else level_below(within)
    return build_bulletin(campaign=campaign, as_of=day, level=level, within=within)


@staff_page(REPORT_PERMISSIONS)
def bulletin(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The reports' first tab; an account without the bulletin goes to its first tab."""
    if not scope.allows(Permission.REPORTS):
        return redirect(tabs(scope, "")[0]["url"])
    campaign = current_campaign()
    day = day_asked(request) or timezone.localdate()
    context: dict[str, Any] = {"tabs": tabs(scope, "web:reports"), "day": day, "bulletin": None}
    if campaign is not None:
        shown = _bulletin(scope, campaign, day)
        report = shown.report
        context.update(
            bulletin=shown,
            report=report,
            summary=bulletin_summary(shown),
            chart=chart_data(report.units, shown.target_percent, report.line_percent),
            below_line={u.code for u in report.units_below_line},
        )
    return render(request, "web/reports/bulletin.html", context)


@staff_page(Permission.REPORTS)
def bulletin_file(request: HttpRequest, scope: Scope, fmt: str) -> HttpResponseBase:
    fmt = file_format(fmt)
    campaign = _campaign()
    day = day_asked(request) or timezone.localdate()
    shown = _bulletin(scope, campaign, day)
    write = write_bulletin_pdf if fmt == "pdf" else write_bulletin_xlsx
    return download(
        request,
        write=lambda path: write(shown, path),
        filename=f"{shown.scope}参保缴费进度通报第{shown.number}期.{fmt}",
        details={
            "what": "bulletin",
            "format": fmt,
            "division": shown.report.total.code,
            "campaign": campaign.pk,
            "as_of": day.isoformat(),
        },
        back=reverse("web:reports"),
    )


# --- the villages' follow-up lists and notices -----------------------------------------------


@staff_page(Permission.FOLLOW_UP)
def villages(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Every village of the account, by township, with its follow-up list and notices."""
    listed = (
        scope.divisions()
        .filter(level=Division.Level.VILLAGE)
        .select_related("parent")
        .order_by("parent__code", "code")
    )
    townships = [
        (township, list(members))
        for township, members in groupby(listed, key=lambda v: v.parent.name if v.parent else "")
    ]
    context = {"tabs": tabs(scope, "web:report_villages"), "townships": townships}
    return render(request, "web/reports/villages.html", context)


# --- work funding ----------------------------------------------------------------------------


@staff_page(Permission.REPORTS)
def funding_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    campaign = current_campaign()
    context: dict[str, Any] = {"tabs": tabs(scope, "web:report_funding"), "report": None}
    if campaign is not None:
        report = funding(campaign=campaign, as_of=day_asked(request), within=_area(scope))
        rows = [(u, u.result.total_fen("unit"), u.result.total_fen("bureau")) for u in report.units]
        context.update(report=report, rows=rows, day=report.as_of)
    return render(request, "web/reports/funding.html", context)


@staff_page(Permission.REPORTS)
def funding_file(request: HttpRequest, scope: Scope) -> HttpResponseBase:
    campaign = _campaign()
    within = _area(scope)
    report = funding(campaign=campaign, as_of=day_asked(request), within=within)
    area = within.name if within is not None else campaign.area.name
    return download(
        request,
        write=lambda path: workbooks.write_funding(report, path),
        filename=f"{area}{campaign.coverage_year}年度工作经费与问责.xlsx",
        details={
            "what": "funding",
            "format": "xlsx",
            "division": within.code if within is not None else campaign.area.code,
            "campaign": campaign.pk,
            "as_of": report.as_of.isoformat(),
        },
        back=reverse("web:report_funding"),
    )


# --- the fund summary ------------------------------------------------------------------------


@staff_page(Permission.VIEW_MONEY)
def funds(request: HttpRequest, scope: Scope) -> HttpResponse:
    campaign = current_campaign()
    day = day_asked(request)
    context: dict[str, Any] = {"tabs": tabs(scope, "web:report_funds"), "day": day}
    context["summary"] = None if campaign is None else fund_summary(campaign=campaign, as_of=day)
    return render(request, "web/reports/funds.html", context)


@staff_page(Permission.VIEW_MONEY)
def funds_file(request: HttpRequest, scope: Scope) -> HttpResponseBase:
    campaign = _campaign()
    day = day_asked(request)
    summary = fund_summary(campaign=campaign, as_of=day)
    return download(
        request,
        write=lambda path: workbooks.write_funds(summary, path),
        filename=f"{campaign.area.name}{campaign.coverage_year}年度基金筹集情况.xlsx",
        details={
            "what": "funds",
            "format": "xlsx",
            "division": campaign.area.code,
            "campaign": campaign.pk,
            "as_of": day.isoformat() if day is not None else None,
        },
        back=reverse("web:report_funds"),
    )


# --- students --------------------------------------------------------------------------------


def _students(scope: Scope, campaign: Campaign, day: date) -> StudentsReport:
    """The counts of every school; the unpaid students named only where the account works
    (its villages), their ID and phone numbers masked for an account that only counts."""
    report = student_statistics(campaign=campaign, as_of=day)
    villages = (
        None
        if scope.county_wide
        else set(
            scope.divisions().filter(level=Division.Level.VILLAGE).values_list("code", flat=True)
        )
    )
    masks = scope.masks_identity
    for school in report.schools:
        for grade in school.grades.values():
            grade.unpaid = [
                replace(s, id_number=mask_id(s.id_number), phone=mask_phone(s.phone))
                if masks
                else s
                for s in grade.unpaid
                if villages is None or s.village_code in villages
            ]
    return report


@staff_page(Permission.REPORTS)
def students(request: HttpRequest, scope: Scope) -> HttpResponse:
    campaign = current_campaign()
    day = day_asked(request) or timezone.localdate()
    context: dict[str, Any] = {"tabs": tabs(scope, "web:report_students"), "day": day}
    report = None if campaign is None else _students(scope, campaign, day)
    context["report"] = report
    context["unpaid"] = (
        []
        if report is None
        else [
            (school.school, grade.grade, s)
            for school in report.schools
            for grade in school.grades.values()
            for s in grade.unpaid
        ]
    )
    return render(request, "web/reports/students.html", context)


@staff_page(Permission.REPORTS)
def students_file(request: HttpRequest, scope: Scope) -> HttpResponseBase:
    campaign = _campaign()
    day = day_asked(request) or timezone.localdate()
    report = _students(scope, campaign, day)
    return download(
        request,
        write=lambda path: write_students_xlsx(report, path),
        filename=f"{campaign.area.name}{campaign.coverage_year}年度在校学生参保情况.xlsx",
        details={
            "what": "students",
            "format": "xlsx",
            "division": scope.prefix or campaign.area.code,
            "campaign": campaign.pk,
            "as_of": day.isoformat(),
        },
        back=reverse("web:report_students"),
    )
