"""``python -m reanalysis patient FOLDER``: the patient-level analyses of any trial, as tidy rows.

No study is needed: arms, labels and the reference arm come from the folder's ``patient.yml``
(or the data: arms in order of appearance, reference = first in sorted order, as R's factor
default), covariates are every ADSL column recorded for every patient (standard or declared), or the
lists patient.yml's ``analyses`` names (``table1``, ``cox``, ``psm``, ``subgroups``).
One estimate per row, columns ``analysis, endpoint, term, estimate, lower, upper, p``:

- ``table1``: per covariate, the absolute SMD (estimate) and the test's p;
- ``km_median``: per endpoint and arm, the KM median and its log-log 95% CI (R's rule);
- ``logrank``: chi-square (estimate) and p;
- ``cox_univariable`` / ``cox_multivariable``: HR, 95% CI, Wald p (arm: treated vs reference);
- ``ph_test``: per variable of the multivariable model and GLOBAL, the chi-square and p of R
  survival >= 3.0's ``cox.zph`` (Kaplan-Meier time transform, its default); ``ph_test_pre3``:
  per term, survival < 3.0's test (rank transform);
- ``psm_pairs`` / ``psm_cox``: matched pairs, and the arm HR in the matched cohort (robust SE);
- ``subgroup`` / ``interaction``: arm HR within each level, and the interaction p.

An analysis the data cannot support (one arm, no covariate, a model that does not converge)
is left out with a note, never an error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..vocabulary import ENDPOINT_CODES
from . import descriptive as D
from . import matching as PSM
from . import subgroups as SG
from . import survival as SV
from .covariates import Role
from .schema import TABLES, PatientData

COLUMNS = ["analysis", "endpoint", "term", "estimate", "lower", "upper", "p"]
MAX_SUBGROUP_LEVELS = 5


def covariates(data: PatientData) -> list[str]:
    """ADSL columns usable as covariates: recorded for every patient and not constant."""
    adsl = data.adsl
    names = [c for c in [*TABLES["adsl"], *data.covariates] if c not in ("USUBJID", "ARM")]
    return [c for c in names if c in adsl and adsl[c].notna().all() and adsl[c].nunique() > 1]


def warnings_for(data: PatientData) -> list[str]:
    """Plausibility warnings that do not stop the run (AVAL in days rather than months)."""
    out = []
    for paramcd, g in data.adtte.groupby("PARAMCD", sort=True):
        median = float(g["AVAL"].median())
        if median > 200:
            out.append(
                f"adtte.csv: {paramcd} AVAL has median {median:g}: AVAL must be in months "
                "(days? divide by 30.4375)"
            )
        if (g["CNSR"] == 1).all():
            out.append(f"adtte.csv: {paramcd} has no event (CNSR = 1 everywhere; ADaM: 0 = event)")
    return out


def _row(
    analysis: str,
    endpoint: str,
    term: str,
    estimate: Any = math.nan,
    lower: Any = math.nan,
    upper: Any = math.nan,
    p: Any = math.nan,
) -> dict:
    return dict(zip(COLUMNS, [analysis, endpoint, term, estimate, lower, upper, p], strict=True))


def _cox_rows(analysis: str, endpoint: str, frame: pd.DataFrame) -> list[dict]:
    return [
        _row(analysis, endpoint, f"{r.variable}: {r.contrast}", r.hr, r.lower, r.upper, r.p)
        for r in frame.itertuples()
    ]


def _subgroup_specs(data: PatientData, covs: list[str]) -> dict[str, str | tuple[str, float]]:
    """Categorical covariates with 2-5 levels by level; numeric ones split at their median."""
    specs: dict[str, str | tuple[str, float]] = {}
    for c in covs:
        s = data.adsl[c]
        if pd.api.types.is_numeric_dtype(s) and s.nunique() > MAX_SUBGROUP_LEVELS:
            specs[c] = (c, float(np.median(s.astype(float))))
        elif s.nunique() <= MAX_SUBGROUP_LEVELS:
            specs[c] = c
    return specs


def analyse(
    data: PatientData, seed: int = 0, p_enter: float = 0.1, caliper: float = 0.2
) -> tuple[pd.DataFrame, list[str]]:
    """Every patient-level analysis of ``data`` as tidy rows, and notes on what was left out."""
    rows: list[dict] = []
    notes: list[str] = []

    def attempt(what: str, fit: Callable, *args: Any, **kwargs: Any) -> Any:
        try:
            return fit(*args, **kwargs)
        except (ValueError, ArithmeticError) as exc:
            notes.append(f"{what}: not estimable on these data ({exc})")
            return None

    adsl, adtte = data.adsl, data.adtte
    covs = covariates(data)

    def pick(role: Role) -> list[str]:
        """patient.yml's list for ``role`` (its usable columns), else every usable covariate."""
        chosen = data.analyses.get(role)
        return covs if chosen is None else [c for c in chosen if c in covs]

    arms = data.arms
    ref = data.reference
    if ref not in arms:
        raise ValueError(f"reference arm '{ref}' is not in the data (arms: {', '.join(arms)})")
    treat = next((a for a in arms if a != ref), None)
    two = len(arms) == 2
    if covs:
        categorical = [
            *D.CATEGORICAL_INTEGERS,
            *(c for c, v in data.covariates.items() if v["type"] == "categorical"),
        ]
        t1 = attempt("Table 1", D.table_one, adsl, variables=pick(Role.TABLE1), categorical=categorical)
        if t1 is not None:
            first = t1[t1["variable"].isin(covs)].drop_duplicates("variable")
            rows += [_row("table1", "", r.variable, r.smd, p=r.p) for r in first.itertuples()]
    else:
        notes.append("Table 1: no covariate is recorded for every patient")
    endpoints = [e for e in ENDPOINT_CODES if e in set(adtte["PARAMCD"])]
    for ep in endpoints:
        km = attempt(f"{ep} Kaplan-Meier", SV.km_by_arm, adsl, adtte, ep)
        if km is not None:
            rows += [_row("km_median", ep, r.arm, r.median, r.lower, r.upper) for r in km.table.itertuples()]
            if not math.isnan(km.p):
                rows.append(_row("logrank", ep, "ARM", km.chi2, p=km.p))
        if not two:
            continue
        cm = attempt(
            f"{ep} Cox models",
            SV.cox_models,
            adsl,
            adtte,
            ep,
            treat,
            pick(Role.COX),
            p_enter,
            control_arm=ref,
        )
        if cm is not None:
            rows += _cox_rows("cox_univariable", ep, cm.univariable)
            rows += _cox_rows("cox_multivariable", ep, cm.multivariable)
            if cm.zph is not None:
                rows += [_row("ph_test", ep, r.variable, r.statistic, p=r.p) for r in cm.zph.itertuples()]
            rows += [
                _row("ph_test_pre3", ep, f"{r.variable}: {r.contrast}", r.statistic, p=r.p)
                for r in cm.ph.itertuples()
            ]
        subs = _subgroup_specs(data, pick(Role.SUBGROUP))
        sg = (
            attempt(f"{ep} subgroups", SG.subgroup_hrs, adsl, adtte, ep, treat, subs, control_arm=ref)
            if subs
            else None
        )
        if sg is not None and len(sg):
            for r in sg.itertuples():
                rows.append(_row("subgroup", ep, f"{r.subgroup}={r.level}", r.hr, r.lower, r.upper, r.p))
            for label, g in sg.groupby("subgroup", sort=False):
                rows.append(_row("interaction", ep, str(label), p=g["p_interaction"].iloc[0]))
    if two and covs:
        m = attempt(
            "Propensity-score matching",
            PSM.propensity_match,
            adsl,
            treat,
            covariates=pick(Role.PSM),
            caliper=caliper,
            seed=seed,
            control_arm=ref,
        )
        if m is not None:
            rows.append(_row("psm_pairs", "", "pairs", m.summary["pairs"]))
            for ep in endpoints:
                cox = attempt(
                    f"{ep} Cox model in the matched cohort",
                    SV.cox_matched,
                    m.matched,
                    adtte,
                    ep,
                    treat,
                    control_arm=ref,
                )
                if cox is not None:
                    rows += _cox_rows("psm_cox", ep, cox)
    elif not two:
        notes.append(f"comparisons need two arms; the data have {len(arms)} ({', '.join(arms)})")
    return pd.DataFrame(rows, columns=COLUMNS), notes
