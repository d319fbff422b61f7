"""The dashboard and the division pages: each role sees the progress where it works and nothing
beyond; a village's page carries its follow-up list and the notices to print, downloaded as real
files and recorded in the audit trail."""

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from pypdf import PdfReader
from python_calamine import CalamineWorkbook

from canbao.regions.models import Division
from canbao.registry.models import AuditEntry, Resident
from canbao.reports.documents.followup_list import build_followup_list
from canbao.web.views.divisions import masked_followup
from tests.conftest import OTHER_VILLAGE, TOWNSHIP, VILLAGE
from tests.web.progress_campaign import (
    FAR_VILLAGE,
    LI,
    OTHER_TOWNSHIP,
    QIAN,
    QIAN_PHONE,
    WANG,
    ZHAO,
    Season,
    build_season,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def season(accounts: dict[str, Any], tmp_path: Path) -> Season:
    return build_season(tmp_path, accounts["admin"].user)


def logged_in(client: Client, accounts: dict[str, Any], name: str) -> Client:
    client.force_login(accounts[name].user)
    return client


def chart(html: str, element_id: str) -> dict[str, Any]:
    """The data a page hands its chart (Django's json_script)."""
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html)
    assert found is not None, f"no chart data {element_id}"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">([^<]*)<', html)
    assert found is not None, f"no figure {name}"
    return found.group(1)


def without_token(content: bytes) -> bytes:
    """A page without its CSRF tokens (masked afresh on every response)."""
    content = re.sub(rb'"X-CSRFToken": "[^"]*"', b"", content)
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", content)


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


# --- the dashboard ---------------------------------------------------------------------------


def test_the_county_clerk_sees_the_townships_against_the_task_as_of_a_day(
    client: Client, accounts: dict[str, Any], season: Season
) -> None:
    html = page(logged_in(client, accounts, "clerk"), "/?as_of=2019-11-27")
    # Enrolled by 11-27: 张建国 (11-20) and 孙八 (11-27); a week before, 张建国 only.
    assert figure(html, "enrolled") == "2"
    assert figure(html, "change") == "+1"
    # Tasks from the registry, per village at 95% rounded half up: 6 + 2 + 2 people.
    assert figure(html, "task") == "10"
    assert figure(html, "rate_of_task") == "20.0%"
    assert figure(html, "gap") == "8"
    data = chart(html, "rate-chart")
    assert [unit["name"] for unit in data["units"]] == ["大栗港镇", "桃花江镇"]
    assert data["units"][0]["rate"] == 25.0  # 2 of the 8 registered in 大栗港镇
    assert (data["target"], data["line"]) == (95.0, 90.0)
    assert 'href="/division/430922117/"' in html


def test_the_dashboard_counts_nothing_paid_after_the_day_asked(
    client: Client, accounts: dict[str, Any], season: Season
) -> None:
    html = page(logged_in(client, accounts, "clerk"), "/?as_of=2019-11-20")
    assert figure(html, "enrolled") == "1"
    assert "截至2019年11月20日" in html


def test_a_day_that_is_not_a_date_is_said_in_chinese_and_today_is_shown(
    client: Client, accounts: dict[str, Any], season: Season
) -> None:
    logged_in(client, accounts, "clerk")
    html = page(client, "/?as_of=2019-13-45")
    assert "日期“2019-13-45”无法识别" in html
    assert figure(html, "enrolled") == "2"  # every payment is in the past
    html = page(client, "/?as_of=0001-01-01")  # a week before it is not a day
    assert "日期“0001-01-01”无法识别" in html


def test_the_township_clerk_sees_its_villages_ranked_and_not_the_other_township(
    client: Client, accounts: dict[str, Any], season: Season
) -> None:
    html = page(logged_in(client, accounts, "township"), "/?as_of=2019-11-27")
    data = chart(html, "rate-chart")
    # 德茂园: 1 of 2 (50%) ranks before 大栗港社区: 1 of 6.
    assert [unit["name"] for unit in data["units"]] == ["德茂园村委会", "大栗港社区居委会"]
    assert "花果山村委会" not in html and "桃花江镇" not in html


def test_a_collector_sees_her_village_and_what_is_left_to_collect(
    client: Client, accounts: dict[str, Any], season: Season
) -> None:
    html = page(logged_in(client, accounts, "collector"), "/")
    assert "大栗港社区居委会参保进度" in html
    # 李秀英 (held), 王五 (department to pay), 钱七 and 钱小妹: three households, four people.
    assert "尚未参保：3 户 4 人" in html
    assert 'href="/division/430922117201/#followup"' in html
    assert "德茂园村委会" not in html


def test_a_department_clerk_starts_on_its_bills_and_an_integration_has_no_page(
    client: Client, accounts: dict[str, Any], season: Season
) -> None:
    response = logged_in(client, accounts, "department").get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/reports/bills/"
    client.logout()
    assert logged_in(client, accounts, "tax").get("/").status_code == 403


# --- division pages --------------------------------------------------------------------------


