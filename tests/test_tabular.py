import datetime
from pathlib import Path

import pytest
import xlsxwriter

from canbao import tabular
from canbao.tabular import Column, TableError, cell_text, detect_encoding, read_table

TITLE = "某县2022年度城乡居民医保参保任务表"
ID_AS_EXCEL_SHOWS_IT = "5.30102199001011E+17"
COLUMNS = (
    Column("population", ("2016年底人口数(人)", "人口数")),
    Column("unit", ("单位名称", "乡镇名称")),
    Column("id_number", ("身份证号", "公民身份号码")),
    Column("note", ("备注",), required=False),
)
EXPECTED_ROWS = [
    (3, ("73769", "城厢镇", ID_AS_EXCEL_SHOWS_IT)),
    (5, ("40075", "太平镇", "")),
    (6, ("59242", "双桥镇", "450100199001011234")),
]


def csv_text(population_header: str) -> str:
    return (
        f"{TITLE},,,\n"
        f"序号,单位名称,身份证号,{population_header}\n"
        f"1,城厢镇,{ID_AS_EXCEL_SHOWS_IT},73769\n"
        ",,,\n"
        "2,太平镇,,40075\n"
        '3, 双桥镇 ,"450100199001011234",59242\n'
    )


def write_xlsx(path: Path) -> Path:
    with xlsxwriter.Workbook(path) as workbook:
        sheet = workbook.add_worksheet("任务表")
        sheet.merge_range(0, 0, 0, 3, TITLE)
        sheet.write_row(1, 0, ["序号", "单位　名称", "身份证号", "2016年底人口数（人）\n"])
        sheet.write_row(2, 0, [1, "城厢镇", 530102199001011234, 73769])
        sheet.write_row(4, 0, [2, "太平镇", "", 40075])
        sheet.write_row(5, 0, [3, " 双桥镇 ", "450100199001011234", 59242])
    return path


