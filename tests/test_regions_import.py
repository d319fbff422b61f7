"""Importing statistical division codes."""

from pathlib import Path

import pytest

from canbao.regions.models import Division
from canbao.regions.services import import_divisions
from tests.conftest import csv_file, staff

pytestmark = pytest.mark.django_db

HEADER = ("统计用区划代码", "名称")
ROWS = [
    ["430922000000", "桃江县"],
    ["430922117000", "大栗港镇"],
    ["430922117201", "大栗港社区居委会"],
    ["430922117239", "德茂园村委会"],
]


def test_it_imports_county_township_and_villages_with_their_parents(tmp_path: Path) -> None:
    result = import_divisions(path=csv_file(tmp_path / "d.csv", ROWS, HEADER), actor=staff("t"))
    assert not result.errors and result.created == 4
    village = Division.objects.get(code="430922117239")
    assert village.level == "village" and village.parent is not None
    assert village.parent.code == "430922117" and village.parent.parent is not None
    assert village.parent.parent.code == "430922"


def test_it_renames_a_known_code_and_leaves_the_rest(tmp_path: Path) -> None:
    import_divisions(path=csv_file(tmp_path / "d.csv", ROWS, HEADER), actor=staff("t"))
    renamed = [*ROWS[:3], ["430922117239", "德茂园村"]]
    result = import_divisions(path=csv_file(tmp_path / "e.csv", renamed, HEADER), actor=staff("t"))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 3)
    assert Division.objects.get(code="430922117239").name == "德茂园村"


def test_it_refuses_a_village_whose_township_is_nowhere(tmp_path: Path) -> None:
    rows = [["430922", "桃江县"], ["430922117239", "德茂园村委会"]]
    result = import_divisions(path=csv_file(tmp_path / "d.csv", rows, HEADER), actor=staff("t"))
    assert [(e.row, e.code) for e in result.errors] == [(4, "unknown_parent")]
    assert not Division.objects.exists()


def test_it_refuses_bad_codes_duplicates_and_provinces(tmp_path: Path) -> None:
    rows = [
        ["430000", "湖南省"],
        ["430922", "桃江县"],
        ["430922", "桃江县"],
        ["43092211", "八位"],
    ]
    result = import_divisions(
        path=csv_file(tmp_path / "d.csv", rows, ("代码", "名称")), actor=staff()
    )
    assert [(e.row, e.code) for e in result.errors] == [
        (3, "division_level"),
        (5, "duplicate_in_file"),
        (6, "division_length"),
    ]
