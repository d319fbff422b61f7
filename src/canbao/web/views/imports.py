"""Imports from the page: the same import services as ``canbao import`` (and the withholding and
bank-credit imports), one kind of file at a time, only the kinds the account's role may import.

The uploaded file waits under ``settings.UPLOAD_DIR`` (under its own name, which the batch keeps)
while the import runs in the background (``canbao.web.background``); the page polls the job and
shows the service's answer: the counts, or the row errors (the first ones on the page, all of
them as a workbook). The services write the import's audit rows; a check without importing, which
no service records, and each download of an error list leave one here.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from canbao.accounts.scope import NotFound, NotPermitted, Permission, Scope
from canbao.campaigns.locks import BUSY_MESSAGE
from canbao.campaigns.models import Campaign
from canbao.collection.bank_credits import import_bank_credits
from canbao.collection.models import Channel, WithholdingLine
from canbao.collection.payment_imports import FILE_CHANNELS, import_payments
from canbao.collection.withholding import ReturnSummary, import_agreements, import_returns
from canbao.errors import InputError
from canbao.masking import mask_id
from canbao.policy.codes import CATEGORY_NAMES, FUNDER_NAMES
from canbao.regions.services import import_divisions
from canbao.registry.batches import (
    ERRORS_LISTED,
    ImportResult,
    ImportUsageError,
    record_audit,
    write_errors_xlsx,
)
from canbao.registry.models import ImportBatch
from canbao.registry.rosters import import_roster
from canbao.registry.schools import import_schools
from canbao.registry.services import import_residents
from canbao.reports.documents.formats import yuan_text
from canbao.web.access import IMPORT_PERMISSIONS, staff_page
from canbao.web.background import progress_of, rows_read, run_in_background
from canbao.web.context import current_campaign
from canbao.web.models import ImportJob
from canbao.web.styled import StyledForm
from canbao.web.views.downloads import download

logger = logging.getLogger(__name__)

# The recent batches the page lists.
RECENT_BATCHES = 20
# The persons not found in the registry (待核实) the page lists; all are in the batch.
UNKNOWN_LISTED = 20

Run = Callable[..., tuple[ImportResult, dict[str, Any]]]


@dataclass(frozen=True)
class Kind:
    """A kind of file the page imports: its ``ImportBatch`` kind, the permission it needs,
    what the file holds, whether it goes into the current campaign, and the service call."""

    key: str
    label: str
    permission: Permission
    help: str
    campaign: bool
    run: Run


def _plain(service: Callable[..., ImportResult]) -> Run:
    def run(**arguments: Any) -> tuple[ImportResult, dict[str, Any]]:
        return service(**arguments), {}

    return run


def _returns(**arguments: Any) -> tuple[ImportResult, dict[str, Any]]:
    summary = ReturnSummary()
    return import_returns(summary=summary, **arguments), summary.as_json()


KINDS: tuple[Kind, ...] = (
    Kind(
        "divisions",
        "行政区划",
        Permission.IMPORT_REGISTRY,
        "统计用区划代码和名称，县、乡镇、村（社区）三级。",
        False,
        _plain(import_divisions),
    ),
    Kind(
        "residents",
        "户籍人员",
        Permission.IMPORT_REGISTRY,
        "姓名、公民身份号码、户编号、与户主关系、村(社区)代码等；先导入行政区划。",
        False,
        _plain(import_residents),
    ),
    Kind(
        "roster",
        "部门名册",
        Permission.IMPORT_ROSTER,
        "一个文件一个人员类别：姓名、公民身份号码，可有地址、联系电话、有效期起止。",
        False,
        _plain(import_roster),
    ),
    Kind(
        "schools",
        "学校名册",
        Permission.IMPORT_REGISTRY,
        "学校名称、年级、班级、姓名、公民身份号码。",
        False,
        _plain(import_schools),
    ),
    Kind(
        "payments",
        "缴费明细",
        Permission.IMPORT_PAYMENTS,
        "税务、银行每日明细，部门代缴，现金收款收据：缴费日期、流水号（收据号码）、姓名、"
        "公民身份号码、金额（元）或金额（分）。",
        True,
        _plain(import_payments),
    ),
    Kind(
        "bank_credits",
        "银行入账",
        Permission.IMPORT_PAYMENTS,
        "银行每日入账合计：日期、银行、入账金额、笔数。",
        True,
        _plain(import_bank_credits),
    ),
    Kind(
        "withholding_agreements",
        "委托代扣协议",
        Permission.WITHHOLDING,
        "三方协议：姓名、公民身份号码、开户银行、账号、户名、签订日期。",
        False,
        _plain(import_agreements),
    ),
    Kind(
        "withholding_returns",
        "代扣回盘",
        Permission.WITHHOLDING,
        "银行的代扣回盘文件：批次号、行号、账号、金额、返回码。",
        True,
        _returns,
    ),
)
KIND_BY_KEY = {kind.key: kind for kind in KINDS}


def channel_name(channel: str) -> str:
    """A channel's name without its explanation: 税务, 银行代收, 现金, 部门代缴."""
    return str(Channel(channel).label).split("（")[0]


