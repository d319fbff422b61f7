"""Reading the spreadsheets users send: .xlsx and .xls through python-calamine, CSV in UTF-8 (with
or without BOM) or GB18030, detected and never guessed.

Callers name the columns they need with the header texts bureaus use; the reader finds the header
row under any title rows and yields each data row as stripped strings in the callers' order.
CSV rows are produced lazily, so a million-row file is never held in memory as a list.
"""

import codecs
import csv
import datetime
import re
import unicodedata
from collections.abc import Callable, Generator, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import TypeAlias

import python_calamine

HEADER_SCAN_ROWS = 20
SUPPORTED_SUFFIXES = (".csv", ".xlsx", ".xls")
_CHUNK_BYTES = 1 << 20
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

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.row = row
        self.column = column


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

    def rows(self) -> Generator[tuple[int, tuple[str, ...]], None, None]:
        """(row number in the file, values in the order of `keys`) for each data row that is not
        entirely empty. Each call reads the file again from the start."""
        positions = self._positions
        width = max(positions, default=-1) + 1
        # One C call per row when the row is wide enough (nearly always); padding otherwise.
        pick = itemgetter(*positions) if len(positions) > 1 else None
        header_row = self.header_row
        with closing(self._open()) as raw:
            for number, cells in enumerate(raw, start=1):
                if number > header_row and any(cells):
                    if pick is not None and len(cells) >= width:
                        yield number, pick(cells)
                    else:
                        yield number, tuple(cells[i] if i < len(cells) else "" for i in positions)

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


def detect_encoding(data: bytes) -> str:
    """'utf-8-sig' (with BOM), 'utf-8' or 'gb18030': the first that decodes all of `data`."""
    return _detect([data], "数据")


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
    if suffix == ".csv":
        encoding = _detect(_file_chunks(path), f"文件 {path.name} ")
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


def _detect(chunks: Iterable[bytes], what: str) -> str:
    """Decode all the bytes strictly as UTF-8 and as GB18030 in one pass; UTF-8 wins if both do."""
    decoders = {name: codecs.getincrementaldecoder(name)("strict") for name in ("utf-8", "gb18030")}
    failed_at: dict[str, int] = {}
    head = b""
    offset = 0
    for chunk in chunks:
        head = (head + chunk[:3])[:3]
        for name, decoder in decoders.items():
            if name not in failed_at and (at := _feed(decoder, chunk, offset)) is not None:
                failed_at[name] = at
        offset += len(chunk)
        if len(failed_at) == len(decoders):
            break
    for name, decoder in decoders.items():
        if name not in failed_at and (at := _feed(decoder, b"", offset, final=True)) is not None:
            failed_at[name] = at
    if "utf-8" not in failed_at:
        return "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    if "gb18030" not in failed_at:
        return "gb18030"
    raise TableError(
        f"无法识别{what}的编码：按 UTF-8 解码在字节偏移 {failed_at['utf-8']} 处出错，"
        f"按 GB18030 解码在字节偏移 {failed_at['gb18030']} 处出错。"
        "请另存为 UTF-8 或 GB18030（GBK）编码的 CSV 文件"
    )


def _feed(
    decoder: codecs.IncrementalDecoder, chunk: bytes, offset: int, *, final: bool = False
) -> int | None:
    """Decode the next chunk (starting at byte `offset`); the offset of a bad byte, if any."""
    pending = len(decoder.getstate()[0])
    try:
        decoder.decode(chunk, final)
    except UnicodeDecodeError as error:
        return offset - pending + error.start
    return None


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
            if sheet is None:
                worksheet = workbook.get_sheet_by_index(0)
            elif sheet in workbook.sheet_names:
                worksheet = workbook.get_sheet_by_name(sheet)
            else:
                names = "、".join(workbook.sheet_names)
                raise TableError(f"文件 {path.name} 中没有名为“{sheet}”的工作表（现有：{names}）")
    except (OSError, python_calamine.CalamineError) as error:
        raise TableError(f"无法读取 Excel 文件 {path.name}：{error}") from error

    # iter_rows pads the empty rows above the data, so its i-th row is row i+1 of the sheet.
    def rows() -> RawRows:
        for cells in worksheet.iter_rows():
            yield tuple(cell_text(cell) for cell in cells)

    return rows


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
