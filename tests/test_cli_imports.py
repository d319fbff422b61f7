"""`canbao import` as a clerk reads it: thousands of errors of one kind summarised (the full list
in --json and --errors-xlsx), codes only in JSON, a progress bar only on a terminal, and a file in
an encoding Canbao does not read named."""

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from datetime import date, timedelta
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from canbao.tabular import Column, TableError, read_table
from tests.conftest import add_admin, csv_file, person_id, resident

DIVISIONS = [
    ["430922", "桃江县"],
    ["430922117", "大栗港镇"],
    ["430922117201", "大栗港社区居委会"],
]
ROSTER_HEADER = ("姓名", "公民身份号码")


def command(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("canbao")), *args]


def canbao(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args),
        env={**os.environ, "DATABASE_URL": f"sqlite:///{database}"},
        capture_output=True,
        text=True,
        check=False,
    )


def residents(count: int) -> list[list[str]]:
    """`count` residents of 大栗港社区, a household of one each."""
    born = date(1960, 1, 1)
    return [
        resident(f"居民{n}", person_id(n % 499 + 1, born=born + timedelta(days=n // 499)), f"H{n}")
        for n in range(count)
    ]


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An initialised database whose administrator the commands act as."""
    path = tmp_path / "canbao.sqlite3"
    assert canbao(path, "init").returncode == 0
    add_admin(f"sqlite:///{path}")
    monkeypatch.setenv("CANBAO_AS", "admin")
    return path


@pytest.fixture
def divided(database: Path, tmp_path: Path) -> Path:
    divisions = csv_file(tmp_path / "divisions.csv", DIVISIONS, ("区划代码", "名称"), title=None)
    assert canbao(database, "import", "divisions", str(divisions)).returncode == 0
    return database


def test_residents_before_their_villages_are_summarised_by_kind(
    database: Path, tmp_path: Path
) -> None:
    path = csv_file(tmp_path / "residents.csv", residents(2000))
    done = canbao(database, "import", "residents", str(path))
    assert done.returncode == 1
    column = "【村(社区)代码】"
    message = "村（社区）代码430922117201不在系统的行政区划中：请核对代码，或先导入区划。"
    assert done.stdout.splitlines() == [
        "发现2000处错误，整批未导入；请按错误清单改正后重新导入。",
        f"{column}2000处错误，如：",
        f"  第3行{column}{message}",
        f"  第4行{column}{message}",
        f"  第5行{column}{message}",
        "  …… 另有1997处同类错误",
        "完整的错误清单：加 --errors-xlsx 文件名 写成表格，或加 --json 输出。",
    ]


def test_the_full_list_of_errors_is_in_json_and_in_the_workbook(
    database: Path, tmp_path: Path
) -> None:
    path = csv_file(tmp_path / "residents.csv", residents(2000))
    listed = canbao(database, "import", "residents", str(path), "--json")
    errors = json.loads(listed.stdout)["errors"]
    assert len(errors) == 2000 and {e["code"] for e in errors} == {"unknown_village"}
    workbook = tmp_path / "错误清单.xlsx"
    written = canbao(database, "import", "residents", str(path), "--errors-xlsx", str(workbook))
    assert written.stdout.splitlines()[-1] == f"完整的错误清单已写入 {workbook}。"
    with CalamineWorkbook.from_path(workbook) as book:
        rows = book.get_sheet_by_index(0).to_python()
    assert len(rows) == 2001 and rows[1][:3] == [3, "村(社区)代码", "unknown_village"]


def test_a_few_errors_are_listed_one_by_one_with_their_codes_only_in_json(
    divided: Path, tmp_path: Path
) -> None:
    good = person_id(1)
    mistyped = good[:-1] + ("1" if good[-1] == "0" else "0")
    rows = [
        resident("张建国", good),
        resident("李秀英", mistyped, "H2"),
        resident("", person_id(2)),
    ]
    path = csv_file(tmp_path / "residents.csv", rows)
    done = canbao(divided, "import", "residents", str(path))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    assert lines[1].startswith(f"第4行【公民身份号码】身份证号码“{mistyped}”的最后一位校验码应为")
    assert lines[2].startswith("第5行【姓名】")
    listed = json.loads(canbao(divided, "import", "residents", str(path), "--json").stdout)
    codes = [error["code"] for error in listed["errors"]]
    assert codes == ["id_checksum", "name_empty"]
    assert not any(code in done.stdout for code in codes)


def test_a_rosters_people_missing_from_the_registry_are_listed_up_to_twenty(
    divided: Path, tmp_path: Path
) -> None:
    registry = csv_file(tmp_path / "residents.csv", residents(1))
    assert canbao(divided, "import", "residents", str(registry)).returncode == 0
    strangers = [[f"外人{n}", person_id(n, born=date(1990, 1, 1))] for n in range(1, 26)]
    path = csv_file(tmp_path / "roster.csv", strangers, ROSTER_HEADER)
    done = canbao(
        divided, "import", "roster", "--category", "orphan", "--source", "civil_affairs", str(path)
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == "登记库中查无此人（待核实）："
    assert lines[2] == f"第3行 外人1 {person_id(1, born=date(1990, 1, 1))}"
    assert len(lines) == 23 and lines[-1] == "…… 另有 5 人（加 --json 列出全部）"


def on_a_terminal(database: Path, *args: str) -> tuple[int, str]:
    """Run with stderr on a pseudo-terminal of 80 columns: exit status and what it showed."""
    main, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    done = subprocess.run(
        command(*args),
        env={**os.environ, "DATABASE_URL": f"sqlite:///{database}"},
        stdout=subprocess.DEVNULL,
        stderr=secondary,
        check=False,
    )
    os.close(secondary)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the terminal's other end is closed: all was read
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    return done.returncode, shown.decode()


def test_an_import_shows_its_progress_on_a_terminal_and_nowhere_else(
    divided: Path, tmp_path: Path
) -> None:
    path = csv_file(tmp_path / "residents.csv", residents(300))
    code, shown = on_a_terminal(divided, "import", "residents", str(path), "--dry-run")
    assert (
        code == 0 and "导入：已处理 " in shown and "行，用时 00:00，" in shown and "行/s" in shown
    )
    code, shown = on_a_terminal(divided, "import", "residents", str(path), "--dry-run", "--json")
    assert code == 0 and shown == ""
    piped = canbao(divided, "import", "residents", str(path), "--dry-run")
    assert piped.returncode == 0 and piped.stderr == ""


COLUMNS = [Column("name", ("姓名",)), Column("id_number", ("公民身份号码",))]
TRADITIONAL = (
    "姓名,公民身份號碼,戶主關係\n陳志明,430922198005170011,戶主\n黃麗華,430922198203010022,配偶\n"
)


def test_a_big5_file_is_named_not_read_as_nonsense(tmp_path: Path) -> None:
    path = tmp_path / "名册.csv"
    path.write_bytes(TRADITIONAL.encode("cp950"))
    with pytest.raises(TableError) as refused:
        read_table(path, COLUMNS)
    assert refused.value.message == (
        "文件 名册.csv 像是繁体中文 Big5 编码（按 Big5 读，第一行是“姓名,公民身份號碼,戶主關係”），"
        "按 GB18030 读出来是乱码：请另存为 UTF-8 或 GB18030（GBK）编码的 CSV 文件"
    )


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_file_is_named(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "名册.csv"
    path.write_bytes("姓名,公民身份号码\n张建国,430922198005170011\n".encode(encoding))
    with pytest.raises(TableError) as refused:
        read_table(path, COLUMNS)
    assert refused.value.message.startswith("文件 名册.csv 是 UTF-16 编码（Excel 另存为")


def test_a_gb18030_file_with_rare_name_characters_still_reads(tmp_path: Path) -> None:
    names = ["王喆", "李堃", "张淼", "刘玥", "陈珺", "赵赟", "周頔", "吴犇", "孙昇", "郑琤"]
    rows = [[name, person_id(n)] for n, name in enumerate(names, start=1)]
    path = csv_file(tmp_path / "名册.csv", rows, ROSTER_HEADER, encoding="gb18030")
    table = read_table(path, COLUMNS)
    assert table.encoding == "gb18030"
    assert [values[0] for _, values in table.rows()] == names


def test_the_import_command_names_the_encoding(database: Path, tmp_path: Path) -> None:
    path = tmp_path / "residents.csv"
    header = "姓名,公民身份號碼,與戶主關係,村(社區)代碼"
    path.write_bytes(f"{header}\n陳志明,430922198005170011,戶主,430922117201\n".encode("cp950"))
    done = canbao(database, "import", "residents", str(path))
    assert done.returncode == 1
    assert done.stdout.splitlines()[1].startswith("文件 residents.csv 像是繁体中文 Big5 编码")
