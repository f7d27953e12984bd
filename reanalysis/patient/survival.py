"""Survival analyses of patient-level data: Cox models with a proportional-hazards check, a Cox
model in a matched cohort, and Kaplan-Meier medians with the log-rank test.

Inputs are ADaM-style frames (:mod:`reanalysis.patient.design`); every result is aggregate.
Computation is delegated to lifelines (Cox, Kaplan-Meier, log-rank, Schoenfeld-residual PH
test); the reference values in ``tests/reference/patient_reference.md`` come from R. (Not
:mod:`reanalysis.survival`, which fits batched Cox/log-rank models to reconstructed data.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .design import _arms, _design, _endpoint, _Term, _two_arms

__all__ = [
    "CoxModels",
    "KMSummary",
    "cox_matched",
    "cox_models",
    "cox_zph",
    "km_by_arm",
    "median_r",
]

# lifelines' default Newton-Raphson stopping rule leaves coefficients ~1e-6 (relative) from R's;
# this one agrees with R's coxph to ~1e-8 at no noticeable cost.
_COX_FIT = {"precision": 1e-12}


# --------------------------------------------------------------------------
# Cox models


def _fit_cox(df: pd.DataFrame, columns: list[str], cluster: str | None = None):
    from lifelines import CoxPHFitter

    data = df[[*columns, "T", "E", *([cluster] if cluster else [])]]
    cph = CoxPHFitter()
    cph.fit(data, duration_col="T", event_col="E", cluster_col=cluster, fit_options=_COX_FIT)
    return cph


def _term_rows(cph, terms: list[_Term], n: int, events: int) -> list[dict]:
    sm = cph.summary
    out = []
    for t in terms:
        r = sm.loc[t.column]
        out.append(
            {
                "variable": t.variable,
                "contrast": t.contrast,
                "hr": float(r["exp(coef)"]),
                "lower": float(r["exp(coef) lower 95%"]),
                "upper": float(r["exp(coef) upper 95%"]),
                "coef": float(r["coef"]),
                "se": float(r["se(coef)"]),
                "p": float(r["p"]),
                "n": n,
                "events": events,
            }
        )
    return out


def _complete(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return df.dropna(subset=columns)


@dataclass
class CoxModels:
    """Univariable and multivariable Cox results and the PH check of the multivariable model.

    Frames have columns variable, contrast, hr, lower, upper, coef, se, p, n, events;
    ``univariable`` adds ``p_variable`` (Wald p, or the likelihood-ratio p of a multi-level
    variable) on which entry into the multivariable model is decided.
    """

    univariable: pd.DataFrame
    multivariable: pd.DataFrame
    ph: pd.DataFrame
    selected: list[str]
    p_enter: float
    notes: list[str] = field(default_factory=list)
    zph: pd.DataFrame | None = None  # the PH test of R survival >= 3.0 (cox_zph), per variable


def cox_models(
    adsl: pd.DataFrame,
    adtte: pd.DataFrame,
    paramcd: str,
    treat_arm: str,
    covariates: Sequence[str],
    p_enter: float = 0.1,
    control_arm: str | None = None,
) -> CoxModels:
    """Univariable Cox per covariate, then a multivariable model of the arm plus those with p < p_enter.

    The arm (treatment vs control) always enters. Ties by Efron's method (lifelines, as R's
    coxph). PH check: lifelines' ``proportional_hazard_test`` with rank-transformed time, per
    term, on the multivariable model (it equals the per-term test of R survival < 3.0's
    ``cox.zph(transform = "rank")``; see the reference file for how it differs from survival 3.x).
    """
    if not 0 < p_enter <= 1:
        raise ValueError(f"p_enter must lie in (0, 1], got {p_enter}")
    sub, control = _two_arms(adsl, treat_arm, control_arm)
    df = _endpoint(sub, adtte, paramcd)
    design, terms = _design(df, covariates)
    df = pd.concat([df[["T", "E", "TREAT"]], design], axis=1)
    arm_term = _Term("TREAT", "ARM", f"{treat_arm} vs {control}")
    notes: list[str] = []
    uni: list[dict] = []
    selected: list[str] = []
    for variable in [None, *dict.fromkeys(t.variable for t in terms)]:
        vterms = [arm_term] if variable is None else [t for t in terms if t.variable == variable]
        cols = [t.column for t in vterms]
        data = _complete(df, cols)
        cph = _fit_cox(data, cols)
        rows = _term_rows(cph, vterms, len(data), int(data["E"].sum()))
        p_var = rows[0]["p"] if len(rows) == 1 else float(cph.log_likelihood_ratio_test().p_value)
        for r in rows:
            r["p_variable"] = p_var
        uni += rows
        if variable is not None and p_var < p_enter:
            selected.append(variable)
        if len(data) < len(df):
            notes.append(f"{variable or 'ARM'}: {len(df) - len(data)} subject(s) without a value left out")
    mterms = [arm_term] + [t for t in terms if t.variable in selected]
    mcols = [t.column for t in mterms]
    data = _complete(df, mcols)
    cph = _fit_cox(data, mcols)
    multi = _term_rows(cph, mterms, len(data), int(data["E"].sum()))
    ph = _ph_test(cph, data, mterms)
    zph = cox_zph(data[mcols].to_numpy(float), data["T"], data["E"], cph.params_[mcols].to_numpy(), mterms)
    return CoxModels(pd.DataFrame(uni), pd.DataFrame(multi), ph, selected, p_enter, notes, zph)


def _zph_time(T: np.ndarray, E: np.ndarray, transform: str) -> np.ndarray:
    """g(t) of cox.zph for every subject, centred on the events' mean (R survival >= 3.0)."""
    if transform == "km":  # 1 - the left-continuous Kaplan-Meier of all subjects
        surv_before, s = {}, 1.0
        for t in np.unique(T[E == 1]):
            surv_before[t] = s
            s *= 1 - ((T == t) & (E == 1)).sum() / (T >= t).sum()
        g = np.array([1 - surv_before.get(t, np.nan) for t in T])
    elif transform == "rank":
        from scipy.stats import rankdata

        g = rankdata(T)
    elif transform == "identity":
        g = T.astype(float)
    elif transform == "log":
        g = np.log(T)
    else:
        raise ValueError(f"unknown transform '{transform}' (km, rank, identity, log)")
    return g - np.nanmean(g[E == 1])


