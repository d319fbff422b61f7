"""Work that outlasts a request: an import started from a page runs in a thread of its own while
the page polls it; the rows it has read so far are kept in the cache, where the poll finds them
(the import's transaction hides anything it writes to the database until it ends)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, cast

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from canbao.registry.batches import Progress
from canbao.request_origin import current_origin, origin
from canbao.web.models import ImportJob

# How long the cache keeps a job's row count: longer than any import.
PROGRESS_SECONDS = 6 * 60 * 60


def run_in_background(work: Callable[[], None]) -> None:
    """Run ``work`` in a thread with its own database connection, closed when it ends; the audit
    rows it writes name the address of the request that started it."""
    address = current_origin()
    if connection.vendor == "sqlite" and cast(Any, connection).is_in_memory_db():
        # An in-memory database (the tests') is one shared cache whose tables a second
        # connection finds locked instead of waiting for them: the request runs the work itself.
        work()
        return

    def target() -> None:
        try:
            with origin(address):
                work()
        finally:
            connection.close()

    threading.Thread(target=target, name="canbao-import", daemon=True).start()


def _key(job: int) -> str:
    return f"canbao:job:{job}:rows"


def progress_of(job: int) -> Progress:
    """The import's ``progress`` callback for a job: it records the rows read."""

    def report(rows: int) -> None:
        cache.set(_key(job), rows, PROGRESS_SECONDS)

    return report


def rows_read(job: int) -> int | None:
    """The rows a running job has read, when this process has heard of it."""
    rows = cache.get(_key(job))
    return int(rows) if rows is not None else None


INTERRUPTED = "网页服务重新启动时这次导入尚未完成，没有写入任何数据，请重新导入。"


def abandon_interrupted_imports() -> int:
    """Mark the imports a stopped server left running as failed, so that their pages stop
    polling: each ran in one transaction, which the stop rolled back. Run when the server
    starts, before any request can start a new one."""
    return ImportJob.objects.filter(status=ImportJob.Status.RUNNING).update(
        status=ImportJob.Status.FAILED,
        result={"message": INTERRUPTED},
        finished_at=timezone.now(),
    )
