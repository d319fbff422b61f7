"""School rosters (学校名册): students placed at their school and grade from the roster's date, the
registry's unknown persons listed for follow-up, a later roster replacing an earlier one."""

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from canbao.demo.schools import write_school_roster
from canbao.registry.batches import ImportResult
from canbao.registry.models import (
    AuditEntry,
    CategoryFact,
    ImportBatch,
    RosterFollowUp,
    SchoolEnrollment,
)
from canbao.registry.schools import import_schools
from canbao.registry.services import import_residents
from tests.conftest import add_admin, csv_file, person_id, resident, staff, xlsx_file

pytestmark = pytest.mark.django_db

HEADER = ("学校名称", "年级", "班级", "姓名", "公民身份号码", "学籍号")
TITLE = "桃江县2020年秋季学期在校学生名册"
SEPTEMBER, OCTOBER = date(2019, 9, 1), date(2019, 10, 8)
SCHOOL, OTHER_SCHOOL = "大栗港镇中心小学", "桃江县第四中学"

# Three children of one household, born 2008-2013, and their father.
FATHER = ("张建国", person_id(1))
CHILDREN = [
    ("张小明", person_id(11, "M", date(2013, 3, 2))),
    ("张小红", person_id(12, "F", date(2011, 6, 9))),
    ("张小军", person_id(13, "M", date(2008, 1, 20))),
]
STRANGER = ("王五", person_id(40, "M", date(2012, 4, 4)))


@pytest.fixture
def family(daligang: dict[str, object], tmp_path: Path) -> None:
    relations = ("子", "女", "子")
    rows = [resident(*FATHER)]
    rows += [resident(*child, relation=r) for child, r in zip(CHILDREN, relations, strict=True)]
    result = import_residents(path=csv_file(tmp_path / "family.csv", rows), actor=staff("t"))
    assert not result.errors


def row(
    school: str, grade: str, person: tuple[str, str], cls: str = "", number: str = ""
) -> list[str]:
    return [school, grade, cls, person[0], person[1], number]


def roster(tmp_path: Path, rows: list[list[str]], name: str = "students.csv", **kw: Any) -> Path:
    return csv_file(tmp_path / name, rows, HEADER, title=TITLE, **kw)


def current() -> list[tuple[Any, ...]]:
    """Every roster row: name, school, grade, class, student number, valid from, valid to."""
    fields = ("resident__name", "school", "grade", "class_name", "student_number")
    rows = SchoolEnrollment.objects.order_by("resident_id", "id")
    return list(rows.values_list(*fields, "valid_from", "valid_to"))


def imported(path: Path, as_of: date, **kw: Any) -> ImportResult:
    result = import_schools(path=path, as_of=as_of, actor=staff("教育局"), **kw)
    assert not result.errors, result.errors
    return result


def test_it_places_known_students_and_lists_the_unknown_for_follow_up(
    family: None, tmp_path: Path
) -> None:
    path = roster(
        tmp_path,
        [
            row(SCHOOL, "一年级", CHILDREN[0], "（1）班", "G430922201303020111"),
            row(SCHOOL, "三年级", CHILDREN[1], "(2)班"),
            row(SCHOOL, "三年级", STRANGER, "(2)班"),
            row(OTHER_SCHOOL, "七 年级", CHILDREN[2]),
        ],
        encoding="gb18030",
    )
    result = imported(path, SEPTEMBER)
    assert (result.rows, result.created, result.updated, result.unchanged) == (4, 3, 0, 0)
    assert result.unknown == [{"row": 5, "id_number": STRANGER[1], "name": "王五"}]
    assert result.as_json()["unknown"] == result.unknown
    assert "1人在登记库中查无此人" in result.message
    # Class and grade are compared as headers are: full-width brackets and spaces do not count.
    assert current() == [
        ("张小明", SCHOOL, "一年级", "(1)班", "G430922201303020111", SEPTEMBER, None),
        ("张小红", SCHOOL, "三年级", "(2)班", "", SEPTEMBER, None),
        ("张小军", OTHER_SCHOOL, "七年级", "", "", SEPTEMBER, None),
    ]
    assert set(SchoolEnrollment.objects.values_list("batch_id", flat=True)) == {result.batch}
    follow_up = RosterFollowUp.objects.get()
    assert (follow_up.batch_id, follow_up.row, follow_up.name) == (result.batch, 5, "王五")
    batch = ImportBatch.objects.get(pk=result.batch)
    assert (batch.kind, batch.status, batch.rows, batch.created, batch.unknown) == (
        "schools",
        "committed",
        4,
        3,
        1,
    )
    assert AuditEntry.objects.get(batch=batch).action == "import_schools"
    # A school roster marks no special category: the assessment is left as it was.
    assert not CategoryFact.objects.exists()


