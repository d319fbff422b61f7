"""Django settings. The database comes from DATABASE_URL (sqlite:///path or postgres://...);
without it Canbao uses a SQLite file in the user's data directory."""

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from platformdirs import user_data_path

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = os.environ.get("CANBAO_SECRET_KEY", "canbao-development-key-change-me")
DEBUG = os.environ.get("CANBAO_DEBUG", "") == "1"
ALLOWED_HOSTS = os.environ.get("CANBAO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "canbao.cli",
    "canbao.regions",
    "canbao.registry",
    "canbao.campaigns",
    "canbao.collection",
    "canbao.reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "canbao.urls"
WSGI_APPLICATION = "canbao.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


# How long a transaction waits for another one writing the same data (an import into the same
# campaign; on SQLite, any write) before it gives up: longer than the longest import of a
# county (a million payment lines take about 30 s), short enough not to hang a forgotten one.
LOCK_WAIT_SECONDS = 120


def default_database_url() -> str:
    return f"sqlite:///{user_data_path('canbao') / 'canbao.sqlite3'}"


def database_from_url(url: str) -> dict[str, Any]:
    """Turn DATABASE_URL into Django's DATABASES entry.

    sqlite:///relative/path, sqlite:////absolute/path, postgres://user:pw@host:port/name;
    a PostgreSQL socket directory goes in ?host=/path as libpq allows.
    """
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = Path(unquote(parts.path[1:] if parts.path.startswith("/") else parts.path))
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(path),
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                # A transaction takes the write lock when it begins, waiting for another writer
                # up to the busy timeout (Python's default, 5 s, killed a second clerk's import).
                "transaction_mode": "IMMEDIATE",
                "timeout": LOCK_WAIT_SECONDS,
            },
        }
    if parts.scheme in {"postgres", "postgresql"}:
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": unquote(query.get("host", parts.hostname or "")),
            "PORT": str(parts.port or query.get("port", "")),
        }
    raise ValueError(
        f"DATABASE_URL 的协议 {parts.scheme!r} 不受支持：请用 sqlite:/// 或 postgres://"
    )


DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL") or default_database_url())}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "zh-hans"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
