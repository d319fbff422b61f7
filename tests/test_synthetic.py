import csv
import hashlib
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import pytest

from canbao import idnumber
from canbao.demo.plans import PRESET_SEASONS
from canbao.demo.synthetic import (
    DIVISIONS_HEADER,
    RESIDENTS_HEADER,
    ROSTER_HEADER,
    ROSTERS,
    SyntheticCounty,
    generate_county,
)
from canbao.policy.loader import load_preset
from canbao.tabular import Column, read_table

RESIDENTS = 5000
AS_OF = date(2025, 1, 1)
RELATIONS = {"户主", "配偶", "子", "女", "父亲", "母亲", "孙子", "孙女", "其他"}


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> SyntheticCounty:
    return generate_county(
        residents=RESIDENTS, seed=7, out_dir=tmp_path_factory.mktemp("county"), xlsx=True
    )


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as stream:
        return next(csv.reader(stream))


@pytest.fixture(scope="module")
def residents(county: SyntheticCounty) -> list[dict[str, str]]:
    return read_csv(county.residents_csv)


def test_it_writes_the_headers_the_importers_read(county: SyntheticCounty) -> None:
    assert header(county.divisions_csv) == list(DIVISIONS_HEADER)
    assert header(county.residents_csv) == list(RESIDENTS_HEADER)
    assert [r.category for r in county.rosters] == [spec.category for spec in ROSTERS]
    for roster in county.rosters:
        assert roster.path.name == f"roster-{roster.category}.csv"
        assert header(roster.path) == list(ROSTER_HEADER)
        assert len(read_csv(roster.path)) == roster.rows


def test_it_writes_the_county_its_townships_and_villages(county: SyntheticCounty) -> None:
    rows = read_csv(county.divisions_csv)
    codes = [row["统计用区划代码"] for row in rows]
    assert rows[0] == {"统计用区划代码": "430922", "名称": "桃江县"}
    townships = [c for c in codes if len(c) == 9]
    villages = [c for c in codes if len(c) == 12]
    assert len(townships) == county.townships >= 1
    assert len(villages) == county.villages == round(RESIDENTS / 1500)
    assert len(set(codes)) == len(codes)
    assert all(c.startswith("430922") for c in codes)
    assert all(v[:9] in townships and v[9:] >= "001" for v in villages)
    assert rows[1]["名称"] == "桃花江镇"


def test_every_id_number_is_valid_unique_and_agrees_with_sex_and_birth_date(
    residents: list[dict[str, str]],
) -> None:
    assert len(residents) == RESIDENTS
    numbers = [row["公民身份号码"] for row in residents]
    assert len(set(numbers)) == len(numbers)
    for row in residents:
        parsed = idnumber.parse(row["公民身份号码"], today=AS_OF)
        assert parsed.division_code == "430922"
        assert parsed.birth_date.isoformat() == row["出生日期"]
        assert {"M": "男", "F": "女"}[parsed.sex] == row["性别"]
        assert row["证件类型"] == "居民身份证"
        assert row["职工医保"] in ("是", "否") and row["异地参保"] in ("是", "否")
        phone = row["联系电话"]
        assert phone == "" or (len(phone) == 11 and phone[0] == "1" and phone[1] in "3456789")


def test_each_household_has_exactly_one_head(residents: list[dict[str, str]]) -> None:
    households: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in residents:
        households[row["户编号"]].append(row)
    for code, members in households.items():
        relations = [m["与户主关系"] for m in members]
        assert relations.count("户主") == 1, code
        assert 1 <= len(members) <= 6
        assert set(relations) <= RELATIONS
        assert code.startswith(members[0]["村(社区)代码"])
        assert len({m["家庭住址"] for m in members}) == 1
    assert 2.9 <= len(residents) / len(households) <= 3.5


def test_the_age_pyramid_is_rural(county: SyntheticCounty) -> None:
    assert sum(county.age_groups.values()) == RESIDENTS
    assert county.age_groups["45-69"] > 2 * county.age_groups["0-14"]


def test_special_groups_and_insured_elsewhere_come_at_realistic_shares(
    county: SyntheticCounty, residents: list[dict[str, str]]
) -> None:
    for spec in ROSTERS:
        share = county.category_members[spec.category] / RESIDENTS
        assert spec.share * 0.5 <= share <= spec.share * 1.6, spec.category
    employee = sum(row["职工医保"] == "是" for row in residents)
    elsewhere = sum(row["异地参保"] == "是" for row in residents)
    assert (employee, elsewhere) == (county.employee_insured, county.insured_elsewhere)
    assert 0.04 <= employee / RESIDENTS <= 0.08
    assert 0.01 <= elsewhere / RESIDENTS <= 0.03


def test_rosters_overlap_as_real_ones_do(county: SyntheticCounty) -> None:
    def ids(category: str) -> set[str]:
        return {row["公民身份号码"] for row in read_csv(county.roster(category).path)}

    extreme, poor, dibao = ids("extreme_poverty"), ids("registered_poor"), ids("rural_dibao")
    assert len(extreme & poor) > len(extreme) / 2
    assert not extreme & dibao
    assert len(dibao & poor) > len(dibao) / 3


