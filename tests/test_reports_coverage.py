"""Coverage at any date (参保进度): enrolled as of a day from the ledger's enrollment dates, the
rates against task and population, the ranking and the special groups' 100% line."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from canbao.campaigns.models import Campaign
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.collection.models import Channel
from canbao.collection.services import PaymentRow, record_payments
from canbao.regions.models import Division
from canbao.registry.services import import_residents, import_roster
from canbao.reports.coverage import coverage
from tests.conftest import COUNTY, OTHER_VILLAGE, csv_file, person_id, resident, xlsx_file

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
    record_payments(campaign=campaign, channel=Channel.TAX, rows=rows, batch=None, username="t")


@pytest.fixture
def campaign(daligang: dict[str, Division], tmp_path: Path) -> Campaign:
    rows = [resident(n, i, f"C{k}") for k, (n, i) in enumerate(COMMUNITY)]
    rows += [resident(n, i, f"D{k}", village=OTHER_VILLAGE) for k, (n, i) in enumerate(DEMAOYUAN)]
    assert not import_residents(path=xlsx_file(tmp_path / "r.xlsx", rows), username="t").errors
    roster = csv_file(tmp_path / "tk.csv", [list(p) for p in COMMUNITY[:2]], ROSTER_HEADER)
    assert not import_roster(
        path=roster, category="extreme_poverty", source="civil_affairs", username="t"
    ).errors
    campaign = open_campaign(area_code=COUNTY, policy="daligang-2020", username="t")
    assess_campaign(campaign=campaign, username="t")
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