@pytest.fixture(params=["xlsx", "gb18030", "utf-8-sig"])
def same_table(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    if request.param == "xlsx":
        return write_xlsx(tmp_path / "table.xlsx")
    path = tmp_path / "table.csv"
    path.write_text(csv_text("2016年底人口数（人）"), encoding=request.param)
    return path


def test_it_reads_the_same_table_from_xlsx_gb18030_and_utf8_bom_alike(same_table: Path) -> None:
    table = read_table(same_table, COLUMNS)

    assert table.header_row == 2
    assert table.keys == ("population", "unit", "id_number")
    assert list(table.rows()) == EXPECTED_ROWS


def test_it_reports_the_encoding_and_the_headers_found(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    path.write_text(csv_text("人口数"), encoding="gb18030")

    table = read_table(path, COLUMNS)

    assert table.encoding == "gb18030"
    assert table.headers == {"population": "人口数", "unit": "单位名称", "id_number": "身份证号"}
    assert read_table(write_xlsx(tmp_path / "table.xlsx"), COLUMNS).encoding is None


def test_it_reads_the_rows_again_on_each_call(tmp_path: Path) -> None:
    table = read_table(write_xlsx(tmp_path / "table.xlsx"), COLUMNS)

    assert list(table.rows()) == list(table.rows()) == EXPECTED_ROWS


def test_it_picks_a_worksheet_by_name(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    with xlsxwriter.Workbook(path) as workbook:
        workbook.add_worksheet("说明").write(0, 0, "本表说明")
        other = workbook.add_worksheet("数据")
        other.write_row(0, 0, ["单位名称", "人口数", "身份证号"])
        other.write_row(1, 0, ["甲镇", 100, ""])

    table = read_table(path, COLUMNS, sheet="数据")

    assert list(table.rows()) == [(2, ("100", "甲镇", ""))]
    with pytest.raises(TableError, match="没有名为“汇总”的工作表（现有：说明、数据）"):
        read_table(path, COLUMNS, sheet="汇总")


def test_it_shows_numbers_as_excel_does(tmp_path: Path) -> None:
    path = tmp_path / "cells.xlsx"
    with xlsxwriter.Workbook(path) as workbook:
        sheet = workbook.add_worksheet()
        sheet.write_row(0, 0, ["单位名称", "人口数", "身份证号"])
        sheet.write_row(1, 0, [5021.0, 0.5, 530102199001011234])
        sheet.write_row(2, 0, [1e15, 12.35, 999999999999999])
        date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        moment = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        sheet.write_datetime(3, 0, datetime.date(2021, 9, 1), date)
        sheet.write_datetime(3, 1, datetime.datetime(2021, 12, 25, 17, 30), moment)
        sheet.write_boolean(3, 2, True)

    rows = [values for _, values in read_table(path, COLUMNS).rows()]

    assert rows == [
        ("0.5", "5021", ID_AS_EXCEL_SHOWS_IT),
        ("12.35", "1E+15", "999999999999999"),
        ("2021-12-25", "2021-09-01", "TRUE"),
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (5021.0, "5021"),
        (-3.0, "-3"),
        (0.1 + 0.2, "0.3"),
        (530102199001011234.0, ID_AS_EXCEL_SHOWS_IT),
        (1.5e20, "1.5E+20"),
        (False, "FALSE"),
        (7, "7"),
        (" 城厢镇\n", "城厢镇"),
        (datetime.time(8, 30), "08:30:00"),
    ],
)
def test_it_turns_cells_into_text(value: tabular.CellValue, text: str) -> None:
    assert cell_text(value) == text


def test_it_keeps_a_quoted_field_with_a_line_break_in_one_row(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_text(
        '单位名称,人口数,身份证号\n"城厢镇\n（含开发区）","73,769",\n太平镇,1,\n', encoding="utf-8"
    )

    rows = list(read_table(path, COLUMNS).rows())

    assert rows == [(2, ("73,769", "城厢镇\n（含开发区）", "")), (3, ("1", "太平镇", ""))]


def test_it_detects_utf8_with_and_without_bom_and_gb18030() -> None:
    assert detect_encoding("单位名称".encode("utf-8-sig")) == "utf-8-sig"
    assert detect_encoding("单位名称".encode()) == "utf-8"
    assert detect_encoding(b"plain ascii") == "utf-8"
    assert detect_encoding("单位名称".encode("gb18030")) == "gb18030"


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
@pytest.mark.parametrize("chunk_bytes", [1, 2, 3])
def test_it_detects_encodings_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoding: str, chunk_bytes: int
) -> None:
    monkeypatch.setattr(tabular, "_CHUNK_BYTES", chunk_bytes)
    path = tmp_path / "table.csv"
    path.write_text(csv_text("人口数"), encoding=encoding)

    table = read_table(path, COLUMNS)

    assert table.encoding == encoding
    assert list(table.rows()) == EXPECTED_ROWS


@pytest.mark.parametrize("chunk_bytes", [1, 5, 1 << 20])
def test_it_refuses_a_file_it_cannot_decode_and_says_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_bytes: int
) -> None:
    monkeypatch.setattr(tabular, "_CHUNK_BYTES", chunk_bytes)
    path = tmp_path / "broken.csv"
    path.write_bytes("单位名称,人口数\n".encode() + b"\xff\xff")

    with pytest.raises(TableError) as caught:
        read_table(path, COLUMNS)

    assert caught.value.message.startswith("无法识别文件 broken.csv 的编码：")
    assert "按 UTF-8 解码在字节偏移 23 处出错" in caught.value.message
    assert "UTF-8 或 GB18030" in caught.value.message


def test_it_names_a_missing_column_and_the_headers_it_saw(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    path.write_text(f"{TITLE},,\n单位名称,人口数,备注\n城厢镇,73769,\n", encoding="utf-8")

    with pytest.raises(TableError) as caught:
        read_table(path, COLUMNS)

    assert (caught.value.row, caught.value.column) == (2, "身份证号")
    assert caught.value.message == (
        "文件 table.csv 中找不到所需的列：“身份证号”（也可写作 公民身份号码）。"
        "第2行的表头为：单位名称、人口数、备注"
    )


def test_it_looks_for_the_header_only_in_the_first_twenty_rows(tmp_path: Path) -> None:
    path = tmp_path / "deep.csv"
    path.write_text("说明\n" * 20 + "单位名称,人口数,身份证号\n", encoding="utf-8")

    with pytest.raises(TableError, match="找不到所需的列"):
        read_table(path, COLUMNS)


def test_it_refuses_a_column_found_twice(tmp_path: Path) -> None:
    path = tmp_path / "twice.csv"
    path.write_text("单位名称,人口数,身份证号,2016年底人口数(人)\n", encoding="utf-8")

    with pytest.raises(TableError) as caught:
        read_table(path, COLUMNS)

    assert caught.value.row == 1
    assert "出现了两次（“人口数”和“2016年底人口数(人)”）" in caught.value.message


def test_it_refuses_a_header_that_fits_two_columns(tmp_path: Path) -> None:
    path = tmp_path / "ambiguous.csv"
    path.write_text("名称,人口数\n", encoding="utf-8")
    columns = (Column("unit", ("名称",)), Column("village", ("村名", "名称")))

    with pytest.raises(TableError, match="表头“名称”同时对应多个列"):
        read_table(path, columns)


@pytest.mark.parametrize("name", ["table.tsv", "table.txt", "table"])
def test_it_accepts_only_csv_xlsx_and_xls(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("单位名称,人口数,身份证号\n", encoding="utf-8")

    with pytest.raises(TableError, match=r"不支持的文件类型.*请提供 \.csv、\.xlsx 或 \.xls 文件"):
        read_table(path, COLUMNS)


def test_it_says_when_a_workbook_is_not_one(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("单位名称,人口数\n", encoding="utf-8")

    with pytest.raises(TableError, match=r"无法读取 Excel 文件 fake\.xlsx"):
        read_table(path, COLUMNS)
