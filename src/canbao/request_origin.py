"""Where the current action comes from, for the audit trail: the client address of a web or
API request, set by ``canbao.web.middleware.RequestOriginMiddleware``; "命令行" for the CLI."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

COMMAND_LINE = "命令行"

_origin: ContextVar[str] = ContextVar("canbao_request_origin", default=COMMAND_LINE)


def current_origin() -> str:
    return _origin.get()


@contextmanager
def origin(address: str) -> Iterator[None]:
    token = _origin.set(address)
    try:
        yield
    finally:
        _origin.reset(token)
