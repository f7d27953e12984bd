"""Display tables: printed beside recomputed, with status and test-choice footnotes.

Tables are returned as pandas frames (for CSV/markdown) and rendered as HTML with a fixed
Styler uuid, so executed notebooks are byte-stable and nbval can compare them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import partial
from html import escape

import numpy as np
import pandas as pd
from IPython.display import HTML

from . import downloads, text
from .checks import SEVERITIES, Status, quantity_labels
from .data import Study

SEVERITY_ORDER = tuple(reversed(SEVERITIES))  # critical first
MARK = {
    Status.REPRODUCED: "✓ reproduced",
    Status.COMPATIBLE: "≈ compatible (uninformative)",
    Status.INCONSISTENT: "✗ inconsistent",
    Status.NOT_RECOMPUTABLE: "– not recomputable",
}
COLOURS = {"✓": "#e6f4ea", "≈": "#fff8e1", "✗": "#fde8e8", "–": "#f1f3f4"}


@dataclass
class Footnotes:
    """Letters for distinct footnote texts, in first-use order."""

    texts: list[str] = field(default_factory=list)

    def mark(self, text: str) -> str:
        if not text:
            return ""
        if text not in self.texts:
            self.texts.append(text)
        return "abcdefghijklmnopqrstuvwxyz"[self.texts.index(text)]

    def markdown(self) -> str:
        return "\n".join(f"{'abcdefghijklmnopqrstuvwxyz'[i]}. {t}" for i, t in enumerate(self.texts))


def verdict(status: str, severity: str = "") -> str:
    """'✓ reproduced', '✗ inconsistent (critical)': a status mark with the severity where any."""
    return MARK[status] + (f" ({severity})" if severity else "")


def _status_cell(rows: pd.DataFrame) -> str:
    """One cell for the status of several checks (e.g. both arms' percentages)."""
    if rows.empty:
        return ""
    bad = rows[rows["status"] == Status.INCONSISTENT]
    if len(bad):
        worst = min(bad["severity"], key=SEVERITY_ORDER.index)
        return verdict(Status.INCONSISTENT, worst) + ": " + "; ".join(bad["reason"])
    if (rows["status"] == Status.REPRODUCED).all():
        return MARK[Status.REPRODUCED]
    if rows["status"].isin([Status.REPRODUCED, Status.COMPATIBLE]).all():
        return MARK[Status.COMPATIBLE]
    return MARK[Status.NOT_RECOMPUTABLE]


def comparison_table(
    study: Study, checks: pd.DataFrame, table: str, criterion: str | None = None
) -> tuple[pd.DataFrame, Footnotes]:
    """One row per printed quantity: each arm as printed, % check, and (where a p is printed)
    p printed vs recomputed with its status; footnotes say which test and why."""
    arms = list(study.comparison) if study.is_two_arm else [a.id for a in study.arms]
    df = study[table]
    if criterion is not None and "criterion" in df:
        df = df[df["criterion"] == criterion]
    labels = quantity_labels(study)
    pv = study["pvalues"]
    group_p = {lv: k for k, levels in zip(pv["key"], pv["levels"], strict=True) for lv in levels}
    notes = Footnotes()
    out, seen_groups = [], set()
    for key in dict.fromkeys(df["key"]):
        rows = df[df["key"] == key].set_index("arm")
        p_key = group_p.get(key, key)
        first_of_group = p_key != key and p_key not in seen_groups
        seen_groups.add(p_key)
        pcheck = checks[(checks["key"] == p_key) & checks["check"].isin(["p-value", "landmark p"])]
        pct = checks[(checks["key"] == key) & (checks["check"] == "percentage")]
        p_printed = p_recomputed = p_status = ""
        if len(pcheck) and (p_key == key or first_of_group):
            c = pcheck.iloc[0]
            p_printed, p_status = c["printed"], verdict(c["status"], c["severity"])
            if c["recomputed"]:
                p_recomputed = f"{c['recomputed']} {notes.mark(c['footnote'])}".strip()
            if c["status"] == Status.REPRODUCED and c["tests_reproducing"]:
                p_status = "✓ " + c["reason"]
            elif c["reason"]:
                p_status += ": " + c["reason"]
        elif p_key != key:
            p_status = "(see first level)"
        out.append(
            {
                "Quantity": labels.get(key, key),
                **{study.arm(a).label: rows.loc[a, "printed"] if a in rows.index else "" for a in arms},
                "% vs n/N": _status_cell(pct),
                "p printed": p_printed,
                "p recomputed": p_recomputed,
                "p status": p_status,
            }
        )
    frame = pd.DataFrame(out)
    if len(frame) and not frame["p printed"].astype(bool).any():
        frame = frame.drop(columns=["p printed", "p recomputed", "p status"])
    return frame, notes


def checks_table(checks: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """A readable subset of check rows with status marks."""
    cols = columns or ["location", "quantity", "arm", "printed", "recomputed", "status", "reason"]
    out = checks[cols].copy()
    if "status" in out:
        out["status"] = [verdict(s, v) for s, v in zip(checks["status"], checks["severity"], strict=True)]
    return out.reset_index(drop=True)


def _colour(value: object) -> str:
    text = str(value)
    return f"background-color: {COLOURS[text[0]]}" if text[:1] in COLOURS else ""


@dataclass(frozen=True)
class TableSpec:
    """A table to show: its tidy frame, a page-unique id (also the CSV's name), a caption and
    footnotes. Built by :mod:`reanalysis.outputs` (or by hand), shown by :func:`render`."""

    frame: pd.DataFrame
    uid: str
    caption: str = ""
    notes: Footnotes | None = None
    precision: int = 3

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9_-]+", self.uid):
            raise ValueError(f"table id must be lowercase letters, digits, '-' or '_': {self.uid!r}")


def display_value(x: object, precision: int = 3) -> str:
    """How a cell reads on a page: no raw Python values. Booleans are yes/no, infinite bounds
    ∞ (e.g. a Kaplan–Meier median's upper limit when not reached), missing values empty, and a
    number that rounds to zero carries no minus sign."""
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (float, np.floating)):
        if math.isnan(x):
            return ""
        if math.isinf(x):
            return "∞" if x > 0 else "−∞"
        text = f"{x:.{precision}f}"
        return text[1:] if text.startswith("-") and not text.strip("-0.") else text
    return str(x)


