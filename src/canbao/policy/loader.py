"""Loading policies: the built-in presets and a county's own TOML files, with errors that name
the key and the rule broken."""

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from canbao.policy.codes import CATEGORY_NAMES
from canbao.policy.money import yuan
from canbao.policy.schema import Policy

# The range of a plausible yearly personal contribution, fiscal subsidy or special-group subsidy,
# in fen: 10 to 2,000 yuan. Below it the amount was almost certainly typed in yuan (250 for
# 250 yuan, i.e. 2.50 yuan); above it, one or two zeros too many.
PLAUSIBLE_FEN = (1_000, 200_000)


class PolicyError(ValueError):
    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}：\n" + "\n".join(f"  - {p}" for p in problems))


_MESSAGES = {
    "missing": "缺少必填项",
    "model_type": "须为 JSON 对象（键值对）",
    "model_attributes_type": "须为 JSON 对象（键值对）",
    "json_invalid": "不是合法的 JSON：{error}",
    "extra_forbidden": "不认识的键（请检查拼写）",
    "literal_error": "取值不在允许范围内：{expected}",
    "int_type": "须为整数",
    "bool_type": "须为 true 或 false",
    "string_type": "须为字符串",
    "list_type": "须为列表",
    "date_type": "须为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "须为日期（YYYY-MM-DD）",
    "date_parsing": "须为日期（YYYY-MM-DD）",
    "decimal_parsing": "须为数值",
    "greater_than": "须大于 {gt}",
    "greater_than_equal": "须不小于 {ge}",
    "less_than_equal": "须不大于 {le}",
    "string_pattern_mismatch": "格式不符（须匹配 {pattern}）",
    "too_short": "至少须有 {min_length} 项",
}


def _where(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part + 1}]" if isinstance(part, int) else ("." if text else "") + part
    return text or "（文件顶层）"


def explain_validation_error(error: ValidationError) -> list[str]:
    """Pydantic's errors in Chinese, each with its key path (list positions count from 1)."""
    problems = []
    for item in error.errors():
        template = _MESSAGES.get(item["type"])
        context = {k: str(v) for k, v in (item.get("ctx") or {}).items()}
        if item["type"] == "value_error":
            message = str(item["ctx"]["error"]) if item.get("ctx") else item["msg"]
        elif template:
            message = template.format(**context)
        else:
            message = item["msg"]
        loc = tuple(
            p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-"))
        )
        given = item.get("input")
        shown = (
            ""
            if item["type"] in {"missing", "value_error", "extra_forbidden"}
            or isinstance(given, dict)
            else (f"（实际为 {given!r}）")
        )
        problems.append(f"{_where(loc)}：{message}{shown}")
    return problems


def implausible_amounts(policy: Policy) -> list[str]:
    """Warnings, each naming its key, for amounts a notice would never state (see
    ``PLAUSIBLE_FEN``). The policy is valid; a person should look again."""
    amounts: list[tuple[str, str, int]] = [
        ("contribution.personal_fen", "个人缴费", policy.contribution.personal_fen)
    ]
    if isinstance(policy.contribution.fiscal_subsidy_fen, int):
        fiscal = policy.contribution.fiscal_subsidy_fen
        amounts.append(("contribution.fiscal_subsidy_fen", "财政补助", fiscal))
    for number, category in enumerate(policy.identity.categories, start=1):
        if category.subsidy is not None and category.subsidy.fen:
            key = f"identity.categories[{number}].subsidy.fen"
            name = category.label or CATEGORY_NAMES[category.code]
            amounts.append((key, f"{name}的资助", category.subsidy.fen))
    low, high = PLAUSIBLE_FEN
    warnings = []
    for key, what, fen in amounts:
        if fen < low:
            warnings.append(
                f"{key} = {fen}：{what}每人每年只有 {yuan(fen)} 元，不到 {yuan(low)} 元；"
                f"金额须以分为单位，{fen} 元应写作 {fen * 100}"
            )
        elif fen > high:
            warnings.append(
                f"{key} = {fen}：{what}每人每年 {yuan(fen)} 元，超过 {yuan(high)} 元；"
                "金额以分为单位，请核对是否多写了零"
            )
    return warnings


def parse_policy(data: dict[str, Any], source: str) -> Policy:
    try:
        return Policy.model_validate(data)
    except ValidationError as error:
        raise PolicyError(source, explain_validation_error(error)) from None


def parse_policy_text(text: str, source: str) -> Policy:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(source, [f"TOML 语法错误：{error}"]) from None
    return parse_policy(data, source)


def read_policy_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(str(path), [f"无法读取文件：{error.strerror}"]) from None
    except UnicodeDecodeError:
        raise PolicyError(str(path), ["文件须为 UTF-8 编码的 TOML"]) from None


def load_policy_file(path: Path) -> Policy:
    return parse_policy_text(read_policy_file(path), str(path))


_PRESETS = resources.files("canbao.policy") / "presets"


def preset_ids() -> list[str]:
    return sorted(
        p.name.removesuffix(".toml") for p in _PRESETS.iterdir() if p.name.endswith(".toml")
    )


def load_preset(preset_id: str) -> Policy:
    return parse_policy_text(preset_text(preset_id), preset_id)


def preset_text(preset_id: str) -> str:
    if preset_id not in preset_ids():
        raise PolicyError(preset_id, [f"没有这个内置政策；可用的有：{'、'.join(preset_ids())}"])
    return (_PRESETS / f"{preset_id}.toml").read_text(encoding="utf-8")


def policy_text(name_or_path: str) -> tuple[str, str]:
    """The TOML text of a preset id or a file, and where it came from."""
    if name_or_path in preset_ids():
        return preset_text(name_or_path), name_or_path
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return read_policy_file(path), str(path)
    return preset_text(name_or_path), name_or_path


def load_policy(name_or_path: str) -> Policy:
    """A preset id, or the path of a TOML file."""
    return parse_policy_text(*policy_text(name_or_path))
