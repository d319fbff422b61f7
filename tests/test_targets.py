import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canbao.policy import targets as targets_module
from canbao.policy.schema import Targets
from canbao.policy.targets import compute_targets, read_target_table, task_for
from canbao.tabular import TableError

TABLES = Path(targets_module.__file__).parent / "tables"


Rounding = Literal["half_up", "down", "up"]


def policy(rate: str, rounding: Rounding = "half_up") -> Targets:
    return Targets(rate_percent=Decimal(rate), rounding=rounding, level="village", base="人口数")


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def write(tmp_path: Path, text: str, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_it_reproduces_wuming_exactly_as_printed() -> None:
    table = read_target_table(TABLES / "wuming-2018.csv")
    wuming = Targets(
        rate_percent=Decimal("97"), rounding="half_up", level="township", base="2016年底人口数"
    )

    report = compute_targets(wuming, table)

    assert len(report.units) == 13
    assert all(u.computed_task == u.stated_task == u.task for u in report.units)
    assert not any(u.override for u in report.units)
    assert report.totals.population == report.totals.stated_population == 627728
    assert report.totals.computed_task == report.totals.task == report.totals.stated_task == 608897
    assert report.totals.population_matches is True
    assert report.totals.task_matches is True
    assert report.findings == ()


def test_it_keeps_and_flags_daligang_overrides_and_its_wrong_population_total() -> None:
    report = compute_targets(policy("95"), read_target_table(TABLES / "daligang-2020.csv"))

    overrides = [u for u in report.units if u.override]
    assert [
        (u.row, u.unit, u.population, u.computed_task, u.stated_task, u.task) for u in overrides
    ] == [(14, "卢家村", 5474, 5200, 5100, 5100)]
    assert report.totals.population == 67949
    assert report.totals.stated_population == 67845
    assert report.totals.population_matches is False
    assert report.totals.task == report.totals.stated_task == 64453
    assert report.totals.task_matches is True
    assert report.totals.computed_task == 64553
    assert report.findings == (
        "第14行 卢家村：列示任务数 5100 与 人口数 5474 × 95% = 5200（四舍五入）不符，"
        "按列示数保留并标记",
        "第20行 合计行：列示人口数 67845 与各行之和 67949 不符",
    )


def test_it_takes_dazhu_tasks_as_stated_and_says_they_cannot_be_checked() -> None:
    report = compute_targets(policy("98"), read_target_table(TABLES / "dazhu-2022.csv"))

    assert len(report.units) == 31
    assert [u.unit for u in report.units][:2] == ["竹阳街道", "东柳街道"]
    assert report.units[-1].unit == "川主乡"
    assert sum(u.task for u in report.units) == 948370
    assert report.totals.task_matches is True
    assert report.totals.population is None
    assert report.totals.computed_task is None
    assert all(u.computed_task is None and not u.override for u in report.units)
    assert report.findings == (
        "表中没有人口数列，无法按 人口数 × 98% 核对任务数，各单位按列示任务数采用",
    )


def test_it_reports_as_json() -> None:
    report = compute_targets(policy("95"), read_target_table(TABLES / "daligang-2020.csv"))

    data = report.as_json()

    assert data["rate_percent"] == "95"
    assert data["rounding"] == "half_up"
    assert data["units"][12] == {
        "row": 14,
        "unit": "卢家村",
        "population": 5474,
        "computed_task": 5200,
        "stated_task": 5100,
        "task": 5100,
        "override": True,
    }
    assert data["totals"] == {
        "population": 67949,
        "computed_task": 64553,
        "task": 64453,
        "stated_population": 67845,
        "stated_task": 64453,
        "population_matches": False,
        "task_matches": True,
    }
    assert data["findings"] == list(report.findings)


def test_it_renders_a_readable_table_with_findings_last() -> None:
    report = compute_targets(policy("95"), read_target_table(TABLES / "daligang-2020.csv"))

    text = report.render_text()

    lines = text.splitlines()
    assert lines[0] == "任务数测算：目标参保率 95%，四舍五入"
    row = next(line for line in lines if "卢家村" in line)
    assert row.split() == ["14", "卢家村", "5474", "5200", "5100", "5100", "列示数与测算数不符"]
    first = next(line for line in lines if "大栗港社区" in line)
    population_ends = {
        display_width(line[: line.index(number) + len(number)])
        for line, number in ((first, "5021"), (row, "5474"))
    }
    assert len(population_ends) == 1
    assert text.rstrip().endswith(report.findings[-1])


def test_it_computes_tasks_that_a_table_does_not_state(tmp_path: Path) -> None:
    path = write(tmp_path, "村(社区)名称,人口数,任务数\n甲村,1000,\n乙村,999,900\n")

    report = compute_targets(policy("95", "down"), read_target_table(path))

    assert [(u.computed_task, u.stated_task, u.task, u.override) for u in report.units] == [
        (950, None, 950, False),
        (949, 900, 900, True),
    ]
    assert "（向下取整）" in report.findings[0]
    assert report.totals.stated_task is None
    assert report.totals.task_matches is None


def test_it_accepts_thousands_separators_and_ignores_notes_under_the_total(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        '序号,名称,户籍人口数\n1,甲镇,"1,234"\n2,乙镇,１００\n'
        ',总 计,"1,334"\n,注：人口数由统计局提供,\n',
    )

    report = compute_targets(policy("97"), read_target_table(path))

    assert [(u.unit, u.population) for u in report.units] == [("甲镇", 1234), ("乙镇", 100)]
    assert report.totals.population_matches is True
    assert report.findings == ()


def test_it_names_the_row_and_column_of_a_value_that_is_not_a_count(tmp_path: Path) -> None:
    path = write(tmp_path, "单位名称,城乡居民人口数\n甲村,5021\n乙村,约3000\n")

    with pytest.raises(TableError) as caught:
        read_target_table(path)

    assert caught.value.row == 3
    assert caught.value.column == "城乡居民人口数"
    assert caught.value.message == "第3行 乙村：“城乡居民人口数”列的值“约3000”不是非负整数"


def test_it_rejects_a_table_with_neither_population_nor_task(tmp_path: Path) -> None:
    path = write(tmp_path, "单位名称,参保人数\n甲村,5021\n")

    with pytest.raises(TableError) as caught:
        read_target_table(path)

    assert "既没有人口数列，也没有任务数列" in caught.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("单位名称,人口数\n甲村,10\n甲村,20\n", "第3行 甲村：单位名称与第2行重复"),
        ("单位名称,人口数,任务数\n甲村,,9\n", "第2行 甲村：人口数为空"),
        ("单位名称,人口数\n,10\n", "第2行：单位名称为空"),
        ("单位名称,人口数\n合计,10\n甲村,10\n", "第3行：合计行之后还有数据行"),
    ],
)
def test_it_rejects_rows_it_cannot_take(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(TableError) as caught:
        read_target_table(write(tmp_path, text))

    assert caught.value.message == message


@pytest.mark.parametrize(
    ("population", "rate", "rounding", "task"),
    [
        (1, "50", "half_up", 1),  # 0.5 exactly rounds up
        (3, "50", "half_up", 2),  # 1.5
        (5, "50", "half_up", 3),  # 2.5: half up, not to even
        (3, "50", "down", 1),
        (3, "50", "up", 2),
        (100, "97", "down", 97),
        (100, "97", "up", 97),
        (5474, "95", "half_up", 5200),  # 5200.3
        (41237, "97", "half_up", 40000),  # 39999.89
        (20, "97.5", "half_up", 20),  # 19.5
        (20, "97.5", "down", 19),
        (1, "0.01", "up", 1),
        (0, "97", "up", 0),
        (10**18 + 1, "50", "half_up", 5 * 10**17 + 1),  # beyond float precision
    ],
)
def test_it_rounds_tasks_exactly(population: int, rate: str, rounding: str, task: int) -> None:
    assert task_for(population, Decimal(rate), rounding) == task


def test_it_refuses_an_unknown_rounding() -> None:
    with pytest.raises(ValueError, match="未知的取整方式"):
        task_for(100, Decimal("97"), "bankers")


@given(
    population=st.integers(min_value=0, max_value=10**9),
    rate=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100"), places=2),
)
def test_it_orders_the_roundings_and_never_exceeds_the_population(
    population: int, rate: Decimal
) -> None:
    down = task_for(population, rate, "down")
    half_up = task_for(population, rate, "half_up")
    up = task_for(population, rate, "up")

    assert 0 <= down <= half_up <= up <= population
    assert up - down <= 1
