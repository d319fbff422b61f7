"""A small Daligang 2020 campaign for the money pages: residents of both villages, the campaign
assessed, a receipt book for each village, and money held for two reasons: a payment by someone
the registry does not know (to reverse) and one by a resident wrongly registered as insured as an
employee (to recheck once the registry is fixed). Plain functions, so that the page tests and
the browser tests build the same county. Daligang 2020: 250 yuan a person."""

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.utils import timezone

from canbao.campaigns.models import Campaign
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.collection.models import Channel
from canbao.collection.receipts import issue_receipt_book
from canbao.collection.services import PaymentRow, record_payments
from canbao.registry.models import Resident
from canbao.registry.services import import_residents
from tests.browser.county import places_and_accounts
from tests.conftest import COUNTY, OTHER_VILLAGE, VILLAGE, csv_file, person_id, resident

ZHANG = person_id(401)  # 201 H1 head: pays in cash on the page
LI = person_id(402, "F")  # 201 H1 wife
ZHAO = person_id(403)  # 201 H2: registered as insured as an employee by mistake, pays 250
SUN = person_id(404)  # 239 H3: another village's resident
STRANGER = person_id(499)  # valid, not registered: pays 250 by tax
PAID_ON = date(2019, 11, 20)
BOOK_201 = (1001, 1050)  # receipts issued to the collector of 201
BOOK_239 = (2001, 2050)


@dataclass(frozen=True)
class MoneySeason:
    campaign: Campaign
    people: dict[str, Resident]  # by ID number

    def pk(self, id_number: str) -> int:
        return self.people[id_number].pk


def residents_file(path: Path, *, zhao_employee: bool) -> Path:
    return csv_file(
        path,
        [
            resident("张建国", ZHANG, "H1"),
            resident("李秀英", LI, "H1", "妻"),
            resident("赵六", ZHAO, "H2", employee="是" if zhao_employee else "否"),
            resident("孙八", SUN, "H3", village=OTHER_VILLAGE),
        ],
    )


def build_money_season(tmp_path: Path, actor: Any) -> MoneySeason:
    """The campaign, given the divisions of ``daligang`` (tests.conftest)."""
    registry = residents_file(tmp_path / "residents.csv", zhao_employee=True)
    assert not import_residents(path=registry, actor=actor).errors
    campaign = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=actor)
    assess_campaign(campaign=campaign, actor=actor)
    for village, (first, last), collector in (
        (VILLAGE, BOOK_201, "刘收款"),
        (OTHER_VILLAGE, BOOK_239, "陈收款"),
    ):
        issue_receipt_book(
            campaign=campaign,
            collector=collector,
            village_code=village,
            first=first,
            last=last,
            actor=actor,
        )
    record_payments(
        campaign=campaign,
        channel=Channel.TAX,
        rows=[
            PaymentRow("T-ZHAO", PAID_ON, 25000, ZHAO, "赵六"),
            PaymentRow("T-STRANGER", PAID_ON, 25000, STRANGER, "谢文"),
        ],
        batch=None,
        actor=actor,
        now=timezone.now(),
    )
    people = {r.id_number: r for r in Resident.objects.all()}
    return MoneySeason(campaign=campaign, people=people)


def fix_the_registry(tmp_path: Path, actor: Any, campaign: Campaign) -> None:
    """赵六 is not insured as an employee after all: the registry is corrected and the campaign
    assessed again, as the clerk does before rechecking the held money."""
    fixed = residents_file(tmp_path / "residents-fixed.csv", zhao_employee=False)
    assert not import_residents(path=fixed, actor=actor).errors
    assess_campaign(campaign=campaign, actor=actor)


def build_money_county(folder: Path) -> dict[str, int]:
    """The county the money pages' browser tests are served (tests.browser.conftest.
    serve_county): the divisions and accounts of every served county, and this season. The
    residents' keys by ID number."""
    season = build_money_season(folder, places_and_accounts())
    return {number: resident.pk for number, resident in season.people.items()}
