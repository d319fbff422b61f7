"""The people of a synthetic county: names, ID numbers, households with a rural age pyramid,
and the special categories departments keep rosters of. Pure Python, driven by one
``random.Random``."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

from canbao.idnumber import Sex, make

# --- names ----------------------------------------------------------------------------------

PLACE_FIRST = (
    "青石白龙凤凰金银黄花桃李松竹梅兰荷柳杨枫茶新长安平太和丰永福高双马牛鹿鹤桂泉德茂乐东西南北中"
)
PLACE_SECOND = "山塘湾冲坪桥港溪湖岭坡垅田园铺洲坝庙坳口岗源峰林"
# Surnames, repeated roughly by their frequency in Hunan.
SURNAMES = (
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
MALE_CHARS = (
    "伟强军建国明华平勇志文杰涛斌波辉刚林峰鹏超浩宇俊磊洋鑫海东亮飞龙成兵春德清新胜云生福贵发"
)
FEMALE_CHARS = "芳娟敏静丽艳娜秀英华玲桂兰霞萍燕红梅琴婷雪慧佳欣怡琳莉凤珍翠香花月娥平莲"
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
P_EMPLOYEE_WORKING_AGE = 0.117
P_ELSEWHERE_YOUNG = 0.05


def _cumulative(bands: _Bands) -> tuple[list[int], list[int]]:
    values = [value for value, _ in bands]
    total = 0
    cumulative = []
    for _, weight in bands:
        total += weight
        cumulative.append(total)
    return values, cumulative


@dataclass
class Person:
    relation: str
    sex: Sex
    age: float
    surname: str
    name: str = ""
    id_number: str = ""
    birth: str = ""  # YYYY-MM-DD
    categories: list[str] = field(default_factory=list)


class PeopleGenerator:
    """The random choices; one per county, driven by one random.Random."""

    def __init__(
        self, rng: random.Random, county_code: str, as_of: date, poor_category: str
    ) -> None:
        self.rng = rng
        self.county_code = county_code
        self.poor_category = poor_category
        self.as_of_ordinal = as_of.toordinal()
        self.head_bands = _cumulative(_HEAD_BANDS)
        self.single_bands = _cumulative(_SINGLE_BANDS)
        self.sizes = _cumulative(_HOUSEHOLD_SIZES)
        self.used_sequences: dict[int, int] = {}
        self.births: dict[int, tuple[date, str]] = {}

    # -- names and numbers
    def given_name(self, sex: Sex) -> str:
        chars = MALE_CHARS if sex == "M" else FEMALE_CHARS
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
    def household(self, size: int) -> list[Person]:
        rng = self.rng
        values, cumulative = self.single_bands if size == 1 else self.head_bands
        head_age = rng.choices(values, cum_weights=cumulative)[0] + 5 * rng.random()
        head_male = rng.random() < (0.55 if size == 1 else 0.85)
        head_sex: Sex = "M" if head_male else "F"
        head = Person("户主", head_sex, head_age, rng.choice(SURNAMES))
        people = [head]
        family = head.surname
        slots = size - 1
        if slots and rng.random() < 0.88:
            spouse_sex: Sex = "F" if head_male else "M"
            shift = -2.0 if head_male else 2.0
            age = min(_MAX_AGE, max(18.0, head_age + rng.gauss(shift, 3.0)))
            spouse = Person("配偶", spouse_sex, age, rng.choice(SURNAMES))
            if not head_male:
                family = spouse.surname
            people.append(spouse)
            slots -= 1
        if slots and head_age < 58 and rng.random() < 0.3:
            father_age = head_age + rng.uniform(24, 34)
            if father_age < _MAX_AGE:
                surname = head.surname if head_male else rng.choice(SURNAMES)
                people.append(Person("父亲", "M", father_age, surname))
                slots -= 1
            mother_age = head_age + rng.uniform(22, 32)
            if slots and mother_age < _MAX_AGE and rng.random() < 0.8:
                people.append(Person("母亲", "F", mother_age, rng.choice(SURNAMES)))
                slots -= 1
        children = 0
        max_children = 2 if head_age >= 55 else 3
        while slots and children < max_children and head_age >= 19:
            age = head_age - rng.uniform(22, 34)
            if age < 0:
                age = rng.uniform(0, head_age - 18)
            sex: Sex = "M" if rng.random() < 0.53 else "F"
            people.append(Person("子" if sex == "M" else "女", sex, age, family))
            children += 1
            slots -= 1
        while slots and head_age >= 45:
            age = head_age - rng.uniform(46, 58)
            if age < 0:
                age = rng.uniform(0, 3)
            sex = "M" if rng.random() < 0.53 else "F"
            people.append(Person("孙子" if sex == "M" else "孙女", sex, age, family))
            slots -= 1
        while slots:
            sex = "M" if rng.random() < 0.5 else "F"
            people.append(Person("其他", sex, rng.uniform(5, 80), rng.choice(SURNAMES)))
            slots -= 1
        return people

    def categories(self, people: list[Person]) -> None:
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
                    categories.append(self.poor_category)
            else:
                if dibao:
                    categories.append("rural_dibao")
                if poor:
                    categories.append(self.poor_category)
            if rng.random() < (_P_DISABLED_IF_POOR if poor else _P_DISABLED):
                categories.append("disabled_1_2")
            if person.sex == "M" and person.age >= 45 and rng.random() < _P_VETERAN_MAN_45:
                categories.append("priority_veteran")
