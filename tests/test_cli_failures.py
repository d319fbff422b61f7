"""No Python traceback reaches a user: a database never initialised, one older than the code, one
that cannot be opened, or a bug, is one line of Chinese and an exit status."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError

from canbao.cli import FAILED, INTERRUPTED, USAGE_ERROR, run
from canbao.cli.failures import failure
from canbao.cli.management.commands import policy
from tests.conftest import add_admin


def canbao(url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("canbao")), *args],
        env={**os.environ, "DATABASE_URL": url, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr and done.stdout == ""
    (line,) = done.stderr.splitlines()
    return line


@pytest.mark.parametrize("where", ["new.sqlite3", "no/such/folder/new.sqlite3"])
def test_a_database_never_initialised_says_to_run_init(tmp_path: Path, where: str) -> None:
    path = tmp_path / where
    done = canbao(f"sqlite:///{path}", "check", "ledger", CANBAO_AS="admin")
    assert done.returncode == USAGE_ERROR
    assert one_line(done) == f"数据库尚未初始化（SQLite 文件 {path}）：请先运行 canbao init。"


def test_a_database_older_than_the_code_says_to_back_up_and_init(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    assert canbao(f"sqlite:///{path}", "init").returncode == 0
    add_admin(f"sqlite:///{path}")
    # As a database from before campaigns were kept: their migrations are not applied.
    older = canbao(f"sqlite:///{path}", "django", "migrate", "campaigns", "zero", "-v", "0")
    assert older.returncode == 0, older.stderr
    done = canbao(f"sqlite:///{path}", "check", "ledger", CANBAO_AS="admin")
    assert done.returncode == USAGE_ERROR
    assert one_line(done) == (
        f"数据库是旧版本的（SQLite 文件 {path}）：请先备份，再运行 canbao init 升级。"
    )
    assert canbao(f"sqlite:///{path}", "init").returncode == 0
    assert canbao(f"sqlite:///{path}", "check", "ledger", CANBAO_AS="admin").returncode == 0


def test_a_database_that_cannot_be_reached_is_one_line(tmp_path: Path) -> None:
    done = canbao(f"postgres://canbao@/canbao?host={tmp_path}", "check", "ledger", CANBAO_AS="x")
    assert done.returncode == FAILED
    line = one_line(done)
    assert line.startswith(f"无法打开数据库（PostgreSQL 数据库 canbao（{tmp_path}））：")
    assert line.endswith("请检查 DATABASE_URL 和数据库服务。")


def boom(self: policy.Command, *args: object, **options: object) -> None:
    raise RuntimeError("出了一个意外")


def test_an_unexpected_error_is_one_line_and_exit_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CANBAO_DEBUG", raising=False)
    monkeypatch.setattr(policy.Command, "handle", boom)
    assert run(["policy", "list"]) == FAILED
    printed = capsys.readouterr()
    assert printed.out == "" and printed.err == (
        "程序出错（RuntimeError：出了一个意外）。设环境变量 CANBAO_DEBUG=1 再运行一次可看到"
        "详细的出错位置，并把它和所用的命令一起告诉系统管理员。\n"
    )


def test_canbao_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANBAO_DEBUG", "1")
    monkeypatch.setattr(policy.Command, "handle", boom)
    with pytest.raises(RuntimeError, match="出了一个意外"):
        run(["policy", "list"])


def test_ctrl_c_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(self: policy.Command, *args: object, **options: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.delenv("CANBAO_DEBUG", raising=False)
    monkeypatch.setattr(policy.Command, "handle", interrupted)
    assert run(["policy", "list"]) == INTERRUPTED
    assert capsys.readouterr().err == "已中断：本次操作没有完成。\n"


def test_a_sqlite_writer_that_waited_too_long_is_told_to_retry_later() -> None:
    message, status = failure(OperationalError("database is locked"))
    assert status == FAILED
    assert message.startswith("另一个导入正在进行，请稍候再试（SQLite 文件")
