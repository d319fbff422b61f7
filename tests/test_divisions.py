"""Statistical division codes and matching a notice's unit names to the dataset's."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canbao.divisions import (
    Candidate,
    DivisionCodeError,
    is_within,
    level,
    match_names,
    normalize_code,
    parent,
    unit_kind,
    unit_name_key,
)

# 大栗港镇 (桃江县, Hunan) as the statistical dataset (china-division 2.7.0) has it.
DALIGANG_DATASET = {
    "430922117002": "大栗港社区",
    "430922117203": "黄栗伏村委会",
    "430922117211": "兴坪村委会",
    "430922117220": "筑金坝村委会",
    "430922117224": "刘家村村委会",
    "430922117226": "黄道仑村委会",
    "430922117231": "五羊坪村委会",
    "430922117234": "童子山村委会",
    "430922117238": "朱家村村委会",
    "430922117239": "德茂园村委会",
    "430922117243": "栗山河村委会",
    "430922117247": "卢家村委会",
    "430922117252": "松木桥村委会",
    "430922117257": "牌形上村委会",
    "430922117259": "先锋桥村委会",
    "430922117260": "张家村村委会",
    "430922117261": "红金村",
}
# The units of the 2020 notice's task table (附件1), in its order.
DALIGANG_NOTICE = [
    "大栗港社区",
    "德茂园",
    "朱家村",
    "童子山",
    "五羊坪",
    "黄道仑",
    "先锋桥",
    "刘家村",
    "筑金坝",
    "兴坪村",
    "红金村",
    "黄栗洑",
    "卢家村",
    "栗山河",
    "张家村",
    "松木桥",
    "牌形上",
    "城镇社区",
]


# --- levels and forms ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("53", "province"),
        ("5300", "province"),
        ("530000", "province"),
        ("530000000000", "province"),
        ("5301", "city"),
        ("530100", "city"),
        ("530100000000", "city"),
        ("530127", "county"),
        ("530127000000", "county"),
        ("530127000", "county"),
        ("430922117", "township"),
        ("430922117000", "township"),
        ("430922117201", "village"),
        ("110101001001", "village"),
    ],
)
def test_it_tells_the_level_of_a_code_in_any_of_its_forms(code: str, expected: str) -> None:
    assert level(code) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (" 530127000000 ", "530127"),
        ("５３０１２７", "530127"),
        ("'530127", "530127"),
        ("430922117000", "430922117"),
        ("430922117", "430922117"),
        ("430922117201", "430922117201"),
        ("53", "530000"),
        ("5301", "530100"),
        ("530100000000", "530100"),
        ("4309 2211 7201", "430922117201"),
    ],
)
def test_it_normalizes_a_code_to_6_9_or_12_digits_as_its_level_requires(
    code: str, expected: str
) -> None:
    assert normalize_code(code) == expected


@pytest.mark.parametrize(
    ("code", "error_code", "fragment"),
    [
        ("", "division_empty", "为空"),
        ("53012A", "division_characters", "只能由数字组成"),
        ("5301270", "division_length", "7位"),
        ("000000", "division_zero", "全是0"),
        ("530027", "division_segments", "中间有一段全是0"),
        ("430922000201", "division_segments", "中间有一段全是0"),
    ],
)
def test_it_rejects_what_is_not_a_division_code_with_a_chinese_message(
    code: str, error_code: str, fragment: str
) -> None:
    with pytest.raises(DivisionCodeError) as info:
        level(code)
    assert info.value.code == error_code
    assert fragment in info.value.message
    assert isinstance(info.value, ValueError)


# --- the hierarchy -------------------------------------------------------------------------------


def test_it_walks_from_a_village_up_to_its_province() -> None:
    chain = []
    code: str | None = "430922117201"
    while code is not None:
        chain.append(code)
        code = parent(code)
    assert chain == ["430922117201", "430922117", "430922", "430900", "430000"]


def test_it_gives_the_parent_of_a_zero_padded_county_in_canonical_form() -> None:
    assert parent("530127000000") == "530100"
    assert parent("430922117000") == "430922"


def test_it_puts_a_county_under_its_city_level_grouping() -> None:
    assert parent("110105") == "110100"  # 市辖区 of Beijing
    assert parent("429004") == "429000"  # 省直辖县级行政区划 of Hubei


def test_it_knows_a_township_and_its_villages_lie_within_the_county() -> None:
    assert level("430922117") == "township"
    assert is_within("430922117", "430922")
    assert is_within("430922117201", "430922117")
    assert is_within("430922117201", "430922")
    assert is_within("430922117201", "43")
    assert is_within("430922117201", "430922117000")  # the township in its padded form


def test_it_counts_a_unit_as_within_itself() -> None:
    assert is_within("430922117", "430922117000")
    assert is_within("530127", "530127000000")


def test_it_knows_what_lies_outside() -> None:
    assert not is_within("430922", "430922117")
    assert not is_within("430922117", "430922117201")
    assert not is_within("430922117201", "430923")
    assert not is_within("430922117201", "430922118")
    assert not is_within("530127", "530128")


villages = st.from_regex(
    r"[1-6][1-9][0-9][1-9][0-9][1-9][0-9]{2}[1-9][0-9]{2}[1-9]", fullmatch=True
)


@given(villages)
def test_it_keeps_every_village_within_all_its_ancestors(code: str) -> None:
    assert level(code) == "village"
    ancestor = parent(code)
    while ancestor is not None:
        assert is_within(code, ancestor)
        assert not is_within(ancestor, code)
        assert normalize_code(ancestor.ljust(12, "0")) == ancestor
        ancestor = parent(ancestor)


# --- unit names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notice", "dataset"),
    [
        ("德茂园", "德茂园村委会"),
        ("大栗港社区", "大栗港社区居委会"),
        ("大栗港社区", "大栗港社区居民委员会"),
        ("朱家村", "朱家村村委会"),
        ("卢家村", "卢家村委会"),
        ("红金村", "红金村"),
        ("兴坪", "兴坪村民委员会"),
        ("德茂园", " 德茂园\u3000村委会 "),
        ("龙门街", "龙门街居委会（社区）"),
        ("新村", "新村村委会"),
    ],
)
def test_it_gives_a_notice_name_and_the_dataset_name_the_same_key(
    notice: str, dataset: str
) -> None:
    assert unit_name_key(notice) == unit_name_key(dataset)


def test_it_never_strips_a_name_below_two_characters() -> None:
    assert unit_name_key("新村") == "新村"
    assert unit_name_key("新村村委会") == "新村"
    assert unit_name_key("居委会") == "居委会"


def test_it_tells_a_community_from_a_village_by_the_name_s_ending() -> None:
    assert unit_kind("大栗港社区居委会") == "community"
    assert unit_kind("大栗港社区") == "community"
    assert unit_kind("大栗港村委会") == "village"
    assert unit_kind("红金村") == "village"
    assert unit_kind("德茂园") is None


def test_it_matches_daligang_s_task_table_to_the_dataset_without_guessing() -> None:
    result = match_names(DALIGANG_NOTICE, DALIGANG_DATASET)
    assert result.exact["德茂园"] == "430922117239"
    assert result.exact["大栗港社区"] == "430922117002"
    assert result.exact["朱家村"] == "430922117238"
    assert result.exact["卢家村"] == "430922117247"
    assert result.exact["红金村"] == "430922117261"
    assert len(result.exact) == 16
    assert "黄栗洑" not in result.exact
    assert result.near_misses == {"黄栗洑": [Candidate("430922117203", "黄栗伏村委会")]}
    assert result.unmatched == ["城镇社区"]


def test_it_orders_near_misses_by_similarity() -> None:
    known = {
        "430922117203": "黄栗伏河村委会",  # two characters off
        "430922117226": "黄道仑村委会",  # too far
        "430922117299": "黄栗伏河口村委会",  # one character off
    }
    result = match_names(["黄栗洑河口"], known)
    assert result.exact == {}
    assert [c.code for c in result.near_misses["黄栗洑河口"]] == ["430922117299", "430922117203"]


def test_it_puts_a_bare_name_that_fits_a_community_and_a_village_to_the_user() -> None:
    known = {"430922117002": "大栗港社区居委会", "430922117270": "大栗港村委会"}
    result = match_names(["大栗港", "大栗港社区", "大栗港村"], known)
    assert result.near_misses["大栗港"] == [
        Candidate("430922117002", "大栗港社区居委会"),
        Candidate("430922117270", "大栗港村委会"),
    ]
    assert result.exact == {"大栗港社区": "430922117002", "大栗港村": "430922117270"}


def test_it_reports_blank_and_unknown_names_as_unmatched_once() -> None:
    result = match_names(["", "德茂园", "德茂园", "桃花江"], DALIGANG_DATASET)
    assert result.exact == {"德茂园": "430922117239"}
    assert result.unmatched == ["", "桃花江"]
