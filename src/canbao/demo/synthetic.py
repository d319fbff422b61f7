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

from canbao.idnumber import Sex, make
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


# --- names ----------------------------------------------------------------------------------

# 桃江县's townships, in the order of the brief; more are made up when a county needs them.
REAL_TOWNSHIPS = (
    "桃花江镇",
    "浮邱山乡",
    "鸬鹚渡镇",
    "大栗港镇",
    "武潭镇",
    "马迹塘镇",
    "三堂街镇",
    "松木塘镇",
    "修山镇",
    "石牛江镇",
    "牛田镇",
    "高桥乡",
    "灰山港镇",
    "沾溪镇",
    "鲊埠回族乡",
)
_PLACE_FIRST = (
    "青石白龙凤凰金银黄花桃李松竹梅兰荷柳杨枫茶新长安平太和丰永福高双马牛鹿鹤桂泉德茂乐东西南北中"
)
_PLACE_SECOND = "山塘湾冲坪桥港溪湖岭坡垅田园铺洲坝庙坳口岗源峰林"
# Surnames, repeated roughly by their frequency in Hunan.
_SURNAMES = (
    "刘" * 8
    + "李" * 7
    + "陈" * 7
    + "王" * 6
    + "周" * 5
    + "曾" * 4
    + "彭" * 4
    + "谭" * 4
    + "罗" * 4
    + "黄" * 4
    + "胡" * 4
    + "张" * 5
    + "杨" * 3
    + "邓" * 3
    + "朱" * 3
    + "龚" * 2
    + "熊" * 2
    + "肖" * 2
    + "郭" * 2
    + "何" * 2
    + "吴" * 2
    + "赵" * 2
    + "蒋" * 2
    + "贺" * 2
    + "文" * 2
    + "夏"
    + "汤"
    + "卜"
    + "符"
    + "莫"
    + "姚"
    + "宋"
    + "袁"
    + "唐"
    + "谢"
    + "徐"
    + "孙"
    + "马"
    + "郑"
    + "梁"
    + "廖"
    + "丁"
    + "石"
    + "雷"
    + "段"
    + "魏"
    + "康"
    + "童"
    + "游"
)
_MALE_CHARS = (
    "伟强军建国明华平勇志文杰涛斌波辉刚林峰鹏超浩宇俊磊洋鑫海东亮飞龙成兵春德清新胜云生福贵发"
)
_FEMALE_CHARS = "芳娟敏静丽艳娜秀英华玲桂兰霞萍燕红梅琴婷雪慧佳欣怡琳莉凤珍翠香花月娥平莲"
_MOBILE_PREFIXES = ("13", "15", "18", "17", "19", "14", "16")

# --- the age model ----------------------------------------------------------------------------
#
# Ages of heads of household, by 5-year band (lower bound, weight); single-person households are
# mostly elderly. The other members follow from the head's age: spouses near it, parents 22-34
# years older, children 22-34 years younger, grandchildren 46-58 years younger. The result has
# the rural shape: a bulge of 45-70 year olds, few children and young adults (who left).
_Bands = tuple[tuple[int, int], ...]
_HEAD_BANDS: _Bands = (
    (20, 1), (25, 3), (30, 5), (35, 7), (40, 8), (45, 10), (50, 12), (55, 12), (60, 11),
    (65, 10), (70, 7), (75, 4), (80, 2), (85, 1),
)  # fmt: skip
_SINGLE_BANDS: _Bands = (
    (20, 2), (25, 3), (30, 3), (35, 3), (40, 3), (45, 4), (50, 5), (55, 7), (60, 10),
    (65, 12), (70, 12), (75, 10), (80, 7), (85, 4), (90, 1),
)  # fmt: skip
_HOUSEHOLD_SIZES: _Bands = ((1, 15), (2, 22), (3, 22), (4, 20), (5, 13), (6, 8))  # mean 3.18
_MAX_AGE = 99.0

# Household and person probabilities, tuned so the shares land near ROSTERS' targets.
_P_POOR_HOUSEHOLD = 0.072
_P_DIBAO_IF_POOR = 0.53
_P_DIBAO_IF_NOT_POOR = 0.011
_P_EXTREME_POVERTY_SINGLE_ELDERLY = 0.25
_P_POOR_IF_EXTREME_POVERTY = 0.8
_P_DISABLED_IF_POOR = 0.03
_P_DISABLED = 0.0135
_P_VETERAN_MAN_45 = 0.011
_P_EMPLOYEE_WORKING_AGE = 0.117
_P_ELSEWHERE_YOUNG = 0.05


def _cumulative(bands: _Bands) -> tuple[list[int], list[int]]:
    values = [value for value, _ in bands]
    total = 0
    cumulative = []
    for _, weight in bands:
        total += weight
        cumulative.append(total)
    return values, cumulative


@dataclass
class _Village:
    code: str
    name: str
    township: str
    quota: int  # residents
    groups: int  # 村民小组


