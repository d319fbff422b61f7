"""Reading the spreadsheets users send: .xlsx and .xls through python-calamine, CSV in UTF-8 (with
or without BOM) or GB18030, detected and never guessed; a CSV in UTF-16 or Big5 is refused,
naming its encoding.

Callers name the columns they need with the header texts bureaus use; the reader finds the header
row under any title rows and yields each data row as stripped strings in the callers' order.
CSV rows are produced lazily, so a million-row file is never held in memory as a list. A workbook
sheet is loaded whole by python-calamine, as a dense rectangle from A1 to its farthest cell: the
sheet's real extent is measured first, and a sheet whose rectangle would be far larger than any
table (one stray cell at XFD1048576 makes it 17 billion cells) is refused, naming that cell.

Writing: the CSV files Canbao writes go through ``write_csv`` (text that a spreadsheet would run
as a formula is neutralised), and every output file through ``check_output`` and ``replacing``
(no missing folder, no silent overwrite, never a half-written file).
"""

import csv
import datetime
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path, PurePosixPath
from typing import IO, Any, TypeAlias
from xml.etree import ElementTree

import python_calamine

from canbao import csv_encoding
from canbao.errors import InputError

HEADER_SCAN_ROWS = 20
SUPPORTED_SUFFIXES = (".csv", ".xlsx", ".xls")
_CHUNK_BYTES = 1 << 20
# python-calamine holds a sheet as a dense rectangle of ~32-byte cells: 2**24 cells (every row
# Excel allows, 16 columns wide) is ~512 MiB. A .xls sheet (65,536 x 256) never exceeds it.
SHEET_CELLS_MAX = 1 << 24
# Excel keeps 15 significant digits: a number this large is an ID or account number typed into a
# numeric cell, whose last digits are already lost.
_EXCEL_DIGITS_LIMIT = 1e15

CellValue: TypeAlias = (
    int
    | float
    | str
    | bool
    | datetime.time
    | datetime.date
    | datetime.datetime
    | datetime.timedelta
)
RawRows: TypeAlias = Generator[tuple[str, ...], None, None]


