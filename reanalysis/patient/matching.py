"""Propensity-score matching: a logistic propensity model (statsmodels), greedy 1:1
nearest-neighbour matching on its logit with a caliper, the balance table and a Love plot.

Every result meant for the book is aggregate; the only per-patient output is
:attr:`MatchResult.matched`, which downstream analyses (:func:`.survival.cox_matched`,
:func:`.descriptive.table_one`) need and which must not be rendered. The reference values in
``tests/reference/patient_reference.md`` come from R.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import plots
from .descriptive import smd_binary, smd_continuous
from .design import _design, _Term, _two_arms

__all__ = [
    "MatchResult",
    "logit_propensity",
    "love_plot",
    "match_on_score",
    "propensity_match",
]

MATCH_ORDERS = ("largest", "smallest", "data", "random")


# --------------------------------------------------------------------------
# propensity-score matching


def logit_propensity(
    adsl: pd.DataFrame,
    treat_arm: str,
    covariates: Sequence[str],
    control_arm: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Logistic propensity model (statsmodels): (per-subject frame, coefficient table).

    The per-subject frame (complete cases) has USUBJID, ARM, TREAT and LOGITPS, the linear
    predictor (log-odds of being in ``treat_arm``), plus the design columns.
    """
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    sub, _ = _two_arms(adsl, treat_arm, control_arm)
    design, terms = _design(sub, covariates)
    data = pd.concat([sub[["USUBJID", "ARM", "TREAT"]], design], axis=1).dropna()
    if data["TREAT"].nunique() < 2:
        raise ValueError("the complete cases contain only one arm: no propensity model")
    X = sm.add_constant(data[[t.column for t in terms]], has_constant="add")
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        try:
            fit = sm.Logit(data["TREAT"], X).fit(disp=0, maxiter=100)
        except (PerfectSeparationWarning, ConvergenceWarning, np.linalg.LinAlgError) as exc:
            raise ValueError(
                f"the propensity model does not converge ({exc.__class__.__name__}): a covariate "
                "separates the arms, or there are too few patients for the covariates"
            ) from None
    data["LOGITPS"] = np.asarray(X @ fit.params, dtype=float)
    names = {"const": ("(intercept)", "")} | {t.column: (t.variable, t.contrast) for t in terms}
    coef = pd.DataFrame(
        {
            "variable": [names[c][0] for c in fit.params.index],
            "contrast": [names[c][1] for c in fit.params.index],
            "coef": fit.params.to_numpy(),
            "se": fit.bse.to_numpy(),
            "p": fit.pvalues.to_numpy(),
        }
    )
    data.attrs["terms"] = terms
    return data, coef


def match_on_score(
    ids: Sequence[str],
    score: Sequence[float],
    treated: Sequence[bool],
    caliper_width: float | None = None,
    order: str = "largest",
    seed: int = 0,
) -> pd.DataFrame:
    """Greedy 1:1 nearest-neighbour matching without replacement on a score.

    Treated subjects are taken in ``order`` ("largest" score first, MatchIt's default for a
    propensity score; "smallest"; "data" = as given; "random" with ``seed``); each takes the
    nearest unmatched control, ties to the control given first. A treated subject whose
    nearest control is farther than ``caliper_width`` stays unmatched. Returns one row per
    pair: PAIR (1, 2, … in matching order), TREATED, CONTROL, DISTANCE.
    """
    ids = [str(i) for i in ids]
    s = np.asarray(score, dtype=float)
    t = np.asarray(treated, dtype=bool)
    if not (len(ids) == len(s) == len(t)):
        raise ValueError("ids, score and treated must have the same length")
    if len(set(ids)) != len(ids):
        raise ValueError("ids must be unique")
    if not np.all(np.isfinite(s)):
        raise ValueError("score must be finite")
    if order not in MATCH_ORDERS:
        raise ValueError(f"unknown order '{order}' (expected one of {', '.join(MATCH_ORDERS)})")
    if caliper_width is not None and not caliper_width >= 0:
        raise ValueError(f"caliper_width must be non-negative, got {caliper_width}")
    tr = np.flatnonzero(t)
    if order == "largest":
        tr = tr[np.argsort(-s[tr], kind="stable")]
    elif order == "smallest":
        tr = tr[np.argsort(s[tr], kind="stable")]
    elif order == "random":
        tr = np.random.default_rng(seed).permutation(tr)
    available = np.flatnonzero(~t)
    pairs = []
    for i in tr:
        if len(available) == 0:
            break
        d = np.abs(s[available] - s[i])
        j = int(np.argmin(d))  # first minimum: ties go to the control given first
        if caliper_width is not None and d[j] > caliper_width:
            continue
        pairs.append(
            {"PAIR": len(pairs) + 1, "TREATED": ids[i], "CONTROL": ids[available[j]], "DISTANCE": d[j]}
        )
        available = np.delete(available, j)
    return pd.DataFrame(pairs, columns=["PAIR", "TREATED", "CONTROL", "DISTANCE"])


