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
# A method or reason repeated in at least this many rows of one table is said once, in a
# footnote (a 20-row table of the same sentence is read as noise and hides the verdicts) ...
REPEATS_FOR_FOOTNOTE = 2
# ... unless it is shorter than this: a short phrase reads faster in place than as a letter.
FOOTNOTE_MIN_CHARS = 40
FOOTNOTED_COLUMNS = ("method", "reason")
# From this many columns a table is set in smaller type (CSS class reanalysis-wide), so that
# it still fits the content area of a 1366 px screen beside the book's two sidebars.
WIDE_TABLE_COLUMNS = 8
# The columns of a check in its tidy CSV: one value per cell.
TIDY_CHECK_COLUMNS = (
    "check",
    "location",
    "quantity",
    "arm",
    "statistic",
    "printed",
    "printed_lower",
    "printed_upper",
    "recomputed",
    "recomputed_value",
    "recomputed_lower",
    "recomputed_upper",
    "method",
    "test_named",
    "test_chosen",
    "status",
    "severity",
    "reason",
)
# How machine column names read on a page and in the display CSV (the tidy CSV keeps them).
COLUMN_NAMES = {
    "check": "Check",
    "location": "Printed in",
    "quantity": "Quantity",
    "arm": "Arm",
    "printed": "Printed",
    "recomputed": "Recomputed",
    "reconstructed": "Reconstructed",
    "replicate spread": "Replicate spread",
    "method": "Method",
    "status": "Verdict",
    "reason": "Why",
    "severity": "Severity",
    "study": "Study",
    "note": "Note",
    "why": "Why left out",
    "events": "Events",
    "total": "Patients",
    "hr": "HR",
    "lower": "95% CI, lower",
    "upper": "95% CI, upper",
    "k": "Studies",
    "n": "n",
    "ks": "KS distance",
    "ks_p": "KS p",
    "stouffer_z": "Stouffer's z",
    "stouffer_p": "Stouffer's p",
    "trial": "Trial",
    "citing_study": "Cited by",
    "regimen": "Regimen",
    "population": "Population",
    "outcome": "Outcome",
    "statistic": "Statistic",
    "value": "Value",
    "unit": "Unit",
    "data set": "Data set",
    "kind": "Kind",
    "patients": "Patients",
    "tolerance": "Tolerance",
    "meets it": "Meets it",
    "range covers truth": "Range covers truth",
    "pooled (CI)": "Pooled (CI)",
    "prediction interval": "Prediction interval",
    "test named in the paper": "Test named in the paper",
    "p-values checked": "p-values checked",
}
# A cell reads as a number (right-aligned) when it holds a digit and no word: "0.123", "<0.001",
# "21/37 (56.8%)", "17.4 (9.9–NR)", "0.123 b" (a footnote letter after a space).
_NUMBER_CELL = re.compile(r"[<>≤≥~−+-]?\s*\d[\d.,/%()\s–−∞-]*(NR)?[\d.,/%()\s–−∞-]*( [a-z]{1,2})?")
_NEUTRAL_CELLS = ("NR", "n/a", "∞", "−∞")  # no number, but at home in a column of numbers
MARK = {
    Status.REPRODUCED: "✓ reproduced",
    Status.COMPATIBLE: "≈ compatible (uninformative)",
    Status.INCONSISTENT: "✗ inconsistent",
    Status.NOT_RECOMPUTABLE: "– not recomputable",
}
COLOURS = {"✓": "#e6f4ea", "≈": "#fff8e1", "✗": "#fde8e8", "–": "#f1f3f4"}


