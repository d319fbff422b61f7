"""Tasks (任务数) of a campaign's units: imported from the notices' attachment tables by unit name,
computed from the registry, changed by hand with who, when and why; the policy's checks beside."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from canbao.campaigns.models import Campaign
from canbao.campaigns.services import open_campaign
from canbao.errors import InputError
from canbao.policy.targets import shipped_table
from canbao.regions.models import Division
from canbao.registry.models import AuditEntry
from canbao.registry.services import import_residents
from canbao.reports.coverage import coverage
from canbao.reports.matching import Candidate, match_names
from canbao.reports.models import TaskChange, TaskSource, UnitTask
from canbao.reports.selectors import stored_tasks
from canbao.reports.services import (
    TaskImportRefused,
    import_task_table,
    override_task,
    tasks_from_registry,
)
from tests.conftest import COUNTY, TOWNSHIP, person_id, resident, staff, xlsx_file

pytestmark = pytest.mark.django_db

# Daligang's attachment 1 as the notice writes the names, and the registry's names (the
# statistical dataset's): a suffix added, and 黄栗洑 written 黄栗伏.
DALIGANG_NAMES = {
    "大栗港社区": "大栗港社区居委会",
    "德茂园": "德茂园村委会",
    "朱家村": "朱家村村委会",
    "童子山": "童子山村委会",
    "五羊坪": "五羊坪村委会",
    "黄道仑": "黄道仑村委会",
    "先锋桥": "先锋桥村委会",
    "刘家村": "刘家村村委会",
    "筑金坝": "筑金坝村委会",
    "兴坪村": "兴坪村委会",
    "红金村": "红金村村委会",
    "黄栗洑": "黄栗伏村委会",
    "卢家村": "卢家村村委会",
    "栗山河": "栗山河村委会",
    "张家村": "张家村村委会",
    "松木桥": "松木桥村委会",
    "牌形上": "牌形上村委会",
    "城镇社区": "城镇社区居委会",
}


def code_of(name: str) -> str:
    return f"{TOWNSHIP}{200 + list(DALIGANG_NAMES).index(name):03d}"


@pytest.fixture
def daligang_town(db: None) -> Campaign:
    county = Division.objects.create(code=COUNTY, name="桃江县", level="county")
    township = Division.objects.create(
        code=TOWNSHIP, name="大栗港镇", level="township", parent=county
    )
    for notice_name, name in DALIGANG_NAMES.items():
        Division.objects.create(
            code=code_of(notice_name), name=name, level="village", parent=township
        )
    return open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff("t"))


def daligang_table() -> Path:
    path = shipped_table("daligang-2020")
    assert path is not None
    return path


# --- matching names as notices write them -------------------------------------------------

CANDIDATES = [
    Candidate("1", "大栗港社区居委会"),
    Candidate("2", "德茂园村委会"),
    Candidate("3", "黄栗伏村委会"),
    Candidate("4", "张家村村委会"),
    Candidate("5", "张家村居委会"),
    Candidate("6", "城厢镇"),
]


def matched(*names: str, given: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    matches, problems = match_names(list(names), CANDIDATES, given=given)
    assert not problems
    return [(m.name, m.candidate.code, m.how) for m in matches]


def test_an_exact_name_matches() -> None:
    assert matched("城厢镇", "德茂园村委会") == [
        ("城厢镇", "6", "exact"),
        ("德茂园村委会", "2", "exact"),
    ]


def test_a_name_without_its_suffix_matches_its_division() -> None:
    assert matched("德茂园", "大栗港社区") == [
        ("德茂园", "2", "suffix"),
        ("大栗港社区", "1", "suffix"),
    ]


def test_a_near_miss_is_put_to_the_user_with_the_candidate() -> None:
    matches, problems = match_names(["黄栗洑"], CANDIDATES)
    assert matches == []
    [problem] = problems
    assert problem.code == "near_miss"
    assert problem.candidates == (Candidate("3", "黄栗伏村委会"),)
    assert "黄栗伏村委会（3）" in problem.message


def test_a_name_matching_two_units_is_put_to_the_user() -> None:
    _, [problem] = match_names(["张家村"], CANDIDATES)
    assert problem.code == "ambiguous"
    assert {c.code for c in problem.candidates} == {"4", "5"}
    assert "张家村村委会（4）" in problem.message and "张家村居委会（5）" in problem.message


def test_a_code_named_by_the_user_settles_a_near_miss() -> None:
    assert matched("黄栗洑", given={"黄栗洑": "3"}) == [("黄栗洑", "3", "given")]


def test_an_unknown_name_and_an_unknown_code_are_problems() -> None:
    _, problems = match_names(["不存在", "黄栗洑"], CANDIDATES, given={"黄栗洑": "9"})
    assert [p.code for p in problems] == ["not_found", "unknown_code"]


# --- importing a table --------------------------------------------------------------------


def test_daligang_table_is_refused_for_its_near_miss_and_nothing_is_written(
    daligang_town: Campaign,
) -> None:
    with pytest.raises(TaskImportRefused) as refused:
        import_task_table(campaign=daligang_town, path=daligang_table(), actor=staff("t"))
    [problem] = refused.value.problems
    assert problem.row == 13 and problem.problem.name == "黄栗洑"
    assert problem.describe() == (
        "第13行 黄栗洑：没有名称相同的单位；相近的有：黄栗伏村委会"
        f"（{code_of('黄栗洑')}），请核对后改用其全称或指定区划代码"
    )
    assert not UnitTask.objects.exists() and not TaskChange.objects.exists()


def test_daligang_table_goes_in_once_the_near_miss_is_named(daligang_town: Campaign) -> None:
    result = import_task_table(
        campaign=daligang_town,
        path=daligang_table(),
        given={"黄栗洑": code_of("黄栗洑")},
        actor=staff("镇医保站"),
    )
    assert result.changed == 18
    assert result.matches[2].candidate.name == "大栗港社区居委会"
    # The policy's checks, beside the table: 卢家村's task and the stated population total.
    assert result.report.findings == (
        "第14行 卢家村：列示任务数 5100 与 人口数 5474 × 95% = 5200（四舍五入）不符，"
        "按列示数保留并标记",
        "第20行 合计行：列示人口数 67845 与各行之和 67949 不符",
    )
    tasks = {t.name: t for t in stored_tasks(campaign=daligang_town)}
    assert (tasks["卢家村村委会"].task, tasks["卢家村村委会"].computed_task) == (5100, 5200)
    assert tasks["卢家村村委会"].differs_from_rule
    assert sum(t.task for t in tasks.values()) == 64453
    report = coverage(
        campaign=daligang_town,
        as_of=daligang_town.opened_at.date(),
        level="township",
    )
    assert (report.total.task, report.total.population_base) == (64453, 67949)
    assert report.units[0].task_origin == "sum"
    audit = AuditEntry.objects.get(action="report.tasks.import")
    assert audit.username == "镇医保站" and audit.details["changed"] == 18


def test_a_dry_run_checks_the_table_and_writes_nothing(daligang_town: Campaign) -> None:
    result = import_task_table(
        campaign=daligang_town,
        path=daligang_table(),
        given={"黄栗洑": code_of("黄栗洑")},
        dry_run=True,
        actor=staff(),
    )
    assert result.dry_run and len(result.matches) == 18
    assert not UnitTask.objects.exists()


def test_two_names_for_one_unit_are_refused(daligang_town: Campaign, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("单位名称,任务数\n德茂园,2900\n德茂园村委会,2901\n", encoding="utf-8")
    with pytest.raises(TaskImportRefused) as refused:
        import_task_table(campaign=daligang_town, path=path, actor=staff())
    assert [(p.row, p.problem.code) for p in refused.value.problems] == [
        (2, "duplicate_unit"),
        (3, "duplicate_unit"),
    ]


@pytest.fixture
def wuming(db: None) -> Campaign:
    district = Division.objects.create(code="450110", name="武鸣区", level="county")
    table = shipped_table("wuming-2018")
    assert table is not None
    names = [line.split(",")[0] for line in table.read_text("utf-8").splitlines()[1:]]
    for number, name in enumerate(n for n in names if n and "合" not in n):
        Division.objects.create(
            code=f"450110{100 + number:03d}", name=name, level="township", parent=district
        )
    return open_campaign(area_code="450110", policy="wuming-2018", actor=staff("t"))


def test_wuming_table_comes_out_as_printed(wuming: Campaign) -> None:
    table = shipped_table("wuming-2018")
    assert table is not None
    result = import_task_table(campaign=wuming, path=table, actor=staff())
    assert result.changed == 13 and result.report.findings == ()
    report = coverage(campaign=wuming, as_of=wuming.opened_at.date(), level="township")
    assert report.total.task == 608_897
    assert report.total.population_base == 627_728
    assert report.total.task_origin == "sum"
    assert {u.name: u.task for u in report.units}["城厢镇"] == 71_556


def test_importing_the_same_table_again_changes_nothing(wuming: Campaign) -> None:
    table = shipped_table("wuming-2018")
    assert table is not None
    import_task_table(campaign=wuming, path=table, actor=staff())
    again = import_task_table(campaign=wuming, path=table, actor=staff())
    assert (again.changed, again.unchanged) == (0, 13)
    assert TaskChange.objects.count() == 13


# --- overrides and the registry -------------------------------------------------------------


def test_an_override_is_kept_with_who_when_and_why(wuming: Campaign) -> None:
    table = shipped_table("wuming-2018")
    assert table is not None
    import_task_table(campaign=wuming, path=table, actor=staff())
    override_task(
        campaign=wuming,
        code="450110100",
        task=70_000,
        reason="区政府批复调减城厢镇任务",
        actor=staff("区医保局"),
    )
    row = UnitTask.objects.get(division__code="450110100")
    assert (row.task, row.population, row.source) == (70_000, 73_769, TaskSource.OVERRIDE)
    change = TaskChange.objects.filter(division__code="450110100").last()
    assert change is not None
    assert (change.old_task, change.new_task, change.by, change.reason) == (
        71_556,
        70_000,
        "区医保局",
        "区政府批复调减城厢镇任务",
    )
    audit = AuditEntry.objects.get(action="report.tasks.override")
    assert audit.details["old_task"] == 71_556 and audit.details["new_task"] == 70_000


def test_an_override_needs_a_reason_and_a_unit_of_the_campaign(wuming: Campaign) -> None:
    with pytest.raises(InputError, match="原因"):
        override_task(campaign=wuming, code="450110100", task=1, reason=" ", actor=staff())
    with pytest.raises(InputError, match="430922"):
        override_task(campaign=wuming, code="430922", task=1, reason="x", actor=staff())
    assert not TaskChange.objects.exists()


def test_tasks_from_the_registry_freeze_its_population(
    daligang_town: Campaign, tmp_path: Path
) -> None:
    rows = [
        resident(f"人{n}", person_id(300 + n), f"H{n}", village=code_of("德茂园"))
        for n in range(21)
    ]
    assert not import_residents(path=xlsx_file(tmp_path / "r.xlsx", rows), actor=staff("t")).errors
    changed, unchanged = tasks_from_registry(campaign=daligang_town, actor=staff("t"))
    assert (changed, unchanged) == (18, 0)
    row = UnitTask.objects.get(division__code=code_of("德茂园"))
    assert (row.population, row.task, row.source) == (21, 20, TaskSource.REGISTRY)  # 19.95


# --- the command ----------------------------------------------------------------------------


def run(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("report", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(str(exit_.code)), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_the_command_refuses_a_near_miss_with_exit_1_and_the_candidates(
    as_admin: None,
    daligang_town: Campaign,
) -> None:
    status, out, _ = run("tasks", "--table", str(daligang_table()), "--json")
    assert status == 1
    data = json.loads(out)
    assert data["error"]["code"] == "names_unmatched"
    [problem] = data["problems"]
    assert problem["row"] == 13 and problem["code"] == "near_miss"
    assert problem["candidates"] == [{"code": code_of("黄栗洑"), "name": "黄栗伏村委会"}]


def test_the_command_imports_with_match_and_lists_the_tasks(
    as_admin: None, daligang_town: Campaign
) -> None:
    status, out, _ = run(
        "tasks", "--table", str(daligang_table()), "--match", f"黄栗洑={code_of('黄栗洑')}"
    )
    assert status == 0
    assert "卢家村：列示任务数 5100 与 人口数 5474 × 95% = 5200" in out
    assert f"第13行 黄栗洑 → 黄栗伏村委会（{code_of('黄栗洑')}，按指定区划代码）" in out
    status, out, _ = run("tasks", "--json")
    data = json.loads(out)
    assert data["total_task"] == 64453
    assert data["differs_from_rule"] == [code_of("卢家村")]
