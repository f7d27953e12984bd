"""Two-arm survival statistics, batched over many replicate data sets.

Reconstructing patient-level data from published summaries (:mod:`reanalysis.reconstruct`)
gives hundreds of replicate data sets of the same size; fitting each with lifelines in a
Python loop takes minutes.  The functions ending in ``_batch`` take arrays shaped
``(n_patients,)`` or ``(n_replicates, n_patients)`` and compute, for every row at once, the
weighted log-rank test (log-rank, Gehan-Breslow "generalised Wilcoxon", Tarone-Ware), the
Cox proportional-hazards fit of one binary covariate (Efron's ties, as lifelines' default)
and the Kaplan-Meier median.  They follow lifelines' formulas and are tested against it to
1e-6.  For a single data set use :func:`km_table`, :func:`median_survival`,
:func:`median_survival_ci` and :func:`median_followup`.  Medians follow R's rule where the
curve sits exactly at 0.5 (the midpoint of that stretch; lifelines takes its start), and
median CIs use the log-log transform (lifelines; R's ``conf.type = "log-log"``).

Batched results are numpy arrays of shape ``(n_replicates,)`` for 2-D input and plain
Python floats for 1-D input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from . import vocabulary

__all__ = [
    "WEIGHTINGS",
    "CoxResult",
    "LogRankResult",
    "cox_batch",
    "km_median_batch",
    "km_median_row",
    "km_table",
    "logrank_batch",
    "median_followup",
    "median_survival",
    "median_survival_ci",
]

# name -> lifelines' ``weightings`` argument (None = plain log-rank)
# our name → lifelines' name of the weighting (None: the plain log-rank test)
WEIGHTINGS = dict(zip(vocabulary.WEIGHTINGS, (None, "wilcoxon", "tarone-ware"), strict=True))


@dataclass(frozen=True)
class LogRankResult:
    """Weighted log-rank test of group 1 vs group 0.

    ``z`` is (observed - expected events in group 1) / SD, positive when group 1 dies
    faster than expected; ``chi2`` = z**2 on 1 df and ``p`` its two-sided p-value.
    """

    z: np.ndarray | float
    chi2: np.ndarray | float
    p: np.ndarray | float


@dataclass(frozen=True)
class CoxResult:
    """Cox fit of hazard ~ group: log hazard ratio of group 1 vs 0, its SE and the HR.

    ``converged`` is False where Newton-Raphson did not settle (e.g. no events in one
    group, where the maximum likelihood estimate is infinite).
    """

    log_hr: np.ndarray | float
    se: np.ndarray | float
    hr: np.ndarray | float
    converged: np.ndarray | bool


# --------------------------------------------------------------------------
# input handling and risk sets


def _as_batch(
    time: object, event: object, group: object | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, bool]:
    """Validate and broadcast inputs to 2-D (rows = replicates); report whether input was 1-D."""
    t = np.asarray(time, dtype=float)
    single = t.ndim == 1
    if t.ndim not in (1, 2):
        raise ValueError(f"time must be 1-D or 2-D, got shape {t.shape}")
    t = np.atleast_2d(t)
    if t.shape[1] == 0:
        raise ValueError("time is empty")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("time must be finite and non-negative")
    e = np.broadcast_to(np.atleast_2d(np.asarray(event)), t.shape)
    if not np.all((e == 0) | (e == 1)):
        raise ValueError("event must be 0 or 1")
    g = None
    if group is not None:
        g = np.broadcast_to(np.atleast_2d(np.asarray(group)), t.shape)
        if not np.all((g == 0) | (g == 1)):
            raise ValueError("group must be 0 or 1")
        g = g.astype(float)
    return t, e.astype(float), g, single


def _risk_sets(t: np.ndarray, e: np.ndarray, g: np.ndarray | None) -> dict[str, np.ndarray]:
    """Per distinct time, the numbers at risk and dying, overall and in group 1.

    Rows are sorted by time; every quantity is stored at the last position of its block of
    tied times (``last``) and is zero elsewhere, so rows stay rectangular.
    """
    n_rows, n = t.shape
    order = np.argsort(t, axis=1, kind="stable")
    ts = np.take_along_axis(t, order, axis=1)
    es = np.take_along_axis(e, order, axis=1)
    idx = np.arange(n)
    start = np.ones_like(ts, dtype=bool)
    start[:, 1:] = ts[:, 1:] != ts[:, :-1]
    last = np.ones_like(ts, dtype=bool)
    last[:, :-1] = start[:, 1:]
    first = np.maximum.accumulate(np.where(start, idx, 0), axis=1)

    def in_block(x: np.ndarray) -> np.ndarray:
        """Sum of x over each block of tied times (at every position, using its block's start)."""
        c = np.cumsum(x, axis=1)
        before = np.take_along_axis(c - x, first, axis=1)
        return np.where(last, c - before, 0.0)

    out = {"time": ts, "last": last, "n": np.where(last, n - first, 0).astype(float), "d": in_block(es)}
    if g is not None:
        gs = np.take_along_axis(g, order, axis=1)
        before1 = np.take_along_axis(np.cumsum(gs, axis=1) - gs, first, axis=1)
        out["n1"] = np.where(last, gs.sum(axis=1, keepdims=True) - before1, 0.0)
        out["d1"] = in_block(es * gs)
    return out


def _out(x: np.ndarray, single: bool) -> np.ndarray | float:
    return float(x[0]) if single else x


# --------------------------------------------------------------------------
# log-rank family


def logrank_batch(time: object, event: object, group: object, weighting: str = "logrank") -> LogRankResult:
    """Two-group weighted log-rank test for every row of ``time``/``event``/``group``.

    Weights at each event time: 1 (``"logrank"``), the number at risk (``"wilcoxon"``,
    Gehan-Breslow) or its square root (``"tarone-ware"``); the hypergeometric variance
    is that of lifelines' ``logrank_test(..., weightings=...)``.  ``group`` may be 1-D
    (the same arm labels for every row).
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {weighting!r}; expected one of {tuple(WEIGHTINGS)}")
    t, e, g, single = _as_batch(time, event, group)
    if np.any(g.sum(axis=1) == 0) or np.any(g.sum(axis=1) == g.shape[1]):
        raise ValueError("each row needs patients in both groups")
    r = _risk_sets(t, e, g)
    n, d, n1, d1 = r["n"], r["d"], r["n1"], r["d1"]
    has = d > 0
    safe_n = np.where(has, n, 1.0)
    frac1 = n1 / safe_n
    ties = np.where(n > 1, (n - d) / np.where(n > 1, n - 1, 1.0), 1.0)
    w = {"logrank": np.ones_like(n), "wilcoxon": n, "tarone-ware": np.sqrt(n)}[weighting]
    u = np.sum(np.where(has, w * (d1 - d * frac1), 0.0), axis=1)
    var = np.sum(np.where(has, w**2 * d * frac1 * (1 - frac1) * ties, 0.0), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = u / np.sqrt(var)
    chi2 = z**2
    p = sps.chi2.sf(chi2, 1)
    return LogRankResult(_out(z, single), _out(chi2, single), _out(p, single))


# --------------------------------------------------------------------------
# Cox proportional hazards, one binary covariate


def _efron_terms(beta: np.ndarray, n: np.ndarray, n1: np.ndarray, d: np.ndarray, d1: np.ndarray, dmax: int):
    """Efron log-likelihood, score and information of a binary covariate, per row."""
    b = beta[:, None]
    eb = np.exp(b)
    s0 = (n - n1) + n1 * eb  # risk-set sums of exp(beta x); x is 0/1 so S1 = S2
    s1 = n1 * eb
    t0 = (d - d1) + d1 * eb  # the same sums over the tied deaths
    t1 = d1 * eb
    has = d > 0
    safe_d = np.where(has, d, 1.0)
    loglik = np.sum(d1 * b, axis=1)
    score = np.sum(d1, axis=1)
    info = np.zeros_like(beta)
    for k in range(dmax):
        use = has & (k < d)
        f = k / safe_d
        den = np.where(use, s0 - f * t0, 1.0)
        m = np.where(use, (s1 - f * t1) / den, 0.0)
        loglik = loglik - np.sum(np.where(use, np.log(den), 0.0), axis=1)
        score = score - np.sum(m, axis=1)
        info = info + np.sum(np.where(use, m - m**2, 0.0), axis=1)
    return loglik, score, info


def cox_batch(
    time: object, event: object, group: object, max_iter: int = 50, tol: float = 1e-10
) -> CoxResult:
    """Cox model hazard ~ group (0/1) for every row, Efron's method for tied times.

    Newton-Raphson on the single coefficient, all rows at once, with step halving when
    the partial likelihood would decrease; the SE is from the observed information at
    the estimate (as lifelines' ``CoxPHFitter``).  ``group`` may be 1-D.
    """
    t, e, g, single = _as_batch(time, event, group)
    r = _risk_sets(t, e, g)
    n, d, n1, d1 = r["n"], r["d"], r["n1"], r["d1"]
    dmax = int(d.max()) if d.size else 0
    beta = np.zeros(t.shape[0])
    loglik, score, info = _efron_terms(beta, n, n1, d, d1, dmax)
    converged = np.zeros(t.shape[0], dtype=bool)
    for _ in range(max_iter):
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(info > 0, score / info, 0.0)
        step = np.clip(step, -5.0, 5.0)  # guard against huge first steps
        step = np.where(converged, 0.0, step)
        new = beta + step
        ll_new, sc_new, in_new = _efron_terms(new, n, n1, d, d1, dmax)
        for _half in range(20):  # step halving where the likelihood went down
            worse = ll_new < loglik - 1e-12
            if not np.any(worse):
                break
            step = np.where(worse, step / 2, step)
            new = beta + step
            ll_new, sc_new, in_new = _efron_terms(new, n, n1, d, d1, dmax)
        beta, loglik, score, info = new, ll_new, sc_new, in_new
        converged |= np.abs(step) < tol
        if np.all(converged):
            break
    with np.errstate(divide="ignore"):
        se = 1.0 / np.sqrt(info)
    return CoxResult(
        _out(beta, single),
        _out(se, single),
        _out(np.exp(beta), single),
        bool(converged[0]) if single else converged,
    )


# --------------------------------------------------------------------------
# Kaplan-Meier median


HALF_TOL = 1e-9  # a Kaplan-Meier product this close to 0.5 sits exactly at 0.5 (float error ~1e-15)
MEDIAN_RULES = ("midpoint", "first")


def km_median_batch(time: object, event: object, rule: str = "midpoint") -> np.ndarray | float:
    """Kaplan-Meier median of every row: the first time the estimate is <= 0.5 (inf if never).

    Where the estimate sits exactly at 0.5 from t1 to the next event time t2 (or to the last
    time), ``rule="midpoint"`` gives (t1 + t2) / 2, as R's survival package does
    (``print.survfit``, ``quantile.survfit``); ``rule="first"`` gives t1, lifelines' rule
    (``KaplanMeierFitter.median_survival_time_``) when its float product lands on 0.5 or
    below.  With ``event`` replaced by ``1 - event`` this is the reverse Kaplan-Meier median
    follow-up.
    """
    if rule not in MEDIAN_RULES:
        raise ValueError(f"unknown median rule {rule!r}; expected one of {MEDIAN_RULES}")
    t, e, _, single = _as_batch(time, event)
    r = _risk_sets(t, e, None)
    n, d = r["n"], r["d"]
    has = d > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(has, np.log(n - d) - np.log(np.where(has, n, 1.0)), 0.0)
    surv = np.exp(np.cumsum(step, axis=1))
    rows = np.arange(t.shape[0])
    tol = HALF_TOL if rule == "midpoint" else 0.0
    below = has & (surv <= 0.5 + tol)
    reached = below.any(axis=1)
    pos = np.argmax(below, axis=1)
    t1 = r["time"][rows, pos]
    med = np.where(reached, t1, np.inf)
    if rule == "midpoint":
        at_half = reached & (np.abs(surv[rows, pos] - 0.5) <= HALF_TOL)
        later = has & (np.arange(t.shape[1])[None, :] > pos[:, None])
        t2 = np.where(later.any(axis=1), r["time"][rows, np.argmax(later, axis=1)], r["time"][:, -1])
        med = np.where(at_half, 0.5 * (t1 + t2), med)
    return _out(med, single)


def km_median_row(time: np.ndarray, event: np.ndarray) -> float:
    """:func:`km_median_batch` (``rule="midpoint"``) of one valid row: float times, 0/1 events.

    Hand-written for speed, not for a different answer: the survival reconstruction asks for a
    reverse Kaplan-Meier median some 2,500 times a study, mostly of one row, where the batch
    function's broadcasting and tie blocks cost ten times the arithmetic. Without tied times
    every block is one time, and the same ufuncs on the same numbers give the same bits (tested
    against :func:`km_median_batch`); tied times are left to it. No input checks: the caller's
    arrays are valid by construction.
    """
    order = np.argsort(time, kind="stable")
    ts, es = time[order], event[order].astype(float)
    if ts.size > 1 and bool((ts[1:] == ts[:-1]).any()):
        return float(km_median_batch(time, event))
    n = (ts.size - np.arange(ts.size)).astype(float)  # at risk: everyone from this time on
    has = es > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(has, np.log(n - es) - np.log(np.where(has, n, 1.0)), 0.0)
    surv = np.exp(np.cumsum(step))
    below = has & (surv <= 0.5 + HALF_TOL)
    if not below.any():
        return float(np.inf)
    pos = int(np.argmax(below))
    t1 = ts[pos]
    if abs(surv[pos] - 0.5) <= HALF_TOL:  # at one half up to the next event time (or the last time)
        later = np.flatnonzero(has[pos + 1 :])
        return float(0.5 * (t1 + (ts[pos + 1 + later[0]] if later.size else ts[-1])))
    return float(t1)


# --------------------------------------------------------------------------
# single data sets, with lifelines


def _frame(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    missing = {"time", "event"} - set(df.columns)
    if missing:
        raise ValueError(f"data frame needs columns 'time' and 'event'; missing {sorted(missing)}")
    t = df["time"].to_numpy(dtype=float)
    e = df["event"].to_numpy()
    if len(t) == 0:
        raise ValueError("data frame has no rows")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("time must be finite and non-negative")
    if not np.all((e == 0) | (e == 1)):
        raise ValueError("event must be 0 or 1")
    return t, e.astype(int)


def _kmf(t: np.ndarray, e: np.ndarray, alpha: float = 0.05):
    from lifelines import KaplanMeierFitter

    return KaplanMeierFitter(alpha=alpha).fit(t, e)


def km_table(df: pd.DataFrame, times: Sequence[float], alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan-Meier S(t) with its pointwise 1-alpha CI (lifelines, log-log) at ``times``.

    ``df`` has columns ``time`` and ``event``; returns columns time, survival, lower, upper.
    """
    t, e = _frame(df)
    at = np.asarray(times, dtype=float)
    if at.ndim != 1 or not np.all(np.isfinite(at)) or np.any(at < 0):
        raise ValueError("times must be a 1-D sequence of finite, non-negative numbers")
    kmf = _kmf(t, e, alpha)
    ci = kmf.confidence_interval_survival_function_
    idx = np.searchsorted(ci.index.to_numpy(), at, side="right") - 1
    lower = np.where(idx >= 0, ci.iloc[np.maximum(idx, 0), 0].to_numpy(), 1.0)
    upper = np.where(idx >= 0, ci.iloc[np.maximum(idx, 0), 1].to_numpy(), 1.0)
    surv = kmf.survival_function_at_times(at).to_numpy(dtype=float)
    return pd.DataFrame({"time": at, "survival": surv, "lower": lower, "upper": upper})


def median_survival(df: pd.DataFrame, rule: str = "midpoint") -> float:
    """Kaplan-Meier median survival, inf when the curve stays above 0.5; where the curve sits
    exactly at 0.5 the midpoint of that flat stretch, as R (``rule="first"``: lifelines)."""
    t, e = _frame(df)
    return float(km_median_batch(t, e, rule))


def median_survival_ci(df: pd.DataFrame, alpha: float = 0.05) -> tuple[float, float]:
    """1-alpha CI of the Kaplan-Meier median from the pointwise band on the log-log scale
    (lifelines; R: ``survfit(..., conf.type = "log-log")``, whose default is "log").

    A limit the band never reaches is inf (printed "NR" in papers).
    """
    from lifelines.utils import median_survival_times

    t, e = _frame(df)
    kmf = _kmf(t, e, alpha)
    ci = median_survival_times(kmf.confidence_interval_)
    return float(ci.iloc[0, 0]), float(ci.iloc[0, 1])


def median_followup(df: pd.DataFrame, rule: str = "midpoint") -> float:
    """Median follow-up by the reverse Kaplan-Meier method (censorings as events), with the
    median rule of :func:`median_survival`."""
    t, e = _frame(df)
    return float(km_median_batch(t, 1 - e, rule))
