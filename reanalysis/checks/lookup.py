"""Finding what a check needs in a study's tables: labels, counts, denominators, 2 × k tables."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextvars import ContextVar

import numpy as np
import pandas as pd

from .. import stats as S
from ..data import Study

COUNT_TABLES = ("baseline", "treatment", "response", "adverse_events")
# A variable printed as R's make.names writes a column name ("Radiation.therapy.site"): words
# joined by dots, no space. Kept as printed in the data; read with spaces on a page.
R_DOTTED_NAME = re.compile(r"[A-Za-z]+(?:\.[A-Za-z]+)+")


def variable_label(name: str) -> str:
    """A printed variable name as a reader reads it: 'Radiation.therapy.site' → 'Radiation therapy site'."""
    return name.replace(".", " ") if R_DOTTED_NAME.fullmatch(name) else name


class StudyIndex:
    """A study's rows by key, table by table, and its quantity labels, worked out once while
    its checks run (:func:`indexed`). The families ask for a row by key and arm hundreds of
    times a study (counts behind each p, the source of each restatement) and for the labels once
    each; filtering a whole table per question was most of the checks' lookups."""

    def __init__(self, study: Study) -> None:
        self.study = study
        self.labels: dict[str, str] | None = None
        self._positions: dict[str, dict[object, list[int]]] = {}

    def _rows(self, table: str, key: str) -> tuple[pd.DataFrame, list[int]]:
        df = self.study[table]
        if table not in self._positions:
            groups = df.groupby("key", sort=False).indices  # positions, in the table's order
            self._positions[table] = {k: list(v) for k, v in groups.items()}
        return df, self._positions[table].get(key, [])

    def first(self, table: str, key: str) -> pd.Series | None:
        """The table's first row of ``key`` (as filtering the table on ``key`` finds it)."""
        df, rows = self._rows(table, key)
        return df.iloc[rows[0]] if rows else None

    def first_of_arm(self, table: str, key: str, arm: object) -> pd.Series | None:
        """The table's first row of ``key`` whose ``arm`` equals ``arm`` (none for a missing arm)."""
        df, rows = self._rows(table, key)
        column = df.columns.get_loc("arm")
        return next((df.iloc[i] for i in rows if df.iat[i, column] == arm), None)


# the index of the study whose checks are running (set by `indexed`): a study is not changed
# while its checks run, and anything else asking about a study works it out afresh
_SCOPE: ContextVar[StudyIndex | None] = ContextVar("study_index", default=None)


@contextlib.contextmanager
def indexed(study: Study) -> Iterator[StudyIndex]:
    """Within the block, lookups about ``study`` (this object) go through one index of it."""
    index = StudyIndex(study)
    token = _SCOPE.set(index)
    try:
        yield index
    finally:
        _SCOPE.reset(token)


def study_index(study: Study) -> StudyIndex:
    """The running checks' index of ``study``, or a new one (for one caller's lookups)."""
    index = _SCOPE.get()
    return index if index is not None and index.study is study else StudyIndex(study)


def _records(df: pd.DataFrame) -> list[dict]:
    """A table's rows as dicts (about half the time of ``iterrows``: the labels are asked for by
    every family of checks)."""
    return df.to_dict("records")


def quantity_labels(study: Study) -> dict[str, str]:
    """Key → readable label (``Gender: male``, ``RECIST 1.1 ORR``, ``Increased AST (any grade)``)."""
    index = study_index(study)
    if index.labels is None:
        index.labels = _labels(study)
    return dict(index.labels)  # the caller's own copy


def _labels(study: Study) -> dict[str, str]:
    labels: dict[str, str] = {}
    for table in ("baseline", "treatment"):
        for r in _records(study[table]):
            name = variable_label(r["variable"])
            labels[r["key"]] = f"{name}: {r['level']}" if pd.notna(r["level"]) else name
    for r in _records(study["response"]):
        scope = f" ({r['scope']})" if pd.notna(r["scope"]) else ""
        labels[r["key"]] = f"{r['criterion']}{scope} {r['category'].replace('_', ' ')}"
    for r in _records(study["adverse_events"]):
        band = "any grade" if r["grade_band"] == "any" else f"grade {r['grade_band']}"
        labels[r["key"]] = f"{r['term']} ({band})"
    for r in _records(study["survival"]):
        what = (
            f"{r['time']:g}-month rate" if r["statistic"] == "landmark" else r["statistic"].replace("_", " ")
        )
        crit = f" ({r['criterion']})" if pd.notna(r["criterion"]) else ""
        sub = f", {r['subgroup']}" if pd.notna(r["subgroup"]) else ""
        labels[r["key"]] = f"{r['endpoint']}{crit} {what}{sub}"
    for r in _records(study["hazard_ratios"]):
        # every HR row names its variable (a table of univariable HRs is otherwise one label repeated)
        what = ", ".join(str(r[c]) for c in ("variable", "subgroup") if c in r and pd.notna(r[c]) and r[c])
        labels[r["key"]] = f"{r['endpoint']} HR ({r['model']}{': ' + what if what else ''})"
    for r in _records(study["pvalues"]):
        if r["key"] not in labels and r["levels"]:
            labels[r["key"]] = labels.get(r["levels"][0], r["key"]).split(":")[0]
    return labels


def denominator_of(study: Study, row: pd.Series) -> int | None:
    """The N a row's percentage is of: its own denominator if printed, else the arm's N."""
    if "denominator" in row.index and pd.notna(row["denominator"]):
        return int(row["denominator"])
    return study.arm_sizes.get(row["arm"])


def count_for(study: Study, key: str, arm: str) -> tuple[int | None, int | None, str]:
    """(n, N, note) for a quantity and arm; n inferred from a printed % when unique (and said so)."""
    index = study_index(study)
    for table in COUNT_TABLES:
        r = index.first_of_arm(table, key, arm)
        if r is not None:
            N = denominator_of(study, r)
            if pd.notna(r.get("n")):
                return int(r["n"]), N, ""
            if pd.notna(r.get("pct")) and N is not None:
                g = S.grim_percentage(None, N, r["pct"])
                if len(g.candidates) == 1:
                    return g.candidates[0], N, f"n = {g.candidates[0]} inferred from {r['pct']}% of {N}"
            return None, N, ""
    return None, None, ""


def contingency(study: Study, key: str, levels: tuple[str, ...] = ()) -> tuple[np.ndarray | None, str]:
    """The arms × outcome table behind a printed p (2×2, or arms × levels)."""
    a, b = study.comparison
    notes = []
    if levels:
        cols = []
        for lv in levels:
            na, _, ra = count_for(study, lv, a)
            nb, _, rb = count_for(study, lv, b)
            if na is None or nb is None:
                return None, f"level {lv} has no count"
            cols.append((na, nb))
            notes += [x for x in (ra, rb) if x]
        table = np.array(cols).T
        return table, "; ".join(notes)
    na, Na, ra = count_for(study, key, a)
    nb, Nb, rb = count_for(study, key, b)
    if na is None or nb is None or Na is None or Nb is None:
        return None, ""
    notes = [x for x in (ra, rb) if x]
    return S.two_by_two(na, Na, nb, Nb), "; ".join(notes)


def continuous_keys(study: Study) -> set[str]:
    """Keys of quantities printed as a summary (mean ± SD, median) rather than a count."""
    keys = set()
    for t in ("baseline", "treatment", "response"):
        df = study[t]
        keys |= set(df.loc[df["stat"] != "count", "key"])
    return keys
