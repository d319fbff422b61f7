"""Coverage at any date (参保进度): enrolled as of a day from the ledger's enrollment dates, the
rates against task and population, the ranking and the special groups' 100% line."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from canbao.campaigns.models import Campaign
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.collection.models import Channel
from canbao.collection.services import PaymentRow, record_payments, reverse_payment
from canbao.regions.models import Division
from canbao.registry.rosters import import_roster
from canbao.registry.services import import_residents
from canbao.reports.coverage import GroupCoverage, coverage
from canbao.reports.services import override_task
from tests.conftest import (
    COUNTY,
    OTHER_VILLAGE,
    VILLAGE,
    csv_file,
    person_id,
    resident,
    staff,
    xlsx_file,
)

pytestmark = pytest.mark.django_db

ROSTER_HEADER = ("姓名", "公民身份号码")
# 大栗港社区: ten people, two of them 特困; 德茂园: four people, one 农村低保.
COMMUNITY = [(f"社区{n}", person_id(100 + n)) for n in range(10)]
DEMAOYUAN = [(f"德茂{n}", person_id(200 + n)) for n in range(4)]


def pay(campaign: Campaign, day: date, *people: tuple[str, str], fen: int = 25_000) -> None:
    rows = [
        PaymentRow(
            key=f"T{day:%m%d}{id_number}",
            paid_on=day,
            amount_fen=fen,
            id_number=id_number,
            name=name,
        )
        for name, id_number in people
    ]
    record_payments(campaign=campaign, channel=Channel.TAX, rows=rows, batch=None, actor=staff("t"))


def subsidise(campaign: Campaign, day: date, *people: tuple[str, str]) -> None:
    """特困人员: the medical assistance fund pays the whole 250 yuan."""
    rows = [
        PaymentRow(
            key=f"P{day:%m%d}{id_number}",
            paid_on=day,
            amount_fen=25_000,
            id_number=id_number,
            name=name,
            funder="medical_assistance",
        )
        for name, id_number in people
    ]
    record_payments(
        campaign=campaign, channel=Channel.PROXY, rows=rows, batch=None, actor=staff("t")
    )


@pytest.fixture
def campaign(daligang: dict[str, Division], tmp_path: Path) -> Campaign:
    rows = [resident(n, i, f"C{k}") for k, (n, i) in enumerate(COMMUNITY)]
    rows += [resident(n, i, f"D{k}", village=OTHER_VILLAGE) for k, (n, i) in enumerate(DEMAOYUAN)]
    assert not import_residents(path=xlsx_file(tmp_path / "r.xlsx", rows), actor=staff("t")).errors
    roster = csv_file(tmp_path / "tk.csv", [list(p) for p in COMMUNITY[:2]], ROSTER_HEADER)
    assert not import_roster(
        path=roster, category="extreme_poverty", source="civil_affairs", actor=staff("t")
    ).errors
    campaign = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff("t"))
    assess_campaign(campaign=campaign, actor=staff("t"))
    return campaign


def test_it_counts_enrolled_as_of_the_day_and_a_week_before(campaign: Campaign) -> None:
    pay(campaign, date(2019, 11, 20), *COMMUNITY[2:8])
    pay(campaign, date(2019, 11, 28), *DEMAOYUAN[:3])
    report = coverage(campaign=campaign, as_of=date(2019, 11, 28), level="village")
    assert report.previous_as_of == date(2019, 11, 21)
    units = report.units
    rows = [(u.name, u.enrolled, u.enrolled_previous, u.change, u.task, u.rank) for u in units]
    assert rows == [
        ("德茂园村委会", 3, 0, 3, 4, 1),
        ("大栗港社区居委会", 6, 6, 0, 10, 2),
    ]
    assert report.units[0].rate_of_task == Decimal("75.0")
    assert (report.total.enrolled, report.total.task, report.total.rate_of_task) == (
        9,
        14,
        Decimal("64.3"),
    )


def test_a_report_for_a_past_day_comes_out_the_same_after_later_payments(
    campaign: Campaign,
) -> None:
    subsidise(campaign, date(2019, 11, 20), *COMMUNITY[:2])
    pay(campaign, date(2019, 11, 20), *COMMUNITY[2:5])
    pay(campaign, date(2019, 11, 26), *DEMAOYUAN[:2])
    before = coverage(campaign=campaign, as_of=date(2019, 11, 26), level="village").as_json()

    pay(campaign, date(2019, 11, 27), *COMMUNITY[5:], *DEMAOYUAN[2:])
    pay(campaign, date(2019, 12, 20), COMMUNITY[2])  # paid twice: the second is held as excess

    again = coverage(campaign=campaign, as_of=date(2019, 11, 26), level="village").as_json()
    assert again == before
    later = coverage(campaign=campaign, as_of=date(2019, 11, 27), level="village")
    assert (later.total.enrolled, later.total.enrolled_previous) == (14, 5)  # as of 11-20


def test_a_reversed_payment_of_the_period_changes_the_past_report(campaign: Campaign) -> None:
    """Documented: a reversal undoes the enrollment, also in a report for an earlier day."""
    pay(campaign, date(2019, 11, 20), *COMMUNITY[2:5])
    assert (
        coverage(campaign=campaign, as_of=date(2019, 11, 20), level="village").total.enrolled == 3
    )
    reverse_payment(
        campaign=campaign,
        channel=Channel.TAX,
        key=f"T1120{COMMUNITY[2][1]}",
        reason="重复缴费退回",
        actor=staff("t"),
    )
    assert (
        coverage(campaign=campaign, as_of=date(2019, 11, 20), level="village").total.enrolled == 2
    )


def test_a_special_group_below_100_percent_is_listed_until_every_member_is_enrolled(
    campaign: Campaign,
) -> None:
    subsidise(campaign, date(2019, 11, 20), COMMUNITY[0])  # one of the two 特困 people
    report = coverage(campaign=campaign, as_of=date(2019, 11, 20), level="village")
    community = next(u for u in report.units if u.code == VILLAGE)
    assert community.groups["extreme_poverty"] == GroupCoverage(2, 1, Decimal("50.0"))
    assert [
        (s.unit_code, s.category, s.label, s.members, s.enrolled, s.missing)
        for s in report.special_groups
    ] == [(VILLAGE, "extreme_poverty", "特困人员", 2, 1, 1)]
    # A unit without members of a group is not short of it.
    demaoyuan = next(u for u in report.units if u.code == OTHER_VILLAGE)
    assert demaoyuan.groups["extreme_poverty"] == GroupCoverage(0, 0, None)

    subsidise(campaign, date(2019, 11, 21), COMMUNITY[1])
    report = coverage(campaign=campaign, as_of=date(2019, 11, 21), level="village")
    assert report.special_groups == []
    assert report.total.groups["extreme_poverty"].rate == Decimal("100.0")


def test_a_unit_exactly_at_the_line_is_not_below_it(campaign: Campaign) -> None:
    """Daligang draws the line at 90% of the population: 9 of 大栗港社区's 10 is on it."""
    subsidise(campaign, date(2019, 11, 20), *COMMUNITY[:2])
    pay(campaign, date(2019, 11, 20), *COMMUNITY[2:9], *DEMAOYUAN[:3])
    report = coverage(campaign=campaign, as_of=date(2019, 11, 20), level="village")
    assert report.line_percent == Decimal("90")
    assert [u.code for u in report.units_below_line] == [OTHER_VILLAGE]  # 3 of 4: 75%
    assert next(u for u in report.units if u.code == VILLAGE).rate_of_base == Decimal("90.0")


