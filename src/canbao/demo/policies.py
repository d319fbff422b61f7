"""The policy a demo campaign runs on: the preset itself, or a county policy file derived from
it (``policies/<preset>.toml``) that states the amounts the notice leaves pending.

A derived file may differ from its preset only in its id and title and in amounts the preset
leaves pending (the fiscal subsidy, a category's subsidy); ``assumed_amounts`` checks that and
lists each assumption in Chinese, so the demo says what it assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

from canbao.policy.codes import CATEGORY_NAMES, FUNDER_NAMES
from canbao.policy.loader import load_preset, parse_policy_text
from canbao.policy.money import yuan
from canbao.policy.schema import Category, Policy, Subsidy

__all__ = ["DemoPolicy", "assumed_amounts", "demo_policy"]

_POLICIES = resources.files("canbao.demo") / "policies"


@dataclass(frozen=True)
class DemoPolicy:
    preset: Policy
    policy: Policy  # what the campaign runs on
    text: str  # its TOML; "" when the campaign runs on the preset itself
    file_name: str  # the derived file's name; "" for the preset
    assumptions: tuple[str, ...]  # the amounts the derived file assumes, in Chinese
    pending: tuple[str, ...]  # amounts the campaign's policy still leaves pending, in Chinese


def demo_policy(preset_id: str) -> DemoPolicy:
    preset = load_preset(preset_id)
    derived = _POLICIES / f"{preset_id}.toml"
    if not derived.is_file():
        return DemoPolicy(preset, preset, "", "", (), tuple(_pending(preset)))
    text = derived.read_text(encoding="utf-8")
    policy = parse_policy_text(text, derived.name)
    return DemoPolicy(
        preset,
        policy,
        text,
        derived.name,
        tuple(assumed_amounts(preset, policy)),
        tuple(_pending(policy)),
    )


def _label(category: Category) -> str:
    return f"{category.label or CATEGORY_NAMES[category.code]}（{category.code}）"


def _pending(policy: Policy) -> list[str]:
    items = ["财政补助标准"] if policy.contribution.fiscal_subsidy_fen == "pending" else []
    items += [
        f"{_label(c)}的资助"
        for c in policy.identity.categories
        if c.subsidy is not None and c.subsidy.pending
    ]
    return items


def _amount(subsidy: Subsidy, personal_fen: int) -> str:
    payers = "、".join(FUNDER_NAMES[share.funder] for share in subsidy.funders)
    if subsidy.percent is not None:
        fen = personal_fen * int(subsidy.percent) // 100
        return f"资助个人缴费的 {subsidy.percent}%（{yuan(fen)} 元），{payers}出资"
    return f"资助 {yuan(subsidy.fen or 0)} 元，{payers}出资"


def assumed_amounts(preset: Policy, derived: Policy) -> list[str]:
    """The derived policy's assumptions, one line each; a ValueError names anything else it
    changes."""
    expected: dict[str, Any] = preset.model_dump()
    given: dict[str, Any] = derived.model_dump()
    expected["id"], expected["title"] = given["id"], given["title"]
    lines = []
    fiscal = derived.contribution.fiscal_subsidy_fen
    if preset.contribution.fiscal_subsidy_fen == "pending" and fiscal != "pending":
        expected["contribution"]["fiscal_subsidy_fen"] = fiscal
        lines.append(f"财政补助：每人每年 {yuan(fiscal)} 元")
    pairs = zip(preset.identity.categories, derived.identity.categories, strict=False)
    for index, (old, new) in enumerate(pairs):
        if old.subsidy and old.subsidy.pending and new.subsidy and not new.subsidy.pending:
            expected["identity"]["categories"][index]["subsidy"] = given["identity"]["categories"][
                index
            ]["subsidy"]
            lines.append(f"{_label(new)}：{_amount(new.subsidy, preset.contribution.personal_fen)}")
    if expected != given:
        differing = sorted(key for key in given if given[key] != expected.get(key))
        raise ValueError(
            f"{derived.id} differs from {preset.id} beyond pending amounts: {', '.join(differing)}"
        )
    return lines
