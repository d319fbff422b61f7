"""The resident's own query page, public: ID number and name in, enrollment and how to pay out.

Queries are limited per client address (``settings.SELF_QUERY_RATE`` a ``WINDOW``) in Django's
cache, so that the page cannot be used to try ID numbers one after another.
"""

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from canbao.idnumber import IdNumberError
from canbao.web.middleware import client_address
from canbao.web.selfquery import self_query

WINDOW = 60  # seconds
NOT_FOUND = "未查到与该身份证号码和姓名相符的参保信息，请核对后重试"
TOO_MANY = "查询过于频繁，请1分钟后再试。"


class SelfQueryForm(forms.Form):
    id_number = forms.CharField(label="身份证号码", max_length=40)
    name = forms.CharField(label="姓名", max_length=100)


def over_limit(request: HttpRequest) -> bool:
    """Count this query against the client's address; True past ``SELF_QUERY_RATE`` in
    ``WINDOW``."""
    key = f"canbao:selfquery:{client_address(request)}"
    if cache.add(key, 1, WINDOW):
        return False
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, WINDOW)
        return False
    return count > settings.SELF_QUERY_RATE


@never_cache
def self_query_page(request: HttpRequest) -> HttpResponse:
    form = SelfQueryForm(request.POST if request.method == "POST" else None)
    context: dict[str, object] = {"form": form, "today": timezone.localdate()}
    if request.method != "POST":
        return render(request, "web/self_query.html", context)
    if over_limit(request):
        context["refusal"] = TOO_MANY
        return render(request, "web/self_query.html", context, status=429)
    if form.is_valid():
        try:
            answer = self_query(form.cleaned_data["id_number"], form.cleaned_data["name"])
        except IdNumberError as error:
            form.add_error("id_number", error.message)
        else:
            context["answer"] = answer
            context["not_found"] = NOT_FOUND if answer is None else ""
    return render(request, "web/self_query.html", context)