def test_a_workbook_without_the_optional_columns_is_read(family: None, tmp_path: Path) -> None:
    path = xlsx_file(
        tmp_path / "students.xlsx",
        [[SCHOOL, "一年级", CHILDREN[0][0], CHILDREN[0][1]]],
        ("学校", "年级", "姓名", "身份证号"),
        title=TITLE,
    )
    result = imported(path, SEPTEMBER)
    assert (result.rows, result.created) == (1, 1)
    assert current() == [("张小明", SCHOOL, "一年级", "", "", SEPTEMBER, None)]


def test_every_bad_row_is_named_and_nothing_is_written(family: None, tmp_path: Path) -> None:
    bad_id = CHILDREN[2][1][:-1] + ("0" if CHILDREN[2][1][-1] != "0" else "1")
    path = roster(
        tmp_path,
        [
            row(SCHOOL, "一年级", CHILDREN[0]),  # row 3: fine
            row("", "一年级", CHILDREN[1]),  # row 4
            row(SCHOOL, "", STRANGER),  # row 5
            row(SCHOOL, "三年级", ("", person_id(41))),  # row 6
            row(SCHOOL, "三年级", ("张小军", bad_id)),  # row 7
            row(SCHOOL, "二年级", CHILDREN[0]),  # row 8: twice in the file
            row(OTHER_SCHOOL, "七年级", ("张晓红", CHILDREN[1][1])),  # row 9: another name
            row(SCHOOL, "一年级", FATHER, "一" * 41),  # row 10
        ],
    )
    result = import_schools(path=path, as_of=SEPTEMBER, actor=staff("t"))
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (4, "学校名称", "school_empty"),
        (5, "年级", "grade_empty"),
        (6, "姓名", "name_empty"),
        (7, "公民身份号码", "id_checksum"),
        (8, "公民身份号码", "duplicate_in_file"),
        (9, "姓名", "name_mismatch"),
        (10, "班级", "too_long"),
    ]
    messages = {e.code: e.describe() for e in result.errors}
    assert messages["school_empty"] == "第4行【学校名称】学校名称为空，请填写学校的全称。"
    assert messages["duplicate_in_file"].startswith(
        f"第8行【公民身份号码】身份证号码{CHILDREN[0][1]}与第3行重复"
    )
    assert "登记库中的姓名是“张小红”，名册上是“张晓红”" in messages["name_mismatch"]
    assert "最多40个字，本行有41个字" in messages["too_long"]
    assert not SchoolEnrollment.objects.exists() and not RosterFollowUp.objects.exists()
    refused = ImportBatch.objects.get(kind="schools")
    assert (refused.status, len(refused.errors)) == ("refused", 7)


def test_a_dry_run_counts_and_writes_nothing(family: None, tmp_path: Path) -> None:
    path = roster(tmp_path, [row(SCHOOL, "一年级", CHILDREN[0]), row(SCHOOL, "一年级", STRANGER)])
    result = import_schools(path=path, as_of=SEPTEMBER, dry_run=True, actor=staff("t"))
    assert (result.batch, result.created, len(result.unknown)) == (None, 1, 1)
    assert result.message == "试导入：共2行，将新增1、更新0、未变0，1人待核实；未写入任何数据。"
    assert not ImportBatch.objects.filter(kind="schools").exists()
    assert not SchoolEnrollment.objects.exists()


