"""Cross-study synthesis: random-effects pooling of what the studies printed.

Response and grade >= 3 adverse-event rates are pooled over the radiotherapy-containing arms
(single-arm proportions, logit scale); hazard ratios of an RT-containing arm against a non-RT
arm are pooled only across studies with the same kind of control, unless asked otherwise:
IO + targeted therapy and TACE + sorafenib are different comparators.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import meta
from .checks import count_for
from .data import Study, list_studies, load_study, require_criterion
from .params import DEFAULT_CRITERION


@dataclass
class Pooled:
    """Rows that went in, rows left out (with why), and the pooled result (None when k < 2)."""

    rows: pd.DataFrame
    excluded: pd.DataFrame
    result: meta.MetaResult | None
    note: str = ""


def _studies(include: str) -> list[Study]:
    wanted = [s.strip() for s in include.split(",") if s.strip()]
    known = list_studies()
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise ValueError(f"unknown study '{unknown[0]}' in include (known: {', '.join(known)})")
    return [load_study(s) for s in (wanted or known)]


def _overall_ae_keys(st: Study, attribution: str) -> tuple[list[str], list[str]]:
    """Keys of the study's overall adverse-event rows (study.yml ``ae_overall``) counting
    ``attribution`` events, and the other attributions it prints instead."""
    entries = st.meta.get("ae_overall") or []
    keys = [e["key"] for e in entries if e["attribution"] == attribution]
    others = sorted({e["attribution"] for e in entries} - {attribution})
    return keys, others


def rt_rates(
    outcome: str, criterion: str = DEFAULT_CRITERION, include: str = "", attribution: str = "all-cause"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per study, the RT-containing arm's printed count of ``outcome`` (ORR, DCR, or AE>=3, the
    share of patients with any grade >= 3 adverse event of the given ``attribution``: all-cause
    and treatment-related counts are never mixed).

    A response outcome by a criterion no included study reports is refused (ParameterError);
    studies that do not report it are listed as excluded.
    """
    rows, excluded = [], []
    studies = _studies(include)
    if outcome != "AE>=3":
        require_criterion(studies, criterion)
    for st in studies:
        for arm in [a for a in st.arms if a.contains_rt]:
            label = f"{st.meta['short_title']}: {arm.label}"
            if outcome == "AE>=3":
                ae = st["adverse_events"]
                keys, others = _overall_ae_keys(st, attribution)
                hit = ae[(ae["arm"] == arm.id) & ae["grade_band"].isin([">=3", "3-4"]) & ae["key"].isin(keys)]
                if hit.empty and others:
                    kinds = " and ".join(others)
                    why = f"prints only {kinds} grade ≥ 3 AEs, not pooled with {attribution} ones"
                    excluded.append({"study": label, "why": why})
                    continue
                where = f"the {attribution} adverse-event totals"
            else:
                crit = st.match_criterion(criterion)
                resp = st["response"]
                hit = resp[
                    (resp["arm"] == arm.id)
                    & (resp["category"] == outcome)
                    & resp["scope"].isna()
                    & (resp["criterion"] == crit)
                ]
                where = f"response ({crit or criterion})"
            if hit.empty:
                what = "grade ≥ 3 AE total" if outcome == "AE>=3" else outcome
                excluded.append({"study": label, "why": f"no {what} printed for this arm in {where}"})
                continue
            r = hit.iloc[0]
            n, N, note = count_for(st, r["key"], arm.id)
            if n is None or N is None:
                excluded.append(
                    {
                        "study": label,
                        "why": f"{outcome} printed as {r['printed']} without a count or an arm size",
                    }
                )
                continue
            rows.append(
                {
                    "study": label,
                    "events": n,
                    "total": N,
                    "printed": r["printed"],
                    "location": r["location"],
                    "note": note,
                }
            )
    return pd.DataFrame(
        rows, columns=["study", "events", "total", "printed", "location", "note"]
    ), pd.DataFrame(excluded, columns=["study", "why"])


def pool_rates(
    outcome: str,
    criterion: str = DEFAULT_CRITERION,
    include: str = "",
    method: str = "DL",
    alpha: float = 0.05,
    continuity: float = 0.5,
    attribution: str = "all-cause",
) -> Pooled:
    """Random-effects pooled proportion (logit) of ``outcome`` in RT-containing arms (for AE>=3,
    of one ``attribution``)."""
    rows, excluded = rt_rates(outcome, criterion, include, attribution)
    if len(rows) < 2:
        return Pooled(rows, excluded, None, f"{len(rows)} study: nothing to pool")
    res = meta.pool_proportions(
        rows["events"], rows["total"], method=method, level=1 - alpha, continuity=continuity
    )
    return Pooled(rows, excluded, res)


