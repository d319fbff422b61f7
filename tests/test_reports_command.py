"""`canbao report tasks|coverage|funding|funds`: JSON shapes, workbooks, exit statuses."""

import json
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from python_calamine import CalamineWorkbook

from canbao.campaigns.models import Campaign
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.collection.models import Channel
from canbao.collection.services import PaymentRow, record_payments
from canbao.regions.models import Division
from canbao.registry.services import import_residents
from tests.conftest import COUNTY, OTHER_VILLAGE, VILLAGE, person_id, resident, staff, xlsx_file

pytestmark = pytest.mark.django_db

PEOPLE = [(f"社区{n}", person_id(100 + n)) for n in range(4)]


@pytest.fixture
def campaign(daligang: dict[str, Division], tmp_path: Path) -> Campaign:
    rows = [resident(n, i, f"H{k}") for k, (n, i) in enumerate(PEOPLE)]
    assert not import_residents(path=xlsx_file(tmp_path / "r.xlsx", rows), actor=staff("t")).errors
    campaign = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff("t"))
    assess_campaign(campaign=campaign, actor=staff("t"))
    rows_paid = [
        PaymentRow(key=f"T{i}", paid_on=date(2019, 11, 20), amount_fen=25_000, id_number=i, name=n)
        for n, i in PEOPLE[:3]
    ]
    record_payments(
        campaign=campaign, channel=Channel.TAX, rows=rows_paid, batch=None, actor=staff("t")
    )
    return campaign


def run(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("report", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(str(exit_.code)), out.getvalue(), err.getvalue()
    except CommandError as error:
        return error.returncode, out.getvalue(), str(error)
    return 0, out.getvalue(), err.getvalue()


def test_coverage_json_has_the_documented_shape(campaign: Campaign) -> None:
    status, out, _ = run("coverage", "--as-of", "2019-11-20", "--json")
    assert status == 0
    data = json.loads(out)
    assert (data["as_of"], data["previous_as_of"], data["level"]) == (
        "2019-11-20",
        "2019-11-13",
        "village",
    )
    first = data["units"][0]
    assert first == {
        "code": VILLAGE,
        "name": "大栗港社区居委会",
        "parent_code": "430922117",
        "parent_name": "大栗港镇",
        "population_base": 4,
        "task": 4,
        "task_origin": "computed",
        "enrolled": 3,
        "enrolled_previous": 0,
        "change": 3,
        "rate_of_task": "75.0",
        "rate_of_base": "75.0",
        "gap_to_task": 1,
        "rank": 1,
        "groups": {
            "registered_poor": {"members": 0, "enrolled": 0, "rate": None},
            "extreme_poverty": {"members": 0, "enrolled": 0, "rate": None},
            "rural_dibao": {"members": 0, "enrolled": 0, "rate": None},
        },
    }
    assert data["units"][1]["code"] == OTHER_VILLAGE and data["units"][1]["task"] == 0
    assert data["line_percent"] == "90" and data["units_below_line"] == [VILLAGE]
    assert data["total"]["enrolled"] == 3 and data["total"]["rank"] is None


def test_coverage_text_ranks_units_with_chinese_number_formats(campaign: Campaign) -> None:
    status, out, _ = run("coverage", "--as-of", "2019-11-20", "--level", "township")
    assert status == 0
    assert "桃江县2020年度城乡居民医保参保进度（截至2019年11月20日，较上期2019年11月13日）" in out
    assert "参保率低于90%的单位：大栗港镇（75.0%）" in out


def test_an_existing_workbook_is_replaced_only_with_force(
    as_admin: None, campaign: Campaign, tmp_path: Path
) -> None:
    path = tmp_path / "进度.xlsx"
    assert run("coverage", "--as-of", "2019-11-20", "--xlsx", str(path))[0] == 0
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert rows[3][:7] == [1.0, VILLAGE, "大栗港社区居委会", "大栗港镇", 4.0, 4.0, 3.0]
    status, _, message = run("coverage", "--as-of", "2019-11-20", "--xlsx", str(path))
    assert status == 2 and "--force" in message
    assert run("coverage", "--xlsx", str(path), "--force")[0] == 0


def test_usage_errors_exit_2(as_admin: None, campaign: Campaign) -> None:
    status, _, message = run("coverage", "--within", "450110")
    assert status == 2 and "不在本次工作" in message
    status, _, message = run("tasks", "--from-registry", "--xlsx", "t.xlsx")
    assert status == 2 and "--xlsx" in message
    status, _, message = run("coverage", "--campaign", "99")
    assert status == 2


def test_an_override_without_a_reason_is_refused_with_exit_1(
    as_admin: None, campaign: Campaign
) -> None:
    status, out, _ = run("tasks", "--set", VILLAGE, "--task", "3", "--json")
    assert status == 1
    assert json.loads(out)["error"]["code"] == "reason_required"
    status, out, _ = run("tasks", "--set", VILLAGE, "--task", "3", "--reason", "镇里调整")
    assert status == 0 and "镇里调整" in out


def test_funding_and_funds_print_json_in_fen(campaign: Campaign) -> None:
    status, out, _ = run("funding", "--json")
    data = json.loads(out)
    assert status == 0 and data["deadline"] == "2019-12-31"
    community = data["units"][0]
    assert [(line["rule"], line["fen"]) for line in community["lines"]] == [
        ("参保率低于90%", 600),
        ("信息采集、录入（税务系统缴费成功人数）", 300),
    ]
    assert community["accountable"] and data["unit_fen"] == 900
    status, out, _ = run("funds", "--json")
    funds = json.loads(out)
    assert funds["personal_net_fen"] == 75_000 and funds["ledger"]["balanced"] is True
