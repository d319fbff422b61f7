"""The documents' number formats for the pages: ``{% load formats %}`` gives ``count``,
``yuan`` (fen to yuan), ``rate`` and ``cn_date``, exactly as the printed documents show them."""

from canbao.reports.documents.formats import register

__all__ = ["register"]
