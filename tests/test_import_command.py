"""`canbao import` as scripts see it: one JSON object, exit 0 / 1 / 2."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import add_admin, csv_file, person_id, resident

JSON_KEYS = {"batch", "rows", "created", "updated", "unchanged", "errors"}
DIVISIONS = [
    ["430922", "桃江县"],
    ["430922117", "大栗港镇"],
    ["430922117201", "大栗港社区居委会"],
]


def canbao(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("canbao")), *args],
        env={**os.environ, "DATABASE_URL": f"sqlite:///{database}"},
        capture_output=True,
        text=True,
        check=False,
    )


def as_json(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(done.stdout)
    assert set(result) >= JSON_KEYS
    return result


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An initialised database whose administrator the commands act as."""
    path = tmp_path / "canbao.sqlite3"
    assert canbao(path, "init").returncode == 0
    add_admin(f"sqlite:///{path}")
    monkeypatch.setenv("CANBAO_AS", "admin")
    divisions = csv_file(tmp_path / "divisions.csv", DIVISIONS, ("区划代码", "名称"), title=None)
    done = canbao(path, "import", "divisions", str(divisions), "--json")
    assert done.returncode == 0, done.stderr
    assert as_json(done)["created"] == 3
    return path


def test_it_imports_residents_and_prints_one_json_object(database: Path, tmp_path: Path) -> None:
    path = csv_file(tmp_path / "r.csv", [resident("张建国", person_id(1))])
    dry = canbao(database, "import", "residents", str(path), "--dry-run", "--json")
    assert dry.returncode == 0 and as_json(dry)["batch"] is None
    done = canbao(database, "import", "residents", str(path), "--json", "--as", "admin")
    assert done.returncode == 0, done.stderr
    result = as_json(done)
    assert (result["rows"], result["created"], result["errors"]) == (1, 1, [])
    again = as_json(canbao(database, "import", "residents", str(path), "--json"))
    assert (again["batch"], again["created"], again["unchanged"]) == (result["batch"], 0, 1)


def test_it_exits_1_with_the_errors_and_writes_their_workbook(
    database: Path, tmp_path: Path
) -> None:
    path = csv_file(tmp_path / "r.csv", [resident("张建国", "4.30922E+17")])
    errors = tmp_path / "errors.xlsx"
    done = canbao(
        database, "import", "residents", str(path), "--json", "--errors-xlsx", str(errors)
    )
    assert done.returncode == 1
    assert as_json(done)["errors"] == [
        {
            "row": 3,
            "column": "公民身份号码",
            "code": "id_scientific_notation",
            "message": as_json(done)["errors"][0]["message"],
        }
    ]
    assert errors.is_file()
    text = canbao(database, "import", "residents", str(path))
    assert text.returncode == 1 and "第3行【公民身份号码】" in text.stdout


def test_it_lists_unknown_roster_persons_and_exits_0(database: Path, tmp_path: Path) -> None:
    path = csv_file(tmp_path / "o.csv", [["王五", person_id(7)]], ("姓名", "身份证号"))
    done = canbao(
        database,
        "import",
        "roster",
        "--category",
        "orphan",
        "--source",
        "civil_affairs",
        str(path),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert as_json(done)["unknown"] == [{"row": 3, "id_number": person_id(7), "name": "王五"}]


def test_it_exits_2_for_usage_errors(database: Path, tmp_path: Path) -> None:
    assert canbao(database, "import", "residents", str(tmp_path / "none.csv")).returncode == 2
    path = csv_file(tmp_path / "o.csv", [["王五", person_id(7)]], ("姓名", "身份证号"))
    bad = canbao(database, "import", "roster", "--category", "nope", "--source", "x", str(path))
    assert bad.returncode == 2
    assert canbao(database, "import").returncode == 2
