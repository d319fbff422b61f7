"""The Chinese font the PDF documents and their charts are drawn with.

Named by its file, never left to fontconfig's guess: Debian's WenQuanYi Micro Hei (package
``fonts-wqy-microhei``, which ``scripts/install`` brings), a TrueType collection whose subsets
WeasyPrint embeds fast (Noto CJK's OpenType subsets are about four times slower).
"""

from pathlib import Path

from canbao.errors import InputError

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
# The family the documents' style sheet declares for that file.
CJK_FAMILY = "CanbaoCJK"


def cjk_font() -> Path:
    """The font file, or an error telling how to install it."""
    if not CJK_FONT.is_file():
        raise InputError(
            "font_missing",
            f"找不到生成 PDF 所需的中文字体文件 {CJK_FONT}：请以 root 运行 scripts/install，"
            "或执行 apt-get install fonts-wqy-microhei",
        )
    return CJK_FONT
