"""The reports: the bulletin as printed and its downloads, the villages' lists, work funding,
the fund summary, department bills and students — each role sees the reports it may and only
the people where it works, and every download is a real file with an audit row."""

from pathlib import Path
from typing import Any

import pytest
from django.http import FileResponse
from django.test import Client
from pypdf import PdfReader
from python_calamine import CalamineWorkbook

from canbao.registry.models import AuditEntry
from tests.conftest import COUNTY, OTHER_VILLAGE, TOWNSHIP, VILLAGE
from tests.web.progress_campaign import (
    FAR_VILLAGE,
    FAR_VILLAGE_NAME,
    QIAN_CHILD,
    WANG,
    WU_CHILD,
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


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def saved(response: Any, path: Path) -> Path:
    assert response.status_code == 200
    assert isinstance(response, FileResponse)
    path.write_bytes(b"".join(response.streaming_content))
    return path


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def sheet(path: Path, name: str) -> list[list[Any]]:
    rows: list[list[Any]] = (
        CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()
    )
    return rows


def exports() -> list[dict[str, Any]]:
    return [e.details for e in AuditEntry.objects.filter(action="export").order_by("pk")]


# --- the bulletin ----------------------------------------------------------------------------


def test_the_county_clerk_reads_the_bulletin_as_printed(
    client: Client, accounts: dict[str, Any], season: Season
) -> None:
    html = page(logged_in(client, accounts, "clerk"), "/reports/?as_of=2019-11-27")
    assert "桃江县2020年度城乡居民基本医疗保险参保缴费进度通报" in html
    assert "第2期" in html  # the first payment's week is the first
    assert "截至2019年11月27日，桃江县已参保 2 人" in html
    # Daligang ranks villages: 德茂园 (1 of 3) first, then 大栗港社区 (1 of 6), 花果山 (0).
    table = html[html.index('data-table="bulletin"') :]
    order = [table.index(name) for name in ("德茂园村委会", "大栗港社区居委会", FAR_VILLAGE_NAME)]
    assert order == sorted(order)
    assert 'data-chart="bulletin-chart"' in html
    assert 'href="/reports/bulletin.pdf?as_of=2019-11-27"' in html


def test_the_bulletin_downloads_as_pdf_and_workbook_with_an_audit_row_each(
    client: Client, accounts: dict[str, Any], season: Season, tmp_path: Path
) -> None:
    logged_in(client, accounts, "clerk")
    pdf = saved(client.get("/reports/bulletin.pdf?as_of=2019-11-27"), tmp_path / "b.pdf")
    text = pdf_text(pdf)
    assert "大栗港社区居委会" in text and "第2期" in text
    xlsx = saved(client.get("/reports/bulletin.xlsx?as_of=2019-11-27"), tmp_path / "b.xlsx")
    rows = sheet(xlsx, "进度通报")
    assert rows[0][0] == "桃江县2020年度城乡居民基本医疗保险参保缴费进度通报"
    assert any("德茂园村委会" in row for row in rows)
    assert [(e["what"], e["format"], e["division"], e["as_of"]) for e in exports()] == [
        ("bulletin", "pdf", COUNTY, "2019-11-27"),
        ("bulletin", "xlsx", COUNTY, "2019-11-27"),
    ]


def test_the_township_clerk_bulletin_covers_its_township_only(
    client: Client, accounts: dict[str, Any], season: Season, tmp_path: Path
) -> None:
    logged_in(client, accounts, "township")
    html = page(client, "/reports/")
    assert "大栗港镇2020年度城乡居民基本医疗保险参保缴费进度通报" in html
    assert FAR_VILLAGE_NAME not in html
    xlsx = saved(client.get("/reports/bulletin.xlsx"), tmp_path / "b.xlsx")
    assert FAR_VILLAGE_NAME not in str(sheet(xlsx, "进度通报"))
    assert exports()[0]["division"] == TOWNSHIP


def test_a_collector_has_only_her_villages_lists_among_the_reports(
    client: Client, accounts: dict[str, Any], season: Season
) -> None:
    logged_in(client, accounts, "collector")
    response = client.get("/reports/", follow=True)
    assert response.redirect_chain[-1][0] == "/reports/villages/"
    html = response.content.decode()
    assert f'href="/division/{VILLAGE}/notices.pdf"' in html
    assert OTHER_VILLAGE not in html
    for url in ("/reports/bulletin.pdf", "/reports/funding/", "/reports/students/"):
        assert client.get(url).status_code == 403, url


def test_the_township_clerk_lists_the_villages_of_its_township(
    client: Client, accounts: dict[str, Any], season: Season
) -> None:
    html = page(logged_in(client, accounts, "township"), "/reports/villages/")
    assert f'href="/division/{VILLAGE}/followup.pdf"' in html
    assert f'href="/division/{OTHER_VILLAGE}/notices.xlsx"' in html
    assert FAR_VILLAGE not in html
    assert client.get(f"/division/{FAR_VILLAGE}/notices.pdf").status_code == 404


def test_finance_cannot_take_notices_or_follow_up_lists(
    client: Client, accounts: dict[str, Any], season: Season
) -> None:
    logged_in(client, accounts, "finance")
    for url in (
        f"/division/{VILLAGE}/notices.xlsx",
        f"/division/{VILLAGE}/notices.pdf",
        f"/division/{VILLAGE}/followup.xlsx",
        "/reports/villages/",
    ):
        assert client.get(url).status_code == 403, url
    assert exports() == []


# --- work funding and the fund summary --------------------------------------------------------


def test_work_funding_shows_each_unit_with_the_rules_and_downloads(
    client: Client, accounts: dict[str, Any], season: Season, tmp_path: Path
) -> None:
    logged_in(client, accounts, "clerk")
    html = page(client, "/reports/funding/")
    assert f'data-unit="{VILLAGE}"' in html and f'data-unit="{FAR_VILLAGE}"' in html
    assert "问责" in html and "计算依据" in html
    xlsx = saved(client.get("/reports/funding.xlsx"), tmp_path / "f.xlsx")
    rows = sheet(xlsx, "工作经费")
    assert any(VILLAGE in row for row in rows)
    assert exports()[0]["what"] == "funding"


def test_finance_reads_the_fund_summary_and_a_township_clerk_cannot(
    client: Client, accounts: dict[str, Any], season: Season, tmp_path: Path
) -> None:
    logged_in(client, accounts, "finance")
    html = page(client, "/reports/funds/")
    # 张建国 and 孙八 250 yuan each, 李秀英 100 yuan held: 600 yuan by tax.
    assert "600.00" in html
    assert "平衡" in html
    xlsx = saved(client.get("/reports/funds.xlsx"), tmp_path / "funds.xlsx")
    assert sheet(xlsx, "基金筹集")[0][0].startswith("桃江县2020年度")
    client.logout()
    logged_in(client, accounts, "township")
    assert client.get("/reports/funds/").status_code == 403
    assert client.get("/reports/funds.xlsx").status_code == 403
    assert [e["what"] for e in exports()] == ["funds"]


# --- department bills ------------------------------------------------------------------------


def test_a_department_clerk_sees_and_downloads_only_its_own_bill(
    client: Client, accounts: dict[str, Any], season: Season, tmp_path: Path
) -> None:
    logged_in(client, accounts, "department")
    html = page(client, "/reports/bills/")
    assert 'data-bill="civil_affairs"' in html
    assert "医疗救助资金" not in html
    xlsx = saved(client.get("/reports/bills/civil_affairs.xlsx"), tmp_path / "bill.xlsx")
    assert "民政部门" in sheet(xlsx, "资助明细")[0][0]
    assert client.get("/reports/bills/medical_assistance.xlsx").status_code == 404
    assert client.get("/reports/bills/nobody.xlsx").status_code == 404
    for url in ("/reports/funds/", "/reports/funding/", f"/division/{VILLAGE}/"):
        assert client.get(url).status_code == 403, url
    assert [(e["what"], e["funder"]) for e in exports()] == [("bill", "civil_affairs")]


def test_finance_sees_every_funders_bill_with_masked_id_numbers(
    client: Client, accounts: dict[str, Any], season: Season, tmp_path: Path
) -> None:
    logged_in(client, accounts, "finance")
    html = page(client, "/reports/bills/")
    # 王五 (特困) 250 yuan and 钱七 (农村低保) 125 yuan, by medical assistance.
    assert 'data-bill="medical_assistance"' in html and "375.00" in html
    assert WANG not in html and WANG[:6] + "********" + WANG[-4:] in html
    xlsx = saved(client.get("/reports/bills/medical_assistance.xlsx"), tmp_path / "m.xlsx")
    rows = sheet(xlsx, "资助明细")
    assert WANG not in str(rows) and any(WANG[-4:] in str(row[4]) for row in rows)


# --- students --------------------------------------------------------------------------------


def test_students_are_counted_by_school_and_named_only_where_the_account_works(
    client: Client, accounts: dict[str, Any], season: Season, tmp_path: Path
) -> None:
    logged_in(client, accounts, "township")
    html = page(client, "/reports/students/?as_of=2019-12-01")
    assert "大栗港镇中心小学" in html
    unpaid = html[html.index('data-table="unpaid-students"') :]
    assert "钱小妹" in unpaid and QIAN_CHILD in unpaid
    assert "吴小宝" not in html  # a pupil of 桃花江镇: counted, not named to 大栗港镇
    xlsx = saved(client.get("/reports/students.xlsx?as_of=2019-12-01"), tmp_path / "s.xlsx")
    named = str(sheet(xlsx, "未参保学生"))
    assert "钱小妹" in named and "吴小宝" not in named


def test_finance_sees_every_unpaid_pupil_with_masked_numbers(
    client: Client, accounts: dict[str, Any], season: Season, tmp_path: Path
) -> None:
    logged_in(client, accounts, "finance")
    html = page(client, "/reports/students/?as_of=2019-12-01")
    assert "钱小妹" in html and "吴小宝" in html
    assert QIAN_CHILD not in html and WU_CHILD not in html
    xlsx = saved(client.get("/reports/students.xlsx?as_of=2019-12-01"), tmp_path / "s.xlsx")
    named = str(sheet(xlsx, "未参保学生"))
    assert "吴小宝" in named and WU_CHILD not in named


def test_the_menu_shows_the_reports_to_the_roles_that_have_some(
    client: Client, accounts: dict[str, Any], season: Season
) -> None:
    for name, shown in (("clerk", True), ("collector", True), ("auditor", True), ("tax", False)):
        client.force_login(accounts[name].user)
        html = client.get("/login/", follow=True).content.decode()
        assert ('href="/reports/"' in html) is shown, name
        client.logout()
