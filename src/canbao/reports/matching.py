"""Matching a task table's unit names, as notices write them, to the registry's divisions.

Notices shorten names: "德茂园" is 德茂园村委会, "大栗港社区" is 大栗港社区居委会. A name
matches a division when it is the division's name, or the division's name less a suffix such
as 村委会 / 居委会, or when both reduce to the same core once such suffixes are taken off.
Anything else is put to the user, never guessed: a name that matches two divisions, and a near
miss (黄栗洑 for 黄栗伏村委会: one character off) are errors naming the candidates, resolved by
writing the division's own name in the table or by naming its code (``--match 黄栗洑=CODE``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Candidate", "Match", "NameProblem", "match_names"]

# Longest first: "社区居委会" must come off whole before "社区" is tried.
SUFFIXES = (
    "社区居民委员会",
    "村民委员会",
    "居民委员会",
    "街道办事处",
    "社区居委会",
    "村委会",
    "居委会",
    "委员会",
    "办事处",
    "社区",
    "街道",
    "村",
    "镇",
    "乡",
)


@dataclass(frozen=True)
class Candidate:
    code: str
    name: str


@dataclass(frozen=True)
class Match:
    name: str  # as the table writes it
    candidate: Candidate
    how: str  # "exact", "suffix", "core" or "given" (named by the user)


@dataclass(frozen=True)
class NameProblem:
    name: str
    code: str  # "ambiguous", "near_miss", "not_found", "unknown_code"
    candidates: tuple[Candidate, ...]
    message: str


def _normal(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split())


def _strip_suffix(name: str) -> str:
    """`name` less one trailing administrative suffix, if it has one."""
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _only_suffixes(text: str) -> bool:
    """Whether `text` is made of administrative suffixes alone ("居委会", "社区居委会")."""
    while text:
        shorter = _strip_suffix(text)
        if shorter == text:
            return False
        text = shorter
    return True


def _core(name: str) -> str:
    """The name less its administrative suffixes (德茂园村委会 -> 德茂园); never empty."""
    core = _normal(name)
    while (shorter := _strip_suffix(core)) != core and shorter:
        core = shorter
    return core


def _distance(a: str, b: str) -> int:
    """Levenshtein distance, for the short names of units."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _listed(candidates: Sequence[Candidate]) -> str:
    return "、".join(f"{c.name}（{c.code}）" for c in candidates)


def match_names(
    names: Sequence[str],
    candidates: Sequence[Candidate],
    *,
    given: Mapping[str, str] | None = None,
) -> tuple[list[Match], list[NameProblem]]:
    """Each of `names` matched to one of `candidates`, or a problem to put to the user.
    `given` maps a table name to the code the user named for it."""
    by_code = {c.code: c for c in candidates}
    matches: list[Match] = []
    problems: list[NameProblem] = []
    for name in names:
        code = (given or {}).get(name)
        if code is not None:
            if code in by_code:
                matches.append(Match(name, by_code[code], "given"))
            else:
                problems.append(
                    NameProblem(name, "unknown_code", (), f"指定的区划代码 {code} 不在本范围内")
                )
            continue
        found, how = _find(name, candidates)
        if len(found) == 1:
            matches.append(Match(name, found[0], how))
        elif found:
            problems.append(
                NameProblem(
                    name,
                    "ambiguous",
                    tuple(found),
                    f"与多个单位名称相符：{_listed(found)}，请写明全称或指定区划代码",
                )
            )
        else:
            near = _near(name, candidates)
            if near:
                message = (
                    f"没有名称相同的单位；相近的有：{_listed(near)}，"
                    "请核对后改用其全称或指定区划代码"
                )
                problems.append(NameProblem(name, "near_miss", tuple(near), message))
            else:
                problems.append(NameProblem(name, "not_found", (), "没有这个名称的单位"))
    return matches, problems


def _find(name: str, candidates: Sequence[Candidate]) -> tuple[list[Candidate], str]:
    wanted = _normal(name)
    exact = [c for c in candidates if _normal(c.name) == wanted]
    if exact:
        return exact, "exact"
    suffixed = [
        c
        for c in candidates
        if _normal(c.name).startswith(wanted) and _only_suffixes(_normal(c.name)[len(wanted) :])
    ]
    if suffixed:
        return suffixed, "suffix"
    core = _core(name)
    return [c for c in candidates if _core(c.name) == core], "core"


def _near(name: str, candidates: Sequence[Candidate]) -> list[Candidate]:
    """Divisions whose core is one character off the name's (two for long names)."""
    core = _core(name)
    allowed = 1 if len(core) <= 4 else 2
    return [c for c in candidates if _distance(core, _core(c.name)) <= allowed]
