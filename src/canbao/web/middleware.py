"""Request-wide concerns of the pages and the API: where the request comes from (for the audit
trail), and the scope's refusals turned into 404 and 403 pages."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from canbao.accounts.scope import NotFound, NotPermitted
from canbao.request_origin import origin


class RequestOriginMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with origin(client_address(request)):
            return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, NotFound):
            return render(request, "404.html", status=404)
        if isinstance(exception, NotPermitted):
            return render(request, "403.html", status=403)
        return None


def client_address(request: HttpRequest) -> str:
    """The peer's address. A proxy's X-Forwarded-For is not trusted: gunicorn is reached
    directly, or the proxy in front sets REMOTE_ADDR through gunicorn's forwarded_allow_ips."""
    return str(request.META.get("REMOTE_ADDR") or "")
