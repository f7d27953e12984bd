"""Validation of the survival reconstruction on real patient-level data shipped with lifelines.

For each two-arm data set, only what a paper prints is computed from the real data (N, events,
the median with its 95% CI, S(t) at 3–4 landmark times, the reverse Kaplan–Meier median
follow-up, rounded as printed); each arm is reconstructed from those numbers alone and compared
with the real data. Used by the tests (with tolerances) and by the book's reconstruction page
(the table of errors).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import datasets
from scipy import stats as sps

from .reconstruct import reconstruct_arm, replicates, summarise
from .survival import cox_batch, km_table, logrank_batch, median_followup, median_survival, median_survival_ci


@dataclass(frozen=True)
class Case:
    """A lifelines data set split into two arms, and the times a paper would print S(t) at."""

    load: str  # lifelines.datasets loader
    time: str
    event: str
    first: str  # pandas query selecting the first arm (compared with the rest)
    landmarks: tuple[float, ...]  # printed S(t) times, spread over follow-up
    between: tuple[float, ...]  # unprinted times inside the printed range, for held-out checks
    title: str = ""


CASES = {
    "rossi": Case(
        "load_rossi",
        "week",
        "arrest",
        "fin == 1",
        (13, 26, 39, 52),
        (8, 20, 45),
        "Rossi recidivism: financial aid vs none (weeks)",
    ),
    "lung": Case(
        "load_lung",
        "time",
        "status",
        "sex == 2",
        (180, 365, 540, 730),
        (90, 270, 450, 640),
        "NCCTG lung cancer: women vs men (days)",
    ),
    "leukemia": Case(
        "load_leukemia",
        "t",
        "status",
        "Rx == 1",
        (5, 10, 15),
        (3, 8, 12),
        "Freireich leukaemia: placebo vs 6-MP (weeks)",
    ),
    "gbsg2": Case(
        "load_gbsg2",
        "time",
        "cens",
        "horTh == 'yes'",
        (365, 730, 1095, 1825),
        (545, 1460),
        "GBSG2 breast cancer: hormone therapy vs none (days)",
    ),
}
STRESS = {
    "waltons": Case(
        "load_waltons",
        "T",
        "E",
        "group == 'miR-137'",
        (15, 30, 45, 60),
        (10, 20, 40),
        "Walton flies: miR-137 vs control (non-proportional hazards)",
    )
}
ALL = {**CASES, **STRESS}


def arms(case: Case) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The real data of the two arms (columns time, event)."""
    d = getattr(datasets, case.load)()
    first = d.eval(case.first).to_numpy()
    out = [
        pd.DataFrame(
            {"time": d.loc[m, case.time].to_numpy(float), "event": d.loc[m, case.event].to_numpy(int)}
        )
        for m in (first, ~first)
    ]
    return out[0], out[1]


def printed(df: pd.DataFrame, landmarks: tuple[float, ...]) -> dict:
    """The summaries a paper prints, rounded as printed: S(t) to 3 decimals, times to 1 decimal."""
    out: dict = {"n": len(df), "events": int(df["event"].sum())}
    surv = km_table(df, list(landmarks))["survival"]
    out["landmarks"] = {float(t): round(float(s), 3) for t, s in zip(landmarks, surv, strict=True)}
    med = median_survival(df)
    if math.isfinite(med):  # otherwise printed as "not reached"
        lo, hi = median_survival_ci(df)
        out["median"] = round(med, 1)
        out["median_ci"] = (round(lo, 1), round(hi, 1) if math.isfinite(hi) else None)
    fu = median_followup(df)
    if math.isfinite(fu):
        out["followup_median"] = round(fu, 1)
    return out


def two_arm(a: pd.DataFrame, b: pd.DataFrame) -> dict:
    """Cox log HR (first vs second arm) with its SE, and log-rank and Wilcoxon p."""
    t = np.r_[a["time"], b["time"]]
    e = np.r_[a["event"], b["event"]]
    g = np.r_[np.ones(len(a)), np.zeros(len(b))]
    cox = cox_batch(t, e, g)
    return {
        "log_hr": cox.log_hr,
        "se": cox.se,
        "p_logrank": logrank_batch(t, e, g).p,
        "p_wilcoxon": logrank_batch(t, e, g, "wilcoxon").p,
    }


def _z(p: float) -> float:
    return float(sps.norm.isf(p / 2))


def validation_table(n_rep: int = 200, seed: int = 1) -> pd.DataFrame:
    """Truth vs reconstruction for every data set: medians, landmark error, HR, log-rank p."""
    rows = []
    for name, case in ALL.items():
        real_a, real_b = arms(case)
        pa, pb = printed(real_a, case.landmarks), printed(real_b, case.landmarks)
        truth = two_arm(real_a, real_b)
        reps = replicates({"first": pa, "second": pb}, n_rep=n_rep, seed=seed, jitter=None)
        s = summarise(reps)
        lm_err = 0.0
        for real, p in ((real_a, pa), (real_b, pb)):
            rec = reconstruct_arm(**p, seed=0)
            times = list(case.between)
            lm_err = max(
                lm_err,
                float(
                    np.max(
                        np.abs(
                            km_table(rec, times)["survival"].to_numpy()
                            - km_table(real, times)["survival"].to_numpy()
                        )
                    )
                ),
            )
        hr_true, hr_rec = math.exp(truth["log_hr"]), float(s.loc["hr", "median"])
        rows.append(
            {
                "data set": case.title or name,
                "stress case": name in STRESS,
                "HR truth": hr_true,
                "HR reconstructed (median)": hr_rec,
                "HR 95% range": f"{s.loc['hr', 'p2.5']:.2f}–{s.loc['hr', 'p97.5']:.2f}",
                "HR error (SE of log HR)": (math.log(hr_rec) - truth["log_hr"]) / truth["se"],
                "log-rank p truth": truth["p_logrank"],
                "log-rank p reconstructed": float(s.loc["p_logrank", "median"]),
                "log-rank error (z units)": _z(float(s.loc["p_logrank", "median"])) - _z(truth["p_logrank"]),
                "max |S(t) error| between printed times": lm_err,
            }
        )
    return pd.DataFrame(rows)
