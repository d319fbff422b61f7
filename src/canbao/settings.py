"""Django settings. The database comes from DATABASE_URL (sqlite:///path or postgres://...);
without it Canbao uses a SQLite file in the user's data directory.

DEBUG is off, always: a page never shows a traceback. The secret key comes from
CANBAO_SECRET_KEY or, without it, from a file generated once per install beside the default
database (``secret_key``, readable by its owner only); there is no default in the code."""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from platformdirs import user_data_path

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("CANBAO_DATA_DIR") or user_data_path("canbao"))


def install_secret_key(path: Path) -> str:
    """The install's secret key, created on first use with mode 0600."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            return path.read_text().strip()
        with os.fdopen(descriptor, "w") as stream:
            stream.write(key)
        return key


SECRET_KEY = os.environ.get("CANBAO_SECRET_KEY") or install_secret_key(DATA_DIR / "secret_key")
DEBUG = False
ALLOWED_HOSTS = os.environ.get("CANBAO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "django_htmx",
    "django_tables2",
    "django_filters",
    # The API's docs page (Swagger UI) from ninja's own static files, not a CDN.
    "ninja",
    "canbao.cli",
    "canbao.accounts",
    "canbao.web",
    "canbao.regions",
    "canbao.registry",
    "canbao.campaigns",
    "canbao.collection",
    "canbao.reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "canbao.web.middleware.RequestOriginMiddleware",
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:dashboard"

# Five wrong passwords for one user from one address lock that pair out for 15 minutes.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_VERBOSE = False

# Sessions and the cache live in files beside the database, shared by every server worker: on
# SQLite a database-backed session would wait for the write lock of a running import. The
# cache holds the progress of imports running in the background and the self-query's limit.
SESSION_ENGINE = "django.contrib.sessions.backends.file"
SESSION_FILE_PATH = str(DATA_DIR / "sessions")
Path(SESSION_FILE_PATH).mkdir(parents=True, exist_ok=True)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DATA_DIR / "cache"),
    }
}
# Self-queries one client address may make a minute (the public page). A load test raises it
# with CANBAO_SELF_QUERY_RATE: all its clients come from one address.
SELF_QUERY_RATE = int(os.environ.get("CANBAO_SELF_QUERY_RATE") or 10)
# A working day: the session ends 8 hours after logging in, and with the browser. (Not saved on
# every request to slide it: that would write a file per page view.)
SESSION_COOKIE_AGE = 8 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Behind HTTPS (CANBAO_HTTPS=1) cookies are sent over HTTPS only, and browsers told so.
HTTPS = os.environ.get("CANBAO_HTTPS", "") == "1"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60 if HTTPS else 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CANBAO_TRUSTED_ORIGINS", "").split(",") if o]

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Scripts only from the app itself: no inline script, no eval, no CDN.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

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
                "canbao.web.context.canbao",
            ],
        },
    },
]


# How long a transaction waits for another one writing the same data (an import into the same
# campaign; on SQLite, any write) before it gives up: longer than the longest import of a
# county (a million payment lines take about 30 s), short enough not to hang a forgotten one.
LOCK_WAIT_SECONDS = 120


def default_database_url() -> str:
    return f"sqlite:///{DATA_DIR / 'canbao.sqlite3'}"


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


DATABASES = {
    "default": {
        **database_from_url(os.environ.get("DATABASE_URL") or default_database_url()),
        # A server thread keeps its connection for a minute rather than opening one (with its
        # PRAGMAs, or PostgreSQL's authentication) for every page.
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "zh-hans"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# WhiteNoise serves the apps' static files straight from the package: nothing to collect on
# install, the same files in tests and in production.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# The largest file the imports page takes: a county's million residents as CSV are about
# 120 MB, as .xlsx about 60 MB.
UPLOAD_MAX_BYTES = 300 * 2**20
# Uploaded imports wait here for their batch (removed when the import ends).
UPLOAD_DIR = DATA_DIR / "uploads"

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5-responsive.html"

# Nothing personal in logs: Django's request log names the path only (IDs never travel in a
# URL), and errors are logged without the request's data.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "django.security": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
