"""Inverse-variance meta-analysis of published study results.

The evidence book pools single-arm response rates (proportions) and hazard ratios
read from papers.  ``pool`` is the generic random-effects (or fixed-effect) pooling of
effect estimates ``yi`` with sampling variances ``vi``; ``pool_proportions`` and
``pool_log_ratios`` turn counts or printed ratios with confidence intervals into
``yi``/``vi`` first; ``forest_data`` lays out the per-study and pooled rows for a plot.

Conventions follow R's metafor (``rma``/``escalc``/``predict``), which is how the
expected values in ``tests/test_meta.py`` were computed (``tests/reference/metafor_reference.md``):

- tau² by DerSimonian-Laird ("DL", truncated at 0), Paule-Mandel ("PM"), restricted
  maximum likelihood ("REML"), or none ("FE", fixed effect).  DL and PM and the Q
  statistic come from statsmodels' ``combine_effects``; statsmodels has no REML, so
  the REML estimating equation is solved here with scipy's ``brentq``.
- The confidence interval of the pooled estimate uses the normal quantile (metafor's
  default ``test="z"``), or, with ``test="knha"``, the Hartung-Knapp(-Sidik-Jonkman)
  adjustment: se² scaled by the weighted residual variance Q(τ²)/(k-1), not truncated, and
  t(k-1) quantiles (metafor ``rma(..., test="knha")``).
- I² is metafor's: 100·tau²/(tau² + s²), s² the "typical" within-study variance
  (Higgins & Thompson 2002).  For DL it equals the Q-based 100·(Q - df)/Q; for PM and
  REML it uses their tau²; for FE it is the Q-based value.
- The prediction interval is Higgins, Thompson & Spiegelhalter (2009): estimate ±
  t(k-2)·sqrt(se² + tau²).  metafor 3.8 prints a normal-quantile interval by default;
  ``predict(fit, pi.type="riley")`` gives this one.  There is none for k < 3 or FE.

Results are plain Python floats so they serialise and compare cleanly.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import optimize
from scipy import stats as sps
from statsmodels.stats.meta_analysis import combine_effects as _sm_combine_effects

__all__ = [
    "METHODS",
    "PROPORTION_TRANSFORMS",
    "TESTS",
    "TRANSFORMS",
    "MetaResult",
    "back_transform",
    "forest_data",
    "log_ratio_effects",
    "pool",
    "pool_log_ratios",
    "pool_proportions",
    "proportion_effects",
]

METHODS = ("DL", "PM", "REML", "FE")
# How the pooled estimate's CI is built: normal quantile ("z") or Hartung-Knapp ("knha").
TESTS = ("z", "knha")
PROPORTION_TRANSFORMS = ("logit", "raw", "arcsine")
# Scales a result can be back-transformed from; "raw" is an alias of "identity".
TRANSFORMS = ("logit", "log", "identity", "raw", "arcsine")

# Paule-Mandel: statsmodels stops when |Q(tau2) - (k - 1)| < atol (its default 1e-5).
_PM_ATOL = 1e-10
_PM_MAXITER = 1000


@dataclass(frozen=True)
class MetaResult:
    """One pooled estimate with its heterogeneity statistics.

    ``estimate``, ``se``, ``ci`` and ``pi`` are on the analysis scale (logit
    proportion, log hazard ratio, ...); use :meth:`back` for the natural scale.
    ``weights`` are percentages in input order; ``i2`` is a percentage.
    """

    method: str
    k: int
    estimate: float
    se: float
    ci: tuple[float, float]
    pi: tuple[float, float] | None
    tau2: float
    i2: float
    q: float
    q_p: float
    weights: tuple[float, ...]
    level: float = 0.95
    test: str = "z"

    def back(self, transform: str) -> dict:
        """Estimate, CI and prediction interval back-transformed to the natural scale.

        ``transform`` names the analysis scale: "logit" (-> proportion), "log" (-> ratio),
        "arcsine" (-> proportion), "identity" or "raw" (unchanged).
        """
        return {
            "transform": _check_transform(transform),
            "estimate": back_transform(self.estimate, transform),
            "ci": (back_transform(self.ci[0], transform), back_transform(self.ci[1], transform)),
            "pi": None
            if self.pi is None
            else (back_transform(self.pi[0], transform), back_transform(self.pi[1], transform)),
        }


# --------------------------------------------------------------------------
# validation helpers


@contextlib.contextmanager
def _quiet():
    """statsmodels takes square roots of negative variances for statistics (HKSJ) that are not
    used here when the raw DL τ² is negative; silence those RuntimeWarnings only."""
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def combine_effects(y: np.ndarray, v: np.ndarray, **kwargs: object):
    """statsmodels' ``combine_effects``, quietly (see :func:`_quiet`)."""
    with _quiet():
        return _sm_combine_effects(y, v, **kwargs)


