"""Files the pages hand out: written by the same writers as the ``report`` command into a
temporary file, streamed under a Chinese name, and recorded in the audit trail."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect

from canbao.errors import InputError
from canbao.registry.batches import record_audit

FORMATS = ("xlsx", "pdf")


def file_format(given: str) -> str:
    """The format a download's address names; any other is not there."""
    if given not in FORMATS:
        raise Http404
    return given


def download(
    request: HttpRequest,
    *,
    write: Callable[[Path], None],
    filename: str,
    details: dict[str, Any],
    back: str,
) -> HttpResponseBase:
    """Write the file with `write`, record an ``export`` audit row with `details` and stream it
    as `filename`. A writer's refusal (no Chinese font for a PDF) goes back to `back` as a
    message; nothing is recorded then."""
    descriptor, name = tempfile.mkstemp(prefix="canbao-", suffix=Path(filename).suffix)
    os.close(descriptor)
    path = Path(name)
    try:
        write(path)
        # Open before the name goes: the stream reads the file until the response is sent.
        stream = path.open("rb")
    except InputError as refused:
        messages.error(request, f"未能生成“{filename}”：{refused.message}")
        return redirect(back)
    finally:
        path.unlink(missing_ok=True)
    record_audit(
        action="export",
        actor=request.user,  # type: ignore[arg-type]  # staff pages are behind login
        details={**details, "file": filename},
    )
    return FileResponse(stream, as_attachment=True, filename=filename)
