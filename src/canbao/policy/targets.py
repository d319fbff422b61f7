"""Tasks (任务数): each unit's target count = population base x target rate, rounded per policy.

A bureau's table may state tasks as well as, or instead of, populations. A stated task stands even
when it differs from the computed one (it is then flagged as an override); stated totals that are
not the sum of their rows are flagged too. Nothing here corrects a bureau's figures silently.
"""

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from canbao.policy.schema import Targets
from canbao.tabular import Column, TableError, read_table

UNIT = Column("unit", ("单位名称", "乡镇名称", "乡镇(街道)名称", "村(社区)名称", "名称"))
POPULATION = Column(
    "population",
    ("2016年底人口数(人)", "城乡居民人口数", "人口数", "户籍人口数", "农业人口数"),
    required=False,
)
TASK = Column(
    "task", ("参保任务数(人)", "任务数", "2022年度目标任务数", "目标任务数"), required=False
)
TOTAL_NAMES = frozenset({"合计", "总计"})
ROUNDING_NAMES = {"half_up": "四舍五入", "down": "向下取整", "up": "向上取整"}
_COUNT = re.compile(r"\d{1,3}(?:,\d{3})+|\d+")


def shipped_table(policy_id: str) -> Path | None:
    """The attachment table shipped with a built-in preset, if its notice has one."""
    path = Path(str(resources.files("canbao.policy") / "tables" / f"{policy_id}.csv"))
    return path if path.is_file() else None


def task_for(population: int, rate_percent: Decimal, rounding: str) -> int:
    """population x rate_percent%, rounded to a whole person, in exact integer arithmetic."""
    if population < 0:
        raise ValueError(f"人口数不能为负：{population}")
    numerator, denominator = rate_percent.as_integer_ratio()
    numerator *= population
    denominator *= 100
    match rounding:
        case "half_up":
            return (2 * numerator + denominator) // (2 * denominator)
        case "down":
            return numerator // denominator
        case "up":
            return -(-numerator // denominator)
    raise ValueError(f"未知的取整方式：{rounding}")


@dataclass(frozen=True)
class TargetRow:
    row: int
    name: str
    population: int | None
    task: int | None


@dataclass(frozen=True)
class TargetTable:
    path: Path
    has_population: bool
    units: tuple[TargetRow, ...]
    total: TargetRow | None


def read_target_table(path: Path) -> TargetTable:
    """A task table as bureaus attach it: one row per unit, optionally a 合计/总计 row."""
    table = read_table(path, (UNIT, POPULATION, TASK))
    has_population = POPULATION.key in table.keys
    if not (has_population or TASK.key in table.keys):
        raise TableError(
            f"文件 {path.name} 第{table.header_row}行的表头中既没有人口数列，也没有任务数列"
            f"（人口数可写作 {'、'.join(POPULATION.aliases)}；"
            f"任务数可写作 {'、'.join(TASK.aliases)}）",
            row=table.header_row,
        )
    units: list[TargetRow] = []
    total: TargetRow | None = None
    seen: dict[str, int] = {}
    for number, values in table.rows():
        cells = dict(zip(table.keys, values, strict=True))
        name = cells[UNIT.key]
        population = _count(cells, POPULATION, table.headers, number, name)
        task = _count(cells, TASK, table.headers, number, name)
        where = f"第{number}行 {name}"
        if total is not None:
            if population is None and task is None:
                continue  # a note under the table (注：……)
            raise TableError(f"第{number}行：合计行之后还有数据行", row=number)
        if "".join(name.split()) in TOTAL_NAMES:
            total = TargetRow(number, name, population, task)
            continue
        if not name:
            raise TableError(
                f"第{number}行：单位名称为空", row=number, column=table.headers[UNIT.key]
            )
        if name in seen:
            raise TableError(
                f"{where}：单位名称与第{seen[name]}行重复",
                row=number,
                column=table.headers[UNIT.key],
            )
        seen[name] = number
        if has_population and population is None:
            raise TableError(
                f"{where}：人口数为空", row=number, column=table.headers[POPULATION.key]
            )
        if not has_population and task is None:
            raise TableError(f"{where}：任务数为空", row=number, column=table.headers[TASK.key])
        units.append(TargetRow(number, name, population, task))
    return TargetTable(path, has_population, tuple(units), total)


def _count(
    cells: dict[str, str], column: Column, headers: dict[str, str], number: int, name: str
) -> int | None:
    text = unicodedata.normalize("NFKC", cells.get(column.key, "")).strip()
    if not text:
        return None
    if not _COUNT.fullmatch(text):
        header = headers[column.key]
        raise TableError(
            f"第{number}行 {name}：“{header}”列的值“{text}”不是非负整数",
            row=number,
            column=header,
        )
    return int(text.replace(",", ""))


@dataclass(frozen=True)
class UnitTarget:
    row: int
    unit: str
    population: int | None
    computed_task: int | None
    stated_task: int | None
    task: int
    override: bool


@dataclass(frozen=True)
class TargetTotals:
    population: int | None
    computed_task: int | None
    task: int
    stated_population: int | None
    stated_task: int | None
    population_matches: bool | None
    task_matches: bool | None


@dataclass(frozen=True)
class TargetReport:
    rate_percent: Decimal
    rounding: str
    units: tuple[UnitTarget, ...]
    totals: TargetTotals
    findings: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "rate_percent": _percent(self.rate_percent),
            "rounding": self.rounding,
            "units": [
                {
                    "row": u.row,
                    "unit": u.unit,
                    "population": u.population,
                    "computed_task": u.computed_task,
                    "stated_task": u.stated_task,
                    "task": u.task,
                    "override": u.override,
                }
                for u in self.units
            ],
            "totals": {
                "population": self.totals.population,
                "computed_task": self.totals.computed_task,
                "task": self.totals.task,
                "stated_population": self.totals.stated_population,
                "stated_task": self.totals.stated_task,
                "population_matches": self.totals.population_matches,
                "task_matches": self.totals.task_matches,
            },
            "findings": list(self.findings),
        }

    def render_text(self) -> str:
        rounding = ROUNDING_NAMES[self.rounding]
        lines = [f"任务数测算：目标参保率 {_percent(self.rate_percent)}%，{rounding}", ""]
        header = ("行号", "单位", "人口数", "测算任务数", "列示任务数", "采用任务数", "备注")
        body = [
            (
                str(u.row),
                u.unit,
                _cell(u.population),
                _cell(u.computed_task),
                _cell(u.stated_task),
                str(u.task),
                "列示数与测算数不符" if u.override else "",
            )
            for u in self.units
        ]
        t = self.totals
        body.append(
            ("", "各行合计", _cell(t.population), _cell(t.computed_task), "", str(t.task), "")
        )
        if t.stated_population is not None or t.stated_task is not None:
            mismatched = t.population_matches is False or t.task_matches is False
            stated = ("", "列示合计", _cell(t.stated_population), "", _cell(t.stated_task), "")
            body.append((*stated, "与各行之和不符" if mismatched else ""))
        lines += aligned([header, *body], right=(0, 2, 3, 4, 5))
        if self.findings:
            lines += ["", "发现的问题："]
            lines += [f"{i}. {finding}" for i, finding in enumerate(self.findings, start=1)]
        return "\n".join(lines) + "\n"