def test_the_usual_roster_errors_are_injected_and_recorded(
    county: SyntheticCounty, residents: list[dict[str, str]]
) -> None:
    kinds = Counter(fault.kind for fault in county.faults)
    assert set(kinds) == {
        "not_in_registry",
        "name_mismatch",
        "bad_check_digit",
        "lowercase_x",
        "duplicate",
    }
    name_of = {row["公民身份号码"]: row["姓名"] for row in residents}
    for fault in county.faults:
        rows = read_csv(county.roster(fault.category).path)
        row = rows[fault.row - 2]  # the header is row 1
        number = row["公民身份号码"]
        assert number == fault.id_number, fault
        if fault.kind == "not_in_registry":
            assert idnumber.parse(number, today=AS_OF)
            assert number not in name_of
        elif fault.kind == "name_mismatch":
            registered = name_of[number]
            assert row["姓名"] != registered and len(row["姓名"]) == len(registered)
            assert sum(a != b for a, b in zip(row["姓名"], registered, strict=True)) == 1
        elif fault.kind == "bad_check_digit":
            with pytest.raises(idnumber.IdNumberError) as error:
                idnumber.parse(number, today=AS_OF)
            assert error.value.code == "id_checksum"
        elif fault.kind == "lowercase_x":
            assert number.endswith("x")
            assert idnumber.parse(number, today=AS_OF).number in name_of
        else:
            assert [r["公民身份号码"] for r in rows].count(number) == 2
            assert name_of[number] == row["姓名"]
    faulty = {(f.category, f.row) for f in county.faults}
    for roster in county.rosters:
        for number, row in enumerate(read_csv(roster.path), start=2):
            if (roster.category, number) not in faulty:
                assert name_of.get(row["公民身份号码"]) in (row["姓名"], None), number


def test_it_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    def digest(out_dir: Path, seed: int) -> tuple[str, ...]:
        county = generate_county(residents=1200, seed=seed, out_dir=out_dir)
        paths = [county.divisions_csv, county.residents_csv, *(r.path for r in county.rosters)]
        return tuple(hashlib.sha256(p.read_bytes()).hexdigest() for p in paths)

    assert digest(tmp_path / "a", 3) == digest(tmp_path / "b", 3)
    assert digest(tmp_path / "c", 4) != digest(tmp_path / "a", 3)


def test_the_xlsx_keeps_id_numbers_as_text(
    county: SyntheticCounty, residents: list[dict[str, str]]
) -> None:
    assert county.residents_xlsx is not None
    table = read_table(
        county.residents_xlsx,
        [
            Column("name", ("姓名",)),
            Column("id_number", ("公民身份号码",)),
            Column("household", ("户编号",)),
        ],
    )
    rows = [values for _, values in table.rows()]
    expected = [(r["姓名"], r["公民身份号码"], r["户编号"]) for r in residents]
    assert rows == expected


def test_it_scales_townships_and_villages_with_size(tmp_path: Path) -> None:
    tiny = generate_county(residents=10, seed=1, out_dir=tmp_path / "tiny")
    assert (tiny.townships, tiny.villages, tiny.residents) == (1, 1, 10)
    assert len(read_csv(tiny.residents_csv)) == 10
    with pytest.raises(ValueError):
        generate_county(residents=0, seed=1, out_dir=tmp_path / "none")


def test_a_corrected_roster_has_none_of_the_errors_but_the_unknown_persons(
    county: SyntheticCounty, residents: list[dict[str, str]], tmp_path: Path
) -> None:
    name_of = {row["公民身份号码"]: row["姓名"] for row in residents}
    commands = county.import_commands(corrected_dir=tmp_path)
    assert commands[:2] == [
        ["import", "divisions", str(county.divisions_csv)],
        ["import", "residents", str(county.residents_csv)],
    ]
    assert len(commands) == 2 + len(ROSTERS)
    for spec, command in zip(ROSTERS, commands[2:], strict=True):
        assert command[-4:] == ["--category", spec.category, "--source", spec.department]
        rows = read_csv(Path(command[2]))
        numbers = [row["公民身份号码"] for row in rows]
        assert len(set(numbers)) == len(numbers)
        unknown = [n for n in numbers if n not in name_of]
        faults = [f for f in county.faults if f.category == spec.category]
        assert len(unknown) == sum(f.kind == "not_in_registry" for f in faults)
        assert len(rows) == county.roster(spec.category).rows - sum(
            f.kind == "duplicate" for f in faults
        )
        for row in rows:
            assert idnumber.parse(row["公民身份号码"], today=AS_OF).number == row["公民身份号码"]
            assert name_of.get(row["公民身份号码"], row["姓名"]) == row["姓名"]


def test_it_builds_the_county_of_each_notice_with_the_rosters_its_policy_knows(
    tmp_path: Path,
) -> None:
    """Dazhu's notice names 过渡期脱贫人口, not 建档立卡; Songming's names no poor households."""
    dazhu = PRESET_SEASONS["dazhu-2022"]
    county = generate_county(
        residents=3000,
        seed=7,
        county=dazhu.county,
        out_dir=tmp_path / "dazhu",
        as_of=dazhu.registry_as_of,
        rosters=dazhu.rosters(load_preset("dazhu-2022")),
        poor_category=dazhu.poor_category,
    )
    divisions = read_csv(county.divisions_csv)
    assert divisions[0] == {"统计用区划代码": "511724", "名称": "大竹县"}
    assert divisions[1] == {"统计用区划代码": "511724100", "名称": "竹阳街道"}
    assert all(row["统计用区划代码"].startswith("511724") for row in divisions)
    categories = [roster.category for roster in county.rosters]
    assert "lifted_poverty" in categories and "registered_poor" not in categories
    assert county.category_members["lifted_poverty"] > 100
    numbers = {row["公民身份号码"] for row in read_csv(county.residents_csv)}
    assert all(number.startswith("511724") for number in numbers)

    songming = PRESET_SEASONS["songming-2016"]
    rosters = songming.rosters(load_preset("songming-2016"))
    assert [spec.category for spec in rosters] == ["rural_dibao", "extreme_poverty", "disabled_1_2"]
