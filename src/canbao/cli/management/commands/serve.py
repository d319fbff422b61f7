"""`canbao serve`: the pages on gunicorn, a production WSGI server, in the foreground.

SQLite serves from one process with several threads: readers do not block each other under WAL,
and writes (audit rows, payments) queue on one database lock anyway. PostgreSQL gets two
processes. The access log names the method, the path without its query string, the status, the
size and the time taken: nothing a person typed. Ctrl-C stops the server and the command exits 0
once the requests in hand are answered.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import signal
import socket
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.management.base import CommandError, CommandParser
from django.db import connection, connections
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from canbao.cli import FAILED, USAGE_ERROR
from canbao.cli.failures import schema_failure
from canbao.cli.output import CanbaoCommand
from canbao.web.background import abandon_interrupted_imports

DEFAULT_BIND = "127.0.0.1:8000"
# Processes × threads by database (see the module's docstring).
DEFAULT_WORKERS = {"sqlite": 1, "postgresql": 2}
DEFAULT_THREADS = 8
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)s'


def parse_bind(text: str) -> tuple[str, int]:
    """`HOST:PORT` (an IPv6 host in brackets) as a host and a port; a usage error otherwise."""
    host, colon, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(
            f"--bind 的值“{text}”不对：须为 地址:端口，例如 {DEFAULT_BIND}",
            returncode=USAGE_ERROR,
        )
    return host, int(port)


def url_of(host: str, port: int) -> str:
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def check_free(host: str, port: int) -> None:
    """Refuse a port another program holds, in Chinese, before gunicorn retries it in English."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except socket.gaierror as error:
        raise CommandError(
            f"无法在 {host}:{port} 上启动网页服务：地址不认识（{error.strerror}）。",
            returncode=USAGE_ERROR,
        ) from None
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            reason = "该端口已被其他程序占用（可用 --bind 换一个端口）"
        elif error.errno == errno.EACCES:
            reason = "没有使用该端口的权限（1024 以下的端口需要系统管理员权限）"
        else:
            reason = f"{error.strerror or error}（检查地址是否属于本机）"
        raise CommandError(
            f"无法在 {host}:{port} 上启动网页服务：{reason}。", returncode=FAILED
        ) from None


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Master(Arbiter):  # type: ignore[misc]  # gunicorn has no type hints
    """Ctrl-C stops the server as SIGTERM does: the workers finish the requests in hand. (On
    SIGINT gunicorn's gthread worker shuts its thread pool down inside the signal handler, which
    deadlocks when the signal lands while the pool starts a thread: the worker then hangs until
    it is killed, 30 seconds later.) The workers ignore the terminal's SIGINT: the master tells
    them."""

    def handle_int(self) -> None:
        self.handle_term()


def ignore_interrupts(_worker: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any], application: WSGIHandler) -> None:
        self.options = options
        self.application = application
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> WSGIHandler:
        return self.application

    def run(self) -> None:
        Master(self).run()


class Command(CanbaoCommand):
    help = (
        "启动 Canbao 的网页服务（gunicorn），在前台运行，按 Ctrl-C 停止。"
        "数据库须已初始化（canbao init）。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_bind(parser)
        parser.add_argument(
            "--workers",
            type=int,
            metavar="进程数",
            help="工作进程数（默认：SQLite 为 1，PostgreSQL 为 2）",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=DEFAULT_THREADS,
            metavar="线程数",
            help=f"每个进程同时处理的请求数（默认 {DEFAULT_THREADS}）",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        def say(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        serve(
            say,
            bind=options["bind"],
            workers=options["workers"],
            threads=options["threads"],
        )


def add_bind(parser: CommandParser) -> None:
    parser.add_argument(
        "--bind",
        default=DEFAULT_BIND,
        metavar="地址:端口",
        help=f"在哪个地址和端口提供网页（默认 {DEFAULT_BIND}，只有本机能访问；"
        "0.0.0.0:8000 让局域网内的电脑也能访问）",
    )


def serve(say: Callable[[str], None], *, bind: str, workers: int | None, threads: int) -> None:
    """Serve the pages at `bind` until Ctrl-C (or SIGTERM); `say` prints a line."""
    host, port = parse_bind(bind)
    for name, value in (("--workers", workers), ("--threads", threads)):
        if value is not None and value < 1:
            raise CommandError(f"{name} 须为正整数：{value}", returncode=USAGE_ERROR)
    failure = schema_failure()
    if failure is not None:
        raise CommandError(failure[0], returncode=failure[1])
    check_free(host, port)
    interrupted = abandon_interrupted_imports()
    if interrupted:
        say(f"上次停止服务时有 {interrupted} 个网页导入未完成，已标为未能导入（没有写入数据）。")
    processes = workers or DEFAULT_WORKERS.get(connection.vendor, 1)
    database = (
        f"SQLite 文件 {connection.settings_dict['NAME']}"
        if connection.vendor == "sqlite"
        else f"PostgreSQL 数据库 {connection.settings_dict['NAME']}"
    )
    # The workers are forked from this process: none may inherit its connection.
    connections.close_all()

    def ready(_server: Any) -> None:
        say(f"Canbao 网页服务已启动：{url_of(host, port)}")
        say(f"  数据库：{database}；{processes} 个进程 × {threads} 个线程")
        if not is_loopback(host):
            say(
                "  其他电脑用本机的地址访问时，须把该地址加入环境变量 CANBAO_ALLOWED_HOSTS"
                f"（现为 {','.join(settings.ALLOWED_HOSTS)}）"
            )
        say("  按 Ctrl-C 停止。")

    from canbao.wsgi import application

    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": processes,
        "threads": threads,
        "worker_class": "gthread",
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        "loglevel": "warning",
        "control_socket_disable": True,
        "when_ready": ready,
        "post_worker_init": ignore_interrupts,
    }
    master = os.getpid()
    try:
        Server(options, application).run()
    except SystemExit as stopped:
        if os.getpid() != master:  # a worker, forked inside run(), ends here
            raise
        if stopped.code not in (0, None):
            raise CommandError(
                "网页服务异常退出：详见上面的出错信息。", returncode=FAILED
            ) from None
    say("网页服务已停止。")
