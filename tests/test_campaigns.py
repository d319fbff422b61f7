"""Opening a campaign and assessing its residents through the policy."""

import io
import json
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command

from canbao.campaigns.models import Assessment
from canbao.campaigns.services import CampaignError, assess_campaign, freeze, open_campaign
from canbao.demo.counties import COUNTIES
from canbao.demo.synthetic import generate_county
from canbao.policy.loader import load_preset
from canbao.registry.models import AuditEntry
from canbao.registry.rosters import import_roster
from canbao.registry.services import import_residents
from tests.conftest import COUNTY, csv_file, person_id, resident, staff

pytestmark = pytest.mark.django_db

ROSTER_HEADER = ("姓名", "公民身份号码")


@pytest.fixture
def village(daligang: dict[str, object], tmp_path: Path) -> None:
    rows = [
        resident("张建国", person_id(1), "H1"),
        resident("李秀英", person_id(2, "F"), "H1", "妻"),
        resident("王五", person_id(3), "H2"),
        resident("赵六", person_id(4), "H3", employee="是"),
        resident("钱七", person_id(5, "F"), "H4"),
    ]
    assert not import_residents(path=csv_file(tmp_path / "r.csv", rows), actor=staff("t")).errors


def mark(tmp_path: Path, category: str, source: str, *people: tuple[str, str]) -> None:
    path = csv_file(tmp_path / f"{category}.csv", [list(p) for p in people], ROSTER_HEADER)
    result = import_roster(path=path, category=category, source=source, actor=staff("t"))
    assert not result.errors


def assessment(name: str) -> Assessment:
    return Assessment.objects.get(resident__name=name)


def test_it_opens_a_campaign_with_its_own_copy_of_the_policy(village: None) -> None:
    campaign = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff("局长"))
    assert (campaign.coverage_year, campaign.policy_id) == (2020, "daligang-2020")
    assert "personal_fen = 25000" in campaign.policy_toml
    assert len(campaign.policy_sha256) == 64


def test_it_refuses_a_second_campaign_for_the_same_area_and_year(village: None) -> None:
    open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff())
    with pytest.raises(CampaignError, match="已开始"):
        open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff())


def test_it_refuses_a_policy_of_another_area(village: None) -> None:
    with pytest.raises(CampaignError) as caught:
        open_campaign(area_code=COUNTY, policy="wuming-2018", actor=staff())
    assert caught.value.code == "area_mismatch" and "武鸣区" in caught.value.message


def test_it_refuses_an_area_that_was_not_imported(village: None) -> None:
    with pytest.raises(CampaignError, match="不在区划库中"):
        open_campaign(area_code="511724", policy="dazhu-2022", actor=staff())


def test_it_assesses_every_resident_by_the_policy(village: None, tmp_path: Path) -> None:
    mark(tmp_path, "extreme_poverty", "civil_affairs", ("王五", person_id(3)))
    mark(
        tmp_path,
        "registered_poor",
        "rural_revitalization",
        ("王五", person_id(3)),
        ("钱七", person_id(5, "F")),
    )
    mark(tmp_path, "rural_dibao", "civil_affairs", ("钱七", person_id(5, "F")))
    campaign = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff())
    result = assess_campaign(campaign=campaign, actor=staff("t"))
    assert (result.residents, result.created, result.ineligible) == (5, 5, 1)

    ordinary = assessment("张建国")
    assert (ordinary.attribute, ordinary.payable_fen, ordinary.subsidy_fen) == (
        "一般农户、城镇居民",
        25000,
        0,
    )
    five_guarantee = assessment("王五")
    assert five_guarantee.attribute == "贫困户（特困）" and five_guarantee.payable_fen == 0
    assert [(s.funder, s.fen) for s in five_guarantee.shares.all()] == [
        ("medical_assistance", 25000)
    ]
    poor_dibao = assessment("钱七")
    assert poor_dibao.attribute == "贫困低保户" and poor_dibao.payable_fen == 12500
    employee = assessment("赵六")
    assert not employee.eligible and employee.refusal_code == "employee_insured"
    assert employee.payable_fen is None


def test_assessing_again_changes_only_what_changed(village: None, tmp_path: Path) -> None:
    campaign = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff())
    assess_campaign(campaign=campaign, actor=staff())
    mark(tmp_path, "disabled_3_4", "disabled_federation", ("张建国", person_id(1)))
    again = assess_campaign(campaign=campaign, actor=staff())
    assert (again.created, again.updated, again.unchanged) == (0, 1, 4)
    changed = assessment("张建国")
    assert changed.payable_fen == 12500
    assert [(s.funder, s.fen) for s in changed.shares.all()] == [("disabled_federation", 12500)]