def test_equal_rates_share_a_rank_and_the_next_unit_skips_one(
    campaign: Campaign, daligang: dict[str, Division], tmp_path: Path
) -> None:
    Division.objects.create(
        code="430922117240", name="朱家村村委会", level="village", parent=daligang["township"]
    )
    # Tasks by hand: 大栗港社区 10, 德茂园 4, 朱家村 2.
    for code, task in ((VILLAGE, 10), (OTHER_VILLAGE, 4), ("430922117240", 2)):
        override_task(campaign=campaign, code=code, task=task, reason="测试", actor=staff("t"))
    pay(campaign, date(2019, 11, 20), *COMMUNITY[2:7], *DEMAOYUAN[:2])
    report = coverage(campaign=campaign, as_of=date(2019, 11, 20), level="village")
    assert [(u.name, u.rank, u.rate_of_task, u.gap_to_task) for u in report.units] == [
        ("大栗港社区居委会", 1, Decimal("50.0"), 5),
        ("德茂园村委会", 1, Decimal("50.0"), 2),
        ("朱家村村委会", 3, Decimal("0.0"), 2),
    ]
    assert report.total.task == 16 and report.total.task_origin == "sum"


def test_townships_add_their_villages_up_and_within_narrows_the_report(
    campaign: Campaign, daligang: dict[str, Division]
) -> None:
    pay(campaign, date(2019, 11, 20), *COMMUNITY[2:8], *DEMAOYUAN[:4])
    report = coverage(campaign=campaign, as_of=date(2019, 11, 20), level="township")
    [town] = report.units
    assert (town.name, town.parent_name, town.population_base, town.task, town.enrolled) == (
        "大栗港镇",
        "桃江县",
        14,
        14,
        10,
    )
    narrowed = coverage(
        campaign=campaign, as_of=date(2019, 11, 20), level="village", within=daligang["village"]
    )
    assert [u.code for u in narrowed.units] == [VILLAGE]
    assert (narrowed.total.code, narrowed.total.enrolled) == (VILLAGE, 6)
