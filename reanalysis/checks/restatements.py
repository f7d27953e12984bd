"""Restatements: a number printed again elsewhere (abstract, text, discussion) against its source."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..data import Study
from ..printed import PrintedNumber, find_p, p_agree, same_number
from .lookup import COUNT_TABLES, StudyIndex, denominator_of, quantity_labels, study_index
from .record import Check, Status

# statistic named in restatements.csv → the column of the source row that holds it
_SOURCE_COLUMN = {"pct": "pct", "n": "n", "hr": "hr", "lower": "lower", "upper": "upper", "value": "value"}


@dataclass(frozen=True)
class Source:
    """The primary print of a restated quantity: its value at the precision it was printed with,
    where, and (for a percentage of a count) the exact value behind it."""

    value: float
    printed: str
    decimals: int
    location: str
    exact: float | None = None  # 100·n/N when the source is a percentage with its n and N


def _primary(rows: StudyIndex, key: str, statistic: str, arm: str | None) -> Source | None:
    """The quantity a restatement repeats, as its primary location prints it."""
    study = rows.study
    if statistic == "p":
        for t in ("pvalues", "hazard_ratios"):
            r = rows.first(t, key)
            if r is not None:
                txt = r["printed"] if t == "pvalues" else r["p_printed"]
                if pd.isna(txt):
                    return None
                value = float(r["p"])
                return Source(value, str(txt), PrintedNumber.find(txt, value).decimals, r["location"])
        return None
    for t in ("baseline", "treatment", "response", "adverse_events", "survival", "hazard_ratios"):
        with_arm = arm and "arm" in study[t]
        r = rows.first_of_arm(t, key, arm) if with_arm else rows.first(t, key)
        if r is None:
            continue
        col = _SOURCE_COLUMN.get(statistic, statistic)
        if statistic == "median":
            col = "value" if t == "survival" else "median"
        if t == "survival" and statistic == "pct" and r["statistic"] == "landmark":
            col = "value"
        if col not in r.index or pd.isna(r[col]):
            return None
        value = float(r[col])
        # the precision the source printed (91.90 keeps its trailing zero), from its own cell
        decimals = PrintedNumber.find(r["printed"], value).decimals
        exact = None
        if statistic == "pct" and t in COUNT_TABLES and pd.notna(r.get("n")):
            N = denominator_of(study, r)
            exact = 100 * int(r["n"]) / N if N else None
        return Source(value, f"{value:.{decimals}f}", decimals, r["location"], exact)
    return None


def restatement_checks(study: Study) -> list[Check]:
    """A number printed again elsewhere against its primary value, at the coarser precision."""
    rows, labels, sources = [], quantity_labels(study), study_index(study)
    for _, r in study["restatements"].iterrows():
        arm = r["arm"] if pd.notna(r["arm"]) else None
        prim = _primary(sources, r["key"], r["statistic"], arm)
        base = dict(
            study=study.id,
            check="restatement",
            key=r["key"],
            location=r["location"],
            quantity=f"{labels.get(r['key'], r['key'])} [{r['statistic']}]",
            arm=arm,
            printed=r["printed"],
            statistic=r["statistic"],
        )
        if prim is None:
            rows.append(
                Check(
                    **base, status=Status.NOT_RECOMPUTABLE, reason="the primary location prints no such value"
                )
            )
            continue
        restated = PrintedNumber.find(r["printed"], float(r["value"]))
        lo = hi = None
        method = f"same value as {prim.location} at the coarser precision"
        if r["statistic"] == "p":
            same = p_agree(find_p(r["printed"], restated.value), find_p(prim.printed, prim.value))
            target = prim.value
        elif restated.decimals > prim.decimals and prim.exact is not None:
            # printed more precisely than its source: only the count behind the source can say
            target = prim.exact
            same = same_number(restated.value, restated.decimals, target, 12)
            method = (
                f"the count behind {prim.location} ({target:.{restated.decimals + 2}f}%) "
                "at the restated precision"
            )
            lo, hi = restated.interval(floor=None)
        else:
            target = prim.value
            same = same_number(restated.value, restated.decimals, prim.value, prim.decimals)
            # the interval the coarser of the two prints stands for, to grade how far off it is
            lo, hi = PrintedNumber(restated.value, min(restated.decimals, prim.decimals)).interval(floor=None)
        rows.append(
            Check(
                **base,
                status=Status.REPRODUCED if same else Status.INCONSISTENT,
                recomputed=f"{prim.printed} ({prim.location})",
                method=method,
                reason="" if same else f"{prim.location} prints {prim.printed}",
                printed_lower=lo,
                printed_upper=hi,
                recomputed_value=target,
            )
        )
    return rows