def render(spec: TableSpec, page: downloads.Page | None = None) -> HTML:
    """The one table renderer: deterministic HTML (fixed uuid, status cells coloured, every
    text escaped: cells, column headers, caption, footnotes), footnotes, and a CSV download of
    the same rows on a chapter's ``page``."""
    styler = (
        spec.frame.style.set_uuid(spec.uid)
        .hide(axis="index")
        .format(partial(display_value, precision=spec.precision), na_rep="", escape="html")
        .format_index(escape="html", axis="columns")
        .map(_colour)
        .set_table_attributes('class="reanalysis-table"')
        .set_properties(**{"text-align": "left", "vertical-align": "top"})
    )
    if spec.caption:
        styler = styler.set_caption(text.html(spec.caption))
    html = styler.to_html()
    if spec.notes and spec.notes.texts:
        items = "".join(f"<li>{text.html(t)}</li>" for t in spec.notes.texts)
        html += f'<ol type="a" class="reanalysis-footnotes">{items}</ol>'
    return HTML(html + downloads.table_csv(spec.frame, spec.uid, page))


def show(
    df: pd.DataFrame,
    uid: str,
    caption: str = "",
    notes: Footnotes | None = None,
    precision: int = 3,
    page: downloads.Page | None = None,
) -> HTML:
    """Render a frame built in place (a notebook's own table): :func:`render` of its spec."""
    return render(TableSpec(df, uid, caption, notes, precision), page=page)


def glance(rows: list[tuple[str, str]], extra_html: str = "", title: str = "At a glance") -> HTML:
    """The box a chapter opens with: label → text rows (escaped), styled as the theme's tip."""
    body = "".join(f'<tr><th scope="row">{escape(k)}</th><td>{escape(v)}</td></tr>' for k, v in rows if v)
    return HTML(
        f'<div class="admonition tip reanalysis-glance"><p class="admonition-title">{escape(title)}</p>'
        f'<table class="reanalysis-glance-table"><tbody>{body}</tbody></table>{extra_html}</div>'
    )


def key_values(rows: list[tuple[str, str]], header: tuple[str, str] = ("Item", "Value")) -> HTML:
    """A two-column table of label → text (escaped), styled as the theme styles a Markdown table."""
    head = "".join(f'<th class="head">{escape(h)}</th>' for h in header)
    body = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in rows if v)
    return HTML(
        f'<table class="table reanalysis-key-values"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def listing(items: list[str], limit: int = 4, more: str = "") -> str:
    """'a; b; c; d and 3 more (see …)': a short list for a glance row."""
    if not items:
        return ""
    shown = "; ".join(items[:limit])
    rest = len(items) - limit
    return shown + (f"; and {rest} more{more}" if rest > 0 else "")
