"""The resident's own query: enrollment, what to pay and how, for the right ID number and name;
one answer, alike in wording and work, for an unknown ID number and a wrong name; a limit per
client address."""

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from canbao.masking import mask_id
from canbao.web.selfquery import Status, self_query
from tests.web.season import LI, QIAN, STRANGER, SUN, ZHANG, Season, build_season

pytestmark = pytest.mark.django_db

NOT_FOUND = "未查到与该身份证号码和姓名相符的参保信息，请核对后重试"


@pytest.fixture(autouse=True)
def fresh_limit() -> None:
    """The limit counts in the process's cache: each test starts with none used."""
    cache.clear()


@pytest.fixture
def season(accounts: dict[str, Any], tmp_path: Path) -> Season:
    return build_season(tmp_path, accounts["admin"].user)


def without_csrf(html: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", html)


def ask(client: Client, id_number: str, name: str, address: str = "127.0.0.1") -> Any:
    return client.post("/query/", {"id_number": id_number, "name": name}, REMOTE_ADDR=address)


def test_a_resident_who_paid_sees_that_she_is_enrolled_and_since_when(
    client: Client, season: Season
) -> None:
    response = ask(client, ZHANG, "张建国")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-status="enrolled"' in html and "已参保" in html
    assert "2020年1月1日至2020年12月31日" in html
    assert mask_id(ZHANG) in html and ZHANG not in html.replace(f'value="{ZHANG}"', "")


def test_a_resident_who_owes_sees_the_amount_and_how_to_pay_and_nothing_else(
    client: Client, season: Season
) -> None:
    html = without_csrf(ask(client, QIAN, "钱七").content.decode())
    assert 'data-status="payable"' in html
    assert 'data-fen="12500"' in html and "125.00 元" in html
    assert "湘税社保APP" in html
    for private in ("H4", "低保", "钱小妹", "民政", "大栗港社区"):
        assert private not in html


def test_a_partly_paid_resident_is_not_enrolled_yet(client: Client, season: Season) -> None:
    html = ask(client, LI, "李秀英").content.decode()
    assert 'data-status="payable"' in html and "250.00 元" in html


def test_an_unknown_id_number_and_a_wrong_name_get_the_same_answer_for_the_same_work(
    client: Client, season: Season
) -> None:
    with CaptureQueriesContext(connection) as unknown_queries:
        unknown = ask(client, STRANGER, "张建国").content.decode()
    with CaptureQueriesContext(connection) as mismatch_queries:
        mismatch = ask(client, ZHANG, "张建军").content.decode()

    def answer(html: str, typed: str) -> str:
        return without_csrf(html).replace(typed, "TYPED")

    assert NOT_FOUND in unknown
    assert answer(unknown, STRANGER).replace("张建国", "NAME") == answer(mismatch, ZHANG).replace(
        "张建军", "NAME"
    )
    assert len(unknown_queries) == len(mismatch_queries)


def test_the_query_function_answers_none_for_an_unknown_id_number_and_a_wrong_name(
    season: Season,
) -> None:
    assert self_query(STRANGER, "张建国") is None
    assert self_query(ZHANG, "张建军") is None
    assert self_query(ZHANG, "") is None


def test_the_query_function_gives_the_api_a_plain_answer(season: Season) -> None:
    answer = self_query(f" {QIAN.lower()} ", " 钱 七 ")
    assert answer is not None
    assert answer.status == Status.PAYABLE
    assert answer.as_json() == {
        "name": "钱七",
        "id_number_masked": mask_id(QIAN),
        "campaign": season.campaign.pk,
        "area": "桃江县",
        "coverage_year": 2020,
        "status": "payable",
        "status_label": "未参保，尚未缴清",
        "enrolled": False,
        "payable_fen": 12500,
        "paid_on": None,
        "coverage_start": None,
        "coverage_end": None,
        "deadline": "2019-12-31",
        "channels": list(answer.channels),
    }
    assert len(answer.channels) == 2


def test_a_reversed_payment_leaves_the_resident_not_enrolled(season: Season) -> None:
    answer = self_query(SUN, "孙八")
    assert answer is not None and not answer.enrolled and answer.status == Status.PAYABLE


def test_an_id_number_in_full_width_digits_and_a_name_with_spaces_are_found(
    client: Client, season: Season
) -> None:
    typed = "".join(chr(ord(c) + 0xFEE0) for c in ZHANG)
    html = ask(client, typed, "张 建国").content.decode()
    assert 'data-status="enrolled"' in html


def test_a_mistyped_id_number_is_told_which_digit_is_wrong(client: Client, season: Season) -> None:
    wrong = ZHANG[:17] + ("0" if ZHANG[17] != "0" else "1")
    html = ask(client, wrong, "张建国").content.decode()
    assert "校验码" in html and NOT_FOUND not in html


def test_an_empty_form_asks_for_both_fields(client: Client, season: Season) -> None:
    html = ask(client, "", "").content.decode()
    assert html.count("这个字段是必填项") == 2


def test_the_eleventh_query_in_a_minute_is_refused_with_429(client: Client, season: Season) -> None:
    for _ in range(10):
        assert ask(client, STRANGER, "张建国").status_code == 200
    refused = ask(client, ZHANG, "张建国")
    assert refused.status_code == 429
    assert "查询过于频繁" in refused.content.decode()
    assert "data-status" not in refused.content.decode()
    assert ask(client, ZHANG, "张建国", address="10.0.0.2").status_code == 200


def test_the_page_needs_no_login_but_a_csrf_token(season: Season) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post("/query/", {"id_number": ZHANG, "name": "张建国"}).status_code == 403
    form = client.get("/query/")
    assert form.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.content.decode())
    assert token is not None
    answer = client.post(
        "/query/", {"id_number": ZHANG, "name": "张建国", "csrfmiddlewaretoken": token[1]}
    )
    assert answer.status_code == 200 and "已参保" in answer.content.decode()
    assert "no-store" in answer["Cache-Control"]


def test_the_login_page_links_to_the_query(client: Client) -> None:
    assert 'href="/query/"' in client.get("/login/").content.decode()