def test_the_same_roster_again_changes_nothing(family: None, tmp_path: Path) -> None:
    rows = [row(SCHOOL, "一年级", CHILDREN[0], "1班"), row(SCHOOL, "三年级", STRANGER)]
    first = imported(roster(tmp_path, rows), SEPTEMBER)
    before = list(SchoolEnrollment.objects.values_list("id", "valid_from", "valid_to", "batch"))

    again = imported(roster(tmp_path, rows), OCTOBER)  # the same file: a repeat
    assert (again.repeated, again.batch, again.created, again.unchanged) == (
        True,
        first.batch,
        0,
        2,
    )
    assert again.unknown == first.unknown
    # The same rows in another file, a month later: all unchanged, the rows kept as they were.
    same = imported(xlsx_file(tmp_path / "again.xlsx", rows, HEADER), OCTOBER)
    assert (same.repeated, same.created, same.updated, same.unchanged) == (False, 0, 0, 1)
    after = list(SchoolEnrollment.objects.values_list("id", "valid_from", "valid_to", "batch"))
    assert after == before


def test_a_later_roster_replaces_the_schools_earlier_one_from_its_date(
    family: None, tmp_path: Path
) -> None:
    imported(
        roster(
            tmp_path,
            [
                row(SCHOOL, "一年级", CHILDREN[0], "1班"),
                row(SCHOOL, "三年级", CHILDREN[1], "2班"),
                row(SCHOOL, "六年级", CHILDREN[2], "1班"),
            ],
        ),
        SEPTEMBER,
    )
    # October: 张小明 moved to class 2, 张小红 unchanged, 张小军 no longer listed.
    october = imported(
        roster(
            tmp_path,
            [row(SCHOOL, "一年级", CHILDREN[0], "2班"), row(SCHOOL, "三年级", CHILDREN[1], "2班")],
            name="october.csv",
        ),
        OCTOBER,
    )
    assert (october.created, october.updated, october.unchanged) == (0, 1, 1)
    last_of_september = date(2019, 10, 7)
    assert current() == [
        ("张小明", SCHOOL, "一年级", "1班", "", SEPTEMBER, last_of_september),
        ("张小明", SCHOOL, "一年级", "2班", "", OCTOBER, None),
        ("张小红", SCHOOL, "三年级", "2班", "", SEPTEMBER, None),
        ("张小军", SCHOOL, "六年级", "1班", "", SEPTEMBER, last_of_september),
    ]


def test_a_second_roster_of_the_same_date_replaces_the_first_outright(
    family: None, tmp_path: Path
) -> None:
    imported(
        roster(tmp_path, [row(SCHOOL, "一年级", CHILDREN[0]), row(SCHOOL, "三年级", CHILDREN[1])]),
        SEPTEMBER,
    )
    corrected = imported(
        roster(tmp_path, [row(SCHOOL, "二年级", CHILDREN[0])], name="corrected.csv"), SEPTEMBER
    )
    assert (corrected.updated, corrected.unchanged) == (1, 0)
    assert current() == [("张小明", SCHOOL, "二年级", "", "", SEPTEMBER, None)]


def test_a_student_listed_by_another_school_later_has_moved_there(
    family: None, tmp_path: Path
) -> None:
    imported(roster(tmp_path, [row(SCHOOL, "六年级", CHILDREN[2])]), SEPTEMBER)
    moved = imported(
        roster(tmp_path, [row(OTHER_SCHOOL, "七年级", CHILDREN[2])], name="four.csv"), OCTOBER
    )
    assert (moved.created, moved.updated) == (0, 1)
    assert current() == [
        ("张小军", SCHOOL, "六年级", "", "", SEPTEMBER, date(2019, 10, 7)),
        ("张小军", OTHER_SCHOOL, "七年级", "", "", OCTOBER, None),
    ]


