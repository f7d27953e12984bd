"""Table 1 of a patient-level cohort, and the small statistics behind it as R computes them.

:func:`table_one` gives baseline characteristics per arm with p-values and standardised mean
differences; the SMDs (Austin 2009; Yang & Dalton 2012 for k levels), Fisher's exact test of a
2 x k table (R's ``fisher.test``) and the Mann-Whitney test (R's ``wilcox.test``) are public
too (:mod:`.matching` uses the SMDs for its balance table). Inputs are ADaM-style frames
(:mod:`reanalysis.patient.design`); every result is aggregate. The reference values in
``tests/reference/patient_reference.md`` come from R.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from .. import stats as S
from .covariates import Role, catalogue, default_list
from .design import _arms, _levels

__all__ = [
    "TEST_ANOVA",
    "TEST_KRUSKAL",
    "TEST_MANN_WHITNEY",
    "mann_whitney",
    "smd_binary",
    "smd_categorical",
    "smd_continuous",
    "table_one",
]

TEST_MANN_WHITNEY = "Mann-Whitney U (Wilcoxon rank-sum)"
TEST_KRUSKAL = "Kruskal-Wallis"
TEST_ANOVA = "one-way ANOVA"
# from the covariate catalogue (reanalysis/rules/patient_covariates.csv), not named here
TABLE_ONE_VARIABLES = default_list(Role.TABLE1)
NONNORMAL = tuple(c.column for c in catalogue().values() if c.nonnormal)
CATEGORICAL_INTEGERS = tuple(c.column for c in catalogue().values() if c.categorical)


# --------------------------------------------------------------------------
# small statistics: SMDs, Fisher 2 x k, Mann-Whitney as R computes it


def smd_continuous(x1: Sequence[float], x2: Sequence[float]) -> float:
    """Absolute standardised mean difference |m1 - m2| / sqrt((s1² + s2²) / 2) (Austin 2009).

    SDs are sample SDs (n - 1), as R's tableone. 0 when both groups are constant and equal.
    """
    a, b = np.asarray(x1, dtype=float), np.asarray(x2, dtype=float)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"each group needs at least 2 values for an SMD, got {len(a)} and {len(b)}")
    diff = abs(a.mean() - b.mean())
    sd = math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    return _ratio(diff, sd)


def smd_binary(p1: float, p2: float) -> float:
    """Absolute SMD of two proportions |p1 - p2| / sqrt((p1 q1 + p2 q2) / 2) (Austin 2009)."""
    for name, p in (("p1", p1), ("p2", p2)):
        if not 0 <= p <= 1:
            raise ValueError(f"{name} must be a proportion in [0, 1], got {p}")
    return _ratio(abs(p1 - p2), math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2))


def smd_categorical(props1: Sequence[float], props2: Sequence[float]) -> float:
    """SMD of a k-level variable from its level proportions in two groups (Yang & Dalton 2012).

    sqrt((T - C)' S⁻¹ (T - C)) over levels 2..k, S the mean of the two groups' multinomial
    covariance matrices; the Moore-Penrose inverse handles levels empty in both groups (as R's
    tableone). With two levels it equals :func:`smd_binary`.
    """
    t, c = np.asarray(props1, dtype=float), np.asarray(props2, dtype=float)
    if t.shape != c.shape or t.ndim != 1 or len(t) < 2:
        raise ValueError("props1 and props2 must be proportions of the same k >= 2 levels")
    for name, p in (("props1", t), ("props2", c)):
        if np.any(p < 0) or abs(p.sum() - 1) > 1e-9:
            raise ValueError(f"{name} must be non-negative and sum to 1, got {list(p)}")
    t, c = t[1:], c[1:]
    cov = (np.diag(t) - np.outer(t, t) + np.diag(c) - np.outer(c, c)) / 2
    d = t - c
    if not np.any(d):
        return 0.0
    value = float(d @ np.linalg.pinv(cov) @ d)
    return math.sqrt(max(value, 0.0)) if np.any(cov) else math.inf


def _ratio(num: float, den: float) -> float:
    if den == 0:
        return 0.0 if num == 0 else math.inf
    return float(num / den)


def mann_whitney(x1: Sequence[float], x2: Sequence[float]) -> float:
    """Two-sided Mann-Whitney (Wilcoxon rank-sum) p as R's ``wilcox.test`` computes it.

    Exact when both groups have fewer than 50 values and there are no ties; otherwise the
    normal approximation with tie correction and continuity correction.
    """
    a, b = np.asarray(x1, dtype=float), np.asarray(x2, dtype=float)
    if len(a) == 0 or len(b) == 0:
        raise ValueError("each group needs at least one value")
    ties = len(np.unique(np.concatenate([a, b]))) < len(a) + len(b)
    method = "exact" if len(a) < 50 and len(b) < 50 and not ties else "asymptotic"
    res = sps.mannwhitneyu(a, b, alternative="two-sided", use_continuity=True, method=method)
    return float(res.pvalue)


# --------------------------------------------------------------------------
# Table 1


def _is_categorical(s: pd.Series, name: str, categorical: Sequence[str]) -> bool:
    return name in categorical or not pd.api.types.is_numeric_dtype(s)


def _categorical_p(table: np.ndarray) -> tuple[float, str]:
    table = table[:, table.sum(axis=0) > 0]
    table = table[table.sum(axis=1) > 0]
    if table.shape[0] < 2 or table.shape[1] < 2:
        return math.nan, ""
    test = S.choose_test(table, "gtsummary").test
    if test == S.TEST_FISHER:
        if table.shape[0] == 2 or table.shape[1] == 2:
            return S.fisher_exact(table).p, S.TEST_FISHER
        return S.pearson_chi2(table).p, f"{S.TEST_PEARSON} (Fisher not computed beyond 2 x k)"
    return S.pearson_chi2(table).p, S.TEST_PEARSON


def table_one(
    adsl: pd.DataFrame,
    arm_col: str = "ARM",
    variables: Sequence[str] | None = None,
    nonnormal: Sequence[str] = NONNORMAL,
    categorical: Sequence[str] = CATEGORICAL_INTEGERS,
) -> pd.DataFrame:
    """Baseline characteristics per arm, with p-values and standardised mean differences.

    Categorical: n (%) of the non-missing per level, p by gtsummary's rule (Fisher when an
    expected count is below 5, else Pearson without correction; :func:`reanalysis.stats.choose_test`),
    SMD of Yang & Dalton. Continuous: mean (SD) with Student's t-test, or for ``nonnormal``
    variables median (Q1–Q3) with the Mann-Whitney test (Kruskal-Wallis / one-way ANOVA beyond
    two arms); SMD of Austin (2009). A "Missing" row counts empty cells. SMDs need two arms.
    Returns columns variable, level, one per arm, test, p, smd (p and smd on a variable's
    first row).
    """
    arms = _arms(adsl, arm_col)
    if variables is None:
        variables = [v for v in TABLE_ONE_VARIABLES if v in adsl.columns and adsl[v].notna().any()]
    missing = [v for v in variables if v not in adsl.columns]
    if missing:
        raise ValueError(f"adsl has no column(s) {', '.join(missing)}")
    groups = {a: adsl[adsl[arm_col] == a] for a in arms}
    header = {"variable": "N", "level": "", **{a: str(len(g)) for a, g in groups.items()}}
    rows: list[dict] = [header | {"test": "", "p": math.nan, "smd": math.nan}]
    for v in variables:
        if adsl[v].notna().sum() == 0:
            raise ValueError(f"column '{v}' is empty: nothing to summarise")
        if _is_categorical(adsl[v], v, categorical):
            rows += _categorical_rows(v, groups, arms)
        else:
            rows += _continuous_rows(v, groups, arms, v in nonnormal)
        if any(g[v].isna().any() for g in groups.values()):
            rows.append(
                {
                    "variable": v,
                    "level": "Missing",
                    **{a: str(int(g[v].isna().sum())) for a, g in groups.items()},
                    "test": "",
                    "p": math.nan,
                    "smd": math.nan,
                }
            )
    return pd.DataFrame(rows, columns=["variable", "level", *arms, "test", "p", "smd"])


def _categorical_rows(v: str, groups: dict[str, pd.DataFrame], arms: list[str]) -> list[dict]:
    levels = _levels(pd.concat([g[v] for g in groups.values()]))
    counts = np.array([[int((g[v] == lv).sum()) for lv in levels] for g in groups.values()])
    p, test = _categorical_p(counts)
    smd = math.nan
    if len(arms) == 2 and len(levels) >= 2 and all(counts.sum(axis=1) > 0):
        props = counts / counts.sum(axis=1, keepdims=True)
        smd = smd_categorical(props[0], props[1])
    elif len(arms) == 2 and len(levels) == 1:
        smd = 0.0
    out = []
    for j, lv in enumerate(levels):
        cells = {}
        for i, a in enumerate(arms):
            n = int(counts[i].sum())
            cells[a] = f"{counts[i, j]} ({100 * counts[i, j] / n:.1f}%)" if n else "0"
        first = j == 0
        out.append(
            {
                "variable": v,
                "level": str(lv),
                **cells,
                "test": test if first else "",
                "p": p if first else math.nan,
                "smd": smd if first else math.nan,
            }
        )
    return out


def _continuous_rows(v: str, groups: dict[str, pd.DataFrame], arms: list[str], skewed: bool) -> list[dict]:
    data = [g[v].dropna().to_numpy(dtype=float) for g in groups.values()]
    cells = {}
    for a, x in zip(arms, data, strict=True):
        if len(x) == 0:
            cells[a] = "–"
        elif skewed:
            q1, med, q3 = np.percentile(x, [25, 50, 75])
            cells[a] = f"{med:.1f} ({q1:.1f}–{q3:.1f})"
        else:
            cells[a] = f"{x.mean():.1f} ({x.std(ddof=1):.1f})" if len(x) > 1 else f"{x.mean():.1f}"
    p, test, smd = math.nan, "", math.nan
    usable = [x for x in data if len(x) > 0]
    if len(usable) >= 2 and len(usable) == len(data):
        if skewed:
            if len(data) == 2:
                p, test = mann_whitney(*data), TEST_MANN_WHITNEY
            else:
                p, test = float(sps.kruskal(*data).pvalue), TEST_KRUSKAL
        elif all(len(x) >= 2 for x in data):
            if len(data) == 2:
                p, test = float(sps.ttest_ind(*data, equal_var=True).pvalue), S.TEST_STUDENT
            else:
                p, test = float(sps.f_oneway(*data).pvalue), TEST_ANOVA
        if len(data) == 2 and all(len(x) >= 2 for x in data):
            smd = smd_continuous(*data)
    label = "median (Q1–Q3)" if skewed else "mean (SD)"
    return [{"variable": v, "level": label, **cells, "test": test, "p": p, "smd": smd}]