@dataclass
class _Person:
    relation: str
    sex: Sex
    age: float
    surname: str
    name: str = ""
    id_number: str = ""
    birth: str = ""  # YYYY-MM-DD
    categories: list[str] = field(default_factory=list)


class _Generator:
    """The random choices; one per county, driven by one random.Random."""

    def __init__(self, rng: random.Random, county_code: str, as_of: date) -> None:
        self.rng = rng
        self.county_code = county_code
        self.as_of_ordinal = as_of.toordinal()
        self.head_bands = _cumulative(_HEAD_BANDS)
        self.single_bands = _cumulative(_SINGLE_BANDS)
        self.sizes = _cumulative(_HOUSEHOLD_SIZES)
        self.used_sequences: dict[int, int] = {}
        self.births: dict[int, tuple[date, str]] = {}

    # -- names and numbers
    def given_name(self, sex: Sex) -> str:
        chars = _MALE_CHARS if sex == "M" else _FEMALE_CHARS
        rng = self.rng
        if rng.random() < 0.25:
            return rng.choice(chars)
        return rng.choice(chars) + rng.choice(chars)

    def phone(self) -> str:
        rng = self.rng
        return f"{rng.choice(_MOBILE_PREFIXES)}{rng.randrange(10**9):09d}"

    def id_number(self, age: float, sex: Sex) -> tuple[str, str]:
        """A unique valid ID number for someone of this age and sex, and their birth date."""
        ordinal = self.as_of_ordinal - 1 - int(age * 365.2425)
        male = sex == "M"
        while True:
            key = 2 * ordinal + male
            used = self.used_sequences.get(key, 0)
            if used < 500:
                break
            ordinal -= 1  # every order code of that day is taken: born a day earlier
        self.used_sequences[key] = used + 1
        birth = self.births.get(ordinal)
        if birth is None:
            born = date.fromordinal(ordinal)
            birth = self.births[ordinal] = (born, born.isoformat())
        # Start each day at a different order code, so numbers do not all end in 001, 003, ...
        sequence = (ordinal * 37 + used) % 500
        return make(self.county_code, birth[0], sequence, sex), birth[1]

    # -- households
    def household(self, size: int) -> list[_Person]:
        rng = self.rng
        values, cumulative = self.single_bands if size == 1 else self.head_bands
        head_age = rng.choices(values, cum_weights=cumulative)[0] + 5 * rng.random()
        head_male = rng.random() < (0.55 if size == 1 else 0.85)
        head_sex: Sex = "M" if head_male else "F"
        head = _Person("户主", head_sex, head_age, rng.choice(_SURNAMES))
        people = [head]
        family = head.surname
        slots = size - 1
        if slots and rng.random() < 0.88:
            spouse_sex: Sex = "F" if head_male else "M"
            shift = -2.0 if head_male else 2.0
            age = min(_MAX_AGE, max(18.0, head_age + rng.gauss(shift, 3.0)))
            spouse = _Person("配偶", spouse_sex, age, rng.choice(_SURNAMES))
            if not head_male:
                family = spouse.surname
            people.append(spouse)
            slots -= 1
        if slots and head_age < 58 and rng.random() < 0.3:
            father_age = head_age + rng.uniform(24, 34)
            if father_age < _MAX_AGE:
                surname = head.surname if head_male else rng.choice(_SURNAMES)
                people.append(_Person("父亲", "M", father_age, surname))
                slots -= 1
            mother_age = head_age + rng.uniform(22, 32)
            if slots and mother_age < _MAX_AGE and rng.random() < 0.8:
                people.append(_Person("母亲", "F", mother_age, rng.choice(_SURNAMES)))
                slots -= 1
        children = 0
        max_children = 2 if head_age >= 55 else 3
        while slots and children < max_children and head_age >= 19:
            age = head_age - rng.uniform(22, 34)
            if age < 0:
                age = rng.uniform(0, head_age - 18)
            sex: Sex = "M" if rng.random() < 0.53 else "F"
            people.append(_Person("子" if sex == "M" else "女", sex, age, family))
            children += 1
            slots -= 1
        while slots and head_age >= 45:
            age = head_age - rng.uniform(46, 58)
            if age < 0:
                age = rng.uniform(0, 3)
            sex = "M" if rng.random() < 0.53 else "F"
            people.append(_Person("孙子" if sex == "M" else "孙女", sex, age, family))
            slots -= 1
        while slots:
            sex = "M" if rng.random() < 0.5 else "F"
            people.append(_Person("其他", sex, rng.uniform(5, 80), rng.choice(_SURNAMES)))
            slots -= 1
        return people

    def categories(self, people: list[_Person]) -> None:
        """The special categories of each member (household-level for poor and dibao)."""
        rng = self.rng
        poor = rng.random() < _P_POOR_HOUSEHOLD
        dibao = rng.random() < (_P_DIBAO_IF_POOR if poor else _P_DIBAO_IF_NOT_POOR)
        for person in people:
            categories = person.categories
            if (
                len(people) == 1
                and person.age >= 60
                and rng.random() < _P_EXTREME_POVERTY_SINGLE_ELDERLY
            ):
                # 特困 and 低保 exclude each other; most 特困 are also registered poor.
                categories.append("extreme_poverty")
                if rng.random() < _P_POOR_IF_EXTREME_POVERTY:
                    categories.append("registered_poor")
            else:
                if dibao:
                    categories.append("rural_dibao")
                if poor:
                    categories.append("registered_poor")
            if rng.random() < (_P_DISABLED_IF_POOR if poor else _P_DISABLED):
                categories.append("disabled_1_2")
            if person.sex == "M" and person.age >= 45 and rng.random() < _P_VETERAN_MAN_45:
                categories.append("priority_veteran")