class TableError(Exception):
    """A file that cannot be read as the table asked for; `message` is for the user."""

    def __init__(
        self,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        code: str = "table",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.row = row
        self.column = column
        self.code = code


@dataclass(frozen=True)
class Column:
    key: str
    aliases: tuple[str, ...]
    required: bool = True


@dataclass
class Table:
    path: Path
    encoding: str | None
    header_row: int
    keys: tuple[str, ...]
    headers: dict[str, str]
    _open: Callable[[], RawRows] = field(repr=False)
    _positions: tuple[int, ...] = field(repr=False)
    # False when the file is known to hold no NUL character (a CSV whose bytes were scanned).
    _may_hold_nul: bool = field(default=True, repr=False)

    def column_names(self, columns: Sequence[Column]) -> dict[str, str]:
        """Each column's header as the file writes it, or its first alias when the file has no
        such column: how a message names a column."""
        return {c.key: self.headers.get(c.key, c.aliases[0]) for c in columns}

    def rows(self) -> Generator[tuple[int, tuple[str, ...]], None, None]:
        """(row number in the file, values in the order of `keys`) for each data row that is not
        entirely empty. Each call reads the file again from the start.

        A value holding a NUL character (which no database column can store, and no person
        types) raises TableError naming its row and column."""
        positions = self._positions
        width = max(positions, default=-1) + 1
        # One C call per row when the row is wide enough (nearly always); padding otherwise.
        pick = itemgetter(*positions) if len(positions) > 1 else None
        header_row = self.header_row
        scan = self._may_hold_nul
        with closing(self._open()) as raw:
            for number, cells in enumerate(raw, start=1):
                if number > header_row and any(cells):
                    if pick is not None and len(cells) >= width:
                        values: tuple[str, ...] = pick(cells)
                    else:
                        values = tuple(cells[i] if i < len(cells) else "" for i in positions)
                    if scan and "\x00" in "".join(values):
                        self._refuse_nul(number, values)
                    yield number, values

    def _refuse_nul(self, number: int, values: tuple[str, ...]) -> None:
        key = next(k for k, v in zip(self.keys, values, strict=True) if "\x00" in v)
        raise TableError(
            f"文件 {self.path.name} 第{number}行【{self.headers[key]}】含有 NUL 字符（\\x00），"
            "无法保存：文件可能已损坏，或是 UTF-16 编码的文本（请另存为 UTF-8 或 GB18030 的 CSV）",
            row=number,
            column=self.headers[key],
            code="control_character",
        )

    def picker(self, columns: Sequence[Column]) -> Callable[[tuple[str, ...]], Sequence[str]]:
        """Values of a row from `rows()` in the order of `columns`; "" for a column the file
        lacks."""
        positions = [self.keys.index(c.key) if c.key in self.keys else -1 for c in columns]
        if positions == list(range(len(columns))):
            return _unchanged
        pick = itemgetter(*positions)

        def get(values: tuple[str, ...]) -> Sequence[str]:
            # Position -1 picks the "" appended for the columns the file lacks.
            picked: tuple[str, ...] = pick((*values, ""))
            return picked

        return get


def _unchanged(values: tuple[str, ...]) -> Sequence[str]:
    return values


def normalize_header(text: str) -> str:
    """Header text as compared: NFKC (full-width brackets and colons become ASCII), no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def halfwidth(text: str) -> str:
    """Full-width ASCII forms (０-９, Ａ-Ｚ, ．, －, ／, ￥ …) and the ideographic space as
    their ASCII counterparts; every other character unchanged. Unlike NFKC, circled (①) and
    superscript (¹) digits stay what they are: not digits of a number."""
    return text.translate(_HALFWIDTH)


_HALFWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, 0xFFE5: 0xA5}


def detect_encoding(data: bytes) -> str:
    """'utf-8-sig' (with BOM), 'utf-8' or 'gb18030': the first that decodes all of `data`."""
    return _detect([data], "数据")[0]


def _detect(chunks: Iterable[bytes], what: str) -> tuple[str, bool]:
    try:
        return csv_encoding.detect(chunks, what)
    except csv_encoding.EncodingError as error:
        raise TableError(str(error)) from None


def read_table(path: Path, columns: Sequence[Column], *, sheet: str | None = None) -> Table:
    """Open `path` and find the header row holding `columns`.

    `sheet` picks a worksheet of a workbook by name (default: the first); it does not apply to CSV.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise TableError(
            f"不支持的文件类型“{path.suffix or '无扩展名'}”（{path.name}）："
            "请提供 .csv、.xlsx 或 .xls 文件"
        )
    encoding: str | None = None
    may_hold_nul = True
    if suffix == ".csv":
        encoding, may_hold_nul = _detect(_file_chunks(path), f"文件 {path.name} ")
        source = _csv_source(path, encoding)
    else:
        source = _workbook_source(path, sheet)
    with closing(source()) as raw:
        header_row, found = _find_header(path, raw, columns)
    present = [c for c in columns if c.key in found]
    return Table(
        path=path,
        encoding=encoding,
        header_row=header_row,
        keys=tuple(c.key for c in present),
        headers={c.key: found[c.key][1] for c in present},
        _open=source,
        _positions=tuple(found[c.key][0] for c in present),
        _may_hold_nul=may_hold_nul,
    )


def cell_text(value: CellValue) -> str:
    """A spreadsheet cell as the text the user sees in Excel."""
    match value:
        case str():
            return value.strip()
        case bool():
            return "TRUE" if value else "FALSE"
        case int():
            return str(value)
        case float() if abs(value) >= _EXCEL_DIGITS_LIMIT:
            mantissa, exponent = f"{value:.14E}".split("E")
            return f"{mantissa.rstrip('0').rstrip('.')}E{exponent}"
        case float() if value.is_integer():
            return str(int(value))
        case float():
            return f"{value:.15g}"
        case datetime.datetime():
            return value.date().isoformat()
        case datetime.date() | datetime.time():
            return value.isoformat()
        case datetime.timedelta():
            return str(value)


def _file_chunks(path: Path) -> Generator[bytes, None, None]:
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(_CHUNK_BYTES):
                yield chunk
    except OSError as error:
        raise TableError(f"无法打开文件 {path.name}：{error.strerror or error}") from error


def _csv_source(path: Path, encoding: str) -> Callable[[], RawRows]:
    def rows() -> RawRows:
        with path.open(encoding=encoding, newline="") as stream:
            try:
                strip = str.strip
                for record in csv.reader(stream):
                    yield tuple(map(strip, record))
            except csv.Error as error:
                raise TableError(f"文件 {path.name} 不是有效的 CSV：{error}") from error

    return rows


def _workbook_source(path: Path, sheet: str | None) -> Callable[[], RawRows]:
    try:
        with python_calamine.CalamineWorkbook.from_path(path) as workbook:
            names = workbook.sheet_names
            if sheet is not None and sheet not in names:
                raise TableError(
                    f"文件 {path.name} 中没有名为“{sheet}”的工作表（现有：{'、'.join(names)}）"
                )
            name = names[0] if sheet is None else sheet
            if path.suffix.lower() == ".xlsx":
                _check_extent(path, name)
            worksheet = workbook.get_sheet_by_name(name)
    except (OSError, python_calamine.CalamineError) as error:
        raise TableError(f"无法读取 Excel 文件 {path.name}：{error}") from error

    # iter_rows pads the empty rows above the data, so its i-th row is row i+1 of the sheet.
    def rows() -> RawRows:
        for cells in worksheet.iter_rows():
            yield tuple(cell_text(cell) for cell in cells)

    return rows


# The reference of a cell with content in a sheet's XML, <c r="XFD1048576" t="s"><v>…: a
# self-closing <c r="…" s="1"/> is formatting only, which python-calamine skips (as it skips rows).
_CELL = rb' r="([A-Z]{1,3})([0-9]{1,9})"[^>/]*>'
_ROW_OF_CELL = re.compile(rb' r="[A-Z]{1,3}([0-9]{1,9})"[^>/]*>')
_COLUMN_OF_CELL = re.compile(rb' r="([A-Z]{1,3})[0-9]{1,9}"[^>/]*>')
_DIGITS, _LETTERS = "0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# The last rows of a chunk, where its largest row and (usually) its widest column are.
_TAIL_BYTES = 4096
_PACKAGE_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = _LETTERS[rest] + letters
    return letters


def _above(value: str, alphabet: str) -> str:
    """A regular expression for the strings over `alphabet` (in its order, no leading
    `alphabet[0]`) that are greater than `value` read as a number: longer ones, or as long and
    greater at the first character that differs."""
    any_one = f"[{alphabet[0]}-{alphabet[-1]}]"
    greater = [f"{any_one}{{{len(value) + 1},}}"]
    for at, char in enumerate(value):
        if char != alphabet[-1]:
            after = alphabet[alphabet.index(char) + 1]
            rest = len(value) - at - 1
            greater.append(f"{value[:at]}[{after}-{alphabet[-1]}]{any_one}{{{rest}}}")
    return "|".join(greater)


def _sheet_xml(archive: zipfile.ZipFile, name: str) -> str | None:
    """The archive member holding the worksheet `name`: workbook.xml names it, its rels file
    says where it is. None when the package is laid out otherwise (calamine then decides)."""

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    try:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError):
        return None
    relation = next(
        (
            value
            for element in workbook.iter()
            if local(element.tag) == "sheet" and element.get("name") == name
            for key, value in element.attrib.items()
            if local(key) == "id"
        ),
        None,
    )
    target = next(
        (r.get("Target", "") for r in relations.iter(_PACKAGE_REL) if r.get("Id") == relation),
        "",
    )
    if not target:
        return None
    member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return str(PurePosixPath(os.path.normpath(member)))


