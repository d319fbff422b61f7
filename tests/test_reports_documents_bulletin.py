"""The weekly bulletin (通报) and the documents' commands: `canbao report bulletin|followup|notices`
with --json, --xlsx and --pdf, read back; Daligang 2020 (target 95%, accountability below 90%,
特困人员 and 农村低保对象 must reach 100%)."""

import base64
import json
import zipfile
from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from canbao.campaigns.models import Campaign
from canbao.reports.documents import fonts
from canbao.reports.documents.bulletin import (
    build_bulletin,
    bulletin_number,
    write_bulletin_pdf,
    write_bulletin_xlsx,
)
from canbao.reports.documents.chart import rate_chart
from tests import test_reports_documents as documents
from tests.conftest import OTHER_VILLAGE, TOWNSHIP, VILLAGE
from tests.test_demo import run_demo
from tests.test_reports_documents import cell_format, column_of, excel_cell, pdf_fonts, pdf_text

campaign = documents.campaign  # 大栗港社区: 张建国 paid on 20 Nov; 德茂园: 孙八 on 27 Nov

TITLE = "桃江县2020年度城乡居民基本医疗保险参保缴费进度通报"


def run(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("report", *args, stdout=out, stderr=err)
    except CommandError as error:
        return error.returncode, out.getvalue(), str(error)
    return 0, out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_the_bulletin_is_numbered_by_the_week_of_the_first_payment(campaign: Campaign) -> None:
    assert bulletin_number(campaign, date(2019, 11, 1)) == 1
    assert bulletin_number(campaign, date(2019, 11, 26)) == 1
    assert bulletin_number(campaign, date(2019, 11, 27)) == 2
    bulletin = build_bulletin(campaign=campaign, as_of=date(2019, 11, 27), number=7)
    assert bulletin.number == 7


@pytest.mark.django_db
def test_the_bulletin_ranks_the_villages_and_names_the_shortfalls(campaign: Campaign) -> None:
    bulletin = build_bulletin(campaign=campaign, as_of=date(2019, 11, 27), level="village")
    assert bulletin.title == TITLE and bulletin.number == 2
    report = bulletin.report
    assert [(u.rank, u.name, u.enrolled, u.rate_of_base) for u in report.units] == [
        (1, "德茂园村委会", 1, 100),
        (2, "大栗港社区居委会", 1, 20),
    ]
    assert [u.code for u in report.units_below_line] == [VILLAGE]
    assert [(s.unit_name, s.label, s.missing) for s in report.special_groups] == [
        ("大栗港社区居委会", "特困人员", 1),
        ("大栗港社区居委会", "农村低保对象", 1),
    ]
    data = bulletin.as_json()
    assert (data["title"], data["number"], data["target_percent"]) == (TITLE, 2, "95")
    assert (data["as_of"], data["line_percent"], data["units_below_line"]) == (
        "2019-11-27",
        "90",
        [VILLAGE],
    )


@pytest.mark.django_db
def test_the_bulletin_as_pdf(campaign: Campaign, tmp_path: Path) -> None:
    bulletin = build_bulletin(campaign=campaign, as_of=date(2019, 11, 27), level="village")
    write_bulletin_pdf(bulletin, tmp_path / "通报.pdf")
    text = pdf_text(tmp_path / "通报.pdf")
    assert TITLE in text and "第2期" in text and "截至2019年11月27日" in text
    assert "德茂园村委会" in text and "大栗港社区居委会" in text
    assert "100.0%" in text and "33.3%" in text  # 德茂园; the county, 2 of 6
    assert "特困人员" in text and "农村低保对象" in text
    assert "大栗港社区居委会（20.0%），共 1 个" in text
    assert "大栗港镇" in text  # villages are ranked beside their township
    used = pdf_fonts(tmp_path / "通报.pdf")
    assert used and all(used.values()), used


def test_the_chart_draws_a_bar_per_unit_against_the_target() -> None:
    def svg(rates: list[Decimal | None]) -> str:
        names = [f"第{n}村" for n in range(len(rates))]
        url = rate_chart(names, rates, target=Decimal(95), line=Decimal(90))
        assert url.startswith("data:image/svg+xml;base64,")
        return base64.b64decode(url.split(",", 1)[1]).decode()

    two, three = svg([Decimal(100), Decimal(20)]), svg([Decimal(100), Decimal(20), None])
    assert two.startswith("<?xml") and "<svg" in two
    assert three.count('id="patch_') == two.count('id="patch_') + 1


@pytest.mark.django_db
def test_the_bulletin_as_xlsx_has_numbers_formats_and_its_chart(
    campaign: Campaign, tmp_path: Path
) -> None:
    bulletin = build_bulletin(campaign=campaign, as_of=date(2019, 11, 27), level="village")
    path = tmp_path / "通报.xlsx"
    write_bulletin_xlsx(bulletin, path)
    rows = documents.sheet_rows(path, "进度通报")
    assert rows[0][0] == TITLE and rows[1][0].startswith("第2期")
    base, rate = column_of(rows, "人口基数"), column_of(rows, "参保率（对人口基数）")
    township, name = column_of(rows, "乡镇（街道）"), column_of(rows, "村（社区）")
    index, first = next((i, row) for i, row in enumerate(rows) if row[name] == "德茂园村委会")
    assert (first[0], first[township], first[base], first[rate]) == (1.0, "大栗港镇", 1.0, 1.0)
    total = next(row for row in rows if row[name] == "桃江县合计")
    assert (total[base], total[column_of(rows, "已参保")]) == (6.0, 2.0)
    assert cell_format(path, 1, excel_cell(index, rate)) == "0.0%"
    assert cell_format(path, 1, excel_cell(index, base)) == "#,##0"
    shortfalls = documents.sheet_rows(path, "特殊群体未达标")
    assert ["大栗港社区居委会", "特困人员", 1.0, 0.0, 1.0, 0.0] in shortfalls
    below = documents.sheet_rows(path, "低于问责线")
    assert any(row[1] == "大栗港社区居委会" for row in below)
    with zipfile.ZipFile(path) as archive:
        chart = archive.read("xl/charts/chart1.xml").decode()
        drawing = archive.read("xl/worksheets/_rels/sheet1.xml.rels").decode()
    assert "<c:barChart>" in chart and "<c:lineChart>" in chart
    assert "进度通报!$C$6:$C$7" in chart and "进度通报!$I$6:$I$7" in chart  # names, rates
    assert "drawing1.xml" in drawing


@pytest.mark.django_db
def test_report_bulletin_writes_json_xlsx_and_pdf(
    as_admin: None, campaign: Campaign, tmp_path: Path
) -> None:
    pdf, xlsx = tmp_path / "通报.pdf", tmp_path / "通报.xlsx"
    status, out, _ = run(
        *("bulletin", "--as-of", "2019-11-27", "--level", "township", "--json"),
        *("--pdf", str(pdf), "--xlsx", str(xlsx)),
    )
    assert status == 0
    data = json.loads(out)
    assert (data["number"], data["level"], data["units"][0]["name"]) == (2, "township", "大栗港镇")
    assert TITLE in pdf_text(pdf) and xlsx.is_file()
    # Written again: refused without --force, before any work, and nothing is touched.
    (tmp_path / "另一个.xlsx").unlink(missing_ok=True)
    status, _, message = run(
        *("bulletin", "--as-of", "2019-11-27"),
        *("--xlsx", str(tmp_path / "另一个.xlsx"), "--pdf", str(pdf)),
    )
    assert status == 2 and "--force" in message
    assert not (tmp_path / "另一个.xlsx").exists()
    status, out, _ = run("bulletin", "--as-of", "2019-11-27", "--within", TOWNSHIP)
    assert status == 0 and out.startswith("大栗港镇2020年度城乡居民基本医疗保险参保缴费进度通报\n")


@pytest.mark.django_db
def test_report_followup_and_notices_for_a_village(
    as_admin: None, campaign: Campaign, tmp_path: Path
) -> None:
    status, out, _ = run("followup", "--village", VILLAGE, "--json")
    assert status == 0
    data = json.loads(out)
    assert [h["number"] for h in data["households"]] == ["H2", "H4", "H1"]
    assert (data["residents"], data["special"], data["owing_fen"]) == (3, 2, 27500)
    status, out, _ = run("followup", "--village", VILLAGE)
    assert status == 0 and "★王五（户主，五保户）应缴 0.00 元" in out
    assert "李秀英（妻，一般农户、城镇居民）应缴 250.00 元，尚需缴 150.00 元" in out

    xlsx = tmp_path / "通知单.xlsx"
    status, out, _ = run("notices", "--village", OTHER_VILLAGE, "--xlsx", str(xlsx), "--json")
    assert status == 0 and xlsx.is_file()
    data = json.loads(out)
    assert (data["deadline"], data["households"]) == ("2019-12-31", 1)
    assert data["notices"][0]["members"][0]["payable_fen"] == 25000


@pytest.mark.django_db
def test_the_documents_refuse_what_is_no_village_or_no_font(
    as_admin: None, campaign: Campaign, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, _, message = run("notices", "--village", TOWNSHIP)
    assert status == 2 and "不是村（社区）" in message
    status, _, message = run("followup", "--village", "450110100201")
    assert status == 2 and "不在本次工作" in message
    monkeypatch.setattr(fonts, "CJK_FONT", tmp_path / "missing.ttc")
    xlsx, pdf = tmp_path / "名单.xlsx", tmp_path / "名单.pdf"
    status, _, message = run(
        "followup", "--village", VILLAGE, "--xlsx", str(xlsx), "--pdf", str(pdf)
    )
    assert status == 2 and "apt-get install fonts-wqy-microhei" in message
    assert not xlsx.exists() and not pdf.exists()


def test_the_demo_ends_with_the_documents_as_pdf_and_xlsx(tmp_path: Path) -> None:
    done = run_demo(tmp_path)
    assert done.returncode == 0, done.stderr
    documents_part = done.stdout.split("== 印发的文书")[1]
    assert (
        "$ canbao report bulletin --as-of 2019-12-18 --pdf 参保缴费进度通报.pdf" in documents_part
    )
    folder = Path(documents_part.split("文书已写入 ")[1].split("：")[0])
    village = documents_part.split("催缴名单（")[1].split("）")[0]
    names = ["参保缴费进度通报", f"催缴名单-{village}", f"缴费通知单-{village}"]
    for name in names:
        assert f"    {name}.pdf\n    {name}.xlsx" in documents_part
        assert (folder / f"{name}.xlsx").is_file()
    assert TITLE in pdf_text(folder / "参保缴费进度通报.pdf")
    assert f"{village}2020年度城乡居民医保未参保人员催缴名单" in pdf_text(
        folder / f"催缴名单-{village}.pdf"
    )
    assert "尚未缴清的" in documents_part.split("\n  缴费通知单（")[1]
    assert "缴费通知单" in pdf_text(folder / f"缴费通知单-{village}.pdf")
