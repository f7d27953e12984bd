"""What the patient-level analyses share: arms, category levels, design matrices, endpoints.

Inputs are ADaM-style frames (:mod:`reanalysis.patient.schema`): ``adsl`` (one row per
subject, arm in ``ARM``) and ``adtte`` (USUBJID, PARAMCD, AVAL, CNSR with ADaM's 0 = event).
Covariates may be any ADSL column: numeric columns enter models as they are; Y/N columns as
an indicator of Y; other text columns as indicators of each level against the first level in
sorted order. Each model uses the complete cases of its own variables.

Used by :mod:`.descriptive`, :mod:`.survival`, :mod:`.matching` and :mod:`.subgroups`, and
imports none of them. Nothing here is public API: the names are private to the subpackage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__: list[str] = []


# --------------------------------------------------------------------------
# arms and levels


def _arms(adsl: pd.DataFrame, arm_col: str) -> list[str]:
    if arm_col not in adsl.columns:
        raise ValueError(f"adsl has no column '{arm_col}'")
    if adsl[arm_col].isna().any():
        raise ValueError(f"column '{arm_col}' has empty values")
    return list(dict.fromkeys(adsl[arm_col]))


def _levels(s: pd.Series) -> list:
    values = s.dropna().unique().tolist()
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


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
