import json
import sys
from argparse import ArgumentTypeError
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from pydantic import ValidationError

from canbao.cli import USAGE_ERROR
from canbao.cli.output import CanbaoCommand
from canbao.policy.describe import describe, policy_json
from canbao.policy.loader import (
    PolicyError,
    explain_validation_error,
    implausible_amounts,
    load_policy,
    load_policy_file,
    preset_ids,
)
from canbao.policy.quote import Facts, quote
from canbao.policy.targets import compute_targets, read_target_table, shipped_table
from canbao.tabular import TableError


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ArgumentTypeError(f"日期须为 YYYY-MM-DD：{text!r}") from None


def read_facts(source: str) -> Facts:
    where = "标准输入" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as error:
        raise CommandError(f"无法读取 {source}：{error.strerror}", returncode=USAGE_ERROR) from None
    except UnicodeDecodeError:
        raise CommandError(f"{where}须为 UTF-8 编码的 JSON", returncode=USAGE_ERROR) from None
    if not text.strip():
        raise CommandError(
            f"{where}没有事实数据：须给出一个 JSON 对象，如 {{}} 或 "
            '{"categories": ["orphan"], "birth_date": "2019-03-01"}',
            returncode=USAGE_ERROR,
        )
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandError(
            f"{where}不是合法的 JSON（第{error.lineno}行第{error.colno}列附近）："
            "请检查引号、逗号和括号；键和字符串须用英文双引号",
            returncode=USAGE_ERROR,
        ) from None
    try:
        return Facts.model_validate_json(text, strict=True)
    except ValidationError as error:
        problems = "；".join(explain_validation_error(error))
        raise CommandError(f"事实数据有误：{problems}", returncode=USAGE_ERROR) from None


class Command(CanbaoCommand):
    help = "查看、检查政策，按政策为参保人核定应缴金额，计算任务数。"

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="操作")
        actions.add_parser("list", help="列出内置政策")
        show = actions.add_parser("show", help="以中文显示一项政策")
        show.add_argument("policy", metavar="政策", help="内置政策编号或 TOML 文件")
        show.add_argument(
            "--json", action="store_true", help="输出 JSON：政策数据，每条参保缴费规则标明期间类型"
        )
        check = actions.add_parser("check", help="检查一个政策文件")
        check.add_argument("file", type=Path, metavar="文件", help="政策文件（TOML）")
        quote_parser = actions.add_parser(
            "quote",
            help="核定一个人的身份属性、个人缴费、资助、应缴金额与待遇享受期（输出一个 JSON 对象）",
        )
        quote_parser.add_argument("policy", metavar="政策", help="内置政策编号或 TOML 文件")
        quote_parser.add_argument(
            "--facts",
            required=True,
            metavar="文件",
            help="参保人事实（JSON 对象）的文件，- 为标准输入",
        )
        quote_parser.add_argument(
            "--paid-on", required=True, type=iso_date, metavar="日期", help="缴费日期 YYYY-MM-DD"
        )
        targets = actions.add_parser("targets", help="按政策参保率计算各单位任务数并核对列示数")
        targets.add_argument("policy", metavar="政策", help="内置政策编号或 TOML 文件")
        targets.add_argument(
            "--table",
            type=Path,
            metavar="文件",
            help="任务分解表（.xlsx/.xls/.csv）；不给时用该政策随附的附件表",
        )
        targets.add_argument("--json", action="store_true", help="输出 JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "_" + options["action"])(options)
        except PolicyError as error:
            raise CommandError(str(error), returncode=USAGE_ERROR) from None
        except TableError as error:
            raise CommandError(str(error), returncode=USAGE_ERROR) from None

    def _list(self, options: dict[str, Any]) -> None:
        for preset in preset_ids():
            policy = load_policy(preset)
            self.stdout.write(f"{preset}\t{policy.coverage_year}\t{policy.title}")

    def _show(self, options: dict[str, Any]) -> None:
        policy = load_policy(options["policy"])
        if options["json"]:
            self.stdout.write(json.dumps(policy_json(policy), ensure_ascii=False))
        else:
            self.stdout.write(describe(policy))

    def _check(self, options: dict[str, Any]) -> None:
        policy = load_policy_file(options["file"])
        warnings = implausible_amounts(policy)
        verdict = f"，但有 {len(warnings)} 处金额不合常理，请核对：" if warnings else ""
        self.stdout.write(f"{options['file']}：政策 {policy.id}（{policy.title}）通过检查{verdict}")
        for warning in warnings:
            self.stdout.write(f"  - {warning}")

    def _quote(self, options: dict[str, Any]) -> None:
        policy = load_policy(options["policy"])
        facts = read_facts(options["facts"])
        result = quote(policy, facts, options["paid_on"])
        self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))

    def _targets(self, options: dict[str, Any]) -> None:
        policy = load_policy(options["policy"])
        path = options["table"] or shipped_table(policy.id)
        if path is None:
            raise CommandError(
                f"政策 {policy.id} 没有随附任务分解表，请用 --table 指定", returncode=USAGE_ERROR
            )
        report = compute_targets(policy.targets, read_target_table(path))
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json(), ensure_ascii=False))
        else:
            self.stdout.write(report.render_text())
