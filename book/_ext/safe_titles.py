"""Sphinx extension: page titles reach the theme's templates escaped.

sphinx-book-theme puts the page title as plain text (``title.astext()``) into ``pagetitle`` and
``root_title``, and its templates print them without escaping (``<h1>{{ pagetitle }}</h1>`` in
the print header). A chapter's title comes from its study's data, so a title holding
``<img onerror=…>`` would run as script on every page view. Escape both after the theme sets them.

Sphinx's search page likewise shows section titles found by a search (``alltitles`` in
``searchindex.js``, kept as plain text) with ``innerHTML``: the index is written with them
escaped (a copy; the environment keeps the plain text, so incremental builds escape once).
"""

from __future__ import annotations

import html
from typing import Any


def _escape_titles(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    for key in ("pagetitle", "root_title"):
        if isinstance(context.get(key), str):
            context[key] = html.escape(context[key], quote=True)


def _escape_search_titles(app: Any) -> list:
    indexer = getattr(app.builder, "indexer", None)
    if indexer is not None and isinstance(getattr(indexer, "_all_titles", None), dict):
        indexer._all_titles = {
            doc: [(html.escape(title, quote=True), anchor) for title, anchor in titles]
            for doc, titles in indexer._all_titles.items()
        }
    return []  # no extra pages: html-collect-pages runs just before the index is written


def setup(app: Any) -> dict[str, Any]:
    app.connect("html-page-context", _escape_titles, priority=900)  # after the theme's (500)
    app.connect("html-collect-pages", _escape_search_titles)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