def comparative_hrs(endpoint: str, include: str = "") -> pd.DataFrame:
    """Printed univariable HRs of an RT-containing arm against a non-RT arm, with the control."""
    out = []
    for st in _studies(include):
        if not st.is_two_arm:
            continue
        a, b = st.comparison
        if not (st.arm(a).contains_rt and not st.arm(b).contains_rt):
            continue
        hr = st["hazard_ratios"]
        hit = hr[
            (hr["endpoint"] == endpoint)
            & (hr["model"] == "univariable")
            & hr["subgroup"].isna()
            & (hr["comparison"] == f"{a} vs {b}")
            & hr["lower"].notna()
            & hr["upper"].notna()
        ]
        if hit.empty:
            continue
        r = hit.iloc[0]
        out.append(
            {
                "study": st.meta["short_title"],
                "RT arm": st.arm(a).label,
                "control": st.arm(b).label,
                "hr": float(r["hr"]),
                "lower": float(r["lower"]),
                "upper": float(r["upper"]),
                "printed": r["printed"],
                "location": r["location"],
            }
        )
    return pd.DataFrame(
        out, columns=["study", "RT arm", "control", "hr", "lower", "upper", "printed", "location"]
    )


def pool_hrs(
    endpoint: str,
    include: str = "",
    method: str = "DL",
    alpha: float = 0.05,
    across_comparators: bool = False,
) -> Pooled:
    """Pooled log HR over studies with the same control (or all, when asked)."""
    rows = comparative_hrs(endpoint, include)
    empty = pd.DataFrame(columns=["study", "why"])
    if len(rows) < 2:
        return Pooled(rows, empty, None, f"{len(rows)} comparative study: nothing to pool")
    if rows["control"].nunique() > 1 and not across_comparators:
        controls = " and ".join(sorted(rows["control"].unique()))
        return Pooled(
            rows,
            empty,
            None,
            f"not pooled: the controls differ ({controls}), so the hazard ratios answer different questions",
        )
    res = meta.pool_log_ratios(rows["hr"], rows["lower"], rows["upper"], method=method, level=1 - alpha)
    note = "pooled across different controls, as asked" if rows["control"].nunique() > 1 else ""
    return Pooled(rows, empty, res, note)


def forest_frame(p: Pooled, transform: str, labels: list[str]) -> pd.DataFrame | None:
    """:func:`meta.forest_data` for a pooled result, with the study labels."""
    if p.result is None:
        return None
    if transform == "log":
        yi, vi = meta.log_ratio_effects(p.rows["hr"], p.rows["lower"], p.rows["upper"])
    else:
        yi, vi = meta.proportion_effects(p.rows["events"], p.rows["total"], transform=transform)
    return meta.forest_data(labels, p.result, yi, vi, transform)


def summary_row(name: str, p: Pooled, transform: str, scale: float = 1.0) -> dict:
    """One line of the synthesis summary table."""
    if p.result is None:
        return {
            "quantity": name,
            "k": len(p.rows),
            "pooled (CI)": "",
            "prediction interval": "",
            "I² %": np.nan,
            "τ²": np.nan,
            "note": p.note,
        }
    b = p.result.back(transform)
    pi = b["pi"]
    return {
        "quantity": name,
        "k": p.result.k,
        "pooled (CI)": f"{scale * b['estimate']:.2f} ({scale * b['ci'][0]:.2f}–{scale * b['ci'][1]:.2f})",
        "prediction interval": f"{scale * pi[0]:.2f}–{scale * pi[1]:.2f}" if pi else "k < 3",
        "I² %": round(p.result.i2, 1),
        "τ²": round(p.result.tau2, 4),
        "note": p.note,
    }


CITED_COLUMNS = [
    "trial",
    "citing_study",
    "regimen",
    "population",
    "outcome",
    "statistic",
    "value",
    "lower",
    "upper",
    "unit",
    "printed",
    "location",
    "source",
]


def cited_benchmarks(path: str | None = None) -> pd.DataFrame:
    """Historical benchmarks as the seed papers cite them (``data/cited_benchmarks.csv``)."""
    from pathlib import Path

    from .data import DATA_DIR
    from .errors import DataError

    file = Path(path) if path else Path(DATA_DIR) / "cited_benchmarks.csv"
    df = pd.read_csv(file, dtype=str, keep_default_na=False)
    missing = [c for c in CITED_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(file.name, "missing column", column=missing[0])
    return df[CITED_COLUMNS]
