"""The database comes from DATABASE_URL; `canbao init` prepares it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from canbao.settings import database_from_url


def test_it_reads_a_sqlite_url_with_an_absolute_path() -> None:
    db = database_from_url("sqlite:////var/lib/canbao/db.sqlite3")
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == "/var/lib/canbao/db.sqlite3"


def test_it_reads_a_postgres_url_with_a_socket_directory() -> None:
    db = database_from_url("postgres://canbao:p%40ss@/canbao?host=/tmp/pg")
    assert (db["ENGINE"], db["NAME"], db["USER"], db["PASSWORD"], db["HOST"]) == (
        "django.db.backends.postgresql",
        "canbao",
        "canbao",
        "p@ss",
        "/tmp/pg",
    )


def test_it_refuses_an_unknown_scheme_in_chinese() -> None:
    with pytest.raises(ValueError, match="不受支持"):
        database_from_url("mysql://localhost/canbao")


@pytest.mark.django_db
def test_the_tests_run_on_the_database_named_by_database_url() -> None:
    url = os.environ.get("DATABASE_URL", "")
    expected = "postgresql" if url.startswith("postgres") else "sqlite"
    assert connection.vendor == expected
    assert "auth_user" in connection.introspection.table_names()


def test_init_creates_a_sqlite_database_in_a_new_directory(tmp_path: Path) -> None:
    target = tmp_path / "data" / "canbao.sqlite3"
    done = subprocess.run(
        [str(Path(sys.executable).with_name("canbao")), "init"],
        env={**os.environ, "DATABASE_URL": f"sqlite:///{target}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "数据库已就绪" in done.stdout and target.is_file()
