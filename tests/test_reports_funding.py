"""Work funding and accountability (工作经费、问责) with the notices' numbers, each amount with the
rule that produced it, and the data each unit's figures come from."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from canbao.campaigns.models import Campaign
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.collection.models import Channel
from canbao.collection.services import PaymentRow, record_payments
from canbao.idnumber import make
from canbao.policy.funding import UnitProgress, work_funding
from canbao.policy.loader import load_preset
from canbao.regions.models import Division
from canbao.registry.rosters import import_roster
from canbao.registry.services import import_residents
from canbao.reports.funding import funding
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

DALIGANG = load_preset("daligang-2020")
WUMING = load_preset("wuming-2018")


# --- the rules, with the notices' numbers ----------------------------------------------------
# 先锋桥 (Daligang's attachment 1): 2,000 residents, so 1,900 is exactly 95% and 1,800 exactly 90%.


def xianfengqiao(enrolled: int, *, complete: bool = True) -> UnitProgress:
    return UnitProgress(
        "先锋桥",
        base=2000,
        enrolled=enrolled,
        paid_records=enrolled,
        special_groups_complete=complete,
    )


def test_daligang_at_exactly_95_percent_with_groups_complete_gets_3_yuan_and_2_reward() -> None:
    result = work_funding(DALIGANG, xianfengqiao(1900))
    assert [line.explain() for line in result.lines] == [
        "参保率95%以上且建档立卡贫困人口、特困人员、农村低保对象、贫困残疾人参保率100%："
        "1900 人 × 3 元 = 5700 元"
        "（参保率 95.00%（1900/2000），不低于 95%；特殊群体参保率均达100%）",
        "参保率95%以上且建档立卡贫困人口、特困人员、农村低保对象、贫困残疾人参保率100%：奖励："
        "1900 人 × 2 元 = 3800 元"
        "（参保率 95.00%（1900/2000），不低于 95%；特殊群体参保率均达100%）",
        "信息采集、录入（税务系统缴费成功人数）：1900 人 × 1 元 = 1900 元"
        "（税务系统缴费成功 1900 人）",
    ]
    assert result.notes == () and not result.accountable


def test_daligang_at_95_percent_with_a_group_short_says_why_the_reward_is_not_paid() -> None:
    result = work_funding(DALIGANG, xianfengqiao(1900, complete=False))
    assert [line.fen_each for line in result.lines] == [300, 100]
    assert result.notes == (
        "不适用“参保率95%以上且建档立卡贫困人口、特困人员、农村低保对象、贫困残疾人参保率100%”："
        "特殊群体参保率未达100%",
    )
    assert result.reasons == ("特殊群体参保率未达100%",)


def test_daligang_at_exactly_90_percent_gets_3_yuan_and_is_not_accountable() -> None:
    result = work_funding(DALIGANG, xianfengqiao(1800))
    tier = result.lines[0]
    assert (tier.name, tier.fen) == ("参保率90%—95%（不含95%）", 540000)
    assert result.notes[0].endswith("参保率 90.00%（1800/2000）低于 95%")
    assert not result.accountable


def test_daligang_one_person_under_90_percent_gets_2_yuan_and_is_accountable() -> None:
    result = work_funding(DALIGANG, xianfengqiao(1799))
    assert result.lines[0].explain() == (
        "参保率低于90%：1799 人 × 2 元 = 3598 元（参保率 89.95%（1799/2000））"
    )
    assert result.reasons == ("参保率 1799/2000 低于 90%",)


def test_a_rate_just_under_a_threshold_is_never_shown_as_the_threshold() -> None:
    """大栗港社区: 4,769 of 5,021 is 94.98%, which one decimal would round up to 95.0%."""
    progress = UnitProgress("大栗港社区", base=5021, enrolled=4769, paid_records=4769)
    assert progress.rate_text() == "参保率 94.98%（4769/5021）"


def test_wuming_pays_1_5_yuan_to_a_township_on_time_and_0_5_yuan_to_the_bureau() -> None:
    """城厢镇: task 71,556 of 73,769 people."""
    done = UnitProgress("城厢镇", base=73769, enrolled=71556, paid_records=0, task_met=True)
    result = work_funding(WUMING, done)
    assert [line.explain() for line in result.lines] == [
        "按时按质按量完成任务的镇：71556 人 × 1.5 元 = 107334 元"
        "（参保率 97.00%（71556/73769）；按时完成任务）",
        "人社部门审核录入参保信息：71556 人 × 0.5 元 = 35778 元（实际参保 71556 人）",
    ]
    late = work_funding(WUMING, UnitProgress("城厢镇", 73769, 71555, 0, task_met=False))
    assert [line.payee for line in late.lines] == ["bureau"]
    assert late.notes == ("不适用“按时按质按量完成任务的镇”：未按时完成任务",)


# --- the figures behind a unit, from the ledger ---------------------------------------------

ROSTER_HEADER = ("姓名", "公民身份号码")
# 大栗港社区: ten people; 0 is 特困 (fully subsidised), 1 is a poor disabled person (建档立卡 and
# disabled grade 1-2). 德茂园: ten people.
COMMUNITY = [(f"社区{n}", person_id(100 + n)) for n in range(10)]
DEMAOYUAN = [(f"德茂{n}", person_id(200 + n)) for n in range(10)]


def pay(
    campaign: Campaign,
    day: date,
    *people: tuple[str, str],
    channel: str = Channel.TAX,
    fen: int = 25_000,
    funder: str = "",
) -> None:
    rows = [
        PaymentRow(
            key=f"{channel}{day:%m%d}{id_number}{funder}",
            paid_on=day,
            amount_fen=fen,
            id_number=id_number,
            name=name,
            funder=funder,
        )
        for name, id_number in people
    ]
    record_payments(campaign=campaign, channel=channel, rows=rows, batch=None, actor=staff("t"))


def subsidise(campaign: Campaign, person: tuple[str, str], funder: str) -> None:
    pay(campaign, date(2019, 12, 1), person, channel=Channel.PROXY, funder=funder)


def roster(tmp_path: Path, category: str, source: str, *people: tuple[str, str]) -> None:
    path = csv_file(tmp_path / f"{category}.csv", [list(p) for p in people], ROSTER_HEADER)
    assert not import_roster(path=path, category=category, source=source, actor=staff("t")).errors


@pytest.fixture
def daligang_villages(daligang: dict[str, Division], tmp_path: Path) -> Campaign:
    rows = [resident(n, i, f"C{k}") for k, (n, i) in enumerate(COMMUNITY)]
    rows += [resident(n, i, f"D{k}", village=OTHER_VILLAGE) for k, (n, i) in enumerate(DEMAOYUAN)]
    assert not import_residents(path=xlsx_file(tmp_path / "r.xlsx", rows), actor=staff("t")).errors
    roster(tmp_path, "extreme_poverty", "civil_affairs", COMMUNITY[0])
    roster(tmp_path, "registered_poor", "rural_revitalization", COMMUNITY[1])
    roster(tmp_path, "disabled_1_2", "disabled_federation", COMMUNITY[1])
    campaign = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff("t"))
    assess_campaign(campaign=campaign, actor=staff("t"))
    return campaign


def test_each_village_gets_its_tier_from_its_own_enrollment(daligang_villages: Campaign) -> None:
    campaign = daligang_villages
    pay(
        campaign,
        date(2019, 12, 1),
        COMMUNITY[0],
        channel=Channel.PROXY,
        funder="medical_assistance",
    )
    # The poor disabled person owes nothing either: the disabled federation pays it all.
    pay(
        campaign,
        date(2019, 12, 1),
        COMMUNITY[1],
        channel=Channel.PROXY,
        funder="disabled_federation",
    )
    pay(campaign, date(2019, 12, 2), *COMMUNITY[2:9])  # 9 of 10: exactly 90%
    pay(campaign, date(2019, 12, 2), *DEMAOYUAN[:8])  # 8 of 10
    report = funding(campaign=campaign)
    assert report.as_of == report.deadline == date(2019, 12, 31)
    by_name = {u.unit.name: u for u in report.units}
    community, demaoyuan = by_name["大栗港社区居委会"], by_name["德茂园村委会"]
    # Two of the nine were paid by departments: seven records show in the tax system.
    assert (community.unit.enrolled, community.paid_records) == (9, 7)
    assert community.special_groups_complete
    assert [(line.name, line.count, line.fen) for line in community.result.lines] == [
        ("参保率90%—95%（不含95%）", 9, 2700),
        ("信息采集、录入（税务系统缴费成功人数）", 7, 700),
    ]
    assert not community.result.accountable
    assert demaoyuan.result.lines[0].fen_each == 200 and demaoyuan.result.accountable
    assert report.unit_fen == 2700 + 700 + 8 * 200 + 8 * 100
    assert [u.unit.code for u in report.accountable] == [OTHER_VILLAGE]


def test_a_poor_disabled_person_not_enrolled_costs_the_reward_and_is_accountable(
    daligang_villages: Campaign,
) -> None:
    campaign = daligang_villages
    pay(
        campaign,
        date(2019, 12, 1),
        COMMUNITY[0],
        channel=Channel.PROXY,
        funder="medical_assistance",
    )
    pay(campaign, date(2019, 12, 2), *COMMUNITY[2:])  # 9 of 10 but not the poor disabled one
    report = funding(campaign=campaign, within=Division.objects.get(code=VILLAGE))
    [community] = report.units
    groups = {g.label: (g.members, g.enrolled) for g in community.groups}
    assert groups["建档立卡贫困人口且一二级残疾人"] == (1, 0)
    assert groups["特困人员"] == (1, 1)
    assert not community.special_groups_complete
    assert community.result.reasons == ("特殊群体参保率未达100%",)
    data = community.as_json()
    assert data["special_groups_complete"] is False and data["accountable"] is True


# Wuming: 城厢镇 and 太平镇, one village each, with small tasks set by hand.
WUMING_PEOPLE = [(f"武鸣{n}", make("450110", date(1980, 1, 1), 10 + n, "M")) for n in range(6)]


@pytest.fixture
def wuming(db: None, tmp_path: Path) -> Campaign:
    district = Division.objects.create(code="450110", name="武鸣区", level="county")
    for number, name in ((100, "城厢镇"), (101, "太平镇")):
        town = Division.objects.create(
            code=f"450110{number}", name=name, level="township", parent=district
        )
        Division.objects.create(
            code=f"450110{number}201", name=f"{name[:2]}社区", level="village", parent=town
        )
    rows = [
        resident(n, i, f"W{k}", village="450110100201" if k < 3 else "450110101201")
        for k, (n, i) in enumerate(WUMING_PEOPLE)
    ]
    assert not import_residents(path=xlsx_file(tmp_path / "r.xlsx", rows), actor=staff("t")).errors
    campaign = open_campaign(area_code="450110", policy="wuming-2018", actor=staff("t"))
    assess_campaign(campaign=campaign, actor=staff("t"))
    override_task(campaign=campaign, code="450110100", task=3, reason="测试", actor=staff("t"))
    override_task(campaign=campaign, code="450110101", task=2, reason="测试", actor=staff("t"))
    return campaign


def test_wuming_pays_a_township_only_if_it_met_its_task_by_the_deadline(wuming: Campaign) -> None:
    pay(wuming, date(2017, 12, 20), *WUMING_PEOPLE[:4], channel=Channel.BANK, fen=18_000)
    pay(wuming, date(2018, 1, 5), WUMING_PEOPLE[4], channel=Channel.BANK, fen=18_000)  # late
    report = funding(campaign=wuming, as_of=date(2018, 6, 30))
    assert report.deadline == date(2017, 12, 31)
    by_name = {u.unit.name: u for u in report.units}
    chengxiang, taiping = by_name["城厢镇"], by_name["太平镇"]
    assert (chengxiang.task_met, chengxiang.result.total_fen("unit")) == (True, 3 * 150)
    # 太平镇 reached its 2 only in January: no funding for the township, the bureau's 0.5 yuan
    # per enrolled person all the same.
    assert (taiping.unit.enrolled, taiping.task_met) == (2, False)
    assert taiping.result.total_fen("unit") == 0
    assert report.bureau_fen == (3 + 2) * 50
    assert taiping.result.notes == ("不适用“按时按质按量完成任务的镇”：未按时完成任务",)
    # Wuming draws no accountability line.
    assert report.accountable == []
    assert Decimal(taiping.as_json()["rate_of_task"]) == Decimal("100.0")
