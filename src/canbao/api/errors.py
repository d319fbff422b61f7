"""Every answer of the API that is not a success: JSON ``{"code", "message", "errors"?}`` with a
stable English code and a Chinese message. "Not yours" and "not there" are one 404; a refused
input names its field; an unexpected error is logged without its message (which may carry a
person's data) and answered without a traceback."""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from canbao.accounts.scope import NotFound, NotPermitted
from canbao.errors import InputError

logger = logging.getLogger("canbao.api")

NOT_FOUND = "没有找到：不存在，或不在您的管辖范围内。"
# Codes of refusals that depend on what was recorded before, not on the request alone.
CONFLICTS = frozenset({"key_conflict", "day_closed", "campaign_closed", "campaign_busy"})

_MESSAGES = {
    "missing": "缺少此项",
    "json_invalid": "不是合法的 JSON",
    "model_attributes_type": "须为 JSON 对象",
    "dict_type": "须为 JSON 对象",
    "extra_forbidden": "不认识的键（请检查拼写）",
    "literal_error": "取值须为 {expected} 之一",
    "enum": "取值须为 {expected} 之一",
    "int_type": "须为整数",
    "int_parsing": "须为整数",
    "int_from_float": "须为整数",
    "string_type": "须为字符串",
    "string_unicode": "含有无法识别的字符",
    "list_type": "须为列表",
    "date_type": "须为日期（YYYY-MM-DD）",
    "date_parsing": "须为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "须为日期（YYYY-MM-DD）",
    "date_from_datetime_inexact": "须为日期（YYYY-MM-DD），不带时间",
    "greater_than": "须大于 {gt}",
    "greater_than_equal": "须不小于 {ge}",
    "less_than": "须小于 {lt}",
    "less_than_equal": "须不大于 {le}",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "至多 {max_length} 个字符",
    "string_pattern_mismatch": "含有不允许的字符或格式不符",
    "too_short": "至少须有 {min_length} 项",
    "too_long": "至多 {max_length} 项",
}


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


class InvalidInput(Exception):
    """A request whose fields the handler refuses (after the schema accepted them): 422."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(errors)
        self.errors = errors


class Refused(Exception):
    """A refusal of the handler's own, with its status, code and Chinese message."""

    def __init__(
        self, status: int, code: str, message: str, errors: list[FieldError] | None = None
    ) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message
        self.errors = errors or []


class CsrfFailed(Exception):
    """A session's unsafe request without the CSRF token of its page."""


def error_response(
    api: NinjaAPI, request: HttpRequest, status: int, code: str, message: str, **extra: Any
) -> HttpResponse:
    body: dict[str, Any] = {"code": code, "message": message, **extra}
    return api.create_response(request, body, status=status)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic location as a field path: ("body", "payload", "payments", 0, "amount_fen") is
    "payments[0].amount_fen"; a query or path parameter is its name."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        where, parts = parts[0], parts[1:]
        if where == "body" and parts:
            parts = parts[1:]  # the handler's parameter name, not a field of the request
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "（请求体）"


def _message(item: dict[str, Any]) -> str:
    kind = item.get("type", "")
    if kind == "value_error":
        context = item.get("ctx") or {}
        return str(context.get("error", item.get("msg", "")))
    template = _MESSAGES.get(kind)
    if template is None:
        return "取值不符合要求"
    context = {key: str(value) for key, value in (item.get("ctx") or {}).items()}
    try:
        return template.format(**context)
    except KeyError:
        return "取值不符合要求"


def _summary(errors: list[FieldError]) -> str:
    shown = "；".join(f"{e.field}：{e.message}" for e in errors[:5])
    more = f"；另有{len(errors) - 5}处" if len(errors) > 5 else ""
    return f"请求内容有误：{shown}{more}。"


def install(api: NinjaAPI) -> None:
    """Answer every error of ``api`` in the API's JSON shape."""

    @api.exception_handler(ValidationError)
    def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors = [
            FieldError(field_path(item.get("loc", ())), item.get("type", "invalid"), _message(item))
            for item in exc.errors
        ]
        return _invalid(request, errors)

    @api.exception_handler(InvalidInput)
    def refused(request: HttpRequest, exc: InvalidInput) -> HttpResponse:
        return _invalid(request, exc.errors)

    def _invalid(request: HttpRequest, errors: list[FieldError]) -> HttpResponse:
        return error_response(
            api,
            request,
            422,
            "invalid_input",
            _summary(errors),
            errors=[e.as_json() for e in errors],
        )

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = error_response(
            api,
            request,
            401,
            "unauthenticated",
            "未认证：请在请求头中提供有效的接口令牌（Authorization: Bearer cb_…），或先登录系统。",
        )
        response["WWW-Authenticate"] = 'Bearer realm="canbao"'
        return response

    @api.exception_handler(CsrfFailed)
    def csrf_failed(request: HttpRequest, exc: CsrfFailed) -> HttpResponse:
        return error_response(
            api,
            request,
            403,
            "csrf_failed",
            "以登录身份提交须带上页面的 CSRF 令牌（X-CSRFToken 请求头）；系统对接请使用接口令牌。",
        )

    @api.exception_handler(NotPermitted)
    def not_permitted(request: HttpRequest, exc: NotPermitted) -> HttpResponse:
        return error_response(api, request, 403, "not_permitted", "您的账号无权进行此操作。")

    @api.exception_handler(NotFound)
    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(api, request, 404, "not_found", NOT_FOUND)

    @api.exception_handler(Refused)
    def refusal(request: HttpRequest, exc: Refused) -> HttpResponse:
        extra = {"errors": [e.as_json() for e in exc.errors]} if exc.errors else {}
        return error_response(api, request, exc.status, exc.code, exc.message, **extra)

    @api.exception_handler(InputError)
    def input_error(request: HttpRequest, exc: InputError) -> HttpResponse:
        status = 409 if exc.code in CONFLICTS else 400
        return error_response(api, request, status, exc.code, exc.message)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400:  # ninja's only 400: a body it cannot parse
            return error_response(
                api, request, 400, "invalid_json", "请求体不是合法的 JSON（须为 UTF-8 编码）。"
            )
        return error_response(api, request, exc.status_code, "http_error", "请求无法处理。")

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        # The message is left out: a database error quotes the row it refused.
        logger.error(
            "API %s %s failed with %s\n%s",
            request.method,
            request.path,
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        return error_response(
            api,
            request,
            500,
            "internal_error",
            "服务器内部错误，本次请求未完成；请稍后重试，仍不行请联系县医保局。",
        )
