"""Importing the household register: what is created, updated, refused, and never written."""

from datetime import date
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from canbao.idnumber import check_character
from canbao.registry.batches import ImportUsageError, write_errors_xlsx
from canbao.registry.models import AuditEntry, Household, ImportBatch, Resident
from canbao.registry.services import import_residents
from tests.conftest import OTHER_VILLAGE, VILLAGE, csv_file, person_id, resident, staff, xlsx_file

pytestmark = pytest.mark.django_db


def codes(result: object) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.code) for e in result.errors]  # type: ignore[attr-defined]


def family(tmp_path: Path, name: str = "family.csv", **kwargs: str) -> Path:
    return csv_file(
        tmp_path / name,
        [
            resident("张建国", person_id(1), phone="13800000001", employee="否"),
            resident("李秀英", person_id(2, "F"), relation="妻", elsewhere="是"),
            resident("张小明", person_id(3, born=date(2010, 3, 1)), relation="子"),
        ],
        **kwargs,
    )


def test_it_creates_residents_and_their_household_from_a_csv_with_a_title_row(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    result = import_residents(path=family(tmp_path), actor=staff("村协管员"))
    assert (result.rows, result.created, result.updated, result.unchanged) == (3, 3, 0, 0)
    assert result.errors == [] and result.batch is not None
    head = Resident.objects.get(id_number=person_id(1))
    assert (head.name, head.sex, head.birth_date, head.relation) == (
        "张建国",
        "M",
        date(1980, 5, 17),
        "户主",
    )
    assert head.household.number == "H001" and head.village.code == "430922117201"
    wife = Resident.objects.get(id_number=person_id(2, "F"))
    assert wife.sex == "F" and wife.insured_elsewhere and wife.flags_batch_id == result.batch
    assert Household.objects.get().members.count() == 3
    batch = ImportBatch.objects.get(pk=result.batch)
    assert (batch.status, batch.username, batch.rows, batch.created) == (
        "committed",
        "村协管员",
        3,
        3,
    )
    assert len(batch.file_sha256) == 64
    audit = AuditEntry.objects.get(batch=batch)
    assert audit.action == "import_residents" and audit.username == "村协管员"


def test_it_reads_a_gb18030_csv(daligang: dict[str, object], tmp_path: Path) -> None:
    result = import_residents(path=family(tmp_path, encoding="gb18030"), actor=staff("t"))
    assert result.created == 3 and not result.errors
    assert Resident.objects.filter(name="李秀英").exists()


def test_it_reads_an_xlsx_with_alias_headers(daligang: dict[str, object], tmp_path: Path) -> None:
    header = ("序号", "姓名", "身份证号", "户编号", "与户主关系", "村代码", "地址")
    rows = [
        ["1", "张建国", person_id(1), "H001", "户主", "430922117201", "大栗港镇1号"],
        ["2", "李秀英", person_id(2, "F"), "H001", "妻", "430922117201", "大栗港镇1号"],
    ]
    result = import_residents(path=xlsx_file(tmp_path / "a.xlsx", rows, header), actor=staff("t"))
    assert result.created == 2 and not result.errors
    assert Resident.objects.get(name="李秀英").address == "大栗港镇1号"


def test_it_refuses_an_id_that_excel_stored_as_a_number(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    header = ("姓名", "公民身份号码", "户编号", "与户主关系", "村(社区)代码")
    rows: list[list[str | float]] = [
        ["张建国", float(person_id(1)), "H001", "户主", "430922117201"],
    ]
    result = import_residents(path=xlsx_file(tmp_path / "n.xlsx", rows, header), actor=staff("t"))
    assert codes(result) == [(3, "公民身份号码", "id_scientific_notation")]
    assert "科学计数法" in result.errors[0].message
    assert not Resident.objects.exists()


def test_it_undoes_what_excel_does_to_id_digits(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    with_x = next(person_id(n) for n in range(500) if check_character(person_id(n)[:17]) == "X")
    full_width = person_id(2, "F").translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    spaced = person_id(3)[:6] + " " + person_id(3)[6:14] + " " + person_id(3)[14:]
    rows = [
        resident("张建国", with_x[:-1] + "x"),
        resident("李秀英", full_width, relation="妻"),
        resident("张小明", spaced, relation="子"),
    ]
    result = import_residents(path=csv_file(tmp_path / "m.csv", rows), actor=staff("t"))
    assert not result.errors and result.created == 3
    assert set(Resident.objects.values_list("id_number", flat=True)) == {
        with_x,
        person_id(2, "F"),
        person_id(3),
    }


def test_it_refuses_a_bad_checksum_with_the_row_and_column(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    good = person_id(1)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    rows = [resident("张建国", bad)]
    result = import_residents(path=csv_file(tmp_path / "c.csv", rows), actor=staff("t"))
    assert codes(result) == [(3, "公民身份号码", "id_checksum")]
    assert "校验码" in result.errors[0].message


def test_it_refuses_a_sex_or_birth_date_that_contradicts_the_id(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    rows = [resident("张建国", person_id(1), sex="女", born="1981-01-01")]
    result = import_residents(path=csv_file(tmp_path / "s.csv", rows), actor=staff("t"))
    assert codes(result) == [(3, "出生日期", "birth_date_mismatch"), (3, "性别", "sex_mismatch")]


def test_it_refuses_the_same_person_twice_in_the_file(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    rows = [resident("张建国", person_id(1)), resident("张建国", person_id(1))]
    result = import_residents(path=csv_file(tmp_path / "d.csv", rows), actor=staff("t"))
    assert ("duplicate_in_file") in [e.code for e in result.errors]
    assert result.errors[0].row == 4 and "第3行" in result.errors[0].message


def test_it_refuses_a_person_in_two_households_in_the_file(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    rows = [
        resident("张建国", person_id(1)),
        resident("李秀英", person_id(2, "F"), household="H002"),
        resident("张建国", person_id(1), household="H002", relation="夫"),
    ]
    result = import_residents(path=csv_file(tmp_path / "t.csv", rows), actor=staff("t"))
    assert (5, "户编号", "two_households") in codes(result)


def test_it_refuses_a_person_already_registered_in_another_household(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    import_residents(path=family(tmp_path), actor=staff("t"))
    rows = [resident("张小明", person_id(3, born=date(2010, 3, 1)), household="H009")]
    result = import_residents(path=csv_file(tmp_path / "o.csv", rows), actor=staff("t"))
    assert codes(result) == [(3, "户编号", "two_households")]
    assert "已登记在户H001" in result.errors[0].message


def test_it_refuses_another_name_for_a_known_id(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    import_residents(path=family(tmp_path), actor=staff("t"))
    rows = [resident("张健国", person_id(1))]
    result = import_residents(path=csv_file(tmp_path / "n.csv", rows), actor=staff("t"))
    assert codes(result) == [(3, "姓名", "name_mismatch")]
    assert "张建国" in result.errors[0].message


def test_it_refuses_an_unknown_or_malformed_village_code(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    rows = [
        resident("张建国", person_id(1), village="430922117999"),
        resident("李秀英", person_id(2, "F"), household="H002", village="430922117"),
    ]
    result = import_residents(path=csv_file(tmp_path / "v.csv", rows), actor=staff("t"))
    assert codes(result) == [
        (3, "村(社区)代码", "unknown_village"),
        (4, "村(社区)代码", "village_code"),
    ]


def test_it_refuses_a_household_without_a_head_or_with_two(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    rows = [
        resident("张建国", person_id(1), relation="子"),
        resident("李秀英", person_id(2, "F"), household="H002"),
        resident("李大山", person_id(4), household="H002"),
    ]
    result = import_residents(path=csv_file(tmp_path / "h.csv", rows), actor=staff("t"))
    assert codes(result) == [
        (3, "与户主关系", "household_head"),
        (4, "与户主关系", "household_head"),
    ]


def test_it_accepts_new_members_of_a_registered_household(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    import_residents(path=family(tmp_path), actor=staff("t"))
    rows = [resident("张小红", person_id(5, "F", date(2019, 1, 2)), relation="女")]
    result = import_residents(path=csv_file(tmp_path / "n.csv", rows), actor=staff("t"))
    assert not result.errors and result.created == 1
    assert Household.objects.get().members.count() == 4


def test_it_accepts_foreign_and_hong_kong_documents(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    header = ("姓名", "证件类型", "证件号码", "性别", "出生日期", "户编号", "与户主关系", "村代码")
    rows = [
        ["陈大文", "港澳居民来往内地通行证", "H12345678", "男", "1975/06/01"],
        ["JOHN SMITH", "外国人永久居留身份证", "USA123456789012", "男", ""],
    ]
    rows[0] += ["H001", "户主", VILLAGE]
    rows[1] += ["H002", "户主", VILLAGE]
    result = import_residents(path=csv_file(tmp_path / "f.csv", rows, header), actor=staff("t"))
    assert not result.errors and result.created == 2
    chan = Resident.objects.get(id_type="hk_macau_permit")
    assert (chan.id_number, chan.sex, chan.birth_date) == ("H12345678", "M", date(1975, 6, 1))


def test_a_dry_run_reports_and_writes_nothing(daligang: dict[str, object], tmp_path: Path) -> None:
    result = import_residents(path=family(tmp_path), actor=staff("t"), dry_run=True)
    assert (result.created, result.batch, result.dry_run) == (3, None, True)
    assert not Resident.objects.exists() and not Household.objects.exists()
    assert not ImportBatch.objects.exists() and not AuditEntry.objects.exists()


def test_the_batch_is_all_or_nothing(daligang: dict[str, object], tmp_path: Path) -> None:
    rows = [
        resident("张建国", person_id(1)),
        resident("李秀英", person_id(2, "F"), relation="妻"),
        resident("", person_id(3), relation="子"),
    ]
    result = import_residents(path=csv_file(tmp_path / "a.csv", rows), actor=staff("t"))
    assert codes(result) == [(5, "姓名", "name_empty")]
    assert not Resident.objects.exists() and not Household.objects.exists()
    refused = ImportBatch.objects.get(pk=result.batch)
    assert refused.status == "refused" and refused.errors[0]["code"] == "name_empty"
    assert AuditEntry.objects.get().action == "import_residents_refused"


def test_the_same_file_twice_changes_nothing_and_says_so(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    path = family(tmp_path)
    first = import_residents(path=path, actor=staff("t"))
    again = import_residents(path=path, actor=staff("t"))
    assert again.repeated and again.batch == first.batch
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert "已于" in again.message and "未作任何改动" in again.message
    assert ImportBatch.objects.count() == 1 and Resident.objects.count() == 3


def test_another_file_with_the_same_rows_changes_nothing(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    import_residents(path=family(tmp_path), actor=staff("t"))
    before = list(Resident.objects.values_list("id", "updated_at", "batch_id"))
    other = family(tmp_path, "again.csv", encoding="gb18030", title=None)
    result = import_residents(path=other, actor=staff("t"))
    assert not result.repeated and (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert list(Resident.objects.values_list("id", "updated_at", "batch_id")) == before


def test_it_updates_what_changed_and_records_the_source_of_the_flags(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    import_residents(path=family(tmp_path), actor=staff("t"))
    rows = [
        resident("张建国", person_id(1), phone="13900000000", employee="是"),
        resident("李秀英", person_id(2, "F"), relation="妻", elsewhere="是"),
        resident("张小明", person_id(3, born=date(2010, 3, 1)), relation="子"),
    ]
    result = import_residents(path=csv_file(tmp_path / "u.csv", rows), actor=staff("t"))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    head = Resident.objects.get(id_number=person_id(1))
    assert head.phone == "13900000000" and head.employee_insured
    assert head.flags_batch_id == result.batch


def test_it_moves_a_household_to_another_village(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    import_residents(path=family(tmp_path), actor=staff("t"))
    rows = [resident("张建国", person_id(1), village=OTHER_VILLAGE, phone="13800000001")]
    result = import_residents(path=csv_file(tmp_path / "v.csv", rows), actor=staff("t"))
    assert result.updated == 1
    assert Household.objects.get().village.code == OTHER_VILLAGE


def test_a_new_member_alone_moves_a_registered_household_to_another_village(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    import_residents(path=family(tmp_path), actor=staff("t"))
    rows = [
        resident(
            "张小红", person_id(5, "F", date(2019, 1, 2)), relation="女", village=OTHER_VILLAGE
        )
    ]
    result = import_residents(path=csv_file(tmp_path / "m.csv", rows), actor=staff("t"))
    assert not result.errors and (result.created, result.updated) == (1, 0)
    assert Household.objects.get().village.code == OTHER_VILLAGE
    assert Resident.objects.get(name="张小红").village.code == OTHER_VILLAGE


def test_it_refuses_a_file_without_the_required_columns(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    path = csv_file(tmp_path / "x.csv", [["张建国", "H001"]], ("姓名", "户编号"))
    result = import_residents(path=path, actor=staff("t"))
    assert [e.code for e in result.errors] == ["table"]
    assert "找不到所需的列" in result.errors[0].message


def test_it_calls_a_missing_file_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(ImportUsageError):
        import_residents(path=tmp_path / "missing.csv", actor=staff("t"))


def test_the_errors_can_be_downloaded_as_a_workbook(
    daligang: dict[str, object], tmp_path: Path
) -> None:
    rows = [resident("张建国", "4.30922E+17")]
    result = import_residents(path=csv_file(tmp_path / "e.csv", rows), actor=staff("t"))
    out = write_errors_xlsx(ImportBatch.objects.get(pk=result.batch).errors, tmp_path / "e.xlsx")
    sheet = CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
    assert sheet[0] == ["行号", "列", "错误代码", "说明"]
    assert sheet[1][:3] == [3, "公民身份号码", "id_scientific_notation"]
