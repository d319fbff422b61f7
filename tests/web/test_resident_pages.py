"""The resident search and a resident's page, for each role: what it finds, what it may open,
what it sees masked, and the audit row each view leaves."""

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from canbao.idnumber import make
from canbao.masking import mask_id, mask_phone
from canbao.registry.models import AuditEntry
from canbao.registry.services import import_residents
from tests.conftest import PASSWORD, csv_file, person_id, resident
from tests.web.season import (
    LI,
    QIAN,
    QIAN_CHILD,
    STRANGER,
    SUN,
    ZHANG,
    ZHANG_PHONE,
    ZHOU,
    Season,
    build_season,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def season(accounts: dict[str, Any], tmp_path: Path) -> Season:
    return build_season(tmp_path, accounts["admin"].user)


def logged_in(client: Client, username: str) -> Client:
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, username
    return client


def search(client: Client, text: str, **headers: str) -> str:
    response = client.post("/residents/", {"q": text}, headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def without_csrf(html: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", html)


def links(html: str) -> list[str]:
    return re.findall(r'(?:href|action|hx-get|hx-post|src)="([^"]*)"', html)


def test_a_collector_finds_a_resident_of_her_village_by_id_number(
    client: Client, season: Season
) -> None:
    page = search(logged_in(client, "collector"), ZHANG)
    assert "张建国" in page
    assert f'href="/residents/{season.pk(ZHANG)}/"' in page
    assert "已参保" in page
    assert "李秀英" not in page


def test_an_id_number_typed_in_full_width_digits_with_a_lowercase_x_is_found(
    client: Client, season: Season, accounts: dict[str, Any], tmp_path: Path
) -> None:
    with_x = next(
        number for sequence in range(100, 500) if (number := person_id(sequence)).endswith("X")
    )
    rows = [resident("吴十", with_x, "H9")]
    assert not import_residents(
        path=csv_file(tmp_path / "x.csv", rows), actor=accounts["admin"].user
    ).errors
    typed = " ".join(
        [
            "".join(chr(ord(c) + 0xFEE0) for c in with_x[:6]),
            with_x[6:14],
            with_x[14:17] + "x ",
        ]
    )
    assert "吴十" in search(logged_in(client, "collector"), typed)


def test_a_search_by_name_or_household_number_ignores_case_and_spaces(
    client: Client, season: Season
) -> None:
    client = logged_in(client, "collector")
    by_household = search(client, " h1 ")
    assert "张建国" in by_household and "李秀英" in by_household
    by_name = search(client, "钱 七")
    assert "钱七" in by_name and "张建国" not in by_name


def test_a_collector_does_not_find_a_resident_of_another_village(
    client: Client, season: Season
) -> None:
    page = search(logged_in(client, "collector"), SUN)
    assert "孙八" not in page
    assert "没有找到符合条件的人员" in page


def test_a_collector_gets_the_same_404_for_a_resident_of_another_village_as_for_none(
    client: Client, season: Season
) -> None:
    client = logged_in(client, "collector")
    theirs = client.get(f"/residents/{season.pk(SUN)}/")
    nobody = client.get("/residents/999999/")
    assert theirs.status_code == nobody.status_code == 404
    assert without_csrf(theirs.content.decode()) == without_csrf(nobody.content.decode())
    assert "孙八" not in theirs.content.decode()
    assert not AuditEntry.objects.filter(action="view_resident").exists()


def test_a_township_clerk_sees_the_residents_of_both_villages(
    client: Client, season: Season
) -> None:
    client = logged_in(client, "township")
    assert "孙八" in search(client, SUN)
    assert "张建国" in search(client, ZHANG)
    assert client.get(f"/residents/{season.pk(SUN)}/").status_code == 200
    assert client.get(f"/residents/{season.pk(ZHANG)}/").status_code == 200


def test_a_department_clerk_sees_only_the_residents_holding_rural_dibao(
    client: Client, season: Season
) -> None:
    client = logged_in(client, "department")
    found = search(client, "钱")
    assert "钱七" in found and "钱小妹" not in found
    assert "周九" in search(client, "周九")
    assert "张建国" not in search(client, ZHANG)
    assert client.get(f"/residents/{season.pk(QIAN)}/").status_code == 200
    assert client.get(f"/residents/{season.pk(ZHOU)}/").status_code == 200
    assert client.get(f"/residents/{season.pk(ZHANG)}/").status_code == 404
    assert client.get(f"/residents/{season.pk(QIAN_CHILD)}/").status_code == 404


def test_household_members_outside_the_scope_are_named_without_a_link_or_an_id_number(
    client: Client, season: Season
) -> None:
    page = logged_in(client, "department").get(f"/residents/{season.pk(QIAN)}/")
    html = page.content.decode()
    assert "钱小妹" in html
    assert f"/residents/{season.pk(QIAN_CHILD)}/" not in html
    assert mask_id(QIAN_CHILD) not in html and QIAN_CHILD not in html


def test_household_members_in_the_scope_are_linked(client: Client, season: Season) -> None:
    html = logged_in(client, "collector").get(f"/residents/{season.pk(ZHANG)}/").content.decode()
    assert f'href="/residents/{season.pk(LI)}/"' in html
    assert LI in html


def test_finance_has_no_resident_search_and_no_resident_page(
    client: Client, season: Season
) -> None:
    client = logged_in(client, "finance")
    assert client.get("/residents/").status_code == 403
    assert client.post("/residents/", {"q": ZHANG}).status_code == 403
    assert client.get(f"/residents/{season.pk(ZHANG)}/").status_code == 403
    assert "人员查询" not in client.get("/").content.decode()


def test_a_visitor_is_sent_to_log_in(client: Client, season: Season) -> None:
    response = client.get(f"/residents/{season.pk(ZHANG)}/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_auditor_sees_id_numbers_and_phones_masked_in_the_list_and_on_the_page(
    client: Client, season: Season
) -> None:
    client = logged_in(client, "auditor")
    found = search(client, ZHANG, HX_Request="true")
    assert "张建国" in found
    assert ZHANG not in found and mask_id(ZHANG) in found
    page = client.get(f"/residents/{season.pk(ZHANG)}/").content.decode()
    assert ZHANG not in page and mask_id(ZHANG) in page
    assert ZHANG_PHONE not in page and mask_phone(ZHANG_PHONE) in page
    assert LI not in page and mask_id(LI) in page


def test_a_collector_sees_whole_id_numbers_and_phones(client: Client, season: Season) -> None:
    page = logged_in(client, "collector").get(f"/residents/{season.pk(ZHANG)}/")
    assert ZHANG in page.content.decode() and ZHANG_PHONE in page.content.decode()


def test_each_view_of_a_resident_page_leaves_an_audit_row_naming_the_resident_by_key(
    client: Client, season: Season
) -> None:
    client = logged_in(client, "collector")
    for _ in range(2):
        assert client.get(f"/residents/{season.pk(ZHANG)}/").status_code == 200
    rows = list(AuditEntry.objects.filter(action="view_resident"))
    assert len(rows) == 2
    assert {(r.username, r.origin) for r in rows} == {("collector", "127.0.0.1")}
    assert all(r.resident_id == season.pk(ZHANG) and r.details == {} for r in rows)


def test_the_page_shows_the_enrollment_the_payment_and_the_rule_that_fired(
    client: Client, season: Season
) -> None:
    html = logged_in(client, "collector").get(f"/residents/{season.pk(ZHANG)}/").content.decode()
    assert "2020年度已参保" in html
    assert "2020年1月1日至2020年12月31日" in html
    assert "T001" in html and "250.00" in html
    assert 'data-fen="25000"' in html
    assert "适用：集中缴费期" in html
    assert "个人缴费标准 250 元" in html


def test_the_page_shows_held_money_with_its_reason(client: Client, season: Season) -> None:
    html = logged_in(client, "collector").get(f"/residents/{season.pk(LI)}/").content.decode()
    assert "2020年度未参保" in html
    assert "挂账 200.00 元" in html
    assert "金额不足" in html and "已缴200元，应缴250元" in html


def test_the_page_shows_a_category_with_its_source_and_the_subsidy_it_brings(
    client: Client, season: Season
) -> None:
    html = logged_in(client, "collector").get(f"/residents/{season.pk(QIAN)}/").content.decode()
    assert "农村低保对象" in html and "民政部门" in html and "低保名册.csv" in html
    assert 'data-figure="payable">125.00 元' in html
    assert "还没有缴费记录" in html


def test_a_reversal_shows_beside_the_payment_it_reverses_and_in_the_history(
    client: Client, season: Season
) -> None:
    html = logged_in(client, "township").get(f"/residents/{season.pk(SUN)}/").content.decode()
    assert "reversal:T003" in html and "-250.00" in html
    assert "已冲正" in html
    assert "冲正缴费" in html and "重复缴费" in html


def test_a_search_is_a_post_the_url_carries_no_id_number(client: Client, season: Season) -> None:
    client = logged_in(client, "collector")
    page = client.get("/residents/", {"q": ZHANG}).content.decode()
    assert "张建国" not in page
    assert 'method="post"' in search(client, "张")


def test_htmx_gets_only_the_results(client: Client, season: Season) -> None:
    fragment = search(logged_in(client, "collector"), ZHANG, HX_Request="true")
    assert "张建国" in fragment
    assert "<html" not in fragment


def test_a_search_lists_at_most_50_and_says_so(
    client: Client, season: Season, accounts: dict[str, Any], tmp_path: Path
) -> None:
    rows = [
        resident(f"张{n:02d}", make("430922", date(1940 + n, 1, 1), n, "M"), f"Z{n}")
        for n in range(60)
    ]
    assert not import_residents(
        path=csv_file(tmp_path / "z.csv", rows), actor=accounts["admin"].user
    ).errors
    page = search(logged_in(client, "collector"), "张")
    assert 'data-results="50"' in page
    assert "只显示前 50 人" in page


def test_no_link_on_the_pages_carries_an_id_number(client: Client, season: Season) -> None:
    client = logged_in(client, "admin")
    pages = [
        search(client, "张"),
        search(client, ZHANG),
        client.get(f"/residents/{season.pk(ZHANG)}/").content.decode(),
        client.get(f"/residents/{season.pk(SUN)}/").content.decode(),
        client.get("/audit/").content.decode(),
        client.get("/audit/ledger/").content.decode(),
    ]
    numbers = [ZHANG, LI, QIAN, QIAN_CHILD, SUN, ZHOU, STRANGER]
    every_link = [link for page in pages for link in links(page)]
    assert len(every_link) > 20
    assert not [link for link in every_link if any(n in link for n in numbers)]


def test_the_menu_offers_the_search_to_those_who_may_search(
    client: Client, accounts: dict[str, Any]
) -> None:
    menu = logged_in(client, "collector").get("/").content.decode()
    assert 'href="/residents/">人员查询</a>' in menu
    assert "审计" not in menu