def _check_extent(path: Path, sheet: str) -> None:
    """Refuse a sheet whose dense rectangle (A1 to its farthest row and column with content)
    exceeds SHEET_CELLS_MAX, before python-calamine tries to allocate it."""
    try:
        with zipfile.ZipFile(path) as archive:
            member = _sheet_xml(archive, sheet)
            if member is None or member not in archive.namelist():
                return
            rows, columns = _extent(archive, member)
            if rows * columns <= SHEET_CELLS_MAX:
                return
            far = _farthest_cells(archive, member, rows, columns)
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as error:
        raise TableError(f"无法读取 Excel 文件 {path.name}：{error}") from error
    letters = _column_letters(columns)
    raise TableError(
        f"文件 {path.name} 的工作表“{sheet}”里，{'、'.join(far)} 单元格有内容，使表格延伸到"
        f"第{rows}行、第{letters}列，读取时要占用{rows * columns:,}个单元格"
        f"（至多{SHEET_CELLS_MAX:,}个）。这多半是远离数据的误填或残留内容："
        "请删除这些单元格（或只把数据复制到新的工作表）后重新导入",
        row=rows,
        column=letters,
        code="sheet_extent",
    )


def _xml_chunks(archive: zipfile.ZipFile, member: str) -> Iterator[bytes]:
    """The member's bytes in chunks that each end before a tag, so no reference is split."""
    with archive.open(member) as stream:
        tail = b""
        while chunk := stream.read(_CHUNK_BYTES):
            data = tail + chunk
            cut = data.rfind(b"<")
            if cut <= 0:
                tail = data
                continue
            yield data[:cut]
            tail = data[cut:]
        yield tail


