"""The demo's own output as a person reads it: no status code inside a Chinese sentence, the lists
it cuts said to be cut, the errors it announces matching what the import reports, and a second
run that changes nothing in the database, not even a refused batch or an audit row."""

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from canbao.demo.plans import PRESET_SEASONS
from canbao.demo.policies import demo_policy
from canbao.demo.runner import SeasonDemo

# A code in parentheses: （partial）, （name_mismatch）, （unknown_person）.
CODE_IN_SENTENCE = re.compile(r"（[a-z_]+）")


def run_demo(tmp_path: Path) -> str:
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("canbao")),
            "demo",
            "--no-serve",
            "--residents",
            "3000",
        ],
        env={
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
            "XDG_DATA_HOME": str(tmp_path / "data"),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def row_counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as connection:
        tables = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {
            table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            for (table,) in tables.fetchall()
        }


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[str, str, dict[str, int], dict[str, int]]:
    """The demo run twice on one database: both outputs, and the row counts after each."""
    tmp_path = tmp_path_factory.mktemp("demo")
    first = run_demo(tmp_path)
    after_first = row_counts(tmp_path / "demo.sqlite3")
    second = run_demo(tmp_path)
    return first, second, after_first, row_counts(tmp_path / "demo.sqlite3")


def test_no_status_code_sits_in_a_chinese_sentence(runs: tuple[str, str, object, object]) -> None:
    first, second, _, _ = runs
    assert CODE_IN_SENTENCE.findall(first) == CODE_IN_SENTENCE.findall(second) == []
    held = first.split("== 挂账清单")[1].split("\n== ")[0]
    assert "金额不足 1 笔" in held and "金额超出 1 笔" in held and "查无此人 1 笔" in held


def test_a_second_run_writes_nothing_but_the_audit_rows_of_the_documents_it_prints_again(
    runs: tuple[str, str, dict[str, int], dict[str, int]],
) -> None:
    _, second, after_first, after_second = runs
    audit = "registry_auditentry"
    assert {t: n for t, n in after_second.items() if t != audit} == {
        t: n for t, n in after_first.items() if t != audit
    }
    assert after_first["registry_importbatch"] > 0 and after_first[audit] > 0
    documents = second.split("== 印发的文书")[1].count("$ canbao report ")
    assert after_second[audit] - after_first[audit] == documents == 3
    assert "该名册前次已被拒收，本次只检查、不再记录：\n    试导入：发现" in second


def test_the_faulty_rosters_errors_add_up_to_what_the_import_reports(
    runs: tuple[str, str, object, object],
) -> None:
    first, _, _, _ = runs
    section = first.split("部门送来的名册有常见错误：")[1].split("\n改正后重新导入")[0]
    (embedded,) = re.findall(r"（埋入 (\d+) 处）", section)
    (found,) = re.findall(r"发现(\d+)处错误，整批未导入", section)
    (counts,) = re.findall(
        r"(\d+) 处小写 x 导入时改为大写 X，(\d+) 人不在登记库中、列入待核实名单，都不拒收；"
        r"其余 (\d+) 处使整批被拒收",
        section,
    )
    lowercase, strangers, refused = map(int, counts)
    assert lowercase + strangers + refused == int(embedded)
    assert refused == int(found)
    listed = section.split("登记库中查无此人（待核实）：\n")[1].splitlines()
    assert len([line for line in listed if line.startswith("    第")]) == strangers


def test_a_list_the_demo_cuts_says_how_much_it_left_out(
    runs: tuple[str, str, object, object],
) -> None:
    first, _, _, _ = runs
    summary = first.split("== 生成模拟县")[1].split("== 导入")[0]
    (total,) = re.findall(r"名册中埋入了(\d+)处常见错误", summary)
    shown = summary.count("  埋入的错误：")
    (left,) = re.findall(r"……另有(\d+)处", summary)
    assert shown + int(left) == int(total)


def test_a_refusal_the_demo_cuts_says_how_many_errors_it_left_out(tmp_path: Path) -> None:
    said: list[str] = []
    demo = SeasonDemo(
        said.append, tmp_path, 2026, PRESET_SEASONS["daligang-2020"], demo_policy("daligang-2020")
    )
    errors = [
        {"row": row, "column": "金额", "code": "amount_format", "message": "金额须为数字"}
        for row in range(2, 9)
    ]
    demo.refused({"message": "发现7处错误，整批未导入。", "errors": errors})
    assert said == [
        "  发现7处错误，整批未导入。",
        *(f"  第{row}行金额须为数字" for row in range(2, 7)),
        "  …… 另有 2 处错误",
    ]