def _check_method(method: str) -> str:
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
    return method.upper()


def _check_level(level: float, name: str = "level") -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        hint = " (give 0.95, not 95)" if 1.0 < level <= 100.0 else ""
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {level}{hint}")
    return level


def _check_transform(transform: str) -> str:
    if transform not in TRANSFORMS:
        raise ValueError(f"unknown transform {transform!r}; expected one of {TRANSFORMS}")
    return transform


def _as_vector(values: ArrayLike, name: str) -> np.ndarray:
    """Return ``values`` as a finite 1-D float array, or raise ValueError."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a sequence of numbers: {exc}") from exc
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values: {arr.tolist()}")
    return arr


def _as_counts(values: ArrayLike, name: str) -> np.ndarray:
    arr = _as_vector(values, name)
    if np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must be non-negative whole numbers, got {arr.tolist()}")
    return arr


def _check_inputs(yi: ArrayLike, vi: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = _as_vector(yi, "yi")
    v = _as_vector(vi, "vi")
    if y.shape != v.shape:
        raise ValueError(f"yi and vi differ in length ({y.size} vs {v.size})")
    if y.size < 2:
        raise ValueError(f"pooling needs at least 2 studies, got {y.size}")
    if np.any(v <= 0):
        raise ValueError(f"every sampling variance vi must be positive, got {v.tolist()}")
    return y, v


# --------------------------------------------------------------------------
# transforms


def back_transform(x: float, transform: str) -> float:
    """Map one value from the analysis scale back to the natural scale.

    The arcsine scale is clipped to [0, pi/2] first, so proportions stay in [0, 1]
    (as metafor's ``transf.iarcsin``); "raw" and "identity" return ``x`` unchanged.
    """
    transform = _check_transform(transform)
    x = float(x)
    if transform == "logit":
        return float(sps.logistic.cdf(x))
    if transform == "log":
        return math.exp(x)
    if transform == "arcsine":
        return math.sin(min(max(x, 0.0), math.pi / 2)) ** 2
    return x


def proportion_effects(
    events: ArrayLike,
    totals: ArrayLike,
    transform: str = "logit",
    continuity: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-study proportions ``yi`` and variances ``vi`` on the chosen scale.

    "logit": yi = ln(x / (n - x)), vi = 1/x + 1/(n - x) (metafor ``escalc("PLO")``);
    "raw": yi = x/n, vi = p(1 - p)/n ("PR"); "arcsine": yi = asin(sqrt(x/n)),
    vi = 1/(4n) ("PAS").  For "logit" and "raw", a study with 0 or n events gets
    ``continuity`` added to both its events and its non-events (so n grows by
    2·continuity); other studies are left alone.  This is escalc's default
    ``add=1/2, to="only0"``.  The arcsine scale needs no correction and gets none,
    as in escalc.
    """
    x = _as_counts(events, "events")
    n = _as_counts(totals, "totals")
    if x.shape != n.shape:
        raise ValueError(f"events and totals differ in length ({x.size} vs {n.size})")
    if np.any(n == 0):
        raise ValueError(f"every study needs at least one patient, got totals {n.tolist()}")
    if np.any(x > n):
        raise ValueError(f"events exceed totals: events {x.tolist()}, totals {n.tolist()}")
    if transform not in PROPORTION_TRANSFORMS:
        raise ValueError(f"unknown transform {transform!r}; expected one of {PROPORTION_TRANSFORMS}")
    continuity = float(continuity)
    if not (math.isfinite(continuity) and continuity >= 0):
        raise ValueError(f"continuity must be a non-negative number, got {continuity}")

    if transform == "arcsine":
        return np.arcsin(np.sqrt(x / n)), 1.0 / (4.0 * n)

    extreme = (x == 0) | (x == n)
    if np.any(extreme) and continuity == 0:
        raise ValueError(
            f"studies {np.flatnonzero(extreme).tolist()} have 0 or all events: "
            f"their {transform} variance is undefined without a continuity correction"
        )
    xc = np.where(extreme, x + continuity, x)
    nc = np.where(extreme, n + 2 * continuity, n)
    if transform == "logit":
        return np.log(xc / (nc - xc)), 1.0 / xc + 1.0 / (nc - xc)
    p = xc / nc
    return p, p * (1 - p) / nc


def log_ratio_effects(
    ratios: ArrayLike, lowers: ArrayLike, uppers: ArrayLike, ci_level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Log ratios ``yi`` and variances ``vi`` from printed ratios and their CIs.

    yi = ln(ratio); se = (ln upper - ln lower) / (2 z), z the normal quantile for
    ``ci_level`` (the CI level the papers printed), as in ``stats.hr_p_from_ci``.
    """
    r = _as_vector(ratios, "ratios")
    lo = _as_vector(lowers, "lowers")
    hi = _as_vector(uppers, "uppers")
    if not r.shape == lo.shape == hi.shape:
        raise ValueError(f"ratios, lowers and uppers differ in length ({r.size}, {lo.size}, {hi.size})")
    ci_level = _check_level(ci_level, "ci_level")
    if np.any(r <= 0) or np.any(lo <= 0) or np.any(hi <= 0):
        raise ValueError("ratios and their limits must be positive")
    if np.any(lo >= hi):
        raise ValueError(f"each lower limit must be below its upper limit: {lo.tolist()} vs {hi.tolist()}")
    outside = np.flatnonzero((r < lo) | (r > hi))
    if outside.size:
        raise ValueError(f"ratios at positions {outside.tolist()} lie outside their confidence intervals")
    z = float(sps.norm.ppf(0.5 + ci_level / 2))
    se = (np.log(hi) - np.log(lo)) / (2 * z)
    return np.log(r), se**2


# --------------------------------------------------------------------------
# pooling


def _reml_tau2(y: np.ndarray, v: np.ndarray) -> float:
    """REML tau² for the intercept-only model: root of the restricted score, or 0.

    score(t) = sum(w² r²) - sum(w) + sum(w²)/sum(w), w = 1/(v + t), r = y - weighted mean
    (twice the derivative of the restricted log-likelihood).  If it is <= 0 at t = 0
    the maximum is on the boundary; otherwise it is bracketed by doubling and solved
    with ``brentq`` to ~1e-13, tighter than metafor's default Fisher scoring (1e-5).
    """

    def score(t: float) -> float:
        w = 1.0 / (v + t)
        mu = np.dot(w, y) / w.sum()
        return float(np.dot(w**2, (y - mu) ** 2) - w.sum() + np.dot(w, w) / w.sum())

    if score(0.0) <= 0:
        return 0.0
    hi = max(float(np.var(y, ddof=1)), float(v.max()), 1e-8)
    for _ in range(200):
        if score(hi) < 0:
            break
        hi *= 2
    else:  # pragma: no cover - the score is negative for large t with any finite data
        raise RuntimeError("could not bracket the REML estimate of tau2")
    return float(optimize.brentq(score, 0.0, hi, xtol=1e-15, rtol=1e-13, maxiter=500))


def _pm_tau2(y: np.ndarray, v: np.ndarray, q: float) -> float:
    """Paule-Mandel tau² from statsmodels, with a tight tolerance and a check of the root.

    PM solves Q(tau²) = k - 1 for the generalised Q; when the ordinary Q (tau² = 0) is
    already <= k - 1 the estimate is 0.
    """
    k = y.size
    if q <= k - 1:
        return 0.0
    res = combine_effects(y, v, method_re="iterated", atol=_PM_ATOL, maxiter=_PM_MAXITER)
    tau2 = float(res.tau2)
    w = 1.0 / (v + tau2)
    q_gen = float(np.dot(w, (y - np.dot(w, y) / w.sum()) ** 2))
    if not (tau2 > 0 and abs(q_gen - (k - 1)) <= 1e-8 * (k - 1)):
        raise RuntimeError(f"Paule-Mandel iteration did not converge (tau2 = {tau2}, Q(tau2) = {q_gen})")
    return tau2


def pool(
    yi: ArrayLike, vi: ArrayLike, method: str = "DL", level: float = 0.95, test: str = "z"
) -> MetaResult:
    """Inverse-variance pooling of estimates ``yi`` with sampling variances ``vi``.

    ``method`` sets tau²: "DL", "PM", "REML" (random effects) or "FE" (tau² = 0).  The
    pooled estimate, its se, CI and the weights are the fixed-effect results for
    variances vi + tau², which is what a random-effects model with known tau² is.
    ``test="knha"`` applies the Hartung-Knapp-Sidik-Jonkman adjustment to the se and uses
    t(k-1) for the CI (few studies: the normal CI is too narrow, IntHout et al. 2014).
    """
    y, v = _check_inputs(yi, vi)
    method = _check_method(method)
    level = _check_level(level)
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}; expected one of {TESTS}")
    k = int(y.size)

    # Q and the DL tau² (statsmodels does not truncate it at 0; metafor does).
    base = combine_effects(y, v, method_re="chi2")
    q = float(base.q)
    tau2_dl = max(float(base.tau2), 0.0)
    if method == "DL":
        tau2 = tau2_dl
    elif method == "PM":
        tau2 = _pm_tau2(y, v, q)
    elif method == "REML":
        tau2 = _reml_tau2(y, v)
    else:
        tau2 = 0.0

    fit = combine_effects(y, v + tau2, method_re="chi2")
    estimate = float(fit.mean_effect_fe)
    se = float(fit.sd_eff_w_fe)
    with _quiet():
        ci = fit.conf_int(alpha=1 - level, use_t=False)[0]
    ci_lo, ci_hi = (float(c) for c in ci)
    if test == "knha":
        wt = 1.0 / (v + tau2)
        s2w = float(np.dot(wt, (y - estimate) ** 2)) / (k - 1)
        se = math.sqrt(s2w / wt.sum())
        half_ci = float(sps.t.isf((1 - level) / 2, k - 1)) * se
        ci_lo, ci_hi = estimate - half_ci, estimate + half_ci
    weights = tuple(float(w) for w in 100 * fit.weights_rel_fe)

    # metafor's I²: tau² against the typical within-study variance s².
    w = 1.0 / v
    s2 = (k - 1) * w.sum() / (w.sum() ** 2 - np.dot(w, w))
    tau2_i2 = tau2_dl if method == "FE" else tau2
    i2 = float(100 * tau2_i2 / (tau2_i2 + s2))

    pi = None
    if method != "FE" and k >= 3:
        crit = float(sps.t.isf((1 - level) / 2, k - 2))
        half = crit * math.sqrt(se**2 + tau2)
        pi = (estimate - half, estimate + half)

    return MetaResult(
        method=method,
        k=k,
        estimate=estimate,
        se=se,
        ci=(ci_lo, ci_hi),
        pi=pi,
        tau2=float(tau2),
        i2=i2,
        q=q,
        q_p=float(sps.chi2.sf(q, k - 1)),
        weights=weights,
        level=level,
        test=test,
    )


def pool_proportions(
    events: ArrayLike,
    totals: ArrayLike,
    method: str = "DL",
    level: float = 0.95,
    transform: str = "logit",
    continuity: float = 0.5,
    test: str = "z",
) -> MetaResult:
    """Pool single-arm proportions (e.g. objective response rates) from counts.

    See :func:`proportion_effects` for the scales and the continuity correction;
    back-transform with ``result.back(transform)``.
    """
    yi, vi = proportion_effects(events, totals, transform=transform, continuity=continuity)
    return pool(yi, vi, method=method, level=level, test=test)


def pool_log_ratios(
    ratios: ArrayLike,
    lowers: ArrayLike,
    uppers: ArrayLike,
    method: str = "DL",
    level: float = 0.95,
    ci_level: float = 0.95,
    test: str = "z",
) -> MetaResult:
    """Pool ratios (hazard ratios, ...) printed with confidence intervals, on the log scale.

    ``level`` is the level of the pooled intervals, ``ci_level`` that of the printed
    ones.  Back-transform with ``result.back("log")``.
    """
    yi, vi = log_ratio_effects(ratios, lowers, uppers, ci_level=ci_level)
    return pool(yi, vi, method=method, level=level, test=test)


def forest_data(
    labels: Sequence[str],
    result: MetaResult,
    yi: ArrayLike,
    vi: ArrayLike,
    transform: str,
) -> pd.DataFrame:
    """Tidy rows for a forest plot: one per study, then the pooled row, back-transformed.

    Columns: label, kind ("study"/"pooled"), yi, se (analysis scale), estimate, lower,
    upper (natural scale, Wald CIs at ``result.level``), weight (percent; 100 for the
    pooled row), pi_lower, pi_upper (pooled row only, NaN elsewhere).  ``yi``/``vi``
    must be the ones ``result`` was pooled from: their weights are checked against it.
    """
    y, v = _check_inputs(yi, vi)
    transform = _check_transform(transform)
    labels = [str(lab) for lab in labels]
    if not len(labels) == y.size == result.k:
        raise ValueError(f"got {len(labels)} labels and {y.size} studies for a result pooling {result.k}")
    w = 1.0 / (v + result.tau2)
    if not np.allclose(100 * w / w.sum(), result.weights, rtol=1e-6, atol=1e-9):
        raise ValueError("yi/vi do not match result: their weights differ from result.weights")

    z = float(sps.norm.isf((1 - result.level) / 2))
    se = np.sqrt(v)
    rows = [
        {
            "label": lab,
            "kind": "study",
            "yi": float(yy),
            "se": float(ss),
            "estimate": back_transform(yy, transform),
            "lower": back_transform(yy - z * ss, transform),
            "upper": back_transform(yy + z * ss, transform),
            "weight": float(wt),
            "pi_lower": math.nan,
            "pi_upper": math.nan,
        }
        for lab, yy, ss, wt in zip(labels, y, se, result.weights, strict=True)
    ]
    back = result.back(transform)
    rows.append(
        {
            "label": f"Pooled ({result.method})",
            "kind": "pooled",
            "yi": result.estimate,
            "se": result.se,
            "estimate": back["estimate"],
            "lower": back["ci"][0],
            "upper": back["ci"][1],
            "weight": 100.0,
            "pi_lower": math.nan if back["pi"] is None else back["pi"][0],
            "pi_upper": math.nan if back["pi"] is None else back["pi"][1],
        }
    )
    return pd.DataFrame(rows)
