"""GB 11643 ID numbers and other identity documents, as they come out of bureaus' spreadsheets."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import date
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canbao import idnumber
from canbao.idnumber import (
    IdNumber,
    IdNumberError,
    check_character,
    make,
    normalize,
    parse,
    parse_document,
)

TODAY = date(2025, 6, 30)
SAMPLE_F = "11010519491231002X"  # the well-known sample: Beijing Chaoyang, 1949-12-31, female
SAMPLE_M = "440524188001010014"  # Guangdong Shantou (old code), 1880-01-01, male


def weighted_check(first17: str) -> str:
    """An independent oracle: GB 11643's weights written out, not the module's arithmetic."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return "10X98765432"[total % 11]


def error_of(raw: str, today: date = TODAY) -> IdNumberError:
    with pytest.raises(IdNumberError) as info:
        parse(raw, today=today)
    return info.value


divisions = st.from_regex(r"[1-8][0-9]{5}", fullmatch=True)
birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=499)
sexes = st.sampled_from(["M", "F"])


# --- valid numbers ----------------------------------------------------------------------------


def test_it_reads_the_well_known_sample_as_a_woman_born_on_new_years_eve_1949_in_chaoyang() -> None:
    person = parse(SAMPLE_F, today=TODAY)
    assert person.number == SAMPLE_F
    assert person.birth_date == date(1949, 12, 31)
    assert person.sex == "F"
    assert person.division_code == "110105"


def test_it_reads_a_man_born_in_1880_because_the_standard_sets_no_lower_bound() -> None:
    person = parse(SAMPLE_M, today=TODAY)
    assert (person.birth_date, person.sex, person.division_code) == (
        date(1880, 1, 1),
        "M",
        "440524",
    )


def test_it_agrees_with_the_written_out_weights_on_both_samples() -> None:
    assert check_character(SAMPLE_F[:17]) == weighted_check(SAMPLE_F[:17]) == "X"
    assert check_character(SAMPLE_M[:17]) == weighted_check(SAMPLE_M[:17]) == "4"
    assert idnumber.WEIGHTS == (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def test_it_returns_a_frozen_value_equal_to_one_built_by_hand() -> None:
    person = parse(SAMPLE_F, today=TODAY)
    assert person == IdNumber(SAMPLE_F, date(1949, 12, 31), "F", "110105")
    assert hash(person) == hash(IdNumber(SAMPLE_F, date(1949, 12, 31), "F", "110105"))
    with pytest.raises(FrozenInstanceError):
        person.sex = "M"  # type: ignore[misc]


def test_it_accepts_a_birth_date_of_today_for_a_newborn() -> None:
    number = make("530127", TODAY, 0, "M")
    assert parse(number, today=TODAY).birth_date == TODAY


def test_it_uses_the_system_date_when_no_today_is_given() -> None:
    assert parse(SAMPLE_F).birth_date == date(1949, 12, 31)


# --- what spreadsheets do to ID numbers -------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        " 11010519491231002x ",  # spaces and a lower-case x
        "11010519491231002x",
        "'11010519491231002X",  # Excel's text prefix
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits and letter
        "１１０１０５１９４９１２３１００２ｘ",  # full-width lower-case x
        "\u300011010519491231002X\u3000",  # ideographic spaces
        "\u00a011010519491231002X",  # non-breaking space from a web page
        "110105 19491231 002X",  # spaces inside
        "\t11010519491231002X\r\n",  # tab and line end
        "\ufeff11010519491231002X",  # byte-order mark on the first cell of a CSV
        "＇11010519491231002X",  # full-width apostrophe
    ],
)
def test_it_undoes_what_files_do_to_an_id_number(raw: str) -> None:
    assert normalize(raw) == SAMPLE_F
    assert parse(raw, today=TODAY).number == SAMPLE_F


def test_it_only_upper_cases_a_trailing_x() -> None:
    assert normalize("abcx") == "abcX"
    assert normalize("x1") == "x1"


# --- each error -------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "   ", "\u3000", "'"])
def test_it_rejects_an_empty_cell(raw: str) -> None:
    error = error_of(raw)
    assert error.code == "id_empty"
    assert "为空" in error.message


@pytest.mark.parametrize(
    "raw", ["5.30102E+17", "5.30102199001011E+17", "530102E17", "5.30102e+17", "１．３E+17"]
)
def test_it_rejects_a_number_excel_stored_in_scientific_notation_and_says_to_re_enter_as_text(
    raw: str,
) -> None:
    error = error_of(raw)
    assert error.code == "id_scientific_notation"
    assert "文本" in error.message
    assert "丢失" in error.message
    assert "重新录入" in error.message


