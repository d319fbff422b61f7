"""What ``canbao --help`` says: Canbao's commands, grouped as the work goes, each with its actions
and what it does. A new command module needs its entry here (tests/test_cli_entry.py checks that
every command is listed, with the actions its parser knows)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.core.management import find_commands


@dataclass(frozen=True)
class Entry:
    name: str
    actions: tuple[str, ...]  # the command's subcommands, as its parser knows them
    summary: str


GROUPS: tuple[tuple[str, tuple[Entry, ...]], ...] = (
    (
        "准备",
        (
            Entry("init", (), "创建或升级数据库（DATABASE_URL 所指，默认为用户数据目录中的文件）"),
            Entry("demo", (), "演示：生成一个模拟县，导入后按通知走完整个缴费季"),
            Entry(
                "account",
                ("add", "list", "passwd", "disable", "token", "revoke"),
                "账号：新建（带角色）、列出、改密码、停用；系统对接的接口令牌",
            ),
            Entry("serve", (), "启动网页服务，在浏览器中使用 Canbao（按 Ctrl-C 停止）"),
        ),
    ),
    (
        "政策",
        (
            Entry(
                "policy",
                ("list", "show", "check", "quote", "targets"),
                "列出、显示、检查政策，为一个人核定应缴与待遇，计算任务数",
            ),
        ),
    ),
    (
        "登记与导入",
        (
            Entry(
                "import",
                ("residents", "roster", "schools", "divisions", "payments"),
                "导入户籍人员、部门名册、行政区划、缴费明细",
            ),
        ),
    ),
    (
        "参保缴费工作",
        (
            Entry(
                "campaign",
                ("open", "assess"),
                "开始一个统筹区某年度的工作，为全部居民核定缴费",
            ),
        ),
    ),
    (
        "收缴",
        (
            Entry(
                "payments",
                ("reverse", "suspense", "recheck", "position"),
                "冲正，挂账清单，重新核对挂账，一个人的账",
            ),
            Entry(
                "receipts",
                ("issue", "void", "cancel", "books", "report"),
                "收款收据本的发放、作废、缴销，人、钱、票、册四相符报告",
            ),
            Entry(
                "withholding",
                ("agreements", "batch", "returns", "followup", "retry"),
                "银行委托代扣：三方协议、代扣文件、回盘、失败跟进、重扣",
            ),
            Entry(
                "reconcile",
                ("explain", "close", "reopen", "credits"),
                "每日对账（--date、--tax-file），说明差异，结账",
            ),
        ),
    ),
    (
        "进度与文书",
        (
            Entry(
                "report",
                (
                    "tasks",
                    "coverage",
                    "funding",
                    "funds",
                    "students",
                    "bulletin",
                    "followup",
                    "notices",
                ),
                "任务数、参保进度、工作经费与问责、基金筹集；进度通报、催缴名单、缴费通知单",
            ),
        ),
    ),
    (
        "账单与核对",
        (
            Entry("bills", (), "部门资助账单"),
            Entry("check", ("ledger",), "审计核对：收到 = 参保入账 + 挂账 + 冲正"),
        ),
    ),
)

_COMMANDS_DIR = Path(__file__).resolve().parent / "management"


def canbao_commands() -> list[str]:
    """The names of Canbao's own commands (the modules of ``canbao.cli``'s commands package)."""
    return sorted(find_commands(str(_COMMANDS_DIR)))


def overview() -> str:
    lines = [
        "Canbao 参保：城乡居民基本医疗保险的参保登记、核定、收缴与对账。",
        "",
        "用法：canbao 命令 [操作] [参数和选项]",
        "      canbao 命令 --help        一个命令的用法、操作和选项",
    ]
    for title, entries in GROUPS:
        lines.extend(("", title))
        for entry in entries:
            lines.append(f"  {entry.name:<12} {entry.summary}")
            if entry.actions:
                lines.append(f"  {'':<12} 操作：{'、'.join(entry.actions)}")
    lines.extend(
        (
            "",
            "退出状态：0 完成；1 输入有错被拒绝，未写入任何数据；",
            "          2 用法错误，或数据库尚未初始化；3 数据库或程序出错。",
            "写入、导出文件或查看个人信息的命令须指明账号：--as 账号，或设环境变量 CANBAO_AS。",
            "出错时设环境变量 CANBAO_DEBUG=1 再运行一次，可看到详细的出错位置。",
            "Django 自带的管理命令（migrate、shell、dbshell 等）：canbao django 命令 …",
        )
    )
    return "\n".join(lines)