def test_a_roster_older_than_the_one_in_effect_is_refused(family: None, tmp_path: Path) -> None:
    imported(
        roster(
            tmp_path, [row(SCHOOL, "一年级", CHILDREN[0]), row(OTHER_SCHOOL, "七年级", CHILDREN[2])]
        ),
        OCTOBER,
    )
    before = current()
    old = roster(
        tmp_path,
        [row(SCHOOL, "一年级", CHILDREN[1]), row("桃江县第一中学", "七年级", CHILDREN[2])],
        name="old.csv",
    )
    result = import_schools(path=old, as_of=SEPTEMBER, actor=staff("t"))
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (3, "学校名称", "later_roster"),
        (4, "学校名称", "other_school"),
    ]
    assert result.errors[0].message == (
        f"{SCHOOL}已有2019-10-08的名册，本名册的日期2019-09-01在其之前："
        "一所学校的名册须按日期先后导入，请核对名册日期（--as-of）。"
    )
    assert f"已在{OTHER_SCHOOL}2019-10-08的名册上" in result.errors[1].message
    assert current() == before


def test_the_demos_roster_places_registered_children_by_age_and_imports(
    family: None, tmp_path: Path
) -> None:
    path = tmp_path / "学校名册.csv"
    assert (
        write_school_roster(
            county_code="430922", county_name="桃江县", term_start=SEPTEMBER, path=path
        )
        == 4
    )
    written = path.read_bytes()
    write_school_roster(county_code="430922", county_name="桃江县", term_start=SEPTEMBER, path=path)
    assert path.read_bytes() == written  # a second demo run imports the same file: a repeat
    result = imported(path, SEPTEMBER)
    assert (result.created, len(result.unknown)) == (3, 1)
    # Ages on 1 September 2019: 6, 8 and 11; their father is no pupil.
    assert [row[:3] for row in current()] == [
        ("张小明", "大栗港镇中心小学", "一年级"),
        ("张小红", "大栗港镇中心小学", "三年级"),
        ("张小军", "大栗港镇中心小学", "六年级"),
    ]


# --- the command -----------------------------------------------------------------------------


def canbao(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("canbao")), *args],
        env={**os.environ, "DATABASE_URL": f"sqlite:///{database}"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_command_imports_a_roster_as_of_a_date_and_names_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "canbao.sqlite3"
    assert canbao(database, "init").returncode == 0
    add_admin(f"sqlite:///{database}")
    monkeypatch.setenv("CANBAO_AS", "admin")
    divisions = csv_file(
        tmp_path / "d.csv",
        [["430922", "桃江县"], ["430922117", "大栗港镇"], ["430922117201", "大栗港社区居委会"]],
        ("区划代码", "名称"),
        title=None,
    )
    people = csv_file(
        tmp_path / "r.csv", [resident(*FATHER), resident(*CHILDREN[0], relation="子")]
    )
    for kind, path in (("divisions", divisions), ("residents", people)):
        assert canbao(database, "import", kind, str(path)).returncode == 0

    good = roster(tmp_path, [row(SCHOOL, "一年级", CHILDREN[0]), row(SCHOOL, "一年级", STRANGER)])
    done = canbao(database, "import", "schools", str(good), "--as-of", "2019-09-01", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["rows"], result["created"], result["errors"]) == (2, 1, [])
    assert result["unknown"] == [{"row": 4, "id_number": STRANGER[1], "name": "王五"}]

    bad = roster(tmp_path, [row("", "一年级", CHILDREN[0])], name="bad.csv")
    errors = tmp_path / "errors.xlsx"
    text = canbao(database, "import", "schools", str(bad), "--errors-xlsx", str(errors))
    assert text.returncode == 1
    assert "第3行【学校名称】学校名称为空，请填写学校的全称。" in text.stdout
    sheet = CalamineWorkbook.from_path(str(errors)).get_sheet_by_index(0).to_python()
    assert sheet[1][:3] == [3, "学校名称", "school_empty"]

    usage = canbao(database, "import", "schools", str(good), "--as-of", "2019-9-1")
    assert usage.returncode == 2 and "YYYY-MM-DD" in usage.stderr
