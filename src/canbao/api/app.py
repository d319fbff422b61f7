"""The NinjaAPI: its routers, its authentication, its errors, its OpenAPI document
(/api/v1/openapi.json) and the document's page (/api/v1/docs, Swagger UI served from the app's
own static files: the pages' CSP allows no other script)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from types import MappingProxyType
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI, Router
from ninja.openapi.docs import Swagger
from ninja.renderers import JSONRenderer

from canbao.accounts.scope import NotFound
from canbao.api import errors, payments, reports, residents
from canbao.api.auth import AUTH


class Utf8Json(JSONRenderer):
    """Chinese as it is written, not as \\u escapes, for whoever reads an answer with curl."""

    json_dumps_params: Mapping[str, Any] = MappingProxyType({"ensure_ascii": False})


api = NinjaAPI(
    title="参保 Canbao 接口",
    version="1",
    description=(
        "城乡居民医保参保缴费的接口：人员、核定、个人账目、缴费提交（税务、银行）、报表。"
        "金额一律以分为单位的整数，日期为 YYYY-MM-DD。说明见 docs/api.md。"
    ),
    urls_namespace="api",
    auth=AUTH,
    docs=Swagger(settings={"persistAuthorization": False}),
    renderer=Utf8Json(),
)
errors.install(api)
api.add_router("", residents.router)
api.add_router("", payments.router)
api.add_router("", reports.router)

# Added last: its paths match any path the routers above do not take.
elsewhere = Router()
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@elsewhere.api_operation(METHODS, "/", auth=None, include_in_schema=False)
def root(request: HttpRequest) -> HttpResponse:
    raise NotFound


@elsewhere.api_operation(METHODS, "/{path:rest}", auth=None, include_in_schema=False)
def unknown(request: HttpRequest, rest: str) -> HttpResponse:
    """Any other path under /api/v1/: the API's 404, not the pages' HTML one."""
    raise NotFound


api.add_router("", elsewhere)


def _json_405(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """ninja answers a method a path does not take with a bare text 405."""

    @wraps(view)
    def answer(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code != 405:
            return response
        refused = JsonResponse(
            {"code": "method_not_allowed", "message": f"此地址不接受 {request.method} 请求。"},
            status=405,
            json_dumps_params={"ensure_ascii": False},
        )
        refused["Allow"] = response["Allow"]
        return refused

    return answer


def urls() -> tuple[list[URLPattern | URLResolver], str, str]:
    """The API's URL patterns, as ``api.urls`` gives them, with a JSON 405."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = _json_405(pattern.callback)
    return patterns, app_name, namespace
