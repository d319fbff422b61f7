"""A small Daligang 2020 season for the resident pages: people of both villages, a roster, the
campaign assessed, and payments of each kind (enrolled, held, reversed). Plain functions, so that
the page tests and the browser tests build the same county."""

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.utils import timezone

from canbao.campaigns.models import Campaign
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.collection.services import PaymentRow, record_payments, reverse_payment
from canbao.registry.models import Resident
from canbao.registry.rosters import import_roster
from canbao.registry.services import import_residents
from tests.conftest import COUNTY, OTHER_VILLAGE, csv_file, person_id, resident

ROSTER_HEADER = ("姓名", "公民身份号码")

ZHANG = person_id(1)  # 201, H1 head: pays 250 yuan, enrolled
LI = person_id(2, "F")  # 201, H1 wife: pays 200 of 250 yuan, held
QIAN = person_id(5, "F")  # 201, H4 head, 农村低保: owes 125 yuan
QIAN_CHILD = person_id(7, "F", date(2012, 3, 1))  # 201, H4 daughter, ordinary
SUN = person_id(6)  # 239, H5: paid, then reversed
ZHOU = person_id(8)  # 239, H6, 农村低保
STRANGER = person_id(99)  # valid, not registered
ZHANG_PHONE = "13807371234"


@dataclass(frozen=True)
class Season:
    campaign: Campaign
    people: dict[str, Resident]  # by ID number

    def pk(self, id_number: str) -> int:
        return self.people[id_number].pk


def build_season(tmp_path: Path, actor: Any) -> Season:
    rows = [
        resident("张建国", ZHANG, "H1", phone=ZHANG_PHONE),
        resident("李秀英", LI, "H1", "妻"),
        resident("钱七", QIAN, "H4"),
        resident("钱小妹", QIAN_CHILD, "H4", "女"),
        resident("孙八", SUN, "H5", village=OTHER_VILLAGE),
        resident("周九", ZHOU, "H6", village=OTHER_VILLAGE),
    ]
    assert not import_residents(path=csv_file(tmp_path / "r.csv", rows), actor=actor).errors
    roster = csv_file(tmp_path / "低保名册.csv", [("钱七", QIAN), ("周九", ZHOU)], ROSTER_HEADER)
    assert not import_roster(
        path=roster, category="rural_dibao", source="civil_affairs", actor=actor
    ).errors
    campaign = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=actor)
    assess_campaign(campaign=campaign, actor=actor)
    pay(campaign, actor, "T001", 25000, ZHANG, "张建国")
    pay(campaign, actor, "T002", 20000, LI, "李秀英")
    pay(campaign, actor, "T003", 25000, SUN, "孙八")
    reverse_payment(campaign=campaign, channel="tax", key="T003", reason="重复缴费", actor=actor)
    people = {r.id_number: r for r in Resident.objects.all()}
    return Season(campaign=campaign, people=people)


def pay(campaign: Campaign, actor: Any, key: str, fen: int, id_number: str, name: str) -> None:
    record_payments(
        campaign=campaign,
        channel="tax",
        rows=[PaymentRow(key, date(2019, 11, 20), fen, id_number, name)],
        batch=None,
        actor=actor,
        now=timezone.now(),
    )
