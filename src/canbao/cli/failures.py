"""A failure no command words for itself, as one line of Chinese and an exit status.

A database that was never initialised (or is older than this version of Canbao) is not migrated
behind the user's back: a mistyped DATABASE_URL would silently create an empty database, and an
upgrade of the bureau's data is a step to take deliberately, after a backup. The user is told
to run ``canbao init``.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection

from canbao.campaigns.locks import BUSY_MESSAGE
from canbao.cli import FAILED, USAGE_ERROR

DEBUG_HINT = "设环境变量 CANBAO_DEBUG=1 再运行一次可看到详细的出错位置"


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _database() -> str:
    """The database in use, as the user named it in DATABASE_URL (never its password)."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"SQLite 文件 {settings['NAME']}"
    host = settings.get("HOST") or "本机"
    return f"PostgreSQL 数据库 {settings['NAME']}（{host}）"


def _schema_state() -> str | None:
    """'missing' (never initialised), 'outdated' (migrations to apply), 'current', or None when
    the database cannot even be opened."""
    from django.db.migrations.executor import MigrationExecutor

    name = str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite" and name != ":memory:" and not Path(name).is_file():
        return "missing"
    try:
        executor = MigrationExecutor(connection)
        if not executor.recorder.has_table():
            return "missing"
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError:
        return None
    finally:
        connection.close()
    return "outdated" if plan else "current"


def _unready(state: str, where: str) -> tuple[str, int]:
    if state == "missing":
        return f"数据库尚未初始化（{where}）：请先运行 canbao init。", USAGE_ERROR
    return f"数据库是旧版本的（{where}）：请先备份，再运行 canbao init 升级。", USAGE_ERROR


def schema_failure() -> tuple[str, int] | None:
    """Why the database cannot serve yet (never initialised, older than this version, cannot
    be opened), or None when it is current: for a command that must know before it starts,
    such as ``canbao serve``, rather than on its first query."""
    state = _schema_state()
    if state in ("missing", "outdated"):
        return _unready(state, _database())
    if state is None:
        return f"无法打开数据库（{_database()}）：请检查 DATABASE_URL 和数据库服务。", FAILED
    return None


def database_failure(error: DatabaseError) -> tuple[str, int]:
    where = _database()
    if connection.vendor == "sqlite" and "database is locked" in str(error):
        # SQLite takes its write lock when a transaction begins: another import (or any writer)
        # held it past the wait, before the campaign lock could say so itself.
        return (
            f"{BUSY_MESSAGE}（{where}正由另一个操作写入，已等候{settings.LOCK_WAIT_SECONDS}秒）。",
            FAILED,
        )
    state = _schema_state()
    if state in ("missing", "outdated"):
        return _unready(state, where)
    if state is None:
        return (
            f"无法打开数据库（{where}）：{_first_line(error)}。请检查 DATABASE_URL 和数据库服务。",
            FAILED,
        )
    return f"数据库出错（{where}）：{_first_line(error)}。{DEBUG_HINT}。", FAILED


def failure(error: Exception) -> tuple[str, int]:
    """What to tell the user of an exception no command handled, and the exit status."""
    if isinstance(error, DatabaseError):
        return database_failure(error)
    if isinstance(error, OSError):
        where = f"（{error.filename}）" if error.filename else ""
        return f"系统出错{where}：{error.strerror or _first_line(error)}。", FAILED
    return (
        f"程序出错（{type(error).__name__}：{_first_line(error)}）。{DEBUG_HINT}，"
        "并把它和所用的命令一起告诉系统管理员。",
        FAILED,
    )
