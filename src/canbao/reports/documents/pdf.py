"""HTML templates (Django's template language, Chinese) rendered to PDF by WeasyPrint.

The documents' templates live in ``canbao/reports/templates/reports/documents/`` and are read by
an engine of their own, whose built-in filters are ``formats``' (so they need no ``{% load %}``
and no template tags app). Every template extends ``base.html``, which declares the Chinese font
by its file. WeasyPrint may read local files and data: URLs only (the font, an embedded chart):
no network, no remote font.
"""

from pathlib import Path
from typing import Any

from django.template import Context, Engine

from canbao.reports.documents.fonts import CJK_FAMILY, cjk_font

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

_ENGINE = Engine(
    dirs=[str(TEMPLATES)],
    builtins=["canbao.reports.documents.formats"],
    autoescape=True,
)


def render_html(template: str, context: dict[str, Any]) -> str:
    """The document's HTML: `template` (under reports/documents/) with `context`."""
    font = cjk_font()
    page = _ENGINE.get_template(f"reports/documents/{template}")
    return page.render(Context({**context, "font_url": font.as_uri(), "font_family": CJK_FAMILY}))


def write_pdf(template: str, context: dict[str, Any], path: Path) -> None:
    """Render `template` with `context` and write it as a PDF to `path`."""
    # WeasyPrint takes a second to import: only the commands that write a PDF pay for it.
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

    html = render_html(template, context)
    fetcher = URLFetcher(allowed_protocols={"file", "data"})
    HTML(string=html, url_fetcher=fetcher).write_pdf(str(path), font_config=FontConfiguration())
