"""A small Daligang 2020 campaign for the progress and report pages: 大栗港镇's two villages and a
second township (桃花江镇) whose pages the township clerk of 大栗港镇 must not open, payments on
two days a week apart, a held partial payment, the special groups the policy wants at 100% and a
school roster. Plain functions, so that the page tests and the browser tests build the same
county. Daligang 2020: 250 yuan a person; 五保户 (特困) paid in full by medical assistance,
农村低保 half."""

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from canbao.campaigns.models import Campaign
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.collection.models import Channel
from canbao.collection.services import PaymentRow, record_payments
from canbao.regions.models import Division
from canbao.registry.rosters import import_roster
from canbao.registry.schools import import_schools
from canbao.registry.services import import_residents
from tests.browser.county import places_and_accounts
from tests.conftest import (
    COUNTY,
    OTHER_VILLAGE,
    csv_file,
    person_id,
    resident,
)

OTHER_TOWNSHIP = "430922118"
FAR_VILLAGE = "430922118201"
FAR_VILLAGE_NAME = "花果山村委会"

ZHANG = person_id(301)  # 201 H1 head: pays 250 yuan on 11-20, enrolled
LI = person_id(302, "F")  # 201 H1 wife: pays 100 of 250 on 11-27, held
WANG = person_id(303)  # 201 H2, 特困 (五保户): owes nothing, medical assistance owes 250
ZHAO = person_id(304)  # 201 H3, employee insured: cannot enroll
QIAN = person_id(305, "F")  # 201 H4 head, 农村低保: owes 125
QIAN_CHILD = person_id(306, "F", date(2012, 3, 1))  # 201 H4 daughter, a pupil: owes 250
SUN = person_id(307)  # 239 H5: pays 250 on 11-27, enrolled
ZHOU = person_id(308)  # 239 H6: owes 250
WU = person_id(309)  # 桃花江镇 花果山村 H7: owes 250
WU_CHILD = person_id(310, "M", date(2012, 6, 1))  # H7 son, a pupil of the same school
QIAN_PHONE = "13807375555"
SCHOOL = "大栗港镇中心小学"

FIRST_DAY, SECOND_DAY = date(2019, 11, 20), date(2019, 11, 27)


@dataclass(frozen=True)
class Season:
    campaign: Campaign
    far_village: Division


def build_season(tmp_path: Path, actor: Any) -> Season:
    """The campaign, given the divisions of ``daligang`` (tests.conftest)."""
    county = Division.objects.get(code=COUNTY)
    township = Division.objects.create(
        code=OTHER_TOWNSHIP, name="桃花江镇", level="township", parent=county
    )
    far = Division.objects.create(
        code=FAR_VILLAGE, name=FAR_VILLAGE_NAME, level="village", parent=township
    )
    rows = [
        resident("张建国", ZHANG, "H1", phone="13807371001"),
        resident("李秀英", LI, "H1", "妻"),
        resident("王五", WANG, "H2"),
        resident("赵六", ZHAO, "H3", employee="是"),
        resident("钱七", QIAN, "H4", phone=QIAN_PHONE),
        resident("钱小妹", QIAN_CHILD, "H4", "女"),
        resident("孙八", SUN, "H5", village=OTHER_VILLAGE),
        resident("周九", ZHOU, "H6", village=OTHER_VILLAGE),
        resident("吴十", WU, "H7", village=FAR_VILLAGE),
        resident("吴小宝", WU_CHILD, "H7", "子", village=FAR_VILLAGE),
    ]
    assert not import_residents(path=csv_file(tmp_path / "r.csv", rows), actor=actor).errors
    for category, people in (
        ("extreme_poverty", [("王五", WANG)]),
        ("rural_dibao", [("钱七", QIAN)]),
    ):
        roster = csv_file(tmp_path / f"{category}.csv", people, ("姓名", "公民身份号码"))
        assert not import_roster(
            path=roster, category=category, source="civil_affairs", actor=actor
        ).errors
    pupils = [
        [SCHOOL, "二年级", "1班", "钱小妹", QIAN_CHILD, ""],
        [SCHOOL, "二年级", "2班", "吴小宝", WU_CHILD, ""],
    ]
    header = ("学校名称", "年级", "班级", "姓名", "公民身份号码", "学籍号")
    roster = csv_file(tmp_path / "school.csv", pupils, header, title="在校学生名册")
    assert not import_schools(path=roster, as_of=date(2019, 9, 1), actor=actor).errors
    campaign = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=actor)
    assess_campaign(campaign=campaign, actor=actor)
    pay(campaign, actor, FIRST_DAY, 25_000, ZHANG, "张建国")
    pay(campaign, actor, SECOND_DAY, 10_000, LI, "李秀英")
    pay(campaign, actor, SECOND_DAY, 25_000, SUN, "孙八")
    return Season(campaign=campaign, far_village=far)


def build_served_county(folder: Path) -> dict[str, int]:
    """The browser tests' county with this campaign, built in the served county's own process
    (tests.browser.conftest.serve_county): the Daligang divisions, one account per role
    (tests.roles) and the season. Nothing to hand back: the pages are found by division code."""
    build_season(folder, places_and_accounts())
    return {}


def pay(campaign: Campaign, actor: Any, day: date, fen: int, id_number: str, name: str) -> None:
    row = PaymentRow(f"T{day:%m%d}{id_number}", day, fen, id_number, name)
    record_payments(campaign=campaign, channel=Channel.TAX, rows=[row], batch=None, actor=actor)
