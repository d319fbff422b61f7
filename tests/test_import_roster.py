"""Department rosters: facts for known persons, a follow-up list for unknown ones."""

from datetime import date
from pathlib import Path

import pytest

from canbao.registry.batches import ImportUsageError
from canbao.registry.models import CategoryFact, ImportBatch, Resident, RosterFollowUp
from canbao.registry.rosters import import_roster
from canbao.registry.services import import_residents
from tests.conftest import csv_file, person_id, resident, staff, xlsx_file

pytestmark = pytest.mark.django_db

ROSTER_HEADER = ("姓名", "公民身份号码", "地址", "联系电话", "有效期起", "有效期止")


@pytest.fixture
def family(daligang: dict[str, object], tmp_path: Path) -> None:
    rows = [
        resident("张建国", person_id(1)),
        resident("李秀英", person_id(2, "F"), relation="妻"),
    ]
    result = import_residents(path=csv_file(tmp_path / "family.csv", rows), actor=staff("t"))
    assert not result.errors


def roster(tmp_path: Path, rows: list[list[str]], name: str = "dibao.csv") -> Path:
    return csv_file(tmp_path / name, rows, ROSTER_HEADER, title="农村低保对象花名册")


def test_it_gives_known_persons_the_category_and_lists_the_unknown(
    family: None, tmp_path: Path
) -> None:
    path = roster(
        tmp_path,
        [
            ["张建国", person_id(1), "大栗港", "", "2020-01-01", "2020-12-31"],
            ["王五", person_id(7), "德茂园", "13700000000", "", ""],
        ],
    )
    result = import_roster(
        path=path, category="rural_dibao", source="civil_affairs", actor=staff("t")
    )
    assert not result.errors and (result.rows, result.created) == (2, 1)
    assert result.unknown == [{"row": 4, "id_number": person_id(7), "name": "王五"}]
    fact = CategoryFact.objects.get()
    assert (fact.resident.name, fact.category, fact.source, fact.valid_from, fact.valid_to) == (
        "张建国",
        "rural_dibao",
        "civil_affairs",
        date(2020, 1, 1),
        date(2020, 12, 31),
    )
    assert fact.batch_id == result.batch
    follow_up = RosterFollowUp.objects.get()
    assert (follow_up.name, follow_up.phone) == ("王五", "13700000000")
    assert follow_up.batch_id == result.batch
    assert not Resident.objects.filter(name="王五").exists()
    assert result.as_json()["unknown"] == result.unknown


def test_a_person_holds_several_categories(family: None, tmp_path: Path) -> None:
    rows = [["张建国", person_id(1), "", "", "", ""]]
    import_roster(
        path=roster(tmp_path, rows), category="rural_dibao", source="civil_affairs", actor=staff()
    )
    import_roster(
        path=xlsx_file(tmp_path / "poor.xlsx", rows, ROSTER_HEADER),
        category="registered_poor",
        source="rural_revitalization",
        actor=staff(),
    )
    assert sorted(
        Resident.objects.get(name="张建国").categories.values_list("category", flat=True)
    ) == ["registered_poor", "rural_dibao"]


def test_it_refuses_a_known_id_under_another_name(family: None, tmp_path: Path) -> None:
    rows = [["张健国", person_id(1), "", "", "", ""], ["李秀英", person_id(2, "F"), "", "", "", ""]]
    result = import_roster(
        path=roster(tmp_path, rows), category="rural_dibao", source="civil_affairs", actor=staff()
    )
    assert [(e.row, e.column, e.code) for e in result.errors] == [(3, "姓名", "name_mismatch")]
    assert not CategoryFact.objects.exists()


def test_it_refuses_duplicates_bad_ids_and_bad_dates(family: None, tmp_path: Path) -> None:
    rows = [
        ["张建国", person_id(1), "", "", "", ""],
        ["张建国", person_id(1), "", "", "", ""],
        ["李秀英", "4.30922E+17", "", "", "", ""],
        ["李秀英", person_id(2, "F"), "", "", "2020-12-31", "2020-01-01"],
    ]
    result = import_roster(
        path=roster(tmp_path, rows), category="rural_dibao", source="civil_affairs", actor=staff()
    )
    assert [(e.row, e.code) for e in result.errors] == [
        (4, "duplicate_in_file"),
        (5, "id_scientific_notation"),
        (6, "date_range"),
    ]
    assert not CategoryFact.objects.exists() and not RosterFollowUp.objects.exists()


def test_the_same_roster_twice_changes_nothing_and_new_dates_update(
    family: None, tmp_path: Path
) -> None:
    rows = [["张建国", person_id(1), "", "", "2020-01-01", ""]]
    path = roster(tmp_path, rows)
    first = import_roster(path=path, category="rural_dibao", source="civil_affairs", actor=staff())
    again = import_roster(path=path, category="rural_dibao", source="civil_affairs", actor=staff())
    assert again.repeated and again.batch == first.batch and again.created == 0
    rows[0][5] = "2020-06-30"
    changed = import_roster(
        path=roster(tmp_path, rows, "b.csv"),
        category="rural_dibao",
        source="civil_affairs",
        actor=staff(),
    )
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 0)
    assert CategoryFact.objects.get().valid_to == date(2020, 6, 30)
    assert ImportBatch.objects.filter(kind="roster").count() == 2


def test_it_calls_an_unknown_category_or_funder_a_usage_error(tmp_path: Path) -> None:
    path = roster(tmp_path, [])
    with pytest.raises(ImportUsageError, match="人员类别"):
        import_roster(path=path, category="poor", source="civil_affairs", actor=staff())
    with pytest.raises(ImportUsageError, match="来源部门"):
        import_roster(path=path, category="orphan", source="bank", actor=staff())
