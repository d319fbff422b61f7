"""The encoding of a CSV file: UTF-8 (with or without BOM) or GB18030, detected in one pass over
its bytes and never guessed; UTF-16 and Big5, which would otherwise be read as nonsense, are
named and refused."""

import codecs
from collections.abc import Iterable


class EncodingError(ValueError):
    """The file is in no encoding Canbao reads; the message (for the user) says which it is."""


def detect(chunks: Iterable[bytes], what: str) -> tuple[str, bool]:
    """Decode all the bytes strictly as UTF-8 and as GB18030 in one pass; UTF-8 wins if both do.
    Also whether any byte is NUL (in both encodings, the byte 0 is only ever U+0000).

    Two encodings that are neither are named rather than read as nonsense: UTF-16 (what Excel
    writes as "Unicode text"), which decodes as GB18030 with a NUL in every other byte, and Big5
    (traditional Chinese), whose every byte pair is also a GB18030 character."""
    decoders = {name: codecs.getincrementaldecoder(name)("strict") for name in ("utf-8", "gb18030")}
    failed_at: dict[str, int] = {}
    head = b""  # the first _SAMPLE_BYTES
    offset = 0
    nul = False
    for chunk in chunks:
        head += chunk[: _SAMPLE_BYTES - len(head)]
        nul = nul or b"\x00" in chunk
        for name, decoder in decoders.items():
            if name not in failed_at and (at := _feed(decoder, chunk, offset)) is not None:
                failed_at[name] = at
        offset += len(chunk)
        if len(failed_at) == len(decoders):
            break
    for name, decoder in decoders.items():
        if name not in failed_at and (at := _feed(decoder, b"", offset, final=True)) is not None:
            failed_at[name] = at
    _refuse_utf16(head, what)
    if "utf-8" not in failed_at:
        return ("utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"), nul
    if "gb18030" not in failed_at:
        _refuse_big5(head, what)
        return "gb18030", nul
    raise EncodingError(
        f"无法识别{what}的编码：按 UTF-8 解码在字节偏移 {failed_at['utf-8']} 处出错，"
        f"按 GB18030 解码在字节偏移 {failed_at['gb18030']} 处出错。"
        f"{_SAVE_AS}"
    )


_SAVE_AS = "请另存为 UTF-8 或 GB18030（GBK）编码的 CSV 文件"
# The first bytes of a file, which tell UTF-16 and Big5.
_SAMPLE_BYTES = 1 << 16
# A text with NUL in at least this share of its first bytes is UTF-16 (or UTF-32).
_UTF16_NUL_SHARE = 0.25
# The characters the Big5 test needs to judge, and the share of them that must be common
# Chinese for GB18030 to be believed.
_BIG5_SAMPLE_CHARS = 8
_COMMON_CHINESE_SHARE = 0.5


def _refuse_utf16(head: bytes, what: str) -> None:
    bom = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if bom or (head and head.count(0) >= len(head) * _UTF16_NUL_SHARE):
        raise EncodingError(
            f"{what}是 UTF-16 编码（Excel 另存为“Unicode 文本”时的编码），"
            f"不能按表格读取：{_SAVE_AS}"
        )


def _common_chinese(char: str) -> bool:
    """A character of ordinary simplified Chinese text: CJK punctuation and full-width forms, or
    a Chinese character of GB 2312 (the 6,763 in everyday use)."""
    if "\u3000" <= char <= "\u303f" or "\uff00" <= char <= "\uffef":
        return True
    if not "\u4e00" <= char <= "\u9fff":
        return False
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _refuse_big5(head: bytes, what: str) -> None:
    """Refuse a file whose GB18030 reading is mostly not common Chinese (but Japanese kana,
    Greek letters, box drawing, private-use and rare characters) and that reads as Big5."""
    text = codecs.getincrementaldecoder("gb18030")("strict").decode(head, False)
    wide = [char for char in text if ord(char) > 0x7F]
    if len(wide) < _BIG5_SAMPLE_CHARS:
        return
    if sum(map(_common_chinese, wide)) >= len(wide) * _COMMON_CHINESE_SHARE:
        return
    try:
        big5 = codecs.getincrementaldecoder("cp950")("strict").decode(head, False)
    except UnicodeDecodeError:
        return
    line = big5.splitlines()[0][:30] if big5.strip() else ""
    raise EncodingError(
        f"{what}像是繁体中文 Big5 编码（按 Big5 读，第一行是“{line}”），"
        f"按 GB18030 读出来是乱码：{_SAVE_AS}"
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
