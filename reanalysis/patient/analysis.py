"""Patient-level analyses a paper prints: Table 1, propensity-score matching, Cox models,
subgroup hazard ratios and Kaplan-Meier summaries.

Inputs are ADaM-style frames (:mod:`reanalysis.patient.schema`): ``adsl`` (one row per
subject, arm in ``ARM``) and ``adtte`` (USUBJID, PARAMCD, AVAL, CNSR with ADaM's 0 = event).
Covariates may be any ADSL column: numeric columns enter models as they are; Y/N columns as
an indicator of Y; other text columns as indicators of each level against the first level in
sorted order. Each model uses the complete cases of its own variables.

Every result meant for the book is aggregate (counts, summaries, estimates, p-values); the
only per-patient output is :attr:`MatchResult.matched`, which downstream analyses need and
which must not be rendered. Computation is delegated to lifelines (Cox, Kaplan-Meier,
log-rank, Schoenfeld-residual PH test), statsmodels (propensity model) and scipy; the
reference values in ``tests/reference/patient_reference.md`` come from R.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats as sps
from scipy.special import gammaln

from .. import stats as S

__all__ = [
    "DEFAULT_PS_COVARIATES",
    "TEST_ANOVA",
    "TEST_KRUSKAL",
    "TEST_MANN_WHITNEY",
    "CoxModels",
    "KMSummary",
    "MatchResult",
    "cox_matched",
    "cox_models",
    "fisher_exact_2xk",
    "forest_plot",
    "km_by_arm",
    "logit_propensity",
    "love_plot",
    "mann_whitney",
    "match_on_score",
    "propensity_match",
    "smd_binary",
    "smd_categorical",
    "smd_continuous",
    "subgroup_hrs",
    "table_one",
]

TEST_MANN_WHITNEY = "Mann-Whitney U (Wilcoxon rank-sum)"
TEST_KRUSKAL = "Kruskal-Wallis"
TEST_ANOVA = "one-way ANOVA"
TABLE_ONE_VARIABLES = (
    "AGE",
    "SEX",
    "ECOG",
    "CHILDPUGH",
    "BCLC",
    "AFP",
    "TUMSIZE",
    "PVTT",
    "EHM",
    "TRTLINE",
    "HBV",
)
NONNORMAL = ("AFP", "TUMSIZE", "RTDOSE", "RTFX")
CATEGORICAL_INTEGERS = ("ECOG", "TRTLINE")
DEFAULT_PS_COVARIATES = ("AGE", "ECOG", "TUMSIZE", "EHM", "TRTLINE")
MATCH_ORDERS = ("largest", "smallest", "data", "random")
_FISHER_REL_ERR = 1 + 1e-7  # R's fisher.test: tables this close in probability count as ties
_FISHER_MAX_TABLES = 2_000_000
# lifelines' default Newton-Raphson stopping rule leaves coefficients ~1e-6 (relative) from R's;
# this one agrees with R's coxph to ~1e-8 at no noticeable cost.
_COX_FIT = {"precision": 1e-12}


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


def fisher_exact_2xk(table: object) -> float:
    """Two-sided Fisher exact p of a 2 x k table, as R's fisher.test computes it.

    Every first row with the observed margins is enumerated; p sums the probabilities of the
    tables no more probable than the observed one (within R's relative tolerance 1e-7).
    """
    arr = S._as_table(table)
    if arr.shape[0] != 2:
        arr = arr.T
    if arr.shape[0] != 2:
        raise ValueError(f"table must have 2 rows (or 2 columns), got shape {arr.shape}")
    cols = arr.sum(axis=0)
    r1, n = int(arr[0].sum()), int(arr.sum())

    def log_choose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return gammaln(a + 1) - gammaln(b + 1) - gammaln(a - b + 1)

    observed = float(log_choose(cols, arr[0]).sum())
    sums, logp = np.zeros(1, dtype=np.int64), np.zeros(1)
    remaining = int(cols.sum())
    for c in cols:
        remaining -= int(c)
        x = np.arange(int(c) + 1)
        new_sums = (sums[:, None] + x[None, :]).ravel()
        new_logp = (logp[:, None] + log_choose(np.full_like(x, c), x)[None, :]).ravel()
        keep = (new_sums <= r1) & (new_sums >= r1 - remaining)
        sums, logp = new_sums[keep], new_logp[keep]
        if len(sums) > _FISHER_MAX_TABLES:
            raise ValueError(f"table too large for exact enumeration (over {_FISHER_MAX_TABLES} tables)")
    total = float(log_choose(np.array(n), np.array(r1)))
    probs = np.exp(logp - total)
    return float(min(1.0, probs[logp <= observed + math.log(_FISHER_REL_ERR)].sum()))


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


def _arms(adsl: pd.DataFrame, arm_col: str) -> list[str]:
    if arm_col not in adsl.columns:
        raise ValueError(f"adsl has no column '{arm_col}'")
    if adsl[arm_col].isna().any():
        raise ValueError(f"column '{arm_col}' has empty values")
    return list(dict.fromkeys(adsl[arm_col]))


def _is_categorical(s: pd.Series, name: str, categorical: Sequence[str]) -> bool:
    return name in categorical or not pd.api.types.is_numeric_dtype(s)


def _levels(s: pd.Series) -> list:
    values = s.dropna().unique().tolist()
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _categorical_p(table: np.ndarray) -> tuple[float, str]:
    table = table[:, table.sum(axis=0) > 0]
    table = table[table.sum(axis=1) > 0]
    if table.shape[0] < 2 or table.shape[1] < 2:
        return math.nan, ""
    test, _ = S.choose_test(table, "gtsummary")
    if test == S.TEST_FISHER:
        if table.shape[0] == 2 or table.shape[1] == 2:
            return fisher_exact_2xk(table), S.TEST_FISHER
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


# --------------------------------------------------------------------------
# design matrices


@dataclass(frozen=True)
class _Term:
    column: str  # internal name (safe for lifelines / statsmodels)
    variable: str
    contrast: str  # e.g. "Y vs N", "C vs B", "per unit"


def _design(adsl: pd.DataFrame, covariates: Sequence[str]) -> tuple[pd.DataFrame, list[_Term]]:
    """Numeric design columns for covariates (NaN where the covariate is empty)."""
    cols: dict[str, pd.Series] = {}
    terms: list[_Term] = []
    for v in covariates:
        if v not in adsl.columns:
            raise ValueError(f"adsl has no covariate column '{v}'")
        s = adsl[v]
        if s.notna().sum() == 0:
            raise ValueError(f"covariate '{v}' is empty for every subject: it cannot enter a model")
        if pd.api.types.is_numeric_dtype(s):
            if s.dropna().nunique() < 2:
                raise ValueError(f"covariate '{v}' takes a single value: it cannot enter a model")
            name = f"x{len(cols)}"
            cols[name] = s.astype("Float64").astype(float)
            terms.append(_Term(name, v, "per unit"))
            continue
        levels = _levels(s)
        if len(levels) < 2:
            raise ValueError(f"covariate '{v}' takes a single value ({levels[0]}): it cannot enter a model")
        if set(levels) == {"N", "Y"}:
            levels = ["N", "Y"]
        for lv in levels[1:]:
            name = f"x{len(cols)}"
            cols[name] = pd.Series(np.where(s.isna(), np.nan, (s == lv).astype(float)), index=s.index)
            terms.append(_Term(name, v, f"{lv} vs {levels[0]}"))
    return pd.DataFrame(cols, index=adsl.index), terms


def _two_arms(adsl: pd.DataFrame, treat_arm: str, control_arm: str | None) -> tuple[pd.DataFrame, str]:
    arms = _arms(adsl, "ARM")
    if treat_arm not in arms:
        raise ValueError(f"unknown treatment arm '{treat_arm}' (arms: {', '.join(arms)})")
    others = [a for a in arms if a != treat_arm]
    if control_arm is None:
        if len(others) != 1:
            raise ValueError(f"{len(arms)} arms ({', '.join(arms)}): name the comparator with control_arm")
        control_arm = others[0]
    elif control_arm not in others:
        raise ValueError(f"unknown control arm '{control_arm}' (arms: {', '.join(arms)})")
    sub = adsl[adsl["ARM"].isin([treat_arm, control_arm])].copy()
    sub["TREAT"] = (sub["ARM"] == treat_arm).astype(float)
    return sub, control_arm


def _endpoint(adsl: pd.DataFrame, adtte: pd.DataFrame, paramcd: str) -> pd.DataFrame:
    """ADSL rows joined with one endpoint: T (AVAL) and E (1 - CNSR)."""
    tte = adtte[adtte["PARAMCD"] == paramcd]
    if tte.empty:
        known = ", ".join(sorted(adtte["PARAMCD"].dropna().unique())) or "none"
        raise ValueError(f"adtte has no rows for PARAMCD '{paramcd}' (present: {known})")
    if tte["USUBJID"].duplicated().any():
        raise ValueError(f"adtte has several rows per subject for PARAMCD '{paramcd}'")
    out = adsl.merge(tte[["USUBJID", "AVAL", "CNSR"]], on="USUBJID", how="inner", validate="one_to_one")
    if out.empty:
        raise ValueError(f"no subject of adsl has a '{paramcd}' row in adtte")
    out["T"] = out["AVAL"].astype(float)
    out["E"] = 1 - out["CNSR"].astype(int)
    return out


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
    return CoxModels(pd.DataFrame(uni), pd.DataFrame(multi), ph, selected, p_enter, notes)


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
# propensity-score matching


def logit_propensity(
    adsl: pd.DataFrame,
    treat_arm: str,
    covariates: Sequence[str] = DEFAULT_PS_COVARIATES,
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
    covariates: Sequence[str] = DEFAULT_PS_COVARIATES,
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


def love_plot(balance: pd.DataFrame, threshold: float = 0.1) -> plt.Figure:
    """Absolute SMD per term before and after matching, with the usual 0.1 threshold."""
    labels = [
        f"{v}: {c}" if c and c != "per unit" else v
        for v, c in zip(balance["variable"], balance["contrast"], strict=True)
    ]
    y = np.arange(len(balance))[::-1]
    fig, ax = plt.subplots(figsize=(6.0, 0.45 * len(balance) + 1.2))
    ax.scatter(
        balance["smd_before"], y, marker="o", facecolors="none", edgecolors="#c62828", label="before matching"
    )
    ax.scatter(balance["smd_after"], y, marker="o", color="#1f77b4", label="after matching")
    ax.axvline(threshold, color="grey", linestyle="--", linewidth=0.8)
    ax.set_yticks(y, labels)
    ax.set_xlabel("absolute standardised mean difference")
    ax.set_xlim(left=0)
    ax.legend(loc="lower right", frameon=False)
    fig.tight_layout()
    return fig


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


def forest_plot(df: pd.DataFrame, title: str = "") -> plt.Figure:
    """Forest plot of :func:`subgroup_hrs`: HR with 95% CI per level, interaction p per subgroup."""
    labels, y, k = [], [], 0
    fig, ax = plt.subplots(figsize=(6.5, 0.4 * (len(df) + df["subgroup"].nunique()) + 1.2))
    for label, g in df.groupby("subgroup", sort=False):
        p = g["p_interaction"].iloc[0]
        labels.append(f"{label} (interaction p = {p:.3f})" if pd.notna(p) else str(label))
        y.append(k)
        k += 1
        for _, r in g.iterrows():
            labels.append(f"   {r['level']}  (n = {r['n']})")
            y.append(k)
            if pd.notna(r["hr"]):
                ax.plot([r["lower"], r["upper"]], [k, k], color="black", linewidth=1)
                ax.plot(r["hr"], k, marker="s", color="#1f77b4")
            k += 1
    ax.axvline(1.0, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(y, labels)
    ax.set_ylim(k - 0.5, -0.5)
    ax.set_xlabel("hazard ratio (95% CI)")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------
# Kaplan-Meier


@dataclass
class KMSummary:
    """Per arm: n, events, KM median with its CI; and the log-rank test across arms."""

    table: pd.DataFrame
    chi2: float
    df: int
    p: float


def km_by_arm(adsl: pd.DataFrame, adtte: pd.DataFrame, paramcd: str, alpha: float = 0.05) -> KMSummary:
    """Kaplan-Meier median (with lifelines' log-log CI, = R ``survfit(conf.type = "log-log")``)
    per arm, and the log-rank test (= R ``survdiff``). A median not reached is inf."""
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test
    from lifelines.utils import median_survival_times

    arms = _arms(adsl, "ARM")
    df = _endpoint(adsl, adtte, paramcd)
    rows = []
    for arm in arms:
        g = df[df["ARM"] == arm]
        if g.empty:
            continue
        kmf = KaplanMeierFitter(alpha=alpha).fit(g["T"], g["E"])
        ci = median_survival_times(kmf.confidence_interval_)
        rows.append(
            {
                "arm": arm,
                "n": len(g),
                "events": int(g["E"].sum()),
                "median": float(kmf.median_survival_time_),
                "lower": float(ci.iloc[0, 0]),
                "upper": float(ci.iloc[0, 1]),
            }
        )
    table = pd.DataFrame(rows)
    if len(table) < 2:
        return KMSummary(table, math.nan, 0, math.nan)
    res = multivariate_logrank_test(df["T"], df["ARM"], df["E"])
    return KMSummary(table, float(res.test_statistic), int(res.degrees_of_freedom), float(res.p_value))