# --- divisions ------------------------------------------------------------------------------


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
    rng: random.Random, county_code: str, residents: int
) -> tuple[list[tuple[str, str]], list[_Village]]:
    """(code, name) of the townships, and the villages with their share of the residents."""
    village_count = max(1, round(residents / RESIDENTS_PER_VILLAGE))
    township_count = max(1, min(village_count, round(village_count / VILLAGES_PER_TOWNSHIP)))
    taken: set[str] = set(REAL_TOWNSHIPS)

    def place() -> str:
        return rng.choice(_PLACE_FIRST) + rng.choice(_PLACE_SECOND)

    townships: list[tuple[str, str]] = []
    for index in range(township_count):
        if index < len(REAL_TOWNSHIPS):
            name = REAL_TOWNSHIPS[index]
        else:
            suffix = "镇" if rng.random() < 0.7 else "乡"
            name = _unique_name(taken, place, suffix)
        townships.append((f"{county_code}{100 + index:03d}", name))

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
        if township_name.endswith("镇") and count >= 5:
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
                    name = _unique_name(taken, lambda: rng.choice(_SURNAMES), "家村")
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
            chars = _MALE_CHARS + _FEMALE_CHARS
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
    county_code: str = "430922",
    county_name: str = "桃江县",
    out_dir: Path,
    xlsx: bool = False,
    as_of: date = DEFAULT_AS_OF,
) -> SyntheticCounty:
    """Write a synthetic county's divisions, residents and rosters into ``out_dir``.

    The same arguments give the same files. ``as_of`` is the date the registry describes (ages
    are counted to it; nobody is born after it).
    """
    if residents < 1:
        raise ValueError(f"residents must be at least 1, got {residents}")
    if len(county_code) != 6 or not (county_code.isascii() and county_code.isdigit()):
        raise ValueError(f"county_code must be 6 digits, got {county_code!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    townships, villages = _divisions(rng, county_code, residents)

    divisions_csv = out_dir / "divisions.csv"
    with divisions_csv.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(DIVISIONS_HEADER)
        writer.writerow((county_code, county_name))
        for code, name in townships:
            writer.writerow((code, name))
        for village in villages:
            writer.writerow((village.code, village.name))

    generator = _Generator(rng, county_code, as_of)
    residents_csv = out_dir / "residents.csv"
    residents_xlsx = out_dir / "residents.xlsx" if xlsx else None
    output = _ResidentWriter(residents_csv, residents_xlsx)
    roster_rows: dict[str, list[list[str]]] = {spec.category: [] for spec in ROSTERS}
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
                        p = _P_EMPLOYEE_WORKING_AGE if not person.categories else 0.01
                        employee = random_() < p
                    if not employee and 16 <= age < 50:
                        elsewhere = random_() < _P_ELSEWHERE_YOUNG
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
                        members[category] += 1
                        roster_phone = phone if random_() < 0.85 else ""
                        roster_rows[category].append(
                            [person.name, person.id_number, roster_address, roster_phone]
                        )
    finally:
        output.close()

    def strangers() -> Iterator[list[str]]:
        """Persons of the county who are not in the registry (e.g. moved out)."""
        while True:
            village = rng.choice(villages)
            sex: Sex = "M" if random_() < 0.5 else "F"
            person = _Person("其他", sex, rng.uniform(18, 85), rng.choice(_SURNAMES))
            id_number, _ = generator.id_number(person.age, sex)
            address = f"{county_name}{village.township}{village.name}{rng.randint(1, 9)}组"
            name = person.surname + generator.given_name(sex)
            yield [name, id_number, address, generator.phone()]

    stranger_rows = strangers()
    rosters: list[RosterFile] = []
    faults: list[RosterFault] = []
    for spec in ROSTERS:
        rows, roster_faults = _inject_faults(
            rng, spec.category, roster_rows.pop(spec.category), stranger_rows
        )
        path = out_dir / f"roster-{spec.category}.csv"
        with path.open("w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(ROSTER_HEADER)
            writer.writerows(rows)
        rosters.append(RosterFile(spec.category, spec.department, path, len(rows)))
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
        rosters=tuple(rosters),
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
