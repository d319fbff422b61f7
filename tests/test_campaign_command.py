"""`canbao campaign open|assess` on a synthetic county, as a script would run them."""

import csv
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

from canbao.demo.synthetic import generate_county
from tests.conftest import add_admin


def canbao(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("canbao")), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_county_is_opened_and_assessed_from_the_command_line(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'c.sqlite3'}"}
    env["CANBAO_AS"] = "admin"
    # The registry as the 2020 campaign found it: nobody born after October 2019.
    county = generate_county(
        residents=2000, seed=7, out_dir=tmp_path / "county", as_of=date(2019, 10, 31)
    )
    assert canbao(env, "init").returncode == 0
    add_admin(env["DATABASE_URL"])
    for argv in county.import_commands(corrected_dir=tmp_path / "corrected"):
        assert canbao(env, *argv).returncode == 0

    opened = canbao(
        env, "campaign", "open", "--area", "430922", "--policy", "daligang-2020", "--json"
    )
    assert opened.returncode == 0, opened.stderr
    campaign: dict[str, Any] = json.loads(opened.stdout)
    assert campaign["coverage_year"] == 2020

    assessed = canbao(env, "campaign", "assess", "--json")
    result = json.loads(assessed.stdout)
    assert result["residents"] == 2000 and result["created"] == 2000
    with county.residents_csv.open(encoding="utf-8") as rows:
        insured = sum(
            1 for row in csv.DictReader(rows) if "是" in (row["职工医保"], row["异地参保"])
        )
    assert insured > 0 and result["ineligible"] == insured

    again = json.loads(canbao(env, "campaign", "assess", "--json").stdout)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2000)


def test_a_second_open_for_the_same_year_exits_2(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'c.sqlite3'}"}
    env["CANBAO_AS"] = "admin"
    county = generate_county(residents=200, seed=3, out_dir=tmp_path / "county")
    canbao(env, "init")
    add_admin(env["DATABASE_URL"])
    canbao(env, "import", "divisions", str(county.divisions_csv))
    args = ("campaign", "open", "--area", "430922", "--policy", "daligang-2020")
    assert canbao(env, *args).returncode == 0
    second = canbao(env, *args)
    assert second.returncode == 2 and "已开始" in second.stderr
