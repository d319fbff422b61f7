"""`canbao demo`, the README's main job, end to end on a fresh SQLite file."""

import os
import subprocess
import sys
from pathlib import Path


def run_demo(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(Path(sys.executable).with_name("canbao")),
            "demo",
            "--residents",
            "3000",
            "--preset",
            "daligang-2020",
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


def test_the_demo_builds_a_county_imports_it_and_quotes_its_residents(tmp_path: Path) -> None:
    done = run_demo(tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "residents residents.csv：已导入" in out and "共3000行，新增3000" in out
    assert "整批未导入" in out and "(name_mismatch)" not in out and "（name_mismatch）" in out
    assert "== 登记情况" in out and "特困人员" in out
    assert "五保户 | 250 | 250 | 0 | 2020-01-01" in out


def test_running_the_demo_again_changes_nothing(tmp_path: Path) -> None:
    assert run_demo(tmp_path).returncode == 0
    again = run_demo(tmp_path)
    assert again.returncode == 0, again.stderr
    assert "新增" not in again.stdout.split("== 登记情况")[0].split("改正后重新导入")[1]
    assert again.stdout.count("本次未作任何改动") >= 2
