"""Inference on a model's validation predictions: DeLong AUC variance, CI and paired test
(fast DeLong, Sun & Xu 2014, checked against R pROC), and the calibration table.

Used by :mod:`.models`; every result is aggregate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

__all__ = [
    "DelongTest",
    "auc_ci",
    "delong_auc_variance",
    "delong_test",
]


# --------------------------------------------------------------------------
# DeLong AUC variance (fast algorithm of Sun & Xu 2014)


@dataclass(frozen=True)
class DelongTest:
    """Paired DeLong test of two AUCs computed on the same subjects (as pROC's roc.test)."""

    auc1: float
    auc2: float
    difference: float
    z: float
    p: float


def _binary_labels(y_true: object, name: str = "y_true") -> np.ndarray:
    """Return ``y_true`` as a 0/1 int array, or raise ValueError."""
    arr = np.asarray(y_true)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of 0/1 labels")
    try:
        num = arr.astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must contain only 0/1 labels: {exc}") from exc
    bad = sorted({v for v in num.tolist() if v not in (0.0, 1.0)}, key=str)
    if bad:
        raise ValueError(f"{name} must contain only 0/1 labels, found {bad[:5]}")
    return num.astype(np.int64)


def _scores_matrix(y: np.ndarray, scores: Sequence[object]) -> np.ndarray:
    """Stack score vectors into a (k, n) float matrix matching ``y``."""
    mat = np.vstack([np.asarray(s, dtype=float).reshape(1, -1) for s in scores])
    if mat.shape[1] != y.size:
        raise ValueError(f"scores have {mat.shape[1]} values but y_true has {y.size}")
    if not np.all(np.isfinite(mat)):
        raise ValueError("scores contain non-finite values")
    return mat


def _fast_delong(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUCs (k,) and their DeLong covariance matrix (k, k) for score rows of ``scores``.

    Sun & Xu (2014), IEEE Signal Process Lett 21:1389: the structural components
    of DeLong et al. (1988) come from three midrankings (positives alone,
    negatives alone, both pooled), O(n log n) instead of O(m n).
    """
    n_pos, n_neg = int(y.sum()), int(y.size - y.sum())
    if n_pos < 2 or n_neg < 2:
        raise ValueError(
            f"DeLong variance needs at least 2 positives and 2 negatives, got {n_pos} and {n_neg}"
        )
    pos, neg = scores[:, y == 1], scores[:, y == 0]
    tx = sps.rankdata(pos, axis=1)
    ty = sps.rankdata(neg, axis=1)
    tz = sps.rankdata(np.hstack([pos, neg]), axis=1)
    aucs = (tz[:, :n_pos].sum(axis=1) / n_pos - (n_pos + 1) / 2) / n_neg
    v10 = (tz[:, :n_pos] - tx) / n_neg  # per positive: share of negatives scored below (ties 1/2)
    v01 = 1.0 - (tz[:, n_pos:] - ty) / n_pos  # per negative: share of positives scored above
    cov = np.atleast_2d(np.cov(v10)) / n_pos + np.atleast_2d(np.cov(v01)) / n_neg
    return aucs, cov


def delong_auc_variance(y_true: object, y_score: object) -> tuple[float, float]:
    """AUC and its DeLong variance for one score (higher score = more likely positive).

    Equals pROC's ``auc(roc)`` and ``var(roc, method="delong")`` with
    ``direction="<"``; the AUC counts ties as 1/2, like sklearn's roc_auc_score.
    """
    y = _binary_labels(y_true)
    aucs, cov = _fast_delong(y, _scores_matrix(y, [y_score]))
    return float(aucs[0]), float(cov[0, 0])


def auc_ci(y_true: object, y_score: object, level: float = 0.95) -> tuple[float, float, float]:
    """AUC with a DeLong normal-approximation CI, clipped to [0, 1]: (auc, low, high).

    Same construction as pROC's ``ci.auc(method="delong")``: auc +/- z * sqrt(var).
    """
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    auc, var = delong_auc_variance(y_true, y_score)
    half = float(sps.norm.ppf(0.5 + level / 2)) * math.sqrt(max(var, 0.0))
    return auc, max(0.0, auc - half), min(1.0, auc + half)


def delong_test(y_true: object, score1: object, score2: object) -> DelongTest:
    """Two-sided paired DeLong test that two scores on the same subjects have equal AUC.

    z = (AUC1 - AUC2) / sqrt(var1 + var2 - 2 cov), as pROC's
    ``roc.test(method="delong", paired=TRUE)``.  Identical scores give z = p = nan.
    """
    y = _binary_labels(y_true)
    aucs, cov = _fast_delong(y, _scores_matrix(y, [score1, score2]))
    diff = float(aucs[0] - aucs[1])
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    if var <= 0:
        z = p = math.nan
    else:
        z = diff / math.sqrt(var)
        p = float(2 * sps.norm.sf(abs(z)))
    return DelongTest(float(aucs[0]), float(aucs[1]), diff, z, p)


# --------------------------------------------------------------------------
# calibration


def _calibration_rows(name: str, y: np.ndarray, p: np.ndarray, n_bins: int = 5) -> pd.DataFrame:
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(y, p, n_bins=n_bins, strategy="uniform")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=n_bins)
    used = np.flatnonzero(counts)
    return pd.DataFrame(
        {
            "model": name,
            "bin low": edges[used],
            "bin high": edges[used + 1],
            "n": counts[used].astype(np.int64),
            "mean predicted": predicted,
            "observed": observed,
        }
    )