def _extent(archive: zipfile.ZipFile, member: str) -> tuple[int, int]:
    """(largest row number, largest column number) of a cell with content in the sheet, read
    from its XML in one streaming pass. Rows come in order, so a chunk's largest row and widest
    column are taken from its last rows; one search that finds nothing beyond them confirms it
    (collecting every reference of a chunk is left for a chunk where it does find some)."""
    rows, widest = 0, ""
    for data in _xml_chunks(archive, member):
        tail = data[-_TAIL_BYTES:]
        rows = max([rows, *map(int, _ROW_OF_CELL.findall(tail))])
        widest = max([widest, *(c.decode() for c in _COLUMN_OF_CELL.findall(tail))], key=_width)
        beyond = rb' r="(?:(?:%s)[0-9]{1,9}|[A-Z]{1,3}(?:%s))"[^>/]*>' % (
            _above(widest, _LETTERS).encode(),
            _above(str(rows), _DIGITS).encode(),
        )
        if re.search(beyond, data):
            rows = max([rows, *map(int, _ROW_OF_CELL.findall(data))])
            letters = (c.decode() for c in _COLUMN_OF_CELL.findall(data))
            widest = max([widest, *letters], key=_width)
    return rows, _column_number(widest)


def _width(letters: str) -> tuple[int, str]:
    return len(letters), letters


def _farthest_cells(archive: zipfile.ZipFile, member: str, rows: int, columns: int) -> list[str]:
    """The references of a cell in the last row and of a cell in the last column (one, when a
    single cell is both), for the user to find and delete."""
    in_last_row = in_last_column = ""
    cell = re.compile(_CELL)
    for data in _xml_chunks(archive, member):
        for letters, digits in cell.findall(data):
            if not in_last_row and int(digits) == rows:
                in_last_row = f"{letters.decode()}{int(digits)}"
            if not in_last_column and _column_number(letters.decode()) == columns:
                in_last_column = f"{letters.decode()}{int(digits)}"
        if in_last_row and in_last_column:
            break
    return list(dict.fromkeys(c for c in (in_last_column, in_last_row) if c))


