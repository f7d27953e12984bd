"""The model matrix and responder flag for response models, from ADSL/ADRS-style tables.

:func:`response_dataset` encodes the features (numeric, ordinal, Y/N, one-hot, the RT flag),
keeps one best overall response per subject for a criterion and counts every exclusion. Its
``X, y`` are per-patient model inputs (for :func:`.models.fit_models` and
:func:`.explain.shap_summary`) and must not be rendered.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .covariates import Role, catalogue, default_list

__all__ = [
    "BINARY_LEVELS",
    "DEFAULT_FEATURES",
    "ORDINAL_LEVELS",
    "RESPONSE_VALUES",
    "RT_ARM_TOKENS",
    "response_dataset",
]

# The default features and how each is encoded come from the covariate catalogue
# (reanalysis/rules/patient_covariates.csv: `response` position, `encoding`), not from code.
DEFAULT_FEATURES = default_list(Role.RESPONSE)

# Best overall response codes accepted in ADRS.AVALC; CR/PR are responders, NE is excluded.
RESPONSE_VALUES = ("CR", "PR", "SD", "PD", "NE")
_RESPONDER = frozenset({"CR", "PR"})

# Ordered categories coded 0, 1, 2, ... (the stage/class order is clinically meaningful).
ORDINAL_LEVELS: dict[str, tuple[str, ...]] = {
    c.column: c.levels for c in catalogue().values() if c.encoding == "ordinal"
}
# Yes/no flags coded 1/0 (case-insensitive; 1/0 and booleans are accepted too).
BINARY_LEVELS = {"Y": 1.0, "YES": 1.0, "N": 0.0, "NO": 0.0}

_BINARY_FEATURES = frozenset(c.column for c in catalogue().values() if c.encoding == "binary")
_LOG_FEATURES = frozenset(c.column for c in catalogue().values() if c.encoding == "log10")
_NUMERIC_FEATURES = frozenset(c.column for c in catalogue().values() if c.encoding == "numeric")

# Words in ARM that mean the arm received radiotherapy.  ARM is upper-cased and
# split on anything that is not a letter or digit, so "SBRT + ICI", "RT-ICI"
# and "3D-CRT then atezolizumab" count, while "Cohort A" (token COHORT) does not.
RT_ARM_TOKENS = frozenset(
    {"RT", "SBRT", "SABR", "IMRT", "EBRT", "CRT", "VMAT", "RADIOTHERAPY", "RADIATION", "PROTON"}
)


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
    """Ordered category coded 0, 1, 2, ...; a letter level followed by a score ('B7' for a
    Child-Pugh class B) is read by its letter, and a number read as '0.0' as '0'."""
    levels = ORDINAL_LEVELS[name]
    text = _upper_strings(s)
    letters = "".join(lv for lv in levels if len(lv) == 1 and lv.isalpha())
    if letters:
        text = text.map(lambda v: v if pd.isna(v) else re.sub(rf"^([{letters}])\d{{1,2}}$", r"\1", v))
    text = text.map(lambda v: v if pd.isna(v) else re.sub(r"^(\d+)\.0$", r"\1", v))
    bad = sorted(set(text.dropna()) - set(levels))
    if bad:
        raise ValueError(f"{name} must be one of {list(levels)}, found {bad[:5]}")
    return text.map({lvl: float(i) for i, lvl in enumerate(levels)}).astype(float)


def _range(name: str) -> tuple[float, float]:
    """The catalogue's range of a numeric feature (0 to infinity when it states none)."""
    c = catalogue().get(name)
    low = c.min if c and c.min is not None else 0.0
    return low, c.max if c and c.max is not None else math.inf


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
        elif f in _LOG_FEATURES:
            num = _numeric(adsl[f], f)
            _check_range(num.dropna(), f, *_range(f))
            cols[f], encoding[f] = np.log10(num + 1.0), f"log10({f} + 1)"
        elif f in ORDINAL_LEVELS:
            levels = ORDINAL_LEVELS[f]
            cols[f] = _ordinal(adsl[f], f)
            encoding[f] = "ordinal " + ", ".join(f"{lvl}={i}" for i, lvl in enumerate(levels))
        elif f in _NUMERIC_FEATURES:
            num = _numeric(adsl[f], f)
            _check_range(num.dropna(), f, *_range(f))
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

    Encoding as the covariate catalogue says (its ``encoding``), today: AGE, TUMSIZE,
    TRTLINE numeric; AFP as log10(AFP + 1); ECOG 0-4 as
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
