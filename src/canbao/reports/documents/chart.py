"""The bulletin's chart for its PDF: each unit's coverage rate as a horizontal bar against the
target line (and the accountability line, where the policy draws one lower), drawn by
matplotlib as SVG with the Chinese font of ``fonts`` turned into outlines, so the PDF needs no
second font. (The workbook draws the same chart with xlsxwriter's own; see ``bulletin_xlsx``.)
"""

import base64
import io
from collections.abc import Sequence
from decimal import Decimal

from canbao.reports.documents.fonts import cjk_font
from canbao.reports.documents.formats import rate_text

# Bar colours: at or above the target, below it, below the accountability line.
_MET, _SHORT, _BELOW_LINE = "#2e7d32", "#f0a030", "#c62828"


def rate_chart(
    names: Sequence[str],
    rates: Sequence[Decimal | None],
    *,
    target: Decimal,
    line: Decimal,
) -> str:
    """The chart as a data: URL of an SVG image, units top to bottom in the order given."""
    # matplotlib takes a second to import: only the commands that draw a chart pay for it.
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    font = FontProperties(fname=str(cjk_font()), size=9)
    values = [float(rate) if rate is not None else 0.0 for rate in rates]
    # Taller with each unit, but never past the printed page (its bars then get thinner).
    height = min(1.2 + 0.28 * max(len(names), 3), 9.5)
    figure = Figure(figsize=(7.0, height))
    axes = figure.subplots()
    positions = range(len(names))
    colours = [
        _MET if value >= target else _BELOW_LINE if value < line else _SHORT
        for value in (rate if rate is not None else Decimal(0) for rate in rates)
    ]
    axes.barh(positions, values, color=colours, height=0.6)
    axes.set_yticks(list(positions), list(names), fontproperties=font)
    axes.invert_yaxis()
    axes.set_xlim(0, 105)
    axes.set_xlabel("参保率（%，对人口基数）", fontproperties=font)
    for position, rate, value in zip(positions, rates, values, strict=True):
        axes.text(value + 0.8, position, rate_text(rate), va="center", fontproperties=font)
    axes.axvline(
        float(target),
        color="#1565c0",
        linestyle="--",
        linewidth=1.2,
        label=f"目标 {rate_text(target)}",
    )
    if line < target:
        axes.axvline(
            float(line),
            color=_BELOW_LINE,
            linestyle=":",
            linewidth=1.2,
            label=f"问责线 {rate_text(line)}",
        )
    axes.legend(prop=font, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2, frameon=False)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.tight_layout()
    svg = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "canbao"}):
        figure.savefig(svg, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(svg.getvalue()).decode("ascii")
