"""A synthetic county: divisions, a resident registry and department rosters, as files.

``generate_county`` writes what a county medical insurance bureau receives at the start of a
campaign, in the formats ``canbao import divisions|residents|roster`` read:

- ``divisions.csv``: the county, its townships (9-digit codes) and villages/communities (12
  digits; communities numbered from 001, villages from 201);
- ``residents.csv`` (and ``residents.xlsx``): households of 1-6 persons with one head each,
  valid GB 11643 ID numbers, a rural age pyramid (many 45-70 year olds, few children), some
  residents already employee-insured or insured elsewhere;
- ``roster-<category>.csv``: one roster per department and special category, overlapping as real
  ones do (most extreme-poverty persons are registered poor, dibao households are often poor
  households), with "the usual errors" injected at a small rate and listed in the result.

Pure Python (no Django), streaming and deterministic for a seed: the registry is written in
chunks as it is generated; only the roster rows (about 16% of the residents) are held until the
end, to place the injected errors.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from canbao.demo.counties import TAOJIANG, County
from canbao.demo.people import (
    FEMALE_CHARS,
    MALE_CHARS,
    P_ELSEWHERE_YOUNG,
    P_EMPLOYEE_WORKING_AGE,
    PLACE_FIRST,
    PLACE_SECOND,
    SURNAMES,
    PeopleGenerator,
    Person,
)
from canbao.idnumber import Sex
from canbao.policy.codes import CATEGORY_NAMES, FUNDER_NAMES

__all__ = [
    "DIVISIONS_HEADER",
    "FAULT_KINDS",
    "RESIDENTS_HEADER",
    "ROSTERS",
    "ROSTER_HEADER",
    "RosterFault",
    "RosterFile",
    "RosterSpec",
    "SyntheticCounty",
    "generate_county",
]

DIVISIONS_HEADER = ("统计用区划代码", "名称")
RESIDENTS_HEADER = (
    "姓名",
    "证件类型",
    "公民身份号码",
    "性别",
    "出生日期",
    "户编号",
    "与户主关系",
    "村(社区)代码",
    "村(社区)",
    "家庭住址",
    "联系电话",
    "职工医保",
    "异地参保",
)
ROSTER_HEADER = ("姓名", "公民身份号码", "家庭住址", "联系电话")

# The date the registry describes (ages are counted to it). Fixed, so a seed gives the same files
# on any day.
DEFAULT_AS_OF = date(2025, 1, 1)
RESIDENTS_PER_VILLAGE = 1500
VILLAGES_PER_TOWNSHIP = 18
_CHUNK_ROWS = 5000


@dataclass(frozen=True)
class RosterSpec:
    category: str  # canonical category code
    department: str  # canonical funder code of the department that sends the roster
    share: float  # target share of the residents


ROSTERS: tuple[RosterSpec, ...] = (
    RosterSpec("rural_dibao", "civil_affairs", 0.05),
    RosterSpec("extreme_poverty", "civil_affairs", 0.008),
    RosterSpec("registered_poor", "rural_revitalization", 0.08),
    RosterSpec("disabled_1_2", "disabled_federation", 0.015),
    RosterSpec("priority_veteran", "veterans_affairs", 0.003),
)
EMPLOYEE_INSURED_SHARE = 0.06
INSURED_ELSEWHERE_SHARE = 0.02

FaultKind = Literal[
    "not_in_registry", "name_mismatch", "bad_check_digit", "lowercase_x", "duplicate"
]
FAULT_KINDS: dict[FaultKind, str] = {
    "not_in_registry": "人员不在户籍登记名册中",
    "name_mismatch": "姓名与登记名册不一致（一字之差）",
    "bad_check_digit": "身份证号码校验码错误",
    "lowercase_x": "身份证号码末位为小写x",
    "duplicate": "同一人在同一名册中出现两次",
}
# Each kind of error, per roster: about one row in a thousand, at least one in a roster of at
# least _FAULT_MIN_ROWS rows, none in smaller ones.
_FAULT_RATE = 0.001
_FAULT_MIN_ROWS = 20


@dataclass(frozen=True)
class RosterFile:
    category: str
    department: str
    path: Path
    rows: int  # data rows in the file, the injected errors included


@dataclass(frozen=True)
class RosterFault:
    kind: FaultKind
    category: str
    row: int  # row number in the file; the header is row 1
    id_number: str  # as written in the roster
    detail: str  # Chinese, for the demo
    # What the row should say: the registered name (name_mismatch) or the right ID number
    # (bad_check_digit, lowercase_x); "" for the others.
    expected: str = ""

    @property
    def description(self) -> str:
        return FAULT_KINDS[self.kind]


@dataclass(frozen=True)
class SyntheticCounty:
    county_code: str
    county_name: str
    seed: int
    as_of: date
    out_dir: Path
    divisions_csv: Path
    residents_csv: Path
    residents_xlsx: Path | None
    rosters: tuple[RosterFile, ...]
    townships: int
    villages: int
    households: int
    residents: int
    employee_insured: int
    insured_elsewhere: int
    # Residents of the registry in each category (the roster's true members, errors excluded).
    category_members: dict[str, int]
    age_groups: dict[str, int]  # "0-14", "15-44", "45-69", "70+"
    faults: tuple[RosterFault, ...] = field(default=())

    def roster(self, category: str) -> RosterFile:
        for roster in self.rosters:
            if roster.category == category:
                return roster
        raise KeyError(category)

    def import_commands(self, *, corrected_dir: Path | None = None) -> list[list[str]]:
        """The ``canbao`` command lines that load this county, in order (for ``call_command``).

        With ``corrected_dir``, the rosters are the corrected ones (written there), else the
        ones with errors, which the import refuses row by row.
        """
        commands = [
            ["import", "divisions", str(self.divisions_csv)],
            ["import", "residents", str(self.residents_csv)],
        ]
        for roster in self.rosters:
            path = roster.path
            if corrected_dir is not None:
                corrected_dir.mkdir(parents=True, exist_ok=True)
                path = self.write_corrected_roster(roster.category, corrected_dir / path.name)
            options = ["--category", roster.category, "--source", roster.department]
            commands.append(["import", "roster", str(path), *options])
        return commands

    def write_corrected_roster(self, category: str, path: Path) -> Path:
        """The roster as the department sends it again once told of its errors.

        Names and ID numbers are put right and the repeated rows dropped; persons not in the
        registry stay (the department vouches for them; the import lists them as unknown).
        """
        fixes = {fault.row: fault for fault in self.faults if fault.category == category}
        with (
            self.roster(category).path.open(encoding="utf-8", newline="") as source,
            path.open("w", encoding="utf-8", newline="") as target,
        ):
            reader = csv.reader(source)
            writer = csv.writer(target)
            writer.writerow(next(reader))
            for number, row in enumerate(reader, start=2):
                fault = fixes.get(number)
                if fault is None or fault.kind == "not_in_registry":
                    writer.writerow(row)
                elif fault.kind == "name_mismatch":
                    writer.writerow([fault.expected, *row[1:]])
                elif fault.kind in ("bad_check_digit", "lowercase_x"):
                    writer.writerow([row[0], fault.expected, *row[2:]])
        return path

    def summary(self, *, max_faults: int = 10) -> list[str]:
        """What was generated, in Chinese, one line each (for the demo), with the first
        ``max_faults`` injected errors."""
        lines = [
            f"{self.county_name}（{self.county_code}）：{self.townships}个乡镇，"
            f"{self.villages}个村（社区），{self.households}户，{self.residents}人",
            f"已参加职工医保{self.employee_insured}人，异地参保{self.insured_elsewhere}人",
            "年龄结构：" + "，".join(f"{k}岁{v}人" for k, v in self.age_groups.items()),
        ]
        for roster in self.rosters:
            department = FUNDER_NAMES.get(roster.department, roster.department)
            category = CATEGORY_NAMES.get(roster.category, roster.category)
            lines.append(
                f"{department}名册“{category}”：{roster.rows}行"
                f"（实有{self.category_members.get(roster.category, 0)}人，{roster.path.name}）"
            )
        if self.faults:
            lines.append(f"名册中埋入了{len(self.faults)}处常见错误：")
        for fault in self.faults[:max_faults]:
            lines.append(
                f"  埋入的错误：{self.roster(fault.category).path.name} 第{fault.row}行，"
                f"{fault.description}：{fault.detail}"
            )
        if len(self.faults) > max_faults:
            lines.append(f"  ……另有{len(self.faults) - max_faults}处")
        return lines


# --- divisions ------------------------------------------------------------------------------


@dataclass
class _Village:
    code: str
    name: str
    township: str
    quota: int  # residents
    groups: int  # 村民小组


def _unique_name(taken: set[str], stem: Callable[[], str], suffix: str) -> str:
    """A name not yet in ``taken`` (and now in it): a random stem + suffix, numbered if need be."""
    for _ in range(30):
        name = stem() + suffix
        if name not in taken:
            break
    else:
        base = stem()
        number = 2
        while (name := f"{base}{number}{suffix}") in taken:
            number += 1
    taken.add(name)
    return name


def _divisions(
    rng: random.Random, county: County, residents: int
) -> tuple[list[tuple[str, str]], list[_Village]]:
    """(code, name) of the townships, and the villages with their share of the residents."""
    village_count = max(1, round(residents / RESIDENTS_PER_VILLAGE))
    township_count = max(1, min(village_count, round(village_count / VILLAGES_PER_TOWNSHIP)))
    taken: set[str] = set(county.townships)

    def place() -> str:
        return rng.choice(PLACE_FIRST) + rng.choice(PLACE_SECOND)

    townships: list[tuple[str, str]] = []
    for index in range(township_count):
        if index < len(county.townships):
            name = county.townships[index]
        else:
            suffix = "镇" if rng.random() < 0.7 else "乡"
            name = _unique_name(taken, place, suffix)
        townships.append((f"{county.code}{100 + index:03d}", name))

    weights = [rng.uniform(0.6, 1.4) for _ in range(village_count)]
    total = sum(weights)
    quotas = [int(residents * w / total) for w in weights]
    for index in range(residents - sum(quotas)):
        quotas[index % village_count] += 1

    villages: list[_Village] = []
    per_township, extra = divmod(village_count, township_count)
    index = 0
    for number, (township_code, township_name) in enumerate(townships):
        count = per_township + (1 if number < extra else 0)
        communities = 0
        if township_name.endswith(("镇", "街道")) and count >= 5:
            communities = 3 if number == 0 else 1
        for position in range(count):
            quota = quotas[index]
            index += 1
            if position < communities:
                code = f"{township_code}{position + 1:03d}"
                name = _unique_name(taken, place, "社区")
            else:
                code = f"{township_code}{201 + position - communities:03d}"
                if rng.random() < 0.45:
                    name = _unique_name(taken, lambda: rng.choice(SURNAMES), "家村")
                else:
                    name = _unique_name(taken, place, "村")
            groups = max(1, min(30, quota // 100))
            villages.append(_Village(code, name, township_name, quota, groups))
    return townships, villages


# --- writing --------------------------------------------------------------------------------


class _ResidentWriter:
    """CSV, and xlsx in xlsxwriter's constant_memory mode, written in chunks."""

    def __init__(self, csv_path: Path, xlsx_path: Path | None) -> None:
        self.stream = csv_path.open("w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.stream)
        self.writer.writerow(RESIDENTS_HEADER)
        self.chunk: list[tuple[str, ...]] = []
        self.workbook: Any = None
        self.sheet: Any = None
        self.row = 1
        if xlsx_path is not None:
            import xlsxwriter

            self.workbook = xlsxwriter.Workbook(xlsx_path, {"constant_memory": True})
            self.sheet = self.workbook.add_worksheet("居民")
            text = self.workbook.add_format({"num_format": "@"})
            self.sheet.set_column(0, 0, 10)
            self.sheet.set_column(2, 2, 21, text)  # the ID number: text, never a number
            self.sheet.set_column(5, 5, 17, text)
            self.sheet.set_column(7, 7, 15, text)
            self.sheet.set_column(9, 9, 28)
            self.sheet.set_column(10, 10, 13, text)
            self.sheet.write_row(0, 0, RESIDENTS_HEADER)

    def add(self, row: tuple[str, ...]) -> None:
        self.chunk.append(row)
        if len(self.chunk) >= _CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        self.writer.writerows(self.chunk)
        if self.sheet is not None:
            write_string = self.sheet.write_string
            row = self.row
            for record in self.chunk:
                for column, value in enumerate(record):
                    write_string(row, column, value)
                row += 1
            self.row = row
        self.chunk.clear()

    def close(self) -> None:
        self.flush()
        self.stream.close()
        if self.workbook is not None:
            self.workbook.close()


_Entry = tuple[tuple[int, int, int], list[str], FaultKind | None, str, int, str]


def _inject_faults(
    rng: random.Random,
    category: str,
    rows: list[list[str]],
    strangers: Iterator[list[str]],
) -> tuple[list[list[str]], list[RosterFault]]:
    """The roster with the usual errors in it, and where they are."""
    count = len(rows)
    per_kind = max(1, round(count * _FAULT_RATE)) if count >= _FAULT_MIN_ROWS else 0
    entries: list[_Entry] = [((i, 0, 0), row, None, "", -1, "") for i, row in enumerate(rows)]
    if per_kind:
        free = list(range(count))
        rng.shuffle(free)
        for index in free[:per_kind]:
            row = rows[index]
            old = row[0]
            chars = MALE_CHARS + FEMALE_CHARS
            new_char = rng.choice(chars)
            while new_char == old[-1]:
                new_char = rng.choice(chars)
            row[0] = old[:-1] + new_char
            detail = f"名册写作“{row[0]}”，登记名册为“{old}”"
            entries[index] = (entries[index][0], row, "name_mismatch", detail, -1, old)
        for index in free[per_kind : 2 * per_kind]:
            row = rows[index]
            right = row[1][-1]
            wrong = rng.choice([c for c in "0123456789X" if c != right])
            good = row[1]
            row[1] = good[:-1] + wrong
            detail = f"校验码应为“{right}”，名册写作“{wrong}”"
            entries[index] = (entries[index][0], row, "bad_check_digit", detail, -1, good)
        with_x = [i for i in free[3 * per_kind :] if rows[i][1].endswith("X")]
        for index in with_x[:per_kind]:
            row = rows[index]
            good = row[1]
            row[1] = good[:-1] + "x"
            detail = "末位校验码写成了小写x（应为大写X）"
            entries[index] = (entries[index][0], row, "lowercase_x", detail, -1, good)
        for j, index in enumerate(free[2 * per_kind : 3 * per_kind]):
            position = rng.randint(index, count - 1)
            entries.append(((position, 1, j), list(rows[index]), "duplicate", "", index, ""))
        for j in range(per_kind):
            position = rng.randrange(count)
            entries.append(((position, 2, j), next(strangers), "not_in_registry", "", -1, ""))
    entries.sort(key=lambda entry: entry[0])
    row_of_original = {
        entry[0][0]: number for number, entry in enumerate(entries, start=2) if entry[0][1] == 0
    }
    faults: list[RosterFault] = []
    for number, (_, row, kind, detail, original, expected) in enumerate(entries, start=2):
        if kind is None:
            continue
        if kind == "duplicate":
            detail = f"与第{row_of_original[original]}行是同一人"
        elif kind == "not_in_registry":
            detail = f"{row[0]}（{row[1]}）不在登记名册中"
        faults.append(RosterFault(kind, category, number, row[1], detail, expected))
    faults.sort(key=lambda fault: fault.row)
    return [entry[1] for entry in entries], faults


def generate_county(
    *,
    residents: int,
    seed: int,
    county: County = TAOJIANG,
    out_dir: Path,
    xlsx: bool = False,
    as_of: date = DEFAULT_AS_OF,
    rosters: tuple[RosterSpec, ...] = ROSTERS,
    poor_category: str = "registered_poor",
) -> SyntheticCounty:
    """Write a synthetic county's divisions, residents and rosters into ``out_dir``.

    The same arguments give the same files. ``as_of`` is the date the registry describes (ages
    are counted to it; nobody is born after it). Poor households' members hold
    ``poor_category`` (Dazhu's notice names 过渡期脱贫人口, not 建档立卡); a category without a
    spec in ``rosters`` is not written to any file.
    """
    if residents < 1:
        raise ValueError(f"residents must be at least 1, got {residents}")
    county_code, county_name = county.code, county.name
    if len(county_code) != 6 or not (county_code.isascii() and county_code.isdigit()):
        raise ValueError(f"county_code must be 6 digits, got {county_code!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    townships, villages = _divisions(rng, county, residents)

    divisions_csv = out_dir / "divisions.csv"
    with divisions_csv.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(DIVISIONS_HEADER)
        writer.writerow((county_code, county_name))
        for code, name in townships:
            writer.writerow((code, name))
        for village in villages:
            writer.writerow((village.code, village.name))

    generator = PeopleGenerator(rng, county_code, as_of, poor_category)
    residents_csv = out_dir / "residents.csv"
    residents_xlsx = out_dir / "residents.xlsx" if xlsx else None
    output = _ResidentWriter(residents_csv, residents_xlsx)
    roster_rows: dict[str, list[list[str]]] = {spec.category: [] for spec in rosters}
    members = dict.fromkeys(roster_rows, 0)
    age_groups = {"0-14": 0, "15-44": 0, "45-69": 0, "70+": 0}
    households = employee_insured = insured_elsewhere = 0
    size_values, size_cumulative = generator.sizes
    choices = rng.choices
    random_ = rng.random
    try:
        for village in villages:
            expected_households = max(1, round(village.quota / 3.18))
            remaining = village.quota
            number = 0
            while remaining:
                size = min(remaining, choices(size_values, cum_weights=size_cumulative)[0])
                remaining -= size
                number += 1
                households += 1
                household_code = f"{village.code}{number:04d}"
                group = min(
                    village.groups, 1 + (number - 1) * village.groups // expected_households
                )
                address = f"{village.township}{village.name}{group}组"
                roster_address = f"{county_name}{address}"
                people = generator.household(size)
                generator.categories(people)
                head_phone = generator.phone()
                for person in people:
                    age = person.age
                    person.name = person.surname + generator.given_name(person.sex)
                    person.id_number, person.birth = generator.id_number(age, person.sex)
                    phone = head_phone if person.relation == "户主" or age < 16 else ""
                    if not phone and random_() < 0.7:
                        phone = generator.phone()
                    employee = elsewhere = False
                    if 20 <= age < 60:
                        p = P_EMPLOYEE_WORKING_AGE if not person.categories else 0.01
                        employee = random_() < p
                    if not employee and 16 <= age < 50:
                        elsewhere = random_() < P_ELSEWHERE_YOUNG
                    employee_insured += employee
                    insured_elsewhere += elsewhere
                    if age < 15:
                        age_groups["0-14"] += 1
                    elif age < 45:
                        age_groups["15-44"] += 1
                    elif age < 70:
                        age_groups["45-69"] += 1
                    else:
                        age_groups["70+"] += 1
                    output.add(
                        (
                            person.name,
                            "居民身份证",
                            person.id_number,
                            "男" if person.sex == "M" else "女",
                            person.birth,
                            household_code,
                            person.relation,
                            village.code,
                            village.name,
                            address,
                            phone,
                            "是" if employee else "否",
                            "是" if elsewhere else "否",
                        )
                    )
                    for category in person.categories:
                        listed = roster_rows.get(category)
                        if listed is None:
                            continue
                        members[category] += 1
                        roster_phone = phone if random_() < 0.85 else ""
                        listed.append([person.name, person.id_number, roster_address, roster_phone])
    finally:
        output.close()

    def strangers() -> Iterator[list[str]]:
        """Persons of the county who are not in the registry (e.g. moved out)."""
        while True:
            village = rng.choice(villages)
            sex: Sex = "M" if random_() < 0.5 else "F"
            person = Person("其他", sex, rng.uniform(18, 85), rng.choice(SURNAMES))
            id_number, _ = generator.id_number(person.age, sex)
            address = f"{county_name}{village.township}{village.name}{rng.randint(1, 9)}组"
            name = person.surname + generator.given_name(sex)
            yield [name, id_number, address, generator.phone()]

    stranger_rows = strangers()
    files: list[RosterFile] = []
    faults: list[RosterFault] = []
    for spec in rosters:
        rows, roster_faults = _inject_faults(
            rng, spec.category, roster_rows.pop(spec.category), stranger_rows
        )
        path = out_dir / f"roster-{spec.category}.csv"
        with path.open("w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(ROSTER_HEADER)
            writer.writerows(rows)
        files.append(RosterFile(spec.category, spec.department, path, len(rows)))
        faults.extend(roster_faults)

    return SyntheticCounty(
        county_code=county_code,
        county_name=county_name,
        seed=seed,
        as_of=as_of,
        out_dir=out_dir,
        divisions_csv=divisions_csv,
        residents_csv=residents_csv,
        residents_xlsx=residents_xlsx,
        rosters=tuple(files),
        townships=len(townships),
        villages=len(villages),
        households=households,
        residents=residents,
        employee_insured=employee_insured,
        insured_elsewhere=insured_elsewhere,
        category_members=members,
        age_groups=age_groups,
        faults=tuple(faults),
    )