@dataclass
class MatchResult:
    """Propensity-score matching: what may be published and what may not.

    ``balance`` (SMD before/after per design term), ``coefficients`` (the propensity model)
    and ``summary`` are aggregates. ``matched`` holds the ADSL rows of the matched subjects
    with PAIR and LOGITPS, for :func:`cox_matched` and :func:`table_one`: it is patient-level
    and must not be rendered.
    """

    matched: pd.DataFrame
    balance: pd.DataFrame
    coefficients: pd.DataFrame
    summary: dict


def propensity_match(
    adsl: pd.DataFrame,
    treat_arm: str,
    covariates: Sequence[str],
    caliper: float | None = 0.2,
    seed: int = 0,
    control_arm: str | None = None,
    order: str = "largest",
) -> MatchResult:
    """1:1 nearest-neighbour matching on the logit propensity score, without replacement.

    The caliper is ``caliper`` × SD of the logit PS over all complete-case patients (sample
    SD, as MatchIt's ``std.caliper = TRUE``); None matches without a caliper. Matching order
    as in :func:`match_on_score` (``seed`` only matters for ``order="random"``). The balance
    table gives, per design term, the means per arm and the absolute SMD (Austin 2009:
    continuous, or binary for 0/1 terms) before and after matching.
    """
    data, coef = logit_propensity(adsl, treat_arm, covariates, control_arm)
    terms: list[_Term] = data.attrs["terms"]
    sd = float(data["LOGITPS"].std(ddof=1))
    width = None if caliper is None else float(caliper) * sd
    pairs = match_on_score(data["USUBJID"], data["LOGITPS"], data["TREAT"] == 1, width, order, seed)
    pair_of = dict(zip(pairs["TREATED"], pairs["PAIR"], strict=True))
    pair_of |= dict(zip(pairs["CONTROL"], pairs["PAIR"], strict=True))
    keep = data["USUBJID"].isin(pair_of)
    matched = adsl.merge(data.loc[keep, ["USUBJID", "LOGITPS"]], on="USUBJID", how="inner")
    matched["PAIR"] = matched["USUBJID"].map(pair_of).astype(int)
    matched["_control"] = matched["ARM"] != treat_arm
    matched = matched.sort_values(["PAIR", "_control"]).drop(columns="_control")
    balance = _balance(data, data[keep], terms)
    n_treated = int((data["TREAT"] == 1).sum())
    summary = {
        "treated": n_treated,
        "controls": int((data["TREAT"] == 0).sum()),
        "left_out_incomplete": int(len(adsl[adsl["ARM"].isin(data["ARM"].unique())]) - len(data)),
        "pairs": len(pairs),
        "treated_unmatched": n_treated - len(pairs),
        "caliper": caliper,
        "sd_logit_ps": sd,
        "caliper_width": width,
        "order": order,
    }
    return MatchResult(matched.reset_index(drop=True), balance, coef, summary)


def _smd_term(x: pd.Series, treat: pd.Series) -> float:
    a, b = x[treat == 1].to_numpy(dtype=float), x[treat == 0].to_numpy(dtype=float)
    if len(a) == 0 or len(b) == 0:
        return math.nan
    if set(np.unique(x)) <= {0.0, 1.0}:
        return smd_binary(a.mean(), b.mean())
    if len(a) < 2 or len(b) < 2:
        return math.nan
    return smd_continuous(a, b)


def _balance(before: pd.DataFrame, after: pd.DataFrame, terms: list[_Term]) -> pd.DataFrame:
    rows = []
    for term in [_Term("LOGITPS", "logit propensity score", ""), *terms]:
        row = {"variable": term.variable, "contrast": term.contrast}
        for when, d in (("before", before), ("after", after)):
            x, tr = d[term.column], d["TREAT"]
            row[f"mean_treated_{when}"] = float(x[tr == 1].mean()) if (tr == 1).any() else math.nan
            row[f"mean_control_{when}"] = float(x[tr == 0].mean()) if (tr == 0).any() else math.nan
            row[f"smd_{when}"] = _smd_term(x, tr)
        rows.append(row)
    return pd.DataFrame(rows)


def love_plot(balance: pd.DataFrame, threshold: float = 0.1, ax: plt.Axes | None = None) -> plt.Figure:
    """Absolute SMD per term before and after matching, with the usual 0.1 threshold."""
    labels = [
        f"{v}: {c}" if c and c != "per unit" else v
        for v, c in zip(balance["variable"], balance["contrast"], strict=True)
    ]
    y = np.arange(len(balance))[::-1]
    fig, ax, own = plots.axes_for(ax, (6.0, 0.45 * len(balance) + 1.2))
    ax.scatter(
        balance["smd_before"], y, marker="o", facecolors="none", edgecolors="#c62828", label="before matching"
    )
    ax.scatter(balance["smd_after"], y, marker="o", color="#1f77b4", label="after matching")
    ax.axvline(threshold, color="grey", linestyle="--", linewidth=0.8)
    ax.set_yticks(y, labels)
    ax.set_xlabel("absolute standardised mean difference")
    ax.set_xlim(left=0)
    ax.legend(loc="lower right", frameon=False)
    return plots.finish(fig, own)