def cox_zph(
    X: np.ndarray, T: pd.Series, E: pd.Series, beta: np.ndarray, terms: list[_Term], transform: str = "km"
) -> pd.DataFrame:
    """The proportional-hazards test of R survival >= 3.0 ``cox.zph(fit, transform)``: per
    variable (its terms together) and GLOBAL, the score test of adding ``x * g(t)`` at the fitted
    coefficients, Efron ties. (Survival < 3.0 regressed scaled Schoenfeld residuals on g(t):
    the ``ph`` table.) Checked against R in tests/reference/veteran_patient.R."""
    from scipy.stats import chi2

    T, E = np.asarray(T, dtype=float), np.asarray(E, dtype=int)
    p = X.shape[1]
    g_all = _zph_time(T, E, transform)
    w = np.exp(X @ beta)
    u, imat = np.zeros(2 * p), np.zeros((2 * p, 2 * p))
    for t in np.unique(T[E == 1]):
        risk, dead = T >= t, (T == t) & (E == 1)
        d, g = int(dead.sum()), float(g_all[dead][0])
        wx_r, wx_d = w[risk, None] * X[risk], w[dead, None] * X[dead]
        s0, s1, s2 = w[risk].sum(), wx_r.sum(0), wx_r.T @ X[risk]
        d0, d1, d2 = w[dead].sum(), wx_d.sum(0), wx_d.T @ X[dead]
        means, var = np.zeros(p), np.zeros((p, p))
        for k in range(d):  # Efron: the tied deaths leave the risk set in equal fractions
            f = k / d
            m = (s1 - f * d1) / (s0 - f * d0)
            means += m
            var += (s2 - f * d2) / (s0 - f * d0) - np.outer(m, m)
        score = X[dead].sum(0) - means
        u[:p] += score
        u[p:] += g * score
        imat += np.kron(np.array([[1.0, g], [g, g * g]]), var)
    rows = []
    groups = {
        v: [i for i, t in enumerate(terms) if t.variable == v]
        for v in dict.fromkeys(t.variable for t in terms)
    }
    for variable, cols in [*groups.items(), ("GLOBAL", list(range(p)))]:
        kk = [*range(p), *(p + j for j in cols)]
        uu = np.concatenate([np.zeros(p), u[[p + j for j in cols]]])
        stat = float(uu @ np.linalg.solve(imat[np.ix_(kk, kk)], uu))
        rows.append(
            {"variable": variable, "statistic": stat, "df": len(cols), "p": float(chi2.sf(stat, len(cols)))}
        )
    return pd.DataFrame(rows)


