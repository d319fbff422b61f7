"""The `canbao` command line as a clerk meets it: its help, its usage errors, Django's commands
kept under `canbao django`."""

import os
import subprocess
import sys
from argparse import _SubParsersAction
from pathlib import Path

import pytest
from django.core.management import load_command_class

from canbao.cli.overview import GROUPS, Entry, canbao_commands
from tests.conftest import add_admin

DJANGO_ONLY = ("flush", "dbshell", "startproject", "makemigrations", "collectstatic")
# Django's own options: working, but not a clerk's business.
HIDDEN = ("--verbosity", "--settings", "--pythonpath", "--traceback", "--no-color", "--skip-checks")


def canbao(*args: str, database: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if database is not None:
        env["DATABASE_URL"] = f"sqlite:///{database}"
    return subprocess.run(
        [str(Path(sys.executable).with_name("canbao")), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_help_lists_canbaos_commands_grouped_in_chinese_and_not_djangos() -> None:
    done = canbao("--help")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for title in ("准备", "政策", "登记与导入", "参保缴费工作", "收缴", "进度与文书", "账单与核对"):
        assert title in lines
    listed = {line.split()[0] for line in lines if line.startswith("  ") and line.split()}
    assert set(canbao_commands()) <= listed
    assert "  import       导入户籍人员、部门名册、行政区划、缴费明细" in lines
    for name in DJANGO_ONLY:
        assert name not in listed
    assert "canbao django 命令" in done.stdout
    assert canbao().stdout == done.stdout == canbao("help").stdout


@pytest.mark.parametrize("entry", [entry for _, entries in GROUPS for entry in entries])
def test_the_help_names_each_commands_actions_as_its_parser_knows_them(entry: Entry) -> None:
    parser = load_command_class("canbao.cli", entry.name).create_parser("canbao", entry.name)
    subparsers = [a for a in parser._actions if isinstance(a, _SubParsersAction)]
    known = tuple(subparsers[0].choices) if subparsers else ()
    assert entry.actions == known


def test_djangos_own_commands_stay_reachable_under_canbao_django(tmp_path: Path) -> None:
    listing = canbao("django", "help")
    assert listing.returncode == 0 and "migrate" in listing.stdout
    database = tmp_path / "db.sqlite3"
    migrated = canbao("django", "migrate", "--verbosity", "0", database=database)
    assert migrated.returncode == 0, migrated.stderr
    add_admin(f"sqlite:///{database}")
    assert canbao("check", "ledger", "--as", "admin", database=database).returncode == 0


def test_a_django_command_without_django_says_where_it_is() -> None:
    done = canbao("migrate")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == "“migrate”是 Django 自带的管理命令：请用 canbao django migrate"


def test_a_mistyped_command_is_answered_with_the_likely_one() -> None:
    done = canbao("imprt", "residents", "x.csv")
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == "没有“imprt”这个命令。是不是 canbao import？用 canbao --help 查看全部命令。"
    )


def test_a_commands_help_is_in_chinese_without_djangos_options() -> None:
    done = canbao("import", "payments", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("用法：canbao import payments ")
    assert "选项:" in done.stdout and "显示本帮助并退出" in done.stdout
    assert "--channel 渠道" in done.stdout and "--campaign 编号" in done.stdout
    for option in HIDDEN:
        assert option not in done.stdout
    assert "usage" not in done.stdout and "show this help" not in done.stdout
    assert canbao("help", "import").stdout == canbao("import", "--help").stdout


def test_the_help_lines_chinese_up_in_terminal_columns() -> None:
    lines = canbao("receipts", "issue", "--help").stdout.splitlines()
    # 姓名 and 村代码 take two columns a character: the help text starts in one column.
    collector = next(line for line in lines if line.startswith("  --collector"))
    village = next(line for line in lines if line.startswith("  --village"))
    assert collector.index("收款人") + 2 == village.index("村（社区）") + 3 == 20


def test_djangos_options_still_work() -> None:
    for option in ("--verbosity=0", "--no-color", "--skip-checks", "--traceback"):
        done = canbao("policy", option, "list")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("chuxiong-2021\t")


def test_a_choice_not_allowed_lists_the_allowed_ones_as_typed() -> None:
    done = canbao("import", "payments", "--channel", "wechat", "x.csv")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "canbao import payments：参数 --channel：没有“wechat”这一项；可选：tax, bank, proxy, "
        "cash（用 --help 查看用法）"
    )
    assert "Channel." not in done.stderr


def test_usage_errors_are_in_chinese() -> None:
    missing = canbao("import", "residents")
    assert missing.returncode == 2
    assert missing.stderr.startswith("用法：canbao import residents")
    assert "缺少必须给出的参数：文件" in missing.stderr
    number = canbao("payments", "position", "--campaign", "abc", "430922198005170011")
    assert number.returncode == 2 and "参数 --campaign：须为整数：“abc”" in number.stderr
    unknown = canbao("policy", "list", "--colour")
    assert unknown.returncode == 2 and "不认识的参数：--colour" in unknown.stderr
    for done in (missing, number, unknown):
        assert "error:" not in done.stderr and "usage:" not in done.stderr


def test_a_commands_own_usage_error_is_its_message_alone(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite3"
    assert canbao("init", database=database).returncode == 0
    add_admin(f"sqlite:///{database}")
    missing = tmp_path / "无此文件.csv"
    done = canbao("import", "residents", str(missing), "--as", "admin", database=database)
    assert done.returncode == 2
    assert done.stderr == f"找不到文件：{missing}\n"