def _find_header(
    path: Path, raw: Iterable[tuple[str, ...]], columns: Sequence[Column]
) -> tuple[int, dict[str, tuple[int, str]]]:
    """The first of the first HEADER_SCAN_ROWS rows that holds every required column: its row
    number and, per column found, its position and header text."""
    by_alias: dict[str, list[Column]] = {}
    for column in columns:
        for alias in dict.fromkeys(normalize_header(a) for a in column.aliases):
            by_alias.setdefault(alias, []).append(column)
    required = {c.key for c in columns if c.required}
    wanted = [c for c in columns if c.required] or list(columns)
    best: tuple[int, tuple[str, ...], set[str]] | None = None
    for number, cells in enumerate(raw, start=1):
        if number > HEADER_SCAN_ROWS:
            break
        matched = {c.key for cell in cells for c in by_alias.get(normalize_header(cell), [])}
        if matched and required <= matched:
            return number, _locate(path, number, cells, by_alias)
        if any(cells) and (best is None or len(required & matched) > len(required & best[2])):
            best = (number, cells, matched)
    missing = [c for c in wanted if best is None or c.key not in best[2]]
    if best is None:
        seen = f"文件前{HEADER_SCAN_ROWS}行都是空的"
    else:
        headers = "、".join(cell for cell in best[1] if cell)
        seen = f"第{best[0]}行的表头为：{headers}"
    raise TableError(
        f"文件 {path.name} 中找不到所需的列：{'；'.join(_describe(c) for c in missing)}。{seen}",
        row=None if best is None else best[0],
        column=missing[0].aliases[0],
    )


def _locate(
    path: Path, number: int, cells: tuple[str, ...], by_alias: dict[str, list[Column]]
) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    for position, cell in enumerate(cells):
        matches = by_alias.get(normalize_header(cell), [])
        if len(matches) > 1:
            raise TableError(
                f"文件 {path.name} 第{number}行：表头“{cell}”同时对应多个列："
                + "、".join(_describe(c) for c in matches),
                row=number,
                column=cell,
            )
        if not matches:
            continue
        column = matches[0]
        if column.key in found:
            raise TableError(
                f"文件 {path.name} 第{number}行：列{_describe(column)}出现了两次"
                f"（“{found[column.key][1]}”和“{cell}”）",
                row=number,
                column=cell,
            )
        found[column.key] = (position, cell)
    return found


def _describe(column: Column) -> str:
    first, *others = column.aliases
    return f"“{first}”" + (f"（也可写作 {'、'.join(others)}）" if others else "")


# --- the files Canbao writes ---------------------------------------------------------------------

# A text cell starting with one of these is run as a formula by Excel, WPS and LibreOffice when
# they open a CSV file (=HYPERLINK(...), @SUM(...), a tab or carriage return before either).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value as written into a CSV file: text that would start a formula gets a leading
    apostrophe and is shown as written; numbers (negative ones too) stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return f"'{value}"
    return value


def write_csv(stream: IO[str], rows: Iterable[Sequence[Any]]) -> None:
    """Every CSV file Canbao writes is written here, each cell through ``csv_cell``."""
    csv.writer(stream).writerows([csv_cell(value) for value in row] for row in rows)


class OutputError(InputError):
    """An output file that cannot or must not be written; nothing was written."""


def check_output(path: Path, *, force: bool) -> None:
    """Refuse, before any work is done, an output path in a folder that does not exist, a path
    that is a folder, and an existing file unless `force`."""
    if path.is_dir():
        raise OutputError("out_is_dir", f"输出路径 {path} 是一个文件夹，请给出文件名")
    if not path.parent.is_dir():
        raise OutputError(
            "out_dir", f"文件夹不存在：{path.parent}（请先建好文件夹，或换一个输出路径）"
        )
    if path.exists() and not force:
        raise OutputError("out_exists", f"文件已存在，不覆盖：{path}（确需覆盖请加 --force）")


@contextmanager
def replacing(path: Path, *, force: bool) -> Iterator[Path]:
    """A temporary file beside `path` to write (same suffix); it becomes `path` when the block
    ends without error and is removed otherwise, so `path` is never half-written."""
    check_output(path, force=force)
    try:
        handle, name = tempfile.mkstemp(
            prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent
        )
    except OSError as error:
        raise OutputError("out_denied", f"无法在 {path.parent} 写文件：{error.strerror}") from error
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        check_output(path, force=force)
        temporary.replace(path)
    except OSError as error:
        raise OutputError("out_denied", f"无法写入 {path}：{error.strerror or error}") from error
    finally:
        temporary.unlink(missing_ok=True)