def compute_targets(targets: Targets, table: TargetTable) -> TargetReport:
    """Each unit's task under `targets`, checked against what the table states.

    A stated total is compared with the sum of the tasks that stand (stated, else computed).
    """
    rate, rounding = targets.rate_percent, targets.rounding
    formula = f"× {_percent(rate)}% = {{}}（{ROUNDING_NAMES[rounding]}）"
    units: list[UnitTarget] = []
    findings: list[str] = []
    if not table.has_population:
        findings.append(
            f"表中没有人口数列，无法按 人口数 × {_percent(rate)}% 核对任务数，"
            "各单位按列示任务数采用"
        )
    for row in table.units:
        computed = None if row.population is None else task_for(row.population, rate, rounding)
        override = computed is not None and row.task is not None and computed != row.task
        if override:
            findings.append(
                f"第{row.row}行 {row.name}：列示任务数 {row.task} 与 人口数 {row.population} "
                f"{formula.format(computed)}不符，按列示数保留并标记"
            )
        task = row.task if row.task is not None else computed
        if task is None:
            raise ValueError(f"第{row.row}行 {row.name}：既无人口数也无任务数")
        units.append(
            UnitTarget(row.row, row.name, row.population, computed, row.task, task, override)
        )

    population_sum = computed_sum = None
    if table.has_population:
        population_sum = sum(u.population for u in units if u.population is not None)
        computed_sum = sum(u.computed_task for u in units if u.computed_task is not None)
    task_sum = sum(u.task for u in units)
    stated = table.total
    stated_population = None if stated is None else stated.population
    stated_task = None if stated is None else stated.task
    population_matches = _matches(stated_population, population_sum)
    task_matches = _matches(stated_task, task_sum)
    if stated is not None:
        where = f"第{stated.row}行 合计行"
        if population_matches is False:
            findings.append(
                f"{where}：列示人口数 {stated_population} 与各行之和 {population_sum} 不符"
            )
        if task_matches is False:
            findings.append(f"{where}：列示任务数 {stated_task} 与各行之和 {task_sum} 不符")
    totals = TargetTotals(
        population=population_sum,
        computed_task=computed_sum,
        task=task_sum,
        stated_population=stated_population,
        stated_task=stated_task,
        population_matches=population_matches,
        task_matches=task_matches,
    )
    return TargetReport(rate, rounding, tuple(units), totals, tuple(findings))


def _matches(stated: int | None, summed: int | None) -> bool | None:
    return None if stated is None or summed is None else stated == summed


def _percent(rate: Decimal) -> str:
    text = format(rate, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _cell(value: int | None) -> str:
    return "-" if value is None else str(value)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def aligned(rows: list[tuple[str, ...]], *, right: tuple[int, ...]) -> list[str]:
    """Columns padded to the widest cell, counting a CJK character as two columns."""
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - _width(cell))
            cells.append(pad + cell if i in right else cell + pad)
        lines.append("  ".join(cells).rstrip())
    return lines
