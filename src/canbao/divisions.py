"""Statistical division codes (统计用区划代码) and the names of village-level units.

A statistical division code has 12 digits in five segments: province (2), city (2), county (2),
township (3) and village (3); e.g. 430922117239 is 德茂园村委会 in 大栗港镇 (430922117) of 桃江县
(430922). Files write the higher levels in several forms: the 6-digit GB/T 2260 code of a county
(530127) or its 12-digit zero-padded form (530127000000), a province as 53, 5300, 530000 or
530000000000. Here a code is canonical in its shortest standard form: 6 digits for a province,
city or county (530000, 530100, 530127), 9 for a township, 12 for a village.

Unit names in notices and in the statistical dataset differ (notice 德茂园, dataset 德茂园村委会):
``unit_name_key`` gives both the same key, and ``match_names`` matches a notice's names to
dataset codes, putting near-misses and ambiguities to the user rather than guessing.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from canbao.errors import InputError

__all__ = [
    "Candidate",
    "DivisionCodeError",
    "Level",
    "NameMatch",
    "UnitKind",
    "is_within",
    "level",
    "match_names",
    "normalize_code",
    "parent",
    "unit_kind",
    "unit_name_key",
]

Level = Literal["province", "city", "county", "township", "village"]

_LEVELS: tuple[Level, ...] = ("province", "city", "county", "township", "village")
# End offset of each segment in the 12-digit code.
_SEGMENT_ENDS = (2, 4, 6, 9, 12)
_LEVEL_NAMES_ZH = {
    "province": "省级",
    "city": "地级",
    "county": "县级",
    "township": "乡级",
    "village": "村级",
}


class DivisionCodeError(InputError):
    """A division code that cannot be read."""


def _digits(code: str) -> str:
    s = "".join(unicodedata.normalize("NFKC", code).split())
    if s.startswith("'"):  # Excel's text prefix
        s = s[1:]
    if not s:
        raise DivisionCodeError("division_empty", "区划代码为空，请填写区划代码。")
    if not (s.isascii() and s.isdigit()):
        raise DivisionCodeError("division_characters", f"区划代码“{s}”只能由数字组成，请改正。")
    if len(s) not in _SEGMENT_ENDS:
        raise DivisionCodeError(
            "division_length",
            f"区划代码“{s}”是{len(s)}位；应为2、4、6位（省、地、县级）、9位（乡级）或12位（村级），"
            "请核对是否多录或漏录。",
        )
    return s


def _parse(code: str) -> tuple[str, int]:
    """(all digits given, index of the level in ``_LEVELS``)."""
    s = _digits(code)
    starts = (0, *_SEGMENT_ENDS)
    segments = [s[a:b] for a, b in zip(starts, _SEGMENT_ENDS, strict=False) if b <= len(s)]
    deepest = max((i for i, seg in enumerate(segments) if seg.strip("0")), default=-1)
    if deepest < 0:
        raise DivisionCodeError("division_zero", f"区划代码“{s}”全是0，不是有效的区划代码。")
    if any(not seg.strip("0") for seg in segments[:deepest]):
        raise DivisionCodeError(
            "division_segments",
            f"区划代码“{s}”中间有一段全是0，而后面的一段不是0，不是有效的区划代码，请核对。",
        )
    return s, deepest


def level(code: str) -> Level:
    """The level of a code in any of its forms: ``530127`` and ``530127000000`` are counties."""
    return _LEVELS[_parse(code)[1]]


def _canonical(s: str, index: int) -> str:
    significant = s[: _SEGMENT_ENDS[index]]
    return significant.ljust(max(6, len(significant)), "0")


def normalize_code(code: str) -> str:
    """The canonical form: spaces removed, zero padding trimmed or added to 6/9/12 digits.

    ``'530127000000'`` -> ``'530127'``; ``'53'`` -> ``'530000'``; ``'430922117000'`` ->
    ``'430922117'``. Raises ``DivisionCodeError`` for what is not a division code.
    """
    s, index = _parse(code)
    return _canonical(s, index)


def parent(code: str) -> str | None:
    """The canonical code one level up, or None for a province.

    A county's parent is its city-level code even where that is a grouping such as 市辖区 or
    省直辖县级行政区划 (e.g. 110105 -> 110100, 429004 -> 429000), as in the statistical dataset.
    """
    s, index = _parse(code)
    if index == 0:
        return None
    return _canonical(s, index - 1)


def is_within(code: str, ancestor: str) -> bool:
    """Whether ``code`` is ``ancestor`` itself or lies under it (any forms of either)."""
    s, index = _parse(code)
    a, a_index = _parse(ancestor)
    if index < a_index:
        return False
    end = _SEGMENT_ENDS[a_index]
    return s[:end] == a[:end]


# --- unit names ---------------------------------------------------------------------------------

# Suffixes naming the committee or the kind of unit, not the place. Longest first.
_COMMUNITY_SUFFIXES = ("社区居民委员会", "社区居委会", "社区委员会", "居民委员会", "居委会", "社区")
_VILLAGE_SUFFIXES = ("村民委员会", "嘎查委员会", "村委会", "嘎查", "村")
_NAME_SUFFIXES = tuple(
    sorted((*_COMMUNITY_SUFFIXES, *_VILLAGE_SUFFIXES, "委员会"), key=len, reverse=True)
)
_TRAILING_REMARK = re.compile(r"\([^()]*\)$")  # after NFKC, （…） is (…)
_MIN_KEY_LENGTH = 2
_MAX_CANDIDATES = 10

UnitKind = Literal["community", "village"]


def _clean(name: str) -> str:
    """NFKC, no whitespace, no trailing bracketed remarks such as （社区） or （西岗分场）."""
    s = "".join(unicodedata.normalize("NFKC", name).split())
    while True:
        stripped = _TRAILING_REMARK.sub("", s)
        if stripped == s or not stripped:
            return s
        s = stripped


def unit_name_key(name: str) -> str:
    """The key under which a notice's unit name and the dataset's name must agree.

    The rule: NFKC (full-width to half-width), remove all whitespace and trailing bracketed
    remarks, then repeatedly strip a trailing suffix that names the committee or the kind of
    unit — 社区居民委员会, 社区居委会, 社区委员会, 居民委员会, 村民委员会, 嘎查委员会,
    委员会, 村委会, 居委会, 社区, 嘎查, 村 (longest first) — as long as at least two
    characters remain. So 德茂园 and 德茂园村委会 are both 德茂园; 大栗港社区 and
    大栗港社区居委会 are both 大栗港; 刘家村, 刘家村委会 and 刘家村村委会 are all 刘家;
    新村 and 新村村委会 stay 新村.

    The key drops whether a unit is a 社区 or a 村: where one township has both a 大栗港社区 and
    a 大栗港村, ``match_names`` tells them apart by the kind a name carries (see ``unit_kind``)
    and reports a bare 大栗港 as ambiguous.
    """
    s = _clean(name)
    changed = True
    while changed:
        changed = False
        for suffix in _NAME_SUFFIXES:
            if s.endswith(suffix) and len(s) - len(suffix) >= _MIN_KEY_LENGTH:
                s = s[: -len(suffix)]
                changed = True
                break
    return s


def unit_kind(name: str) -> UnitKind | None:
    """``community`` for a name ending in 社区/居委会/居民委员会…, ``village`` for 村/村委会/嘎查…,
    None for a bare name such as 德茂园."""
    s = _clean(name)
    if s.endswith(_COMMUNITY_SUFFIXES):
        return "community"
    if s.endswith(_VILLAGE_SUFFIXES) or s.endswith("村委员会"):
        return "village"
    return None


class Candidate(NamedTuple):
    code: str
    name: str  # the dataset's name


@dataclass(frozen=True)
class NameMatch:
    """The outcome of ``match_names``; every wanted name is in exactly one of the three.

    ``exact``: wanted name -> code, when the key identifies one unit. ``near_misses``: wanted
    name -> candidates, most similar first, when the key is one or two characters off a dataset
    key (黄栗洑 vs 黄栗伏村委会) or when it fits several units equally (a bare 大栗港 where both
    大栗港社区 and 大栗港村 exist): the user must choose. ``unmatched``: the rest, in input order.
    """

    exact: dict[str, str] = field(default_factory=dict)
    near_misses: dict[str, list[Candidate]] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, or ``limit + 1`` once it is known to exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _near_limit(key: str) -> int:
    """How many edits still make a near-miss: 1 for names up to 4 characters, else 2."""
    return 1 if len(key) <= 4 else 2


def _pick(wanted: str, candidates: list[Candidate]) -> Candidate | None:
    """The one candidate a wanted name identifies among several with its key, if any."""
    clean = _clean(wanted)
    same_name = [c for c in candidates if _clean(c.name) == clean]
    if len(same_name) == 1:
        return same_name[0]
    kind = unit_kind(wanted)
    if kind is None:
        return None
    same_kind = [c for c in candidates if unit_kind(c.name) == kind]
    return same_kind[0] if len(same_kind) == 1 else None


def match_names(wanted: Sequence[str], known: Mapping[str, str]) -> NameMatch:
    """Match a notice's unit names to the dataset's ``known`` (code -> dataset name).

    A name matches when its ``unit_name_key`` is that of exactly one known unit, or of several
    of which the name's kind (社区 or 村) or exact spelling picks one. Otherwise it is a near-miss
    (keys differing by at most ``_near_limit`` edits, or equal keys that stay ambiguous) with up
    to 10 candidates ordered by edit distance then code, or unmatched. A near-miss is never
    counted as a match. Blank and repeated wanted names are reported once, as given.
    """
    by_key: dict[str, list[Candidate]] = defaultdict(list)
    for code, name in known.items():
        by_key[unit_name_key(name)].append(Candidate(code, name))

    result = NameMatch()
    seen: set[str] = set()
    for name in wanted:
        if name in seen:
            continue
        seen.add(name)
        key = unit_name_key(name)
        if not key:
            result.unmatched.append(name)
            continue
        same_key = by_key.get(key, [])
        if len(same_key) == 1:
            result.exact[name] = same_key[0].code
            continue
        if same_key:
            picked = _pick(name, same_key)
            if picked is not None:
                result.exact[name] = picked.code
            else:
                result.near_misses[name] = sorted(same_key)[:_MAX_CANDIDATES]
            continue
        limit = _near_limit(key)
        scored: list[tuple[int, Candidate]] = []
        for other_key, candidates in by_key.items():
            distance = _edit_distance(key, other_key, limit)
            if distance <= limit and distance < len(key):
                scored.extend((distance, c) for c in candidates)
        if scored:
            scored.sort()
            result.near_misses[name] = [c for _, c in scored[:_MAX_CANDIDATES]]
        else:
            result.unmatched.append(name)
    return result
