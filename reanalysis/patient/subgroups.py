"""Subgroup analyses: the treatment hazard ratio within each subgroup level, the
treatment-by-subgroup interaction test, and the forest plot.

Inputs are ADaM-style frames (:mod:`reanalysis.patient.design`); Cox models are fitted as in
:mod:`.survival`. Every result is aggregate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats as sps

from .. import plots
from .design import _endpoint, _levels, _Term, _two_arms
from .survival import _fit_cox, _term_rows

__all__ = [
    "forest_plot",
    "subgroup_hrs",
]


# --------------------------------------------------------------------------
# subgroups


def _subgroup_levels(df: pd.DataFrame, spec: str | tuple[str, float]) -> pd.Series:
    if isinstance(spec, tuple):
        column, cut = spec
        if column not in df.columns:
            raise ValueError(f"adsl has no subgroup column '{column}'")
        x = df[column].astype("Float64")
        return pd.Series(
            np.where(x.isna(), None, np.where(x >= cut, f"≥ {cut:g}", f"< {cut:g}")), index=df.index
        )
    if spec not in df.columns:
        raise ValueError(f"adsl has no subgroup column '{spec}'")
    return df[spec].astype(object).where(df[spec].notna(), None)


def subgroup_hrs(
    adsl: pd.DataFrame,
    adtte: pd.DataFrame,
    paramcd: str,
    treat_arm: str,
    subgroups: Mapping[str, str | tuple[str, float]],
    control_arm: str | None = None,
) -> pd.DataFrame:
    """Hazard ratio of the arm within each subgroup level, and the treatment-by-subgroup interaction p.

    ``subgroups`` maps a label to an ADSL column (its levels) or to (column, cut-off) for a
    continuous column (levels "< cut" and "≥ cut"). Interaction p: likelihood-ratio test of
    arm + subgroup + arm × subgroup against arm + subgroup (R: ``anova(fit0, fit1)``). A level
    where an arm is absent or has no event gets no HR (note column).
    """
    sub, _ = _two_arms(adsl, treat_arm, control_arm)
    df = _endpoint(sub, adtte, paramcd)
    rows = []
    for label, spec in subgroups.items():
        lev = _subgroup_levels(df, spec)
        d = df.assign(LEVEL=lev).dropna(subset=["LEVEL"])
        levels = _levels(d["LEVEL"])
        p_int = _interaction_p(d, levels)
        for lv in levels:
            g = d[d["LEVEL"] == lv]
            row = {
                "subgroup": label,
                "level": str(lv),
                "n": len(g),
                "events": int(g["E"].sum()),
                "n_treated": int((g["TREAT"] == 1).sum()),
                "n_control": int((g["TREAT"] == 0).sum()),
                "hr": math.nan,
                "lower": math.nan,
                "upper": math.nan,
                "p": math.nan,
                "p_interaction": p_int,
                "note": "",
            }
            ev = g.groupby("TREAT")["E"].sum()
            if len(ev) < 2 or (ev == 0).any():
                row["note"] = "not estimable: an arm is absent or has no event"
            else:
                r = _term_rows(
                    _fit_cox(g, ["TREAT"]), [_Term("TREAT", "ARM", "")], len(g), int(g["E"].sum())
                )[0]
                row |= {k: r[k] for k in ("hr", "lower", "upper", "p")}
            rows.append(row)
    return pd.DataFrame(rows)


def _interaction_p(d: pd.DataFrame, levels: list) -> float:
    from lifelines.exceptions import ConvergenceError

    if len(levels) < 2:
        return math.nan
    x = d[["T", "E", "TREAT"]].copy()
    main, inter = [], []
    for k, lv in enumerate(levels[1:]):
        x[f"s{k}"] = (d["LEVEL"] == lv).astype(float)
        x[f"i{k}"] = x[f"s{k}"] * x["TREAT"]
        main.append(f"s{k}")
        inter.append(f"i{k}")
    try:
        ll0 = _fit_cox(x, ["TREAT", *main]).log_likelihood_
        ll1 = _fit_cox(x, ["TREAT", *main, *inter]).log_likelihood_
    except (ConvergenceError, np.linalg.LinAlgError):  # a degenerate subgroup
        return math.nan
    return float(sps.chi2.sf(max(2 * (ll1 - ll0), 0.0), len(inter)))


def forest_plot(df: pd.DataFrame, title: str = "", ax: plt.Axes | None = None) -> plt.Figure:
    """Forest plot of :func:`subgroup_hrs`: HR with 95% CI per level, interaction p per subgroup."""
    rows = []
    for label, g in df.groupby("subgroup", sort=False):
        p = g["p_interaction"].iloc[0]
        rows.append(
            {
                "label": f"{label} (interaction p = {p:.3f})" if pd.notna(p) else str(label),
                "kind": "header",
                "estimate": float("nan"),
            }
        )
        rows += [
            {
                "label": f"   {r['level']}  (n = {r['n']})",
                "kind": "row",
                "estimate": r["hr"],
                "lower": r["lower"],
                "upper": r["upper"],
            }
            for _, r in g.iterrows()
        ]
    frame = pd.DataFrame(rows, columns=["label", "kind", "estimate", "lower", "upper"])
    return plots.forest_plot(
        frame,
        "hazard ratio (95% CI)",
        title,
        figsize=(9, 0.4 * (len(df) + df["subgroup"].nunique()) + 1.2),
        ax=ax,
    )