def test_it_rejects_a_wrong_length_and_says_how_long_it_was() -> None:
    error = error_of(SAMPLE_M[:17])
    assert error.code == "id_length"
    assert "17位" in error.message
    assert error_of(SAMPLE_M + "0").code == "id_length"


def test_it_rejects_a_15_digit_first_generation_number_and_offers_the_converted_one() -> None:
    error = error_of("110105491231002")
    assert error.code == "id_length"
    assert "15位" in error.message
    assert "换算成18位" in error.message
    assert SAMPLE_F in error.message


def test_it_still_explains_the_conversion_when_a_15_digit_number_has_an_impossible_date() -> None:
    error = error_of("110105490231002")
    assert error.code == "id_length"
    assert "换算成18位" in error.message


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("11010519491231O02X", "第15位“O”不是数字（字母O应为数字0）"),
        ("1101051949123X0020", "第14位是字母X"),
        ("11010519491231002Y", "第18位“Y”"),
        ("110105-19491231-002X", "第7位“-”"),
        ("无", "第1位“无”"),
    ],
)
def test_it_rejects_characters_that_are_not_digits_and_names_the_position(
    raw: str, fragment: str
) -> None:
    error = error_of(raw)
    assert error.code == "id_characters"
    assert fragment in error.message


@pytest.mark.parametrize("birth", ["19490230", "19491301", "19490000", "20230229"])
def test_it_rejects_a_birth_date_that_does_not_exist(birth: str) -> None:
    first17 = "110105" + birth + "002"
    error = error_of(first17 + check_character(first17))
    assert error.code == "id_birth_date"
    assert "不存在" in error.message


def test_it_accepts_the_29th_of_february_in_a_leap_year() -> None:
    assert parse(make("430922", date(2024, 2, 29), 7, "F"), today=TODAY).sex == "F"


def test_it_rejects_a_birth_date_after_today() -> None:
    number = make("430922", date(2025, 7, 1), 10, "F")
    error = error_of(number, today=TODAY)
    assert error.code == "id_birth_date"
    assert "晚于今天" in error.message
    assert parse(number, today=date(2025, 7, 1)).birth_date == date(2025, 7, 1)


def test_it_rejects_a_wrong_check_character_and_gives_the_expected_one() -> None:
    error = error_of("110105194912310021")
    assert error.code == "id_checksum"
    assert "应为“X”" in error.message
    assert "实际是“1”" in error.message


def test_its_errors_are_value_errors_that_print_their_chinese_message() -> None:
    error = error_of("110105194912310021")
    assert isinstance(error, ValueError)
    assert str(error) == error.message


# --- make() and the checksum, for all inputs --------------------------------------------------


@given(divisions, birth_dates, sequences, sexes)
def test_it_parses_whatever_make_builds_back_to_the_same_facts(
    division: str, born: date, sequence: int, sex: Literal["M", "F"]
) -> None:
    number = make(division, born, sequence, sex)
    person = parse(number, today=TODAY)
    assert person.number == number
    assert (person.birth_date, person.sex, person.division_code) == (born, sex, division)
    assert int(number[14:17]) == 2 * sequence + (1 if sex == "M" else 0)


@given(st.from_regex(r"[0-9]{17}", fullmatch=True))
def test_its_check_character_agrees_with_the_written_out_weights(first17: str) -> None:
    assert check_character(first17) == weighted_check(first17)


@given(divisions, birth_dates, sequences, sexes, st.integers(0, 17), st.integers(1, 9))
def test_it_rejects_any_single_changed_digit(
    division: str,
    born: date,
    sequence: int,
    sex: Literal["M", "F"],
    position: int,
    shift: int,
) -> None:
    number = make(division, born, sequence, sex)
    if position == 17:
        changed = number[:17] + ("0123456789X".replace(number[17], ""))[shift - 1]
    else:
        changed_digit = str((int(number[position]) + shift) % 10)
        changed = number[:position] + changed_digit + number[position + 1 :]
    assert check_character(changed[:17]) != changed[17]
    error = error_of(changed, today=date.max)
    # A changed birth-date digit may make the date impossible, which is reported first.
    expected = {"id_checksum", "id_birth_date"} if 6 <= position < 14 else {"id_checksum"}
    assert error.code in expected


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("53012", date(1990, 1, 1), 0, "M"), "division_code"),
        (("530127", date(1990, 1, 1), 500, "M"), "sequence"),
        (("530127", date(1990, 1, 1), -1, "F"), "sequence"),
        (("530127", date(1990, 1, 1), 0, "X"), "sex"),
    ],
)
def test_it_refuses_to_make_a_number_from_bad_parts(args: tuple[object, ...], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        make(*args)  # type: ignore[arg-type]


def test_it_refuses_a_check_character_for_anything_but_17_digits() -> None:
    with pytest.raises(ValueError):
        check_character("1101051949123100")
    with pytest.raises(ValueError):
        check_character("1101051949123100X")


# --- other identity documents -----------------------------------------------------------------


def doc_error(kind: str, raw: str) -> IdNumberError:
    with pytest.raises(IdNumberError) as info:
        parse_document(kind, raw, today=TODAY)
    return info.value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("H12345678", "H12345678"),
        ("M87654321", "M87654321"),
        ("H1234567801", "H1234567801"),  # lifelong number + renewal count
        (" h12345678 ", "H12345678"),
        ("Ｍ１２３４５６７８", "M12345678"),
        ("'H12345678", "H12345678"),
    ],
)
def test_it_accepts_hong_kong_and_macau_home_return_permits(raw: str, expected: str) -> None:
    assert parse_document("hk_macau_permit", raw) == expected