def letter(index: int) -> str:
    """Footnote letter of the ``index``-th text: a … z, then aa, ab, … (as Word numbers them)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return (
        letters[index]
        if index < len(letters)
        else letter(index // len(letters) - 1) + letters[index % len(letters)]
    )


@dataclass
class Footnotes:
    """Letters for distinct footnote texts, in first-use order.

    ``texts`` fixes the letters and may be shared by every table of a chapter (:meth:`scope`),
    so a letter means the same thing across the chapter; ``used`` is what this table marks."""

    texts: list[str] = field(default_factory=list)
    used: list[str] = field(default_factory=list)

    def mark(self, text: str) -> str:
        if not text:
            return ""
        if text not in self.texts:
            self.texts.append(text)
        if text not in self.used:
            self.used.append(text)
        return letter(self.texts.index(text))

    def scope(self) -> Footnotes:
        """Footnotes for another table of the same chapter: same letters, its own list."""
        return Footnotes(self.texts, [])

    def items(self) -> list[tuple[int, str]]:
        """(index, text) of the texts this table marks, in letter order."""
        return sorted((self.texts.index(t), t) for t in self.used)

    def markdown(self) -> str:
        return "\n".join(f"{letter(i)}. {t}" for i, t in self.items())


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
    study: Study,
    checks: pd.DataFrame,
    table: str,
    criterion: str | None = None,
    notes: Footnotes | None = None,
) -> tuple[pd.DataFrame, Footnotes]:
    """One row per printed quantity: each arm as printed, % check, and (where a p is printed)
    p printed vs recomputed with its status; footnotes (``notes``: the chapter's letters) say
    which test and why."""
    arms = list(study.comparison) if study.is_two_arm else [a.id for a in study.arms]
    df = study[table]
    if criterion is not None and "criterion" in df:
        df = df[df["criterion"] == criterion]
    labels = quantity_labels(study)
    pv = study["pvalues"]
    group_p = {lv: k for k, levels in zip(pv["key"], pv["levels"], strict=True) for lv in levels}
    notes = notes if notes is not None else Footnotes()
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


def _one(rows: pd.DataFrame, column: str) -> object:
    """The value of ``column`` in the first row (None when there is no row)."""
    return rows.iloc[0][column] if len(rows) else None


def tidy_comparison(
    study: Study, checks: pd.DataFrame, table: str, criterion: str | None = None
) -> pd.DataFrame:
    """The rows of :func:`comparison_table`, one value per cell: per quantity and arm, the
    printed figures (n, N, pct, mean, SD, median, range), the percentage check, and the p as
    printed and recomputed with its test and verdict (the tidy CSV beside the table)."""
    df = study[table]
    if criterion is not None and "criterion" in df:
        df = df[df["criterion"] == criterion]
    labels = quantity_labels(study)
    pv = study["pvalues"]
    group_p = {lv: k for k, levels in zip(pv["key"], pv["levels"], strict=True) for lv in levels}
    sizes = {a.id: a.n for a in study.arms}
    rows = []
    for r in df.itertuples(index=False):
        pct = checks[(checks["key"] == r.key) & (checks["check"] == "percentage") & (checks["arm"] == r.arm)]
        p_key = group_p.get(r.key, r.key)
        p = checks[(checks["key"] == p_key) & checks["check"].isin(["p-value", "landmark p"])]
        denominator = getattr(r, "denominator", None)
        rows.append(
            {
                "quantity": labels.get(r.key, r.key),
                "arm": study.arm(r.arm).label if r.arm in sizes else r.arm,
                "printed": r.printed,
                "n": getattr(r, "n", None),
                "N": denominator
                if denominator is not None and not pd.isna(denominator)
                else sizes.get(r.arm),
                **{c: getattr(r, c, None) for c in ("pct", "mean", "sd", "median", "lower", "upper")},
                "pct_status": _one(pct, "status"),
                "pct_severity": _one(pct, "severity"),
                "p_printed": _one(p, "printed"),
                "p_recomputed": _one(p, "recomputed_value"),
                "p_test": _one(p, "test_chosen"),
                "p_status": _one(p, "status"),
                "p_severity": _one(p, "severity"),
            }
        )
    out = pd.DataFrame(rows).dropna(axis=1, how="all")
    for col in ("pct_status", "p_status"):
        if col in out:
            out[col] = out[col].map(lambda x: str(x) if x is not None and not pd.isna(x) else None)
    return out


def checks_table(
    checks: pd.DataFrame,
    columns: list[str] | None = None,
    notes: Footnotes | None = None,
    arms: dict[str, str] | None = None,
) -> pd.DataFrame:
    """A readable subset of check rows with status marks and arms by label (``arms``: id →
    label). With ``notes``, a long method or reason repeated down the table is said once, as a
    footnote, and its cells carry the letter."""
    cols = columns or ["location", "quantity", "arm", "printed", "recomputed", "status", "reason"]
    out = checks[cols].copy()
    if "status" in out:
        out["status"] = [verdict(s, v) for s, v in zip(checks["status"], checks["severity"], strict=True)]
    if "arm" in out and arms:
        out["arm"] = out["arm"].map(lambda a: arms.get(a, a))
    if notes is not None:
        for col in FOOTNOTED_COLUMNS:
            if col not in out:
                continue
            counts = out[col].value_counts()
            repeated = {
                t for t, k in counts.items() if k >= REPEATS_FOR_FOOTNOTE and len(t) >= FOOTNOTE_MIN_CHARS
            }
            out[col] = [f"see note {notes.mark(t)}" if t in repeated else t for t in out[col]]
    return out.reset_index(drop=True)


def tidy_checks(checks: pd.DataFrame, arms: dict[str, str] | None = None) -> pd.DataFrame:
    """The check rows of a table, one value per cell (the tidy CSV beside it)."""
    cols = [c for c in TIDY_CHECK_COLUMNS if c in checks]
    out = checks[cols].copy().reset_index(drop=True)
    out["status"] = [str(s) for s in out["status"]]
    if "arm" in out and arms:
        out["arm"] = out["arm"].map(lambda a: arms.get(a, a))
    return out


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
    tidy: pd.DataFrame | None = None  # the same rows, one value per cell (its own CSV); None: frame
    synthetic: bool = False  # computed from a synthetic cohort: said in its file names and CSVs
    max_rows: int | None = None  # at most this many rows on the page (the CSVs hold every row)

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


def _numeric(column: pd.Series, precision: int) -> bool:
    """Every filled cell of the column reads as a number (so it is right-aligned)."""
    cells = [display_value(x, precision) for x in column]
    filled = [c for c in cells if c and c not in _NEUTRAL_CELLS]
    return bool(filled) and all(_NUMBER_CELL.fullmatch(c) for c in filled)


def _verdict(column: pd.Series) -> bool:
    """A column of verdicts (its cells start with a status mark)."""
    return any(str(x)[:1] in COLOURS for x in column)


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame under the column names a reader sees (:data:`COLUMN_NAMES`)."""
    return frame.rename(columns={c: COLUMN_NAMES[c] for c in frame.columns if c in COLUMN_NAMES})


def render(spec: TableSpec, page: downloads.Page | None = None) -> HTML:
    """The one table renderer: deterministic HTML (fixed uuid, status cells coloured, numbers
    right-aligned, every text escaped: cells, column headers, caption, footnotes), footnotes,
    and a display CSV and a tidy CSV of the same rows on a chapter's ``page``."""
    whole = display_frame(spec.frame)
    frame = whole if spec.max_rows is None else whole.head(spec.max_rows)
    classes = pd.DataFrame("", index=frame.index, columns=frame.columns)
    for i in range(frame.shape[1]):
        column = frame.iloc[:, i]
        if _numeric(column, spec.precision):
            classes.iloc[:, i] = "num"
        elif _verdict(column):
            classes.iloc[:, i] = "verdict"
    verdicts = [i for i in range(frame.shape[1]) if classes.iloc[:, i].eq("verdict").all()]
    if verdicts and len(frame):  # the last verdict column stays in sight on a narrow screen
        classes.iloc[:, verdicts[-1]] = "verdict verdict-pin"
    styler = (
        frame.style.set_uuid(spec.uid)
        .hide(axis="index")
        .format(partial(display_value, precision=spec.precision), na_rep="", escape="html")
        .format_index(escape="html", axis="columns")
        .map(_colour)
        .set_td_classes(classes)
        .set_table_attributes(
            'class="reanalysis-table reanalysis-wide"'
            if frame.shape[1] >= WIDE_TABLE_COLUMNS
            else 'class="reanalysis-table"'
        )
    )
    if spec.caption:
        styler = styler.set_caption(text.html(spec.caption))
    html = styler.to_html()
    for i in range(frame.shape[1]):  # a number column's heading sits over its numbers
        if len(frame) and classes.iloc[:, i].eq("num").all():
            head = f'class="col_heading level0 col{i}'
            html = html.replace(f'{head}"', f'{head} num"', 1)
    label = text.html(spec.caption or "table")
    html = f'<div class="reanalysis-scroll" role="region" aria-label="{label}" tabindex="0">{html}</div>'
    if len(frame) < len(whole):
        where = "the CSV downloads hold" if page is not None else "the table has"
        html += (
            f'<p class="reanalysis-more">The first {len(frame):,} of {len(whole):,} rows, in the order '
            f"shown; {where} all {len(whole):,}.</p>"
        )
    if spec.notes and spec.notes.used:
        items = "".join(f'<li value="{i + 1}">{text.html(t)}</li>' for i, t in spec.notes.items())
        html += f'<ol type="a" class="reanalysis-footnotes">{items}</ol>'
    tidy = spec.frame if spec.tidy is None else spec.tidy
    return HTML(html + downloads.table_csv(whole, spec.uid, page, tidy=tidy, synthetic=spec.synthetic))


def show(
    df: pd.DataFrame,
    uid: str,
    caption: str = "",
    notes: Footnotes | None = None,
    precision: int = 3,
    page: downloads.Page | None = None,
    tidy: pd.DataFrame | None = None,
    synthetic: bool = False,
    max_rows: int | None = None,
) -> HTML:
    """Render a frame built in place (a notebook's own table): :func:`render` of its spec."""
    return render(TableSpec(df, uid, caption, notes, precision, tidy, synthetic, max_rows), page=page)


def glance(rows: list[tuple[str, str]], extra_html: str = "", title: str = "At a glance") -> HTML:
    """The box a chapter opens with: label → text rows (escaped), styled as the theme's tip."""
    body = "".join(f'<tr><th scope="row">{escape(k)}</th><td>{escape(v)}</td></tr>' for k, v in rows if v)
    return HTML(
        f'<div class="admonition tip reanalysis-glance"><p class="admonition-title">{escape(title)}</p>'
        f'<table class="reanalysis-glance-table"><tbody>{body}</tbody></table>{extra_html}</div>'
    )


def key_values(
    rows: list[tuple[str, str]],
    header: tuple[str, str] = ("Item", "Value"),
    links: dict[str, str] | None = None,
) -> HTML:
    """A two-column table of label → text (escaped), styled as the theme styles a Markdown table;
    ``links``: label → URL for values shown as links (the URL escaped too)."""
    head = "".join(f'<th class="head">{escape(h)}</th>' for h in header)

    def cell(k: str, v: str) -> str:
        url = (links or {}).get(k)
        return f'<a href="{escape(url)}">{escape(v)}</a>' if url else escape(v)

    body = "".join(f"<tr><td>{escape(k)}</td><td>{cell(k, v)}</td></tr>" for k, v in rows if v)
    return HTML(
        f'<table class="table reanalysis-key-values"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )
