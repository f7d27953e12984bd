"""Machine-learning models of objective response on a user's own patient-level data.

Reproduces the design of a 238-patient seed study (eight model families for
objective response, responder = CR or PR, seeded 7:3 train/validation split,
SHAP explanations) so that a user can rerun it on their own ADSL/ADRS-style
tables.  The re-analysis adds what the seed study did not print: a DeLong 95%
confidence interval for every validation AUC (fast DeLong, Sun & Xu 2014,
checked against R pROC), a Brier score, a calibration table, and a paired
DeLong test of the "best" model against any other.

Everything is deterministic for a given seed (fixed ``random_state`` in every
estimator, sorted subject order, a seeded SHAP sample with numpy's global RNG
restored afterwards), so a notebook that renders these outputs is stable.
Every output meant for display (tables, ROC points without thresholds,
calibration bins, feature importances, figures) is an aggregate: no function
here returns per-patient rows except :func:`response_dataset`, whose ``X, y``
are model inputs and must not be rendered.

scikit-learn and shap are imported inside the functions that need them, so
importing this module stays cheap.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats as sps

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "BINARY_LEVELS",
    "DEFAULT_FEATURES",
    "MIN_PER_CLASS",
    "MODEL_FAMILIES",
    "ORDINAL_LEVELS",
    "RESPONSE_VALUES",
    "RT_ARM_TOKENS",
    "DelongTest",
    "ModelResults",
    "auc_ci",
    "calibration_plot",
    "delong_auc_variance",
    "delong_test",
    "fit_models",
    "response_dataset",
    "roc_plot",
    "shap_plot",
    "shap_summary",
]

MODEL_FAMILIES = (
    "logistic regression",
    "SVM",
    "random forest",
    "gradient boosting",
    "k-NN",
    "naive Bayes",
    "decision tree",
    "MLP",
)

DEFAULT_FEATURES = (
    "AGE",
    "TUMSIZE",
    "AFP",
    "RT",
    "ECOG",
    "EHM",
    "PVTT",
    "BCLC",
    "CHILDPUGH",
    "HBV",
    "TRTLINE",
)

# Best overall response codes accepted in ADRS.AVALC; CR/PR are responders, NE is excluded.
RESPONSE_VALUES = ("CR", "PR", "SD", "PD", "NE")
_RESPONDER = frozenset({"CR", "PR"})

# Ordered categories coded 0, 1, 2, ... (the stage/class order is clinically meaningful).
ORDINAL_LEVELS: dict[str, tuple[str, ...]] = {
    "CHILDPUGH": ("A", "B", "C"),
    "BCLC": ("0", "A", "B", "C", "D"),
}
# Yes/no flags coded 1/0 (case-insensitive; 1/0 and booleans are accepted too).
BINARY_LEVELS = {"Y": 1.0, "YES": 1.0, "N": 0.0, "NO": 0.0}

_BINARY_FEATURES = frozenset({"PVTT", "EHM", "HBV"})

# Words in ARM that mean the arm received radiotherapy.  ARM is upper-cased and
# split on anything that is not a letter or digit, so "SBRT + ICI", "RT-ICI"
# and "3D-CRT then atezolizumab" count, while "Cohort A" (token COHORT) does not.
RT_ARM_TOKENS = frozenset(
    {"RT", "SBRT", "SABR", "IMRT", "EBRT", "CRT", "VMAT", "RADIOTHERAPY", "RADIATION", "PROTON"}
)

# Each class needs at least this many subjects before a 7:3 split is attempted:
# with fewer, the validation set holds two or three patients per class and the
# AUC and its variance are meaningless.
MIN_PER_CLASS = 10

_SHAP_BACKGROUND = 50  # background rows integrated over by the SHAP masker
_SHAP_PERMUTATIONS = 10  # antithetic permutations per explained row


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
# dataset from ADSL / ADRS


def _require_columns(df: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name} is missing required column(s) {missing}; it has {list(df.columns)}")


def _upper_strings(s: pd.Series) -> pd.Series:
    """Strip and upper-case the non-missing values (numbers become their text)."""
    return s.map(lambda v: v if pd.isna(v) else str(v).strip().upper()).replace("", np.nan)


def _numeric(s: pd.Series, name: str) -> pd.Series:
    """Numeric column, missing kept as NaN; text that is not a number raises ValueError."""
    out = pd.to_numeric(s, errors="coerce").astype(float)
    bad = s[out.isna() & s.notna() & (s.astype(str).str.strip() != "")]
    if len(bad):
        raise ValueError(f"{name} must be numeric, found {sorted(set(map(str, bad)))[:5]}")
    return out


def _check_range(s: pd.Series, name: str, low: float, high: float = math.inf) -> None:
    bad = s[(s < low) | (s > high)]
    if len(bad):
        raise ValueError(f"{name} must lie in [{low}, {high}], found {sorted(set(bad.tolist()))[:5]}")


def _binary(s: pd.Series, name: str) -> pd.Series:
    """Y/N (YES/NO, 1/0, True/False) flag as 1.0/0.0, missing as NaN."""
    text = _upper_strings(s).replace({"TRUE": "Y", "FALSE": "N", "1": "Y", "0": "N", "1.0": "Y", "0.0": "N"})
    bad = sorted(set(text.dropna()) - set(BINARY_LEVELS))
    if bad:
        raise ValueError(f"{name} must be Y/N, found {bad[:5]}")
    return text.map(BINARY_LEVELS).astype(float)


def _ordinal(s: pd.Series, name: str) -> pd.Series:
    """Ordered category coded 0, 1, 2, ...; Child-Pugh scores such as 'B7' are read by their letter."""
    levels = ORDINAL_LEVELS[name]
    text = _upper_strings(s)
    if name == "CHILDPUGH":
        text = text.map(lambda v: v if pd.isna(v) else re.sub(r"^([ABC])\d{0,2}$", r"\1", v))
    if name == "BCLC":
        text = text.replace({"0.0": "0"})
    bad = sorted(set(text.dropna()) - set(levels))
    if bad:
        raise ValueError(f"{name} must be one of {list(levels)}, found {bad[:5]}")
    return text.map({lvl: float(i) for i, lvl in enumerate(levels)}).astype(float)


def _rt_flag(adsl: pd.DataFrame) -> tuple[pd.Series, str]:
    """RT = 1 if the arm received radiotherapy; see :func:`response_dataset` for the rule."""
    if "RT" in adsl.columns:
        return _binary(adsl["RT"], "RT"), "RT column of adsl (Y/N -> 1/0)"
    if "ARM" not in adsl.columns and "RTDOSE" not in adsl.columns:
        raise ValueError("feature RT needs an RT, ARM or RTDOSE column in adsl; none is present")
    rt = pd.Series(False, index=adsl.index)
    rules = []
    if "ARM" in adsl.columns:
        tokens = _upper_strings(adsl["ARM"]).map(
            lambda v: set() if pd.isna(v) else set(re.split(r"[^A-Z0-9]+", v))
        )
        rt |= tokens.map(lambda t: bool(t & RT_ARM_TOKENS))
        rules.append(f"ARM has a word in {sorted(RT_ARM_TOKENS)}")
    if "RTDOSE" in adsl.columns:
        dose = _numeric(adsl["RTDOSE"], "RTDOSE")
        _check_range(dose.dropna(), "RTDOSE", 0.0)
        rt |= dose.fillna(0) > 0
        rules.append("RTDOSE > 0")
    return rt.astype(float), "1 if " + " or ".join(rules) + ", else 0"


def _encode(adsl: pd.DataFrame, features: Sequence[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Model matrix (one column per numeric/ordinal/binary feature, dummies for nominal ones)."""
    cols: dict[str, pd.Series] = {}
    encoding: dict[str, str] = {}
    for f in features:
        if f == "RT":
            cols[f], encoding[f] = _rt_flag(adsl)
        elif f == "AFP":
            afp = _numeric(adsl[f], f)
            _check_range(afp.dropna(), f, 0.0)
            cols[f], encoding[f] = np.log10(afp + 1.0), "log10(AFP + 1), AFP in ng/mL"
        elif f in ORDINAL_LEVELS:
            levels = ORDINAL_LEVELS[f]
            cols[f] = _ordinal(adsl[f], f)
            encoding[f] = "ordinal " + ", ".join(f"{lvl}={i}" for i, lvl in enumerate(levels))
        elif f == "ECOG":
            ecog = _numeric(adsl[f], f)
            _check_range(ecog.dropna(), f, 0.0, 4.0)
            cols[f], encoding[f] = ecog, "ordinal, performance status 0-4 as a number"
        elif f in ("AGE", "TUMSIZE", "TRTLINE", "RTDOSE"):
            num = _numeric(adsl[f], f)
            _check_range(num.dropna(), f, 0.0)
            cols[f], encoding[f] = num, "numeric, as given"
        elif (
            f in _BINARY_FEATURES
            or pd.api.types.is_bool_dtype(adsl[f])
            or set(_upper_strings(adsl[f]).dropna())
            <= {
                *BINARY_LEVELS,
                "TRUE",
                "FALSE",
            }
        ):
            cols[f], encoding[f] = _binary(adsl[f], f), "binary, Y=1 N=0"
        elif pd.api.types.is_numeric_dtype(adsl[f]):
            cols[f], encoding[f] = adsl[f].astype(float), "numeric, as given"
        else:
            text = _upper_strings(adsl[f])
            levels = sorted(text.dropna().unique())
            if len(levels) < 2:
                raise ValueError(f"feature {f} has fewer than two categories: {levels}")
            for lvl in levels[1:]:
                cols[f"{f}_{lvl}"] = (text == lvl).astype(float).where(text.notna())
            encoding[f] = f"one-hot against reference {levels[0]!r}: " + ", ".join(
                f"{f}_{lvl}" for lvl in levels[1:]
            )
    return pd.DataFrame(cols, index=adsl.index), encoding


def response_dataset(
    adsl: pd.DataFrame,
    adrs: pd.DataFrame,
    criterion: str = "mRECIST",
    features: Sequence[str] = DEFAULT_FEATURES,
) -> tuple[pd.DataFrame, pd.Series]:
    """Model matrix ``X`` and responder flag ``y`` (1 = CR or PR) for one response criterion.

    ``adsl`` has one row per subject (USUBJID plus the feature columns);
    ``adrs`` has USUBJID, CRITERION and AVALC (best overall response: CR, PR,
    SD, PD or NE), one row per subject and criterion; CRITERION is matched
    case-insensitively.  Rows are sorted by USUBJID so that the seeded split
    does not depend on the input row order.

    Encoding: AGE, TUMSIZE, TRTLINE numeric; AFP as log10(AFP + 1); ECOG 0-4 as
    a number; CHILDPUGH A/B/C -> 0/1/2 (a score such as "B7" is read by its
    letter); BCLC 0/A/B/C/D -> 0..4; PVTT, EHM, HBV (and any other Y/N column)
    Y -> 1, N -> 0; any other text column one-hot with its first sorted level
    as reference.  RT is taken from an RT column if adsl has one, otherwise
    RT = 1 when ARM contains a radiotherapy word (:data:`RT_ARM_TOKENS`, whole
    words, so "SBRT + ICI" counts and "Cohort A" does not) or RTDOSE > 0.

    Excluded, and counted in ``X.attrs["exclusions"]``: NE and missing AVALC,
    subjects without a response record for the criterion, response records
    without an adsl subject, and subjects with any missing feature value
    (complete-case analysis).  ``X.attrs["encoding"]`` describes every column.
    ``X`` and ``y`` are patient-level: use them as model input, never render them.
    """
    if not isinstance(adsl, pd.DataFrame) or not isinstance(adrs, pd.DataFrame):
        raise ValueError("adsl and adrs must be pandas DataFrames")
    if isinstance(features, str):
        raise ValueError("features must be a sequence of column names, not a single string")
    features = tuple(features)
    if not features:
        raise ValueError("features is empty")
    dupes = sorted({f for f in features if features.count(f) > 1})
    if dupes:
        raise ValueError(f"features lists column(s) more than once: {dupes}")
    _require_columns(adsl, ["USUBJID"], "adsl")
    _require_columns(adrs, ["USUBJID", "CRITERION", "AVALC"], "adrs")
    missing = [f for f in features if f != "RT" and f not in adsl.columns]
    if missing:
        raise ValueError(f"feature column(s) {missing} missing from adsl; it has {list(adsl.columns)}")
    if adsl["USUBJID"].isna().any() or adsl["USUBJID"].duplicated().any():
        raise ValueError("adsl must have one row per subject: USUBJID is missing or duplicated")

    crit = _upper_strings(adrs["CRITERION"])
    rs = adrs.loc[crit == str(criterion).strip().upper(), ["USUBJID", "AVALC"]]
    if rs.empty:
        available = sorted(set(adrs["CRITERION"].dropna().astype(str)))
        raise ValueError(f"adrs has no rows for criterion {criterion!r}; it has {available}")
    if rs["USUBJID"].duplicated().any():
        n_dup = int(rs["USUBJID"].duplicated(keep=False).sum())
        raise ValueError(
            f"adrs has {n_dup} rows for subjects with more than one {criterion} response; "
            "give one best overall response per subject"
        )
    avalc = _upper_strings(rs["AVALC"])
    bad = sorted(set(avalc.dropna()) - set(RESPONSE_VALUES))
    if bad:
        raise ValueError(f"AVALC must be one of {list(RESPONSE_VALUES)}, found {bad[:5]}")
    rs = rs.assign(AVALC=avalc)

    subjects = adsl.set_index(adsl["USUBJID"].astype(str)).sort_index(kind="stable")
    rs = rs.set_index(rs["USUBJID"].astype(str))["AVALC"]
    exclusions = {
        "not evaluable (NE)": int((rs == "NE").sum()),
        "missing AVALC": int(rs.isna().sum()),
        "no response record": int((~subjects.index.isin(rs.index)).sum()),
        "response record without adsl subject": int((~rs.index.isin(subjects.index)).sum()),
    }
    keep = rs[rs.isin(list(_RESPONDER | {"SD", "PD"}))]
    subjects = subjects.loc[subjects.index.isin(keep.index)]
    X, encoding = _encode(subjects, features)
    complete = X.notna().all(axis=1)
    exclusions["missing feature value"] = int((~complete).sum())
    X = X.loc[complete]
    X.index.name = "USUBJID"
    y = keep.loc[X.index].isin(list(_RESPONDER)).astype(np.int64).rename("RESPONSE")
    X.attrs = {"criterion": str(criterion), "exclusions": exclusions, "encoding": encoding}
    return X, y


# --------------------------------------------------------------------------
# models


def _estimator(family: str, seed: int, n_train_min_class: int) -> Any:
    """A fresh sklearn estimator for ``family``: sklearn defaults, fixed random_state.

    Departures from the defaults: LogisticRegression max_iter=1000 and MLP
    max_iter=2000 (so they converge); the SVM is an RBF
    SVC wrapped in a sigmoid (Platt) CalibratedClassifierCV with a seeded
    stratified 5-fold split, which is what SVC(probability=True) did before its
    deprecation in scikit-learn 1.9.  Families that depend on feature scale
    (logistic regression, SVM, k-NN, MLP) get a StandardScaler in a Pipeline.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    if family == "logistic regression":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    if family == "SVM":
        folds = StratifiedKFold(n_splits=min(5, n_train_min_class), shuffle=True, random_state=seed)
        svm = make_pipeline(StandardScaler(), SVC(random_state=seed))
        return CalibratedClassifierCV(svm, method="sigmoid", cv=folds, ensemble=False)
    if family == "random forest":
        return RandomForestClassifier(random_state=seed, n_jobs=1)
    if family == "gradient boosting":
        return GradientBoostingClassifier(random_state=seed)
    if family == "k-NN":
        return make_pipeline(StandardScaler(), KNeighborsClassifier())
    if family == "naive Bayes":
        return GaussianNB()
    if family == "decision tree":
        return DecisionTreeClassifier(random_state=seed)
    if family == "MLP":
        return make_pipeline(StandardScaler(), MLPClassifier(max_iter=2000, random_state=seed))
    raise ValueError(f"unknown model family {family!r}; choose from {list(MODEL_FAMILIES)}")


@dataclass(frozen=True, eq=False)
class ModelResults:
    """Validation performance of each fitted model family (see :func:`fit_models`).

    ``table``: model, AUC, CI low, CI high (DeLong 95%), Brier, best.
    ``calibration``: per model, the non-empty bins of five equal-width bins of
    predicted probability (sklearn calibration_curve, n_bins=5; a bin holds
    probabilities above its low edge up to and including its high edge, the
    first also holds 0) with the number
    of validation subjects, mean predicted probability and observed response rate.
    ``fitted``: the estimators, fitted on the training split.  ``split``: sizes
    and responder counts of the two splits.  ``notes``: warnings raised while fitting.
    """

    table: pd.DataFrame
    calibration: pd.DataFrame
    fitted: dict[str, Any]
    best_model: str
    seed: int
    split: dict[str, int]
    feature_names: tuple[str, ...]
    notes: tuple[str, ...] = ()
    _y_val: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    _X_val: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    _scores: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def roc_curves(self) -> pd.DataFrame:
        """ROC points per model on the validation split: model, FPR, TPR (no thresholds).

        Thresholds are predicted probabilities of individual patients, so they are left out.
        """
        from sklearn.metrics import roc_curve

        parts = []
        for name, score in self._scores.items():
            fpr, tpr, _ = roc_curve(self._y_val, score, drop_intermediate=True)
            parts.append(pd.DataFrame({"model": name, "FPR": fpr, "TPR": tpr}))
        return pd.concat(parts, ignore_index=True)

    def compare(self, model: str, other: str | None = None) -> DelongTest:
        """Paired DeLong test of ``model`` against ``other`` (default: the best model)."""
        other = self.best_model if other is None else other
        for name in (model, other):
            if name not in self._scores:
                raise ValueError(f"model {name!r} was not fitted; fitted: {list(self._scores)}")
        return delong_test(self._y_val, self._scores[model], self._scores[other])


def _check_xy(X: object, y: object) -> tuple[pd.DataFrame, np.ndarray]:
    if not isinstance(X, pd.DataFrame):
        raise ValueError("X must be a pandas DataFrame (as returned by response_dataset)")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X is empty (shape {X.shape})")
    non_numeric = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    if non_numeric:
        raise ValueError(f"X has non-numeric column(s) {non_numeric}; encode them first")
    if not np.all(np.isfinite(X.to_numpy(dtype=float))):
        raise ValueError("X has missing or non-finite values; drop or impute them first")
    labels = _binary_labels(y, "y")
    if labels.size != len(X):
        raise ValueError(f"y has {labels.size} values but X has {len(X)} rows")
    if isinstance(y, pd.Series) and not y.index.equals(X.index):
        raise ValueError("y and X must have the same index (same subjects in the same order)")
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0:
        raise ValueError("y has no responders (no CR/PR): response cannot be modelled")
    if n_neg == 0:
        raise ValueError("y has only responders (no SD/PD): response cannot be modelled")
    if min(n_pos, n_neg) < MIN_PER_CLASS:
        raise ValueError(
            f"each class needs at least {MIN_PER_CLASS} subjects for a train/validation split; "
            f"got {n_pos} responders and {n_neg} non-responders"
        )
    return X.astype(float), labels


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


def fit_models(
    X: pd.DataFrame,
    y: pd.Series | Sequence[int],
    seed: int = 0,
    test_size: float = 0.3,
    families: Sequence[str] = MODEL_FAMILIES,
) -> ModelResults:
    """Fit each model family on a seeded stratified split and score it on the validation part.

    Per model: validation AUC with a DeLong 95% CI, Brier score and a
    five-bin calibration table.  The best model is the one with the highest
    validation AUC (the first in ``families`` order on a tie), as the seed study
    chose it; :meth:`ModelResults.compare` tests whether it is really better.
    Deterministic for a given seed and input (BLAS thread count aside).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import brier_score_loss
    from sklearn.model_selection import train_test_split

    Xf, labels = _check_xy(X, y)
    if isinstance(families, str):
        raise ValueError("families must be a sequence of model family names, not a single string")
    families = tuple(families)
    if not families:
        raise ValueError("families is empty")
    unknown = [f for f in families if f not in MODEL_FAMILIES]
    if unknown or len(set(families)) != len(families):
        raise ValueError(f"families must be distinct names from {list(MODEL_FAMILIES)}; got {list(families)}")
    if not 0.0 < float(test_size) < 1.0:
        raise ValueError(f"test_size must lie strictly between 0 and 1, got {test_size}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an int, got {seed!r}")
    seed = int(seed)

    idx = np.arange(len(Xf))
    tr, va = train_test_split(idx, test_size=float(test_size), stratify=labels, random_state=seed)
    tr, va = np.sort(tr), np.sort(va)
    X_tr, X_va, y_tr, y_va = Xf.iloc[tr], Xf.iloc[va], labels[tr], labels[va]
    for part, lab in (("training", y_tr), ("validation", y_va)):
        if min(int(lab.sum()), int(lab.size - lab.sum())) < 2:
            raise ValueError(f"the {part} split has fewer than 2 subjects in a class; change test_size")
    split = {
        "n train": int(y_tr.size),
        "responders train": int(y_tr.sum()),
        "n validation": int(y_va.size),
        "responders validation": int(y_va.sum()),
    }

    rows, calib, fitted, scores, notes = [], [], {}, {}, []
    n_min = int(min(y_tr.sum(), y_tr.size - y_tr.sum()))
    for name in families:
        est = _estimator(name, seed, n_min)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            est.fit(X_tr, y_tr)
        notes.extend(f"{name}: {w.message}" for w in caught if issubclass(w.category, ConvergenceWarning))
        p = est.predict_proba(X_va)[:, list(est.classes_).index(1)]
        auc, lo, hi = auc_ci(y_va, p)
        rows.append(
            {"model": name, "AUC": auc, "CI low": lo, "CI high": hi, "Brier": brier_score_loss(y_va, p)}
        )
        calib.append(_calibration_rows(name, y_va, p))
        fitted[name], scores[name] = est, p

    table = pd.DataFrame(rows)
    best = str(table.loc[int(np.argmax(table["AUC"].to_numpy())), "model"])
    table["best"] = table["model"] == best
    return ModelResults(
        table=table,
        calibration=pd.concat(calib, ignore_index=True),
        fitted=fitted,
        best_model=best,
        seed=seed,
        split=split,
        feature_names=tuple(map(str, Xf.columns)),
        notes=tuple(notes),
        _y_val=y_va,
        _X_val=X_va,
        _scores=scores,
    )


# --------------------------------------------------------------------------
# explanations


def _explain_rows(X: pd.DataFrame, results: ModelResults, max_samples: int) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise ValueError("X must be a pandas DataFrame")
    if tuple(map(str, X.columns)) != results.feature_names:
        raise ValueError(
            f"X columns {list(X.columns)} differ from the fitted features {list(results.feature_names)}"
        )
    if len(X) == 0:
        raise ValueError("X has no rows to explain")
    if isinstance(max_samples, bool) or not isinstance(max_samples, (int, np.integer)) or max_samples < 1:
        raise ValueError(f"max_samples must be a positive int, got {max_samples!r}")
    Xf = X.astype(float)
    if not np.all(np.isfinite(Xf.to_numpy())):
        raise ValueError("X has missing or non-finite values")
    return Xf


def shap_summary(
    results: ModelResults,
    X: pd.DataFrame,
    model: str | None = None,
    seed: int = 0,
    max_samples: int = 200,
) -> pd.DataFrame:
    """Mean |SHAP value| per feature for one fitted model, largest first: feature, mean |SHAP|.

    SHAP values explain the predicted probability of response.  They come from
    shap's model-agnostic permutation explainer (10 antithetic permutations per
    row) with an independent masker over a background of 50 rows of ``X``;
    up to ``max_samples`` rows of ``X`` are explained.  Both samples are drawn
    with ``seed`` and numpy's global random state (which shap reseeds) is
    restored afterwards.  ``model`` defaults to the best model.

    If shap cannot be imported, the fallback is sklearn's permutation importance
    (mean decrease in validation AUC over 20 seeded shuffles); the value column
    is then named "AUC decrease (permutation)".  ``attrs["method"]`` says which.
    """
    name = results.best_model if model is None else model
    if name not in results.fitted:
        raise ValueError(f"model {name!r} was not fitted; fitted: {list(results.fitted)}")
    Xf = _explain_rows(X, results, max_samples)
    est = results.fitted[name]
    cols = list(Xf.columns)
    try:
        # shap's plotting colours trip a matplotlib deprecation, and in a Jupyter kernel its
        # tqdm.auto import warns that ipywidgets is absent (it uses no progress bar here)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            warnings.filterwarnings("ignore", message="IProgress not found")
            import shap
    except ImportError:
        return _permutation_summary(results, name, seed)

    rng = np.random.default_rng(seed)
    n = len(Xf)
    explain = Xf.iloc[np.sort(rng.choice(n, size=min(n, int(max_samples)), replace=False))]
    background = Xf.iloc[np.sort(rng.choice(n, size=min(n, _SHAP_BACKGROUND), replace=False))]
    pos = list(est.classes_).index(1)

    def predict(a: np.ndarray) -> np.ndarray:
        return est.predict_proba(pd.DataFrame(a, columns=cols))[:, pos]

    state = np.random.get_state()
    try:
        masker = shap.maskers.Independent(background.to_numpy(), max_samples=len(background))
        explainer = shap.explainers.Permutation(predict, masker, seed=seed)
        max_evals = _SHAP_PERMUTATIONS * (2 * len(cols) + 1)
        values = explainer(explain.to_numpy(), max_evals=max_evals, silent=True).values
    finally:
        np.random.set_state(state)
    out = pd.DataFrame({"feature": cols, "mean |SHAP|": np.abs(values).mean(axis=0)})
    out = out.sort_values(["mean |SHAP|", "feature"], ascending=[False, True], kind="stable")
    out = out.reset_index(drop=True)
    out.attrs = {
        "method": f"shap {shap.__version__} permutation explainer",
        "model": name,
        "n explained": len(explain),
        "n background": len(background),
    }
    return out


def _permutation_summary(results: ModelResults, name: str, seed: int) -> pd.DataFrame:
    """Fallback when shap is unavailable: permutation importance on the validation split."""
    from sklearn.inspection import permutation_importance

    imp = permutation_importance(
        results.fitted[name],
        results._X_val,
        results._y_val,
        scoring="roc_auc",
        n_repeats=20,
        random_state=seed,
        n_jobs=1,
    )
    col = "AUC decrease (permutation)"
    out = pd.DataFrame({"feature": list(results.feature_names), col: imp.importances_mean})
    out = out.sort_values([col, "feature"], ascending=[False, True], kind="stable").reset_index(drop=True)
    out.attrs = {
        "method": "sklearn permutation importance (shap not importable)",
        "model": name,
        "n explained": len(results._y_val),
    }
    return out


# --------------------------------------------------------------------------
# figures


def _check_results(results: object) -> ModelResults:
    if not isinstance(results, ModelResults):
        raise ValueError(f"expected ModelResults from fit_models, got {type(results).__name__}")
    return results


def roc_plot(results: ModelResults) -> Figure:
    """Validation ROC curve of every model, labelled with AUC and DeLong 95% CI."""
    import matplotlib.pyplot as plt

    res = _check_results(results)
    curves = res.roc_curves()
    fig, ax = plt.subplots(figsize=(6.4, 6.0))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    for i, row in enumerate(res.table.to_dict("records")):
        c = curves[curves["model"] == row["model"]]
        label = f"{row['model']}: {row['AUC']:.2f} ({row['CI low']:.2f}–{row['CI high']:.2f})"
        ax.plot(
            c["FPR"],
            c["TPR"],
            color=f"C{i % 10}",
            linewidth=2.4 if row["best"] else 1.2,
            label=label + (", best" if row["best"] else ""),
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("1 − specificity (false-positive rate)")
    ax.set_ylabel("Sensitivity (true-positive rate)")
    ax.set_title(f"Validation ROC (n = {res.split['n validation']}; AUC, DeLong 95% CI)")
    ax.legend(loc="lower right", fontsize=7.5, frameon=False)
    fig.tight_layout()
    return fig


def calibration_plot(results: ModelResults) -> Figure:
    """Observed response rate against mean predicted probability per bin, one line per model."""
    import matplotlib.pyplot as plt

    res = _check_results(results)
    fig, ax = plt.subplots(figsize=(6.4, 6.0))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect calibration")
    brier = dict(zip(res.table["model"], res.table["Brier"], strict=True))
    for i, name in enumerate(res.table["model"]):
        c = res.calibration[res.calibration["model"] == name]
        ax.plot(
            c["mean predicted"],
            c["observed"],
            marker="o",
            markersize=4,
            color=f"C{i % 10}",
            linewidth=2.4 if name == res.best_model else 1.2,
            label=f"{name} (Brier {brier[name]:.3f})",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("Mean predicted probability of response (5 equal-width bins)")
    ax.set_ylabel("Observed response rate")
    ax.set_title(f"Validation calibration (n = {res.split['n validation']})")
    ax.legend(loc="upper left", fontsize=7.5, frameon=False)
    fig.tight_layout()
    return fig


def shap_plot(df: pd.DataFrame) -> Figure:
    """Horizontal bar chart of a :func:`shap_summary` table, most important feature on top."""
    import matplotlib.pyplot as plt

    if not isinstance(df, pd.DataFrame) or df.shape[1] < 2 or "feature" not in df.columns or df.empty:
        raise ValueError("expected the non-empty table returned by shap_summary (feature, value)")
    value = [c for c in df.columns if c != "feature"][0]
    d = df.iloc[::-1]
    fig, ax = plt.subplots(figsize=(6.4, 0.38 * len(d) + 1.2))
    ax.barh(d["feature"].astype(str), d[value].astype(float), color="C0")
    ax.set_xlabel(value + (" (probability of response)" if value == "mean |SHAP|" else ""))
    model = df.attrs.get("model") if isinstance(df.attrs, Mapping) else None
    if model:
        ax.set_title(f"Feature importance: {model}")
    fig.tight_layout()
    return fig