def test_a_frozen_assessment_neither_refunds_nor_tops_up(village: None, tmp_path: Path) -> None:
    """缴费后身份发生变化不再补退."""
    campaign = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff())
    assess_campaign(campaign=campaign, actor=staff())
    paid = assessment("张建国")
    freeze(assessment_ids=[paid.pk], at=paid.assessed_at)
    mark(tmp_path, "extreme_poverty", "civil_affairs", ("张建国", person_id(1)))
    again = assess_campaign(campaign=campaign, actor=staff())
    assert again.frozen == 1 and again.updated == 0
    paid.refresh_from_db()
    assert paid.payable_fen == 25000 and not paid.shares.exists()


def test_pending_amounts_stay_null_until_announced(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    rows = [resident("孙八", person_id(8), "H9")]
    assert not import_residents(path=csv_file(tmp_path / "r.csv", rows), actor=staff("t")).errors
    mark(tmp_path, "only_child_parent", "health_commission", ("孙八", person_id(8)))
    # Chuxiong's health-bureau subsidy is "as actually due": not a number yet.
    text = Path("src/canbao/policy/presets/chuxiong-2021.toml").read_text(encoding="utf-8")
    policy = tmp_path / "taojiang-2021.toml"
    policy.write_text(
        text.replace('id = "chuxiong-2021"', 'id = "taojiang-2021"').replace(
            'division_code = "532301"', 'division_code = "430922"'
        ),
        encoding="utf-8",
    )
    campaign = open_campaign(area_code=COUNTY, policy=str(policy), actor=staff())
    result = assess_campaign(campaign=campaign, actor=staff())
    assert result.pending == 1
    held = assessment("孙八")
    assert held.payable_fen is None and held.pending == "subsidy:only_child_parent"


def test_the_assessment_leaves_an_audit_row(village: None) -> None:
    campaign = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff("科长"))
    assess_campaign(campaign=campaign, actor=staff("科长"))
    actions = list(AuditEntry.objects.filter(username="科长").values_list("action", flat=True))
    assert actions == ["open_campaign", "assess_campaign"]


# The county of each preset's notice, and the personal contribution the notice states.
PRESET_COUNTIES = {
    "songming-2016": ("530127", 12000),
    "wuming-2018": ("450110", 18000),
    "daligang-2020": ("430922", 25000),
    "chuxiong-2021": ("532301", 28000),
    "dazhu-2022": ("511724", 32000),
}


@pytest.mark.parametrize("preset", sorted(PRESET_COUNTIES))
def test_an_ordinary_adult_owes_the_personal_contribution_of_every_preset(
    preset: str, as_admin: None, tmp_path: Path
) -> None:
    """The assessment is made for the window that applies to the resident: Songming's rural
    households pay by 2015-10-25, before the individual window closes on 2015-12-25."""
    code, personal_fen = PRESET_COUNTIES[preset]
    policy = load_preset(preset)
    county = generate_county(
        residents=300,
        seed=5,
        county=COUNTIES[code],
        out_dir=tmp_path,
        as_of=date(policy.coverage_year - 1, 8, 31),
    )
    for argv in county.import_commands()[:2]:
        call_command(*argv, stdout=io.StringIO())
    campaign = open_campaign(area_code=code, policy=preset, actor=staff())
    result = assess_campaign(campaign=campaign, actor=staff())

    assert result.ineligible == county.employee_insured + county.insured_elsewhere
    adults = Assessment.objects.filter(
        campaign=campaign,
        categories="",
        resident__employee_insured=False,
        resident__insured_elsewhere=False,
        resident__birth_date__lt=date(policy.coverage_year - 19, 1, 1),
    )
    assert adults.count() > 100
    assert set(adults.values_list("eligible", "personal_fen", "subsidy_fen", "payable_fen")) == {
        (True, personal_fen, 0, personal_fen)
    }


def test_assess_prints_its_documented_json(village: None, as_admin: None, tmp_path: Path) -> None:
    """docs/imports.md documents this object; scripts read it."""
    mark(tmp_path, "extreme_poverty", "civil_affairs", ("王五", person_id(3)))
    mark(tmp_path, "rural_dibao", "civil_affairs", ("钱七", person_id(5, "F")))
    campaign = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff())
    out = io.StringIO()
    call_command("campaign", "assess", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {
        "campaign": campaign.pk,
        "day": "2019-12-31",
        "residents": 5,
        "created": 5,
        "updated": 0,
        "unchanged": 0,
        "frozen": 0,
        "ineligible": 1,
        "pending": 0,
        "payable": [
            {"payable_fen": 25000, "residents": 2},
            {"payable_fen": 12500, "residents": 1},
            {"payable_fen": 0, "residents": 1},
        ],
    }
