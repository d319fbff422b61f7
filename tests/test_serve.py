"""`canbao serve` as an administrator starts it: gunicorn serving the pages and their static
files, an access log without query strings, Ctrl-C stopping it cleanly, and Chinese refusals
for a database that is not ready or a port that is taken. And `canbao demo` (scripts/demo)
ending on the served pages, with accounts a newcomer can log in with."""

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

from tests.conftest import free_port

CANBAO = str(Path(sys.executable).with_name("canbao"))
READY = "Canbao 网页服务已启动："


def environment(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CANBAO_DATA_DIR": str(tmp_path / "data"),
    }


def canbao(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CANBAO, *args], env=env, capture_output=True, text=True, check=False, timeout=60
    )


@contextmanager
def serving(env: dict[str, str], *args: str) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """`canbao ARGS` in its own process group, with the lines it printed up to saying that it
    serves; interrupted at the end as Ctrl-C interrupts a terminal's foreground processes."""
    server = subprocess.Popen(
        [CANBAO, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert server.stdout is not None
        said = [server.stdout.readline()]
        while said[-1] and not said[-1].startswith(READY):
            said.append(server.stdout.readline())
        assert said[-1], "".join(said) + server.communicate(timeout=30)[1]
        yield server, [line.rstrip("\n") for line in said]
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                raise


def interrupt(server: subprocess.Popen[str]) -> tuple[str, str]:
    """Ctrl-C: the server's exit status must be 0; what it printed after it was ready."""
    os.killpg(server.pid, signal.SIGINT)
    assert server.wait(timeout=30) == 0
    assert server.stdout is not None and server.stderr is not None
    return server.stdout.read(), server.stderr.read()


class Visitor:
    """A browser without a browser: one connection, its cookies, forms posted with their
    CSRF token."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def send(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, urlencode(form) if form else None, headers)
        response = self.connection.getresponse()
        body = response.read().decode()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name] = value
        return response.status, dict(response.getheaders()), body

    def log_in(self, username: str, password: str) -> None:
        _, _, page = self.send("GET", "/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None
        form = {"csrfmiddlewaretoken": token[1], "username": username, "password": password}
        status, headers, _ = self.send("POST", "/login/", form)
        assert status == 302 and headers["Location"] == "/"


def test_serve_runs_the_pages_with_their_static_files_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    env = environment(tmp_path)
    assert canbao("init", env=env).returncode == 0
    port = free_port()
    with serving(env, "serve", "--bind", f"127.0.0.1:{port}", "--threads", "2") as (server, _):
        visitor = Visitor(port)
        status, headers, body = visitor.send("GET", "/login/?next=/residents/")
        assert status == 200
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "登录" in body
        status, headers, body = visitor.send("GET", "/static/vendor/htmx.min.js")
        assert status == 200 and len(body) > 10_000
        assert "max-age=" in headers["Cache-Control"]
        out, err = interrupt(server)
    assert "Traceback" not in out + err
    said = out.splitlines()
    assert said[:2] == [
        f"  数据库：SQLite 文件 {tmp_path / 'db.sqlite3'}；1 个进程 × 2 个线程",
        "  按 Ctrl-C 停止。",
    ]
    assert said[-1] == "网页服务已停止。"
    logged = [line for line in said if '"GET ' in line]
    assert [line.split('"')[1] for line in logged] == [
        "GET /login/",
        "GET /static/vendor/htmx.min.js",
    ]
    assert "next=" not in out + err and "?" not in "".join(logged)


def test_serve_refuses_a_database_that_was_never_initialised(tmp_path: Path) -> None:
    done = canbao("serve", "--bind", f"127.0.0.1:{free_port()}", env=environment(tmp_path))
    assert done.returncode == 2
    database = tmp_path / "db.sqlite3"
    assert done.stderr.strip() == (
        f"数据库尚未初始化（SQLite 文件 {database}）：请先运行 canbao init。"
    )
    assert not database.exists()


def test_serve_refuses_a_port_another_program_holds(tmp_path: Path) -> None:
    env = environment(tmp_path)
    assert canbao("init", env=env).returncode == 0
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        started = time.monotonic()
        done = canbao("serve", "--bind", f"127.0.0.1:{port}", env=env)
    assert done.returncode == 3
    assert done.stderr.strip() == (
        f"无法在 127.0.0.1:{port} 上启动网页服务："
        "该端口已被其他程序占用（可用 --bind 换一个端口）。"
    )
    assert time.monotonic() - started < 30  # not gunicorn's five retries


def test_serve_says_what_a_wrong_bind_should_look_like(tmp_path: Path) -> None:
    env = environment(tmp_path)
    for bind in ("8000", "localhost:", "127.0.0.1:70000"):
        done = canbao("serve", "--bind", bind, env=env)
        assert done.returncode == 2
        assert done.stderr.strip() == (
            f"--bind 的值“{bind}”不对：须为 地址:端口，例如 127.0.0.1:8000"
        )


def test_the_demo_ends_serving_the_county_to_its_demo_clerk(tmp_path: Path) -> None:
    env = {**environment(tmp_path), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    port = free_port()
    demo = ("demo", "--residents", "2000", "--bind", f"127.0.0.1:{port}")
    with serving(env, *demo) as (server, said):
        accounts = said[said.index("角色 | 账号 | 密码 | 能看到什么") + 1 : -1]
        roles = [line.split(" | ")[0] for line in accounts]
        assert roles == [
            "县医保局管理员",
            "县医保局经办人员",
            "乡镇经办人员",
            "村级收缴员",
            "部门经办人员",
            "财政人员",
            "审计人员",
            "系统对接（税务、银行）",
        ]
        _, username, password, _ = accounts[1].split(" | ")
        registry = said[said.index("== 登记情况") + 1 :]
        townships = [line.split("（")[0].strip() for line in registry if "户，" in line]
        assert townships
        visitor = Visitor(port)
        visitor.log_in(username, password)
        status, _, dashboard = visitor.send("GET", "/")
        assert status == 200
        assert "桃江县参保进度" in dashboard
        for township in townships:
            assert township in dashboard
        out, err = interrupt(server)
    assert out.rstrip().endswith("网页服务已停止。")
    assert "Traceback" not in err
