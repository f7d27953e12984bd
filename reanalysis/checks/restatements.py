"""Restatements: a number printed again elsewhere (abstract, text, discussion) against its source."""

from __future__ import annotations

import pandas as pd

from ..data import Study
from ..printed import PrintedNumber, find_p, p_agree, same_number
from .lookup import quantity_labels
from .record import Check, Status

# statistic named in restatements.csv → the column of the source row that holds it
_SOURCE_COLUMN = {"pct": "pct", "n": "n", "hr": "hr", "lower": "lower", "upper": "upper", "value": "value"}


def _primary(study: Study, key: str, statistic: str, arm: str | None) -> tuple[float, str, str] | None:
    """(value, printed, location) of the quantity a restatement repeats."""
    if statistic == "p":
        for t in ("pvalues", "hazard_ratios"):
            df = study[t]
            hit = df[df["key"] == key]
            if len(hit):
                r = hit.iloc[0]
                txt = r["printed"] if t == "pvalues" else r["p_printed"]
                if pd.isna(txt):
                    return None
                return float(r["p"]), str(txt), r["location"]
        return None
    for t in ("baseline", "treatment", "response", "adverse_events", "survival", "hazard_ratios"):
        df = study[t]
        hit = df[df["key"] == key]
        if arm and "arm" in df:
            hit = hit[hit["arm"] == arm]
        if not len(hit):
            continue
        r = hit.iloc[0]
        col = _SOURCE_COLUMN.get(statistic, statistic)
        if statistic == "median":
            col = "value" if t == "survival" else "median"
        if t == "survival" and statistic == "pct" and r["statistic"] == "landmark":
            col = "value"
        if col not in r.index or pd.isna(r[col]):
            return None
        return float(r[col]), str(r[col]) if col == "pct" else f"{r[col]:g}", r["location"]
    return None


def restatement_checks(study: Study) -> list[Check]:
    """A number printed again elsewhere against its primary value, at the coarser precision."""
    rows, labels = [], quantity_labels(study)
    for _, r in study["restatements"].iterrows():
        arm = r["arm"] if pd.notna(r["arm"]) else None
        prim = _primary(study, r["key"], r["statistic"], arm)
        base = dict(
            study=study.id,
            check="restatement",
            key=r["key"],
            location=r["location"],
            quantity=f"{labels.get(r['key'], r['key'])} [{r['statistic']}]",
            arm=arm,
            printed=r["printed"],
        )
        if prim is None:
            rows.append(
                Check(
                    **base, status=Status.NOT_RECOMPUTABLE, reason="the primary location prints no such value"
                )
            )
            continue
        value, prim_printed, prim_loc = prim
        if r["statistic"] == "p":
            same = p_agree(find_p(r["printed"], float(r["value"])), find_p(prim_printed, value))
        else:
            d_r = PrintedNumber.find(r["printed"], r["value"]).decimals
            d_p = PrintedNumber.find(
                prim_printed if r["statistic"] == "pct" else f"{value:g}", value
            ).decimals
            same = same_number(float(r["value"]), d_r, value, d_p)
        rows.append(
            Check(
                **base,
                status=Status.REPRODUCED if same else Status.INCONSISTENT,
                recomputed=f"{prim_printed} ({prim_loc})",
                method=f"same value as {prim_loc} at the coarser precision",
                reason="" if same else f"{prim_loc} prints {prim_printed}",
                recomputed_value=value,
            )
        )
    return rows
