import csv
import datetime
import json
import resource
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

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


# --- hostile workbooks and cells ----------------------------------------------------------------

STRAY_CHILD = """
import json, sys
from pathlib import Path
from canbao.tabular import Column, TableError, read_table
try:
    columns = [Column("unit", ("单位名称",)), Column("population", ("人口数",))]
    read_table(Path(sys.argv[1]), columns)
    outcome = None
except TableError as error:
    outcome = [error.code, error.row, error.column, error.message]
# VmHWM, not ru_maxrss: the latter survives exec and so counts the forked test runner's pages.
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"outcome": outcome, "peak_kib": int(peak.split()[1])}))
"""


def read_in_a_child(path: Path) -> dict[str, Any]:
    """read_table in another process: python-calamine aborts the process (not a Python error)
    when it cannot allocate a sheet, and a test must survive that to report it."""

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    done = subprocess.run(
        [sys.executable, "-c", STRAY_CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit_memory,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_a_stray_cell_at_xfd1048576_is_refused_in_bounded_memory_naming_the_cell(
    tmp_path: Path,
) -> None:
    path = tmp_path / "stray.xlsx"
    with xlsxwriter.Workbook(path) as workbook:
        sheet = workbook.add_worksheet("任务表")
        sheet.write_row(0, 0, ["单位名称", "人口数"])
        sheet.write_row(1, 0, ["城厢镇", 73769])
        sheet.write_string(1048575, 16383, "x")

    report = read_in_a_child(path)

    code, row, column, message = report["outcome"]
    assert (code, row, column) == ("sheet_extent", 1048576, "XFD")
    assert "XFD1048576" in message and "请删除" in message
    assert report["peak_kib"] < 256 * 1024  # the sheet rectangle alone would be 512 GiB


def long_sheet(path: Path, stray: tuple[int, int] | None = None) -> Path:
    """30,000 rows (a few chunks of the sheet's XML), optionally one stray cell."""
    with xlsxwriter.Workbook(path) as workbook:
        sheet = workbook.add_worksheet()
        sheet.write_row(0, 0, ["单位名称", "人口数", "身份证号"])
        for row in range(1, 30_000):
            sheet.write_row(row, 0, [f"第{row}村", row, ""])
        if stray is not None:
            sheet.write_string(*stray, "x")
    return path


def with_cell_in_row_2(path: Path, reference: str) -> Path:
    """The workbook with one more cell at the end of row 2, its reference written by hand
    (xlsxwriter takes minutes to write a 30,000-row sheet as wide as XFD)."""
    changed = path.with_name(f"changed-{path.name}")
    cell = f'<c r="{reference}"><v>1</v></c></row><row r="3"'.encode()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(changed, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'</row><row r="3"', cell, 1)
            target.writestr(item, data)
    return changed


def test_a_stray_cell_in_an_early_row_of_a_long_sheet_is_found(tmp_path: Path) -> None:
    report = read_in_a_child(with_cell_in_row_2(long_sheet(tmp_path / "early.xlsx"), "XFD2"))

    code, row, column, message = report["outcome"]
    assert (code, row, column) == ("sheet_extent", 30000, "XFD")
    assert "XFD2" in message and "第30000行、第XFD列" in message


def test_a_cell_claiming_a_far_row_inside_an_early_row_is_found(tmp_path: Path) -> None:
    # Row 2 holds a cell whose reference says row 1048576: python-calamine believes the cell.
    made = with_cell_in_row_2(long_sheet(tmp_path / "made.xlsx"), "XFD1048576")

    code, row, column, _ = read_in_a_child(made)["outcome"]
    assert (code, row, column) == ("sheet_extent", 1048576, "XFD")


def test_a_long_sheet_with_a_note_beside_it_is_read(tmp_path: Path) -> None:
    table = read_table(long_sheet(tmp_path / "note.xlsx", stray=(4, 25)), COLUMNS)

    assert sum(1 for _ in table.rows()) == 29_999


def test_formatting_far_from_the_data_is_not_content(tmp_path: Path) -> None:
    path = tmp_path / "formatted.xlsx"
    with xlsxwriter.Workbook(path) as workbook:
        bold = workbook.add_format({"bold": True})
        sheet = workbook.add_worksheet()
        sheet.write_row(0, 0, ["单位名称", "人口数", "身份证号"])
        sheet.write_row(1, 0, ["城厢镇", 73769, ""])
        sheet.write_blank(1048575, 16383, None, bold)
        sheet.set_row(1048000, 30)

    assert list(read_table(path, COLUMNS).rows()) == [(2, ("73769", "城厢镇", ""))]


def test_a_wide_sheet_within_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "wide.xlsx"
    with xlsxwriter.Workbook(path) as workbook:
        sheet = workbook.add_worksheet()
        sheet.write_row(0, 0, ["单位名称", "人口数", "身份证号"])
        sheet.write_row(1, 0, ["城厢镇", 73769, ""])
        sheet.write_string(999, 999, "备注")  # 1,000 x 1,000 cells: read as it is

    assert list(read_table(path, COLUMNS).rows()) == [
        (2, ("73769", "城厢镇", "")),
        (1000, ("", "", "")),
    ]


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_a_nul_character_is_refused_naming_row_and_column(tmp_path: Path, suffix: str) -> None:
    rows = [
        ["单位名称", "人口数", "身份证号"],
        ["城厢镇", "73769", ""],
        ["太平\x00镇", "40075", ""],
    ]
    path = tmp_path / f"nul.{suffix}"
    if suffix == "csv":
        with path.open("w", encoding="utf-8", newline="") as stream:
            csv.writer(stream).writerows(rows)
    else:
        with xlsxwriter.Workbook(path) as workbook:
            sheet = workbook.add_worksheet()
            for number, row in enumerate(rows):
                sheet.write_row(number, 0, row)
    table = read_table(path, COLUMNS)

    with pytest.raises(TableError) as refused:
        list(table.rows())

    assert (refused.value.code, refused.value.row, refused.value.column) == (
        "control_character",
        3,
        "单位名称",
    )


@pytest.mark.parametrize(
    ("text", "half"),
    [
        ("２５０．００", "250.00"),
        ("ＡＢ－１２", "AB-12"),
        ("　１", " 1"),
        ("①²", "①²"),
        ("张三", "张三"),
    ],
)
def test_full_width_forms_become_ascii_and_nothing_else_changes(text: str, half: str) -> None:
    assert tabular.halfwidth(text) == half


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("@SUM(9)", "'@SUM(9)"),
        ('=HYPERLINK("http://x.example","点击")', '\'=HYPERLINK("http://x.example","点击")'),
        ("+86 139", "'+86 139"),
        ("-250", "'-250"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        (-25000, -25000),
        ("张三", "张三"),
        ("6228480010000000011", "6228480010000000011"),
    ],
)
def test_csv_cells_never_start_a_formula(value: object, written: object) -> None:
    assert tabular.csv_cell(value) == written


def test_write_csv_keeps_numbers_numbers(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    with path.open("w", encoding="utf-8", newline="") as stream:
        tabular.write_csv(stream, [["姓名", "金额（分）"], ["=1+1", -25000], ["@SUM(9)", 18000]])

    assert path.read_text(encoding="utf-8").splitlines() == [
        "姓名,金额（分）",
        "'=1+1,-25000",
        "'@SUM(9),18000",
    ]


def test_an_output_file_is_checked_and_never_half_written(tmp_path: Path) -> None:
    with pytest.raises(tabular.OutputError) as missing:
        tabular.check_output(tmp_path / "no-such-folder" / "out.xlsx", force=False)
    assert missing.value.code == "out_dir" and "文件夹不存在" in missing.value.message
    with pytest.raises(tabular.OutputError) as folder:
        tabular.check_output(tmp_path, force=True)
    assert folder.value.code == "out_is_dir"
    target = tmp_path / "out.csv"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(tabular.OutputError) as exists:
        tabular.check_output(target, force=False)
    assert exists.value.code == "out_exists" and "--force" in exists.value.message

    with pytest.raises(RuntimeError), tabular.replacing(target, force=True) as temporary:
        temporary.write_text("half", encoding="utf-8")
        raise RuntimeError("the writer failed")
    assert target.read_text(encoding="utf-8") == "old"
    with tabular.replacing(target, force=True) as temporary:
        temporary.write_text("new", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
