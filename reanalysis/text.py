"""Text from data is text: escaping for every place it is published.

Free text in ``study.yml`` and the CSVs (titles, citations, arm labels, tests named, …) is
untrusted: it must reach a page as the characters it holds, never as markup. One helper per
output language, used everywhere data text is emitted:

- :func:`md` for Markdown/MyST (template placeholders, glued phrases, Markdown outputs):
  every ASCII punctuation character is backslash-escaped (CommonMark allows it for all of
  them), so no role (`` {download}`…` ``), directive (```` ```{include} ````, ``:::``), raw
  HTML, link, emphasis, table cell, substitution or math can start; line breaks become spaces
  so the text cannot open a block of its own.
- :func:`html` for HTML (tables, footnotes, boxes): ``html.escape`` with quotes.
- :func:`spreadsheet_cell` for CSVs people open in a spreadsheet: a cell that a spreadsheet
  would run as a formula (``= + - @``, tab, CR) gets a leading ``'``. Machine CSVs
  (``python -m reanalysis checks/audit`` to stdout) stay faithful and do not use it.
"""

from __future__ import annotations

import html as _html
import re
import string
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by spreadsheet_safe: md() and html() serve processes without pandas
    import pandas as pd

_MD_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")
_BREAKS = re.compile(r"\s+")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def md(value: object) -> str:
    """``value`` as MyST Markdown that renders as exactly its text (one line, no markup)."""
    return _MD_SPECIAL.sub(r"\\\1", _BREAKS.sub(" ", str(value)).strip())


def html(value: object) -> str:
    """``value`` as HTML text (``<``, ``>``, ``&`` and quotes escaped)."""
    return _html.escape(str(value), quote=True)


def spreadsheet_cell(value: object) -> object:
    """A text cell that a spreadsheet would take for a formula, prefixed with ``'``; other
    values unchanged. (A number such as ``-1.5`` is data, not a formula: left alone.)"""
    if not isinstance(value, str) or not value.lstrip(" ").startswith(FORMULA_START):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


def spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names cannot run as spreadsheet formulas."""
    import pandas as pd

    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_object_dtype(out[col]) or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(spreadsheet_cell)
    out.columns = [spreadsheet_cell(c) for c in out.columns]
    return out


# studies an 'at a glance' row names before "and N more": the box is a page's first screen, and a
# living review has dozens of studies (each is in the page's tables)
GLANCE_STUDIES = 6


def listing(items: list[str], limit: int = 4, more: str = "") -> str:
    """'a; b; c; d and 3 more (see …)': a short list for a glance row."""
    if not items:
        return ""
    shown = "; ".join(items[:limit])
    rest = len(items) - limit
    return shown + (f"; and {rest} more{more}" if rest > 0 else "")
