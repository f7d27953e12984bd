"""Tests for reanalysis.survival: the batched statistics agree with lifelines to 1e-6.

lifelines is the reference: ``logrank_test`` (plain, ``weightings="wilcoxon"`` and
``"tarone-ware"``), ``CoxPHFitter`` (Efron ties, its default) and ``KaplanMeierFitter``.
Data sets include many tied times (leukemia and Walton's data are recorded in whole weeks and
days, one synthetic set is rounded to whole units on purpose).  lifelines' Newton-Raphson
stops at a step of about 1e-7, so its coefficient differs from the fully converged one by up
to a few 1e-7; 1e-6 is the agreement asked for.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.datasets import load_leukemia, load_rossi, load_waltons
from lifelines.statistics import logrank_test
from lifelines.utils import median_survival_times

from reanalysis.survival import (
    WEIGHTINGS,
    cox_batch,
    km_median_batch,
    km_median_row,
    km_table,
    logrank_batch,
    median_followup,
    median_survival,
    median_survival_ci,
)

TOL = 1e-6


def _synthetic(seed: int, n: int = 80, rounded: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    g = np.r_[np.ones(n // 2), np.zeros(n - n // 2)]
    t = rng.exponential(np.where(g == 1, 14.0, 9.0))
    c = rng.uniform(2.0, 30.0, n)
    e = (t <= c).astype(int)
    time_ = np.minimum(t, c)
    if rounded:
        time_ = np.ceil(time_)  # whole months: many ties, across groups and event types
    return time_, e, g


def _datasets() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    leuk = load_leukemia()
    rossi = load_rossi()
    walt = load_waltons()
    return {
        "leukemia": (leuk["t"].to_numpy(float), leuk["status"].to_numpy(), leuk["Rx"].to_numpy()),
        "rossi": (rossi["week"].to_numpy(float), rossi["arrest"].to_numpy(), rossi["fin"].to_numpy()),
        "waltons": (
            walt["T"].to_numpy(float),
            walt["E"].to_numpy(),
            (walt["group"] == "miR-137").to_numpy().astype(int),
        ),
        "synthetic": _synthetic(1),
        "synthetic-ties": _synthetic(2, rounded=True),
        "tiny": (
            np.array([1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 5.0, 6.0]),
            np.array([1, 1, 0, 1, 1, 1, 0, 1]),
            np.array([1, 0, 1, 0, 1, 0, 1, 0]),
        ),
    }


DATASETS = _datasets()


def _lifelines_logrank(t, e, g, weighting):
    m = g == 1
    return logrank_test(t[m], t[~m], e[m], e[~m], weightings=WEIGHTINGS[weighting])


def _lifelines_cox(t, e, g):
    df = pd.DataFrame({"t": t, "e": e, "g": g})
    return CoxPHFitter().fit(df, "t", "e")


@pytest.mark.parametrize("weighting", list(WEIGHTINGS))
@pytest.mark.parametrize("name", list(DATASETS))
def test_logrank_matches_lifelines(name: str, weighting: str) -> None:
    t, e, g = DATASETS[name]
    ours = logrank_batch(t, e, g, weighting)
    ref = _lifelines_logrank(t, e, g, weighting)
    assert ours.chi2 == pytest.approx(ref.test_statistic, rel=TOL)
    assert ours.p == pytest.approx(ref.p_value, rel=TOL)
    assert isinstance(ours.p, float)


@pytest.mark.parametrize("name", list(DATASETS))
def test_cox_matches_lifelines(name: str) -> None:
    t, e, g = DATASETS[name]
    ours = cox_batch(t, e, g)
    ref = _lifelines_cox(t, e, g)
    assert ours.converged
    assert ours.log_hr == pytest.approx(ref.params_["g"], abs=TOL)
    assert ours.hr == pytest.approx(float(np.exp(ref.params_["g"])), rel=TOL)
    assert ours.se == pytest.approx(ref.standard_errors_["g"], rel=TOL)


def test_logrank_sign_follows_group_one() -> None:
    t, e, g = DATASETS["leukemia"]  # Rx = 1 is placebo, which fails faster
    assert logrank_batch(t, e, g).z > 0
    assert logrank_batch(t, e, 1 - g).z < 0
    assert cox_batch(t, e, g).hr > 1


def test_batch_rows_equal_single_fits_and_lifelines() -> None:
    rows = [_synthetic(seed, rounded=seed % 2 == 0) for seed in range(6)]
    T = np.stack([r[0] for r in rows])
    E = np.stack([r[1] for r in rows])
    G = rows[0][2]  # 1-D group is broadcast over rows
    cox = cox_batch(T, E, G)
    assert cox.log_hr.shape == (6,)
    for weighting in WEIGHTINGS:
        batch = logrank_batch(T, E, G, weighting)
        for i in range(6):
            single = logrank_batch(T[i], E[i], G, weighting)
            assert batch.p[i] == pytest.approx(single.p, rel=1e-12)
            ref = _lifelines_logrank(T[i], E[i], G, weighting)
            assert batch.p[i] == pytest.approx(ref.p_value, rel=TOL)
    for i in range(6):
        ref = _lifelines_cox(T[i], E[i], G)
        assert cox.log_hr[i] == pytest.approx(ref.params_["g"], abs=TOL)
        assert cox.se[i] == pytest.approx(ref.standard_errors_["g"], rel=TOL)


def test_km_median_batch_matches_lifelines() -> None:
    for name, (t, e, _) in DATASETS.items():
        kmf = KaplanMeierFitter().fit(t, e)
        assert km_median_batch(t, e, "first") == kmf.median_survival_time_, name
        rev = KaplanMeierFitter().fit(t, 1 - e)
        assert km_median_batch(t, 1 - e, "first") == rev.median_survival_time_, name
    # median exactly where S = 0.5: lifelines' rule is the first time with S <= 0.5
    t = np.arange(1.0, 11.0)
    assert km_median_batch(t, np.ones(10), "first") == 5.0
    assert km_median_batch(t, np.zeros(10)) == np.inf


# R (survival 3.5-3), tests/reference/reconstruction_reference.md: where the curve sits exactly
# at 0.5, the median is the midpoint of that stretch (to the next event, or to the last time)
R_HALF = [
    (np.arange(1.0, 11.0), np.ones(10), 5.5),
    (np.array([1, 2, 3, 4, 5, 7, 9, 11.0]), np.array([1, 1, 1, 1, 0, 0, 1, 0]), 6.5),
    (np.arange(1.0, 7.0), np.array([1, 1, 1, 0, 0, 0]), 4.5),
]


@pytest.mark.parametrize(("t", "e", "want"), R_HALF)
def test_median_at_exactly_one_half_is_r_s_midpoint(t: np.ndarray, e: np.ndarray, want: float) -> None:
    assert km_median_batch(t, e) == want
    assert median_survival(pd.DataFrame({"time": t, "event": e})) == want


@pytest.mark.parametrize(("t", "e", "want"), R_HALF)
def test_one_row_median_is_r_s_too(t: np.ndarray, e: np.ndarray, want: float) -> None:
    assert km_median_row(t, e.astype(float)) == want


def test_one_row_median_is_the_batch_median_bit_for_bit() -> None:
    """The reconstruction's fast path against the batch function (itself checked against R and
    lifelines above): the same float, on rows with and without ties, events or censorings."""
    rng = np.random.default_rng(7)
    for k in range(400):
        n = int(rng.integers(1, 120))
        t = rng.exponential(12.0, n)
        if k % 3 == 0:
            t = np.round(t)  # tied times: the batch path
        if k % 7 == 0:
            t = np.arange(1.0, n + 1)  # steps landing exactly on one half
        e = (rng.random(n) < rng.random()).astype(float)
        got, want = km_median_row(t, e), float(km_median_batch(t, e))
        assert got == want or (math.isnan(got) and math.isnan(want)), (k, got, want)


# R survfit(conf.type = "log-log") medians with CIs and coxph (Efron) log HRs on the validation
# data (tests/reference/reconstruction_reference.md); None = NA (not reached)
R_VALIDATION = {
    "colon": ((None, 89.527721, None), (68.435318, 50.858316, 83.843943), -0.372809),
    "veteran": ((1.724846, 1.412731, 2.956879), (3.383984, 1.774127, 4.139630), 0.017743),
    "ovarian": ((None, 15.244353, None), (20.960986, 5.125257, None), -0.596380),
    "pbc": ((107.827515, 83.449692, 137.691992), (112.624230, 101.519507, 126.587269), 0.057224),
}


@pytest.mark.parametrize("name", list(R_VALIDATION))
def test_medians_cis_and_hr_match_r_on_validation_data(name: str) -> None:
    from reanalysis.validation import DATA_DIR

    d = pd.read_csv(DATA_DIR / f"{name}.csv")
    first, second, log_hr = R_VALIDATION[name]
    for arm, want in (("first", first), ("second", second)):
        df = d[d["arm"] == arm]
        got = (median_survival(df), *median_survival_ci(df))
        for g, w in zip(got, want, strict=True):
            assert g == (math.inf if w is None else pytest.approx(w, abs=1e-6)), (arm, got, want)
    cox = cox_batch(d["time"].to_numpy(), d["event"].to_numpy(), (d["arm"] == "first").astype(int).to_numpy())
    assert cox.log_hr == pytest.approx(log_hr, abs=1e-5)


def test_single_data_set_helpers_use_lifelines() -> None:
    t, e, _ = DATASETS["leukemia"]
    df = pd.DataFrame({"time": t, "event": e})
    kmf = KaplanMeierFitter().fit(t, e)
    times = [0.0, 5.0, 10.0, 10.5, 23.0, 40.0]
    tab = km_table(df, times)
    assert list(tab.columns) == ["time", "survival", "lower", "upper"]
    np.testing.assert_allclose(tab["survival"], kmf.survival_function_at_times(times).to_numpy())
    assert tab["survival"].iloc[0] == 1.0
    assert np.all(tab["lower"] <= tab["survival"]) and np.all(tab["survival"] <= tab["upper"])
    assert median_survival(df, "first") == kmf.median_survival_time_
    ci = median_survival_times(kmf.confidence_interval_)
    assert median_survival_ci(df) == (ci.iloc[0, 0], ci.iloc[0, 1])
    assert median_followup(df, "first") == KaplanMeierFitter().fit(t, 1 - e).median_survival_time_


def test_bad_input() -> None:
    t, e, g = DATASETS["tiny"]
    with pytest.raises(ValueError, match="weighting"):
        logrank_batch(t, e, g, "peto")
    with pytest.raises(ValueError, match="event must be 0 or 1"):
        logrank_batch(t, e * 2, g)
    with pytest.raises(ValueError, match="group must be 0 or 1"):
        cox_batch(t, e, g + 1)
    with pytest.raises(ValueError, match="both groups"):
        logrank_batch(t, e, np.ones_like(g))
    with pytest.raises(ValueError, match="non-negative"):
        km_median_batch(-t, e)
    with pytest.raises(ValueError, match="columns"):
        median_survival(pd.DataFrame({"t": t, "e": e}))


def test_no_events_in_one_group_is_flagged_not_converged() -> None:
    t = np.arange(1.0, 9.0)
    e = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    g = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    res = cox_batch(t, e, g)
    assert res.hr < 1e-6  # the MLE is 0: Newton-Raphson walks towards it without settling
    assert not res.converged


def test_thousand_replicates_of_80_patients_are_fast() -> None:
    rng = np.random.default_rng(0)
    T = np.ceil(rng.exponential(10.0, (1000, 80)))  # whole months: ties
    E = (rng.random((1000, 80)) < 0.7).astype(int)
    G = np.r_[np.ones(40), np.zeros(40)]
    start = time.perf_counter()
    cox_batch(T, E, G)
    for weighting in WEIGHTINGS:
        logrank_batch(T, E, G, weighting)
    assert time.perf_counter() - start < 5.0  # about 0.3 s on the 2-core project machine