def _ph_test(cph, data: pd.DataFrame, terms: list[_Term]) -> pd.DataFrame:
    from lifelines.statistics import proportional_hazard_test

    res = proportional_hazard_test(cph, data[[*[t.column for t in terms], "T", "E"]], time_transform="rank")
    sm = res.summary
    return pd.DataFrame(
        [
            {
                "variable": t.variable,
                "contrast": t.contrast,
                "statistic": float(sm.loc[t.column, "test_statistic"]),
                "p": float(sm.loc[t.column, "p"]),
            }
            for t in terms
        ]
    )


def cox_matched(
    matched: pd.DataFrame,
    adtte: pd.DataFrame,
    paramcd: str,
    treat_arm: str,
    covariates: Sequence[str] = (),
    pair_col: str = "PAIR",
    control_arm: str | None = None,
) -> pd.DataFrame:
    """Cox model of the arm (plus optional covariates) in a matched cohort, robust SE by pair.

    The sandwich variance clusters on ``pair_col`` (lifelines ``cluster_col``; R's
    ``coxph(... + cluster(pair))``), acknowledging that matched patients are not independent.
    Returns one row per term with the robust ``se``, and ``pairs``.
    """
    if pair_col not in matched.columns:
        raise ValueError(f"matched cohort has no pair column '{pair_col}' (see propensity_match)")
    sub, control = _two_arms(matched, treat_arm, control_arm)
    df = _endpoint(sub, adtte, paramcd)
    design, terms = _design(df, covariates) if covariates else (pd.DataFrame(index=df.index), [])
    df = pd.concat([df[["T", "E", "TREAT", pair_col]], design], axis=1)
    allterms = [_Term("TREAT", "ARM", f"{treat_arm} vs {control}"), *terms]
    cols = [t.column for t in allterms]
    data = _complete(df, cols)
    cph = _fit_cox(data, cols, cluster=pair_col)
    out = pd.DataFrame(_term_rows(cph, allterms, len(data), int(data["E"].sum())))
    out["pairs"] = int(data[pair_col].nunique())
    return out


# --------------------------------------------------------------------------
# Kaplan-Meier


def median_r(curve: pd.Series) -> float:
    """The median of a survival step curve (index: time) as R's ``survfit`` gives it: the first
    time the curve is at or below 0.5; where it is exactly 0.5, the midpoint between that time
    and the curve's next drop (R ``quantile.survfit``). inf when never reached."""
    tol = math.sqrt(np.finfo(float).eps)
    t, s = curve.index.to_numpy(dtype=float), curve.to_numpy(dtype=float)
    below = np.flatnonzero(s <= 0.5 + tol)
    if not len(below):
        return math.inf
    i = below[0]
    if abs(s[i] - 0.5) < tol:
        drops = np.flatnonzero(s[i + 1 :] < s[i] - tol)
        if len(drops):
            return float((t[i] + t[i + 1 + drops[0]]) / 2)
    return float(t[i])


@dataclass
class KMSummary:
    """Per arm: n, events, KM median with its CI; and the log-rank test across arms."""

    table: pd.DataFrame
    chi2: float
    df: int
    p: float


def km_by_arm(adsl: pd.DataFrame, adtte: pd.DataFrame, paramcd: str, alpha: float = 0.05) -> KMSummary:
    """Kaplan-Meier median (with lifelines' log-log CI, = R ``survfit(conf.type = "log-log")``)
    per arm, by R's rule (:func:`median_r`), and the log-rank test (= R ``survdiff``). A median
    not reached is inf."""
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    arms = _arms(adsl, "ARM")
    df = _endpoint(adsl, adtte, paramcd)
    rows = []
    for arm in arms:
        g = df[df["ARM"] == arm]
        if g.empty:
            continue
        kmf = KaplanMeierFitter(alpha=alpha).fit(g["T"], g["E"])
        ci = kmf.confidence_interval_
        rows.append(
            {
                "arm": arm,
                "n": len(g),
                "events": int(g["E"].sum()),
                "median": median_r(kmf.survival_function_.iloc[:, 0]),
                "lower": median_r(ci.iloc[:, 0]),
                "upper": median_r(ci.iloc[:, 1]),
            }
        )
    table = pd.DataFrame(rows)
    if len(table) < 2:
        return KMSummary(table, math.nan, 0, math.nan)
    res = multivariate_logrank_test(df["T"], df["ARM"], df["E"])
    return KMSummary(table, float(res.test_statistic), int(res.degrees_of_freedom), float(res.p_value))