def test_it_rejects_a_home_return_permit_with_the_wrong_letter_or_length() -> None:
    assert doc_error("hk_macau_permit", "C12345678").code == "id_prefix"
    error = doc_error("hk_macau_permit", "H1234567")
    assert error.code == "id_length"
    assert "7位" in error.message
    assert doc_error("hk_macau_permit", "H1234A678").code == "id_format"
    assert doc_error("hk_macau_permit", "").code == "id_empty"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("01234567", "01234567"),
        ("0123456701", "0123456701"),
        ("0123456701(B)", "0123456701(B)"),
        ("０１２３４５６７０１（Ｂ）", "0123456701(B)"),
    ],
)
def test_it_accepts_taiwan_compatriot_permits(raw: str, expected: str) -> None:
    assert parse_document("taiwan_permit", raw) == expected


def test_it_suspects_a_lost_leading_zero_in_a_seven_digit_taiwan_permit() -> None:
    error = doc_error("taiwan_permit", "1234567")
    assert error.code == "id_length"
    assert "开头的0" in error.message
    assert doc_error("taiwan_permit", "T1234567").code == "id_format"


def test_it_accepts_both_foreign_permanent_residence_cards() -> None:
    first17 = "93301119850315002"
    new_card = first17 + check_character(first17)
    assert parse_document("foreign_permanent_residence", new_card) == new_card
    assert parse_document("foreign_permanent_residence", "usa330000000001") == "USA330000000001"


def test_it_rejects_foreign_permanent_residence_numbers_that_are_something_else() -> None:
    assert doc_error("foreign_permanent_residence", SAMPLE_F).code == "id_prefix"
    first17 = "93301119850315002"
    wrong = first17 + ("0" if check_character(first17) != "0" else "1")
    assert doc_error("foreign_permanent_residence", wrong).code == "id_checksum"
    assert doc_error("foreign_permanent_residence", "US3300000000012").code == "id_format"
    assert doc_error("foreign_permanent_residence", "USA33000000001").code == "id_length"
    sci = doc_error("foreign_permanent_residence", "9.33011198503E+17")
    assert sci.code == "id_scientific_notation"


def test_it_accepts_residence_permits_of_hong_kong_macau_and_taiwan_residents() -> None:
    hong_kong = make("810000", date(1990, 5, 1), 3, "F")
    macau = make("820000", date(1988, 2, 14), 12, "M")
    taiwan = make("830000", date(1975, 10, 10), 40, "M")
    assert parse_document("hk_macau_residence_permit", hong_kong) == hong_kong
    assert parse_document("hk_macau_residence_permit", macau.lower()) == macau
    assert parse_document("taiwan_residence_permit", taiwan) == taiwan


def test_it_rejects_a_residence_permit_number_of_the_wrong_region_or_with_a_bad_checksum() -> None:
    taiwan = make("830000", date(1975, 10, 10), 40, "M")
    assert doc_error("hk_macau_residence_permit", taiwan).code == "id_prefix"
    assert doc_error("taiwan_residence_permit", SAMPLE_F).code == "id_prefix"
    broken = taiwan[:-1] + ("0" if taiwan[-1] != "0" else "1")
    assert doc_error("taiwan_residence_permit", broken).code == "id_checksum"


def test_it_checks_a_resident_id_given_as_a_document_like_parse_does() -> None:
    assert parse_document("resident_id", " 11010519491231002x ") == SAMPLE_F
    assert doc_error("resident_id", "5.30102E+17").code == "id_scientific_notation"


def test_it_rejects_an_unknown_document_kind() -> None:
    error = doc_error("passport", "E12345678")
    assert error.code == "document_kind"
    assert "不支持" in error.message