def test_the_township_clerk_opens_its_township_and_not_another(
    client: Client, accounts: dict[str, Any], season: Season
) -> None:
    logged_in(client, accounts, "township")
    html = page(client, f"/division/{TOWNSHIP}/?as_of=2019-11-27")
    assert "大栗港镇" in html and "德茂园村委会" in html
    other = client.get(f"/division/{OTHER_TOWNSHIP}/")
    nowhere = client.get("/division/430922999/")
    assert other.status_code == nowhere.status_code == 404
    assert without_token(other.content) == without_token(nowhere.content)
    assert client.get(f"/division/{FAR_VILLAGE}/").status_code == 404


def test_a_collector_cannot_open_the_other_village_nor_take_its_lists(
    client: Client, accounts: dict[str, Any], season: Season
) -> None:
    logged_in(client, accounts, "collector")
    for url in (
        f"/division/{OTHER_VILLAGE}/",
        f"/division/{OTHER_VILLAGE}/notices.pdf",
        f"/division/{OTHER_VILLAGE}/notices.xlsx",
        f"/division/{OTHER_VILLAGE}/followup.xlsx",
        f"/division/{TOWNSHIP}/",
    ):
        assert client.get(url).status_code == 404, url
    assert not AuditEntry.objects.filter(action="export").exists()


def test_a_village_page_shows_its_special_groups_and_follow_up_list(
    client: Client, accounts: dict[str, Any], season: Season
) -> None:
    html = page(logged_in(client, accounts, "collector"), f"/division/{VILLAGE}/")
    groups = html[html.index('id="groups"') : html.index('id="notices"')]
    assert "特困人员" in groups and "农村低保对象" in groups
    followup = html[html.index('id="followup"') :]
    for name in ("李秀英", "王五", "钱七", "钱小妹"):
        assert name in followup
    assert "赵六" not in followup  # insured as an employee: cannot enroll
    assert "张建国" in followup  # named as the head of 李秀英's household, who has paid
    assert LI in followup and QIAN_PHONE in followup  # a collector sees whole numbers
    assert "挂账 100.00 元" in followup
    qian = Resident.objects.get(id_number=QIAN)
    assert f'<a href="/residents/{qian.pk}/">钱七</a>' in followup
    assert "待医疗救助资金代缴 250.00 元" in followup
    # The notices: the households that still have to pay.
    assert "尚有成员未缴费的 <strong>2</strong> 户" in html


def test_the_auditor_sees_a_villages_progress_but_not_its_people(
    client: Client, accounts: dict[str, Any], season: Season
) -> None:
    logged_in(client, accounts, "auditor")
    html = page(client, f"/division/{VILLAGE}/")
    assert figure(html, "enrolled") == "1"
    assert 'id="followup"' not in html and "钱七" not in html
    assert client.get(f"/division/{VILLAGE}/notices.pdf").status_code == 403
    assert client.get(f"/division/{VILLAGE}/followup.xlsx").status_code == 403


def test_a_follow_up_list_for_an_account_that_only_counts_hides_the_numbers(
    season: Season,
) -> None:
    village = Division.objects.get(code=VILLAGE)
    listed = build_followup_list(campaign=season.campaign, village=village, today=date(2019, 12, 1))
    masked = masked_followup(listed)
    text = json.dumps(masked.as_json(), ensure_ascii=False)
    assert QIAN not in text and QIAN_PHONE not in text
    assert "138****5555" in text and QIAN[:6] + "********" + QIAN[-4:] in text
    assert [h.number for h in masked.households] == [h.number for h in listed.households]


# --- downloads -------------------------------------------------------------------------------


def test_a_collector_prints_her_villages_notices_as_a_pdf(
    client: Client, accounts: dict[str, Any], season: Season, tmp_path: Path
) -> None:
    response = logged_in(client, accounts, "collector").get(f"/division/{VILLAGE}/notices.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "filename*=utf-8''" in response["Content-Disposition"]
    path = tmp_path / "notices.pdf"
    path.write_bytes(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    text = "\n".join(p.extract_text() for p in PdfReader(path).pages)
    # The households that still have to pay: 李秀英's and 钱七's; 王五's pays nothing itself.
    assert "大栗港社区居委会" in text and "李秀英" in text and "钱七" in text
    assert "王五" not in text
    assert QIAN not in text  # the paper notice masks the ID number
    entry = AuditEntry.objects.get(action="export")
    assert entry.user == accounts["collector"].user
    assert entry.details["what"] == "notices"
    assert entry.details["division"] == VILLAGE
    assert entry.details["households"] == 2


def test_the_follow_up_list_downloads_as_a_workbook_with_whole_numbers_for_the_collector(
    client: Client, accounts: dict[str, Any], season: Season, tmp_path: Path
) -> None:
    response = logged_in(client, accounts, "collector").get(f"/division/{VILLAGE}/followup.xlsx")
    assert response.status_code == 200
    path = tmp_path / "followup.xlsx"
    path.write_bytes(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("催缴名单").to_python()
    names = [row[3] for row in rows[4:] if row[3] and row[0] != "合计"]
    assert sorted(names) == sorted(["李秀英", "王五", "钱七", "钱小妹"])
    assert any(row[4] == WANG for row in rows)
    assert ZHAO not in str(rows)
    entry = AuditEntry.objects.get(action="export")
    assert (entry.details["what"], entry.details["format"]) == ("followup", "xlsx")