def kinds_of(scope: Scope) -> list[Kind]:
    """The kinds of file the account may import."""
    return [kind for kind in KINDS if scope.allows(kind.permission)]


class ImportForm(StyledForm):
    file = forms.FileField(
        label="文件", help_text="Excel 表格（.xlsx、.xls）或 CSV（UTF-8 或 GB18030 编码）"
    )

    def __init__(self, *args: Any, kind: Kind, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        if kind.key == "roster":
            self.fields["category"] = forms.ChoiceField(
                label="人员类别",
                choices=[(c, n) for c, n in CATEGORY_NAMES.items() if scope.may_import_roster(c)],
            )
            funders = (scope.funder,) if scope.funder else tuple(FUNDER_NAMES)
            self.fields["source"] = forms.ChoiceField(
                label="来源部门", choices=[(f, FUNDER_NAMES[f]) for f in funders]
            )
        elif kind.key == "schools":
            self.fields["as_of"] = forms.DateField(
                label="名册日期",
                required=False,
                widget=forms.DateInput(attrs={"type": "date"}),
                help_text="不填为今天",
            )
        elif kind.key == "payments":
            self.fields["channel"] = forms.ChoiceField(
                label="缴费渠道",
                choices=[(c.value, Channel(c).label) for c in FILE_CHANNELS],
            )
            self.fields["funder"] = forms.ChoiceField(
                label="代缴部门",
                required=False,
                choices=[("", "按文件中的“代缴部门”列"), *FUNDER_NAMES.items()],
                help_text="只用于部门代缴：文件没有“代缴部门”列时在这里选",
            )

    def clean_file(self) -> UploadedFile[bytes]:
        upload: UploadedFile[bytes] = self.cleaned_data["file"]
        size, limit = (upload.size or 0) / 2**20, settings.UPLOAD_MAX_BYTES // 2**20
        if size > limit:
            raise forms.ValidationError(
                f"文件太大（{size:.0f} MB），一次最多上传 {limit} MB：请按乡镇或按月分成几个文件。"
            )
        return upload

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("funder") and cleaned.get("channel") != Channel.PROXY:
            self.add_error("funder", "只有部门代缴才能指定代缴部门。")
        return cleaned

    def options(self) -> dict[str, Any]:
        """The service's arguments beyond the file."""
        data = self.cleaned_data
        if self.kind.key == "roster":
            return {"category": data["category"], "source": data["source"]}
        if self.kind.key == "schools":
            return {"as_of": data["as_of"]}
        if self.kind.key == "payments":
            return {"channel": data["channel"], "funder": data["funder"] or None}
        return {}

    def label(self) -> str:
        """What is imported, as the job and its page name it."""
        data = self.cleaned_data
        if self.kind.key == "roster":
            return (
                f"{self.kind.label}（{CATEGORY_NAMES[data['category']]}，"
                f"{FUNDER_NAMES[data['source']]}）"
            )
        if self.kind.key == "payments":
            return f"{self.kind.label}（{channel_name(data['channel'])}）"
        return self.kind.label


@staff_page(IMPORT_PERMISSIONS)
@require_http_methods(["GET", "POST"])
def imports(request: HttpRequest, scope: Scope) -> HttpResponse:
    allowed = kinds_of(scope)
    kind = KIND_BY_KEY.get(request.GET.get("kind", ""), allowed[0])
    if not scope.allows(kind.permission):
        raise NotPermitted(kind.permission)
    campaign = current_campaign()
    if request.method == "POST":
        category = request.POST.get("category", "")
        if (
            kind.key == "roster"
            and category in CATEGORY_NAMES
            and not scope.may_import_roster(category)
        ):
            raise NotPermitted(Permission.IMPORT_ROSTER)
        form = ImportForm(request.POST, request.FILES, kind=kind, scope=scope)
        if kind.campaign and campaign is None:
            form.add_error(None, "还没有参保缴费工作，不能导入。")
        elif form.is_valid():
            upload = form.cleaned_data["file"]
            job = _start(scope, kind, form, upload, campaign, dry_run="check" in request.POST)
            return redirect("web:imports_job", pk=job.pk)
    else:
        form = ImportForm(kind=kind, scope=scope)
    context = {
        "kinds": allowed,
        "kind": kind,
        "form": form,
        "campaign_needed": kind.campaign,
        "batches": [_batch_line(b) for b in _batches(scope)[:RECENT_BATCHES]],
    }
    return render(request, "web/imports/imports.html", context)


def _start(
    scope: Scope,
    kind: Kind,
    form: ImportForm,
    upload: UploadedFile[bytes],
    campaign: Campaign | None,
    *,
    dry_run: bool,
) -> ImportJob:
    """Keep the upload, record the job and start the import."""
    folder = upload_folder()
    path = keep_upload(folder, upload)
    actor = scope.user
    job = ImportJob.objects.create(
        user=actor,
        kind=kind.key,
        label=form.label(),
        file_name=path.name,
        dry_run=dry_run,
        status=ImportJob.Status.RUNNING,
    )
    arguments = {
        "path": path,
        "actor": actor,
        "dry_run": dry_run,
        "progress": progress_of(job.pk),
        **form.options(),
    }
    if kind.campaign and campaign is not None:
        arguments["campaign"] = campaign
    run_in_background(lambda: _run(job, kind, arguments, folder))
    return job


def upload_folder() -> Path:
    """A folder of its own under ``settings.UPLOAD_DIR`` for one request's uploads; whoever
    asked for it removes it."""
    return Path(settings.UPLOAD_DIR) / uuid.uuid4().hex


def keep_upload(folder: Path, upload: UploadedFile[bytes]) -> Path:
    """The upload written into ``folder`` (made if need be) under its own name."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _file_name(upload.name or "")
    with path.open("wb") as stream:
        for chunk in upload.chunks():
            stream.write(chunk)
    return path


def _file_name(written: str) -> str:
    """The upload's own name, without any folder a browser may send; a name kept short, and one
    for a file that came without a usable name."""
    name = Path(written.replace("\\", "/")).name.strip()
    if not name or name.startswith("."):
        name = "上传文件" + Path(name).suffix
    stem, suffix = Path(name).stem, Path(name).suffix[:10]
    return stem[:150] + suffix


def _run(job: ImportJob, kind: Kind, arguments: dict[str, Any], folder: Path) -> None:
    """The import itself, where the job's thread runs it: its answer (or why it could not run)
    goes on the job; the upload is removed whatever happens."""
    try:
        result, extra = kind.run(**arguments)
        job.status = ImportJob.Status.DONE
        job.result = {**result.as_json(), **extra}
        job.batch_id = result.batch
        if result.dry_run:
            record_audit(
                action=f"import_{kind.key}_dry_run",
                actor=arguments["actor"],
                details={
                    "file": job.file_name,
                    "what": job.label,
                    "rows": result.rows,
                    "errors": len(result.errors),
                },
            )
    except (ImportUsageError, InputError) as refused:
        job.status, job.result = ImportJob.Status.FAILED, {"message": str(refused)}
    except DatabaseError as error:
        busy = "database is locked" in str(error)
        if not busy:
            logger.exception("import job %s failed", job.pk)
        job.status = ImportJob.Status.FAILED
        job.result = {"message": BUSY_MESSAGE + "。" if busy else _FAILED}
    except Exception:
        logger.exception("import job %s failed", job.pk)
        job.status, job.result = ImportJob.Status.FAILED, {"message": _FAILED}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "result", "batch", "finished_at"])


_FAILED = "导入时出现意外错误，未写入任何数据；请记下时间，告诉县医保局管理员。"


def _jobs(scope: Scope) -> QuerySet[ImportJob]:
    """An account's own jobs: the import pages of others are not theirs to read."""
    return ImportJob.objects.filter(user=scope.user)


@staff_page(IMPORT_PERMISSIONS)
def import_job(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    job = _jobs(scope).filter(pk=pk).select_related("batch").first()
    if job is None:
        raise NotFound
    context = {"job": job, **_job_context(job, scope)}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "web/imports/_job.html", context)
    return render(request, "web/imports/job.html", context)


def _job_context(job: ImportJob, scope: Scope) -> dict[str, Any]:
    result = job.result
    errors = result.get("errors", [])
    unknown = result.get("unknown", [])
    return {
        "rows_read": rows_read(job.pk) if job.status == ImportJob.Status.RUNNING else None,
        "errors": errors[:ERRORS_LISTED],
        "more_errors": max(len(errors) - ERRORS_LISTED, 0),
        "unknown": [
            {**person, "id_number": _shown_id(scope, person["id_number"])}
            for person in unknown[:UNKNOWN_LISTED]
        ],
        "more_unknown": max(len(unknown) - UNKNOWN_LISTED, 0),
        "returns": _returns_lines(result) if job.kind == "withholding_returns" else [],
        "again": f"{reverse('web:imports')}?kind={job.kind}",
    }


def _shown_id(scope: Scope, id_number: str) -> str:
    return mask_id(id_number) if scope.masks_identity else id_number


def _returns_lines(result: dict[str, Any]) -> list[str]:
    labels = dict(WithholdingLine.Result.choices)
    lines = []
    if result.get("results"):
        lines.append(
            "回盘结果："
            + "，".join(f"{labels.get(c, c)}{n}笔" for c, n in result["results"].items())
        )
    if result.get("payments"):
        lines.append(
            f"扣款成功入账{result['payments']}笔，合计{yuan_text(result['payments_fen'])}元。"
        )
    return lines


@staff_page(IMPORT_PERMISSIONS)
def job_errors(request: HttpRequest, scope: Scope, pk: int) -> HttpResponseBase:
    job = _jobs(scope).filter(pk=pk).first()
    if job is None or not job.result.get("errors"):
        raise NotFound
    return _errors_download(
        request, job.result["errors"], job.file_name, {"job": job.pk, "batch": job.batch_id}
    )


def _batches(scope: Scope) -> QuerySet[ImportBatch]:
    """The batches of the kinds the account imports; a department's, its own rosters only."""
    batches = ImportBatch.objects.filter(kind__in=[kind.key for kind in kinds_of(scope)])
    if scope.funder:
        batches = batches.filter(
            kind=ImportBatch.Kind.ROSTER, source=scope.funder, category__in=scope.categories
        )
    return batches.order_by("-created_at", "-pk")


def _batch_line(batch: ImportBatch) -> dict[str, Any]:
    what = batch.get_kind_display()
    if batch.kind == ImportBatch.Kind.ROSTER:
        what += f"（{CATEGORY_NAMES.get(batch.category, batch.category)}）"
    elif batch.kind == ImportBatch.Kind.PAYMENTS and batch.category in Channel.values:
        what += f"（{channel_name(batch.category)}）"
    return {"batch": batch, "what": what, "errors": len(batch.errors)}


@staff_page(IMPORT_PERMISSIONS)
def batch_errors(request: HttpRequest, scope: Scope, pk: int) -> HttpResponseBase:
    batch = _batches(scope).filter(pk=pk, status=ImportBatch.Status.REFUSED).first()
    if batch is None:
        raise NotFound
    return _errors_download(request, batch.errors, batch.file_name, {"batch": batch.pk})


def _errors_download(
    request: HttpRequest,
    errors: list[dict[str, Any]],
    file_name: str,
    details: dict[str, Any],
) -> HttpResponseBase:
    def write(path: Path) -> None:
        write_errors_xlsx(errors, path)

    return download(
        request,
        write=write,
        filename=f"错误清单-{Path(file_name).stem}.xlsx",
        details={"what": "import_errors", "errors": len(errors), **details},
        back="web:imports",
    )
