"""Finding what a check needs in a study's tables: labels, counts, denominators, 2 × k tables."""

from __future__ import annotations

import re

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


def _records(df: pd.DataFrame) -> list[dict]:
    """A table's rows as dicts (about half the time of ``iterrows``: the labels are asked for by
    every family of checks)."""
    return df.to_dict("records")


def quantity_labels(study: Study) -> dict[str, str]:
    """Key → readable label (``Gender: male``, ``RECIST 1.1 ORR``, ``Increased AST (any grade)``)."""
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
    for table in COUNT_TABLES:
        df = study[table]
        hit = df[(df["key"] == key) & (df["arm"] == arm)]
        if len(hit):
            r = hit.iloc[0]
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
