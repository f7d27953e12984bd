"""Tests for the response models of reanalysis.patient (metrics, response_data, models,
explain): DeLong AUC inference, the response dataset, the eight model families, SHAP
summaries and figures.

DeLong reference values come from R 4.2.2 with pROC 1.18.0 (Debian
r-cran-proc 1.18.0-1+b1), printed with 17 significant digits::

    library(pROC)
    # Hanley & McNeil (1982), Radiology 143:29, Table 1: CT ratings 1..5 of
    # 58 normal and 51 abnormal patients
    ctrl <- rep(1:5, c(33, 6, 6, 11, 2)); cases <- rep(1:5, c(3, 2, 2, 11, 33))
    r <- roc(controls = ctrl, cases = cases, direction = "<")
    auc(r)                          # 0.89317106152805947
    var(r, method = "delong")       # 0.00094398927026298452
    ci.auc(r, method = "delong")    # 0.83295232765817184 0.95338979539794710

    ctrl2  <- c(0.12, 0.35, 0.41, 0.50, 0.22, 0.67, 0.08, 0.45, 0.30, 0.55)
    cases2 <- c(0.61, 0.50, 0.78, 0.44, 0.92, 0.70, 0.38, 0.85)   # one tie (0.50)
    r2 <- roc(controls = ctrl2, cases = cases2, direction = "<")
    auc(r2); var(r2)                # 0.84375  0.0087090773809523816
    ci.auc(r2, method = "delong")   # 0.66084138313035334 1 (upper end clipped)
    ci.auc(r2, method = "delong", conf.level = 0.9)
                                    # 0.69024824984956634 0.99725175015043355

    # paired comparison (y, s1, s2 as PAIRED_Y, PAIRED_S1, PAIRED_S2 below)
    r1 <- roc(y, s1, levels = c(0, 1), direction = "<")
    r2 <- roc(y, s2, levels = c(0, 1), direction = "<")
    var(r1); var(r2); cov(r1, r2, method = "delong")
    roc.test(r1, r2, method = "delong", paired = TRUE)

The Hanley & McNeil AUC (0.893) is also the value printed in their paper.
"""

from __future__ import annotations

import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from reanalysis.patient.explain import shap_plot, shap_summary
from reanalysis.patient.metrics import auc_ci, delong_auc_variance, delong_test
from reanalysis.patient.models import (
    MIN_PER_CLASS,
    MODEL_FAMILIES,
    ModelResults,
    calibration_plot,
    fit_models,
    roc_plot,
)
from reanalysis.patient.response_data import DEFAULT_FEATURES, response_dataset

matplotlib.use("Agg")

HM_CONTROLS = np.repeat([1, 2, 3, 4, 5], [33, 6, 6, 11, 2])
HM_CASES = np.repeat([1, 2, 3, 4, 5], [3, 2, 2, 11, 33])

SMALL_CONTROLS = [0.12, 0.35, 0.41, 0.50, 0.22, 0.67, 0.08, 0.45, 0.30, 0.55]
SMALL_CASES = [0.61, 0.50, 0.78, 0.44, 0.92, 0.70, 0.38, 0.85]

PAIRED_Y = [0] * 10 + [1] * 12
PAIRED_S1 = [0.10, 0.32, 0.25, 0.51, 0.44, 0.18, 0.60, 0.29, 0.38, 0.47, 0.55]
PAIRED_S1 += [0.72, 0.41, 0.66, 0.90, 0.35, 0.81, 0.58, 0.62, 0.49, 0.77, 0.70]
PAIRED_S2 = [0.30, 0.22, 0.52, 0.41, 0.35, 0.48, 0.20, 0.61, 0.33, 0.45, 0.50]
PAIRED_S2 += [0.39, 0.67, 0.58, 0.44, 0.71, 0.36, 0.52, 0.63, 0.29, 0.55, 0.80]

TOL = 1e-10  # pROC's numbers are printed to 17 digits; only float rounding differs


def _labelled(controls, cases):
    y = np.r_[np.zeros(len(controls)), np.ones(len(cases))]
    return y, np.r_[np.asarray(controls, float), np.asarray(cases, float)]


# --------------------------------------------------------------------------
# DeLong against pROC


def test_delong_hanley_mcneil_matches_proc():
    y, s = _labelled(HM_CONTROLS, HM_CASES)
    auc, var = delong_auc_variance(y, s)
    assert auc == pytest.approx(0.89317106152805947, abs=TOL)
    assert round(auc, 3) == 0.893  # as printed by Hanley & McNeil (1982)
    assert var == pytest.approx(0.00094398927026298452, abs=TOL)
    _, lo, hi = auc_ci(y, s)
    assert (lo, hi) == pytest.approx((0.83295232765817184, 0.95338979539794710), abs=TOL)


def test_delong_small_sample_with_tie_and_clipping_matches_proc():
    y, s = _labelled(SMALL_CONTROLS, SMALL_CASES)
    auc, var = delong_auc_variance(y, s)
    assert auc == pytest.approx(0.84375, abs=TOL)
    assert var == pytest.approx(0.0087090773809523816, abs=TOL)
    assert auc_ci(y, s) == pytest.approx((0.84375, 0.66084138313035334, 1.0), abs=TOL)
    assert auc_ci(y, s, level=0.9) == pytest.approx(
        (0.84375, 0.69024824984956634, 0.99725175015043355), abs=TOL
    )


def test_paired_delong_test_matches_proc_roc_test():
    t = delong_test(PAIRED_Y, PAIRED_S1, PAIRED_S2)
    assert t.auc1 == pytest.approx(0.89166666666666672, abs=TOL)
    assert t.auc2 == pytest.approx(0.77083333333333337, abs=TOL)
    assert t.z == pytest.approx(0.87595281666287816, abs=1e-9)
    assert t.p == pytest.approx(0.38105568476629398, abs=1e-9)
    assert delong_auc_variance(PAIRED_Y, PAIRED_S1)[1] == pytest.approx(0.004507575757575758, abs=TOL)
    assert delong_auc_variance(PAIRED_Y, PAIRED_S2)[1] == pytest.approx(0.010531355218855218, abs=TOL)
    # var(diff) = var1 + var2 - 2 cov, with pROC's cov = -0.0019949494949494952
    var_diff = 0.004507575757575758 + 0.010531355218855218 + 2 * 0.0019949494949494952
    assert t.difference / t.z == pytest.approx(var_diff**0.5, abs=1e-9)


def test_delong_hand_computed_example():
    # positives {2, 3}, negatives {1, 2}: pairs won 1, 1, 1 and one tie -> 3.5 / 4
    auc, var = delong_auc_variance([1, 1, 0, 0], [2, 3, 1, 2])
    assert auc == 0.875
    # V10 = (0.75, 1.0), V01 = (1.0, 0.75): var = 0.03125/2 + 0.03125/2
    assert var == pytest.approx(0.03125, abs=1e-15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_equals_sklearn_roc_auc_score(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 80)
    s = np.round(rng.normal(size=80) + y, 1)  # rounding creates ties across classes
    assert delong_auc_variance(y, s)[0] == pytest.approx(roc_auc_score(y, s), abs=1e-14)


def test_reversing_the_score_mirrors_auc_keeps_variance():
    y, s = _labelled(HM_CONTROLS, HM_CASES)
    auc, var = delong_auc_variance(y, s)
    auc_r, var_r = delong_auc_variance(y, -s)
    assert auc_r == pytest.approx(1 - auc, abs=1e-14)
    assert var_r == pytest.approx(var, abs=1e-14)


@pytest.mark.parametrize(
    ("y", "s", "match"),
    [
        ([1, 1, 1, 1], [0.1, 0.2, 0.3, 0.4], "at least 2 positives and 2 negatives"),
        ([1, 0, 0, 0], [0.1, 0.2, 0.3, 0.4], "at least 2 positives and 2 negatives"),
        ([1, 2, 0, 0], [0.1, 0.2, 0.3, 0.4], "0/1 labels"),
        ([1, 1, 0, 0], [0.1, 0.2, 0.3], "scores have 3 values"),
        ([1, 1, 0, 0], [0.1, np.nan, 0.3, 0.4], "non-finite"),
        ([], [], "non-empty"),
    ],
)
def test_delong_bad_input(y, s, match):
    with pytest.raises(ValueError, match=match):
        delong_auc_variance(y, s)


def test_auc_ci_bad_level():
    with pytest.raises(ValueError, match="level"):
        auc_ci([1, 1, 0, 0], [0.4, 0.3, 0.2, 0.1], level=95)


# --------------------------------------------------------------------------
# synthetic cohorts


def make_cohort(n: int, seed: int, signal: float = 3.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ADSL/ADRS for ``n`` made-up subjects; response depends on AFP only (logit slope ``signal`` per SD)."""
    r = np.random.default_rng(seed)
    afp = np.exp(r.normal(4, 2.5, n)).round(1)
    adsl = pd.DataFrame(
        {
            "USUBJID": [f"S{i:04d}" for i in range(n)],
            "ARM": r.choice(["SBRT + ICI", "ICI alone"], n),
            "AGE": r.normal(60, 10, n).round(),
            "SEX": r.choice(["M", "F"], n),
            "ECOG": r.integers(0, 2, n),
            "CHILDPUGH": r.choice(["A", "B"], n, p=[0.8, 0.2]),
            "BCLC": r.choice(["B", "C"], n),
            "AFP": afp,
            "TUMSIZE": r.gamma(3, 2, n).round(1),
            "PVTT": r.choice(["Y", "N"], n),
            "EHM": r.choice(["Y", "N"], n),
            "HBV": r.choice(["Y", "N"], n),
            "TRTLINE": r.integers(1, 3, n),
        }
    )
    z = np.log10(afp + 1)
    z = (z - z.mean()) / z.std()
    responder = r.random(n) < 1 / (1 + np.exp(-(signal * z - 0.3)))
    avalc = np.where(responder, r.choice(["CR", "PR"], n), r.choice(["SD", "PD"], n))
    avalc[r.random(n) < 0.05] = "NE"
    adrs = pd.DataFrame({"USUBJID": adsl["USUBJID"], "CRITERION": "mRECIST", "AVALC": avalc})
    return adsl, adrs


@pytest.fixture(scope="module")
def strong():
    X, y = response_dataset(*make_cohort(300, seed=1))
    return X, y, fit_models(X, y, seed=0)


@pytest.fixture(scope="module")
def noise():
    adsl, adrs = make_cohort(600, seed=2)
    # labels independent of every feature: shuffle them across subjects
    adrs = adrs.assign(AVALC=np.random.default_rng(7).permutation(adrs["AVALC"].to_numpy()))
    X, y = response_dataset(adsl, adrs)
    return X, y, fit_models(X, y, seed=0)


# --------------------------------------------------------------------------
# response_dataset


def tiny_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    adsl = pd.DataFrame(
        {
            "USUBJID": ["P3", "P1", "P2", "P4", "P5"],
            "ARM": ["SBRT + ICI", "Cohort A: ICI", "ICI", "RT-ICI", "ICI"],
            "RTDOSE": [40, np.nan, 30, 50, 0],
            "AGE": [61, 55, 70, 48, 66],
            "SEX": ["M", "F", "M", "F", "M"],
            "ECOG": [0, 1, 0, 1, 0],
            "CHILDPUGH": ["A", "B7", "a", "A5", "A"],
            "BCLC": ["C", "B", "C", "A", "C"],
            "AFP": [9.0, 999.0, 0.0, 99.0, np.nan],
            "TUMSIZE": [5.1, 8.0, 3.2, 10.5, 4.0],
            "PVTT": ["Y", "N", "y", "N", "N"],
            "EHM": ["N", "N", "Y", "N", "N"],
            "HBV": ["Y", "Y", "N", "N", "Y"],
            "TRTLINE": [1, 2, 1, 1, 2],
        }
    )
    adrs = pd.DataFrame(
        {
            "USUBJID": ["P1", "P2", "P3", "P4", "P5", "P9", "P1", "P2"],
            "CRITERION": ["mRECIST"] * 6 + ["RECIST 1.1"] * 2,
            "AVALC": ["PR", "SD", "CR", "NE", "PD", "PR", "SD", "SD"],
        }
    )
    return adsl, adrs


def test_response_dataset_encoding_and_exclusions():
    adsl, adrs = tiny_tables()
    X, y = response_dataset(adsl, adrs, criterion="mrecist", features=(*DEFAULT_FEATURES, "SEX"))
    # P4 is NE, P5 has no AFP, P9 is not in adsl; rows sorted by USUBJID
    assert list(X.index) == ["P1", "P2", "P3"]
    assert y.tolist() == [1, 0, 1]
    assert X.attrs["exclusions"] == {
        "not evaluable (NE)": 1,
        "missing AVALC": 0,
        "no response record": 0,
        "response record without adsl subject": 1,
        "missing feature value": 1,
    }
    # "Cohort A: ICI" has no RT word and no dose; "ICI" with RTDOSE 30 counts
    assert X["RT"].tolist() == [0.0, 1.0, 1.0]
    assert X["AFP"].tolist() == pytest.approx([3.0, 0.0, 1.0])  # log10(AFP + 1)
    assert X["CHILDPUGH"].tolist() == [1.0, 0.0, 0.0]  # B7 -> B -> 1
    assert X["BCLC"].tolist() == [2.0, 3.0, 3.0]
    assert X["PVTT"].tolist() == [0.0, 1.0, 1.0]
    assert X["SEX_M"].tolist() == [0.0, 1.0, 1.0]
    assert list(X.columns) == [*DEFAULT_FEATURES, "SEX_M"]
    assert set(X.attrs["encoding"]) == {*DEFAULT_FEATURES, "SEX"}


def test_response_dataset_other_criterion():
    adsl, adrs = tiny_tables()
    X, y = response_dataset(adsl, adrs, criterion="RECIST 1.1", features=("AGE", "RT"))
    assert list(X.index) == ["P1", "P2"] and y.tolist() == [0, 0]
    assert X.attrs["exclusions"]["no response record"] == 3


def test_response_dataset_rt_from_arm_only():
    adsl, adrs = tiny_tables()
    X, _ = response_dataset(adsl.drop(columns="RTDOSE"), adrs, features=("RT",))
    assert X["RT"].to_dict() == {"P1": 0.0, "P2": 0.0, "P3": 1.0, "P5": 0.0}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s, r: (s.drop(columns="TUMSIZE"), r), r"feature column\(s\) \['TUMSIZE'\] missing"),
        (lambda s, r: (s.drop(columns=["ARM", "RTDOSE"]), r), "RT needs an RT, ARM or RTDOSE"),
        (lambda s, r: (s, r.drop(columns="AVALC")), "adrs is missing required column"),
        (lambda s, r: (s, r.assign(CRITERION="iRECIST")), "no rows for criterion 'mRECIST'"),
        (lambda s, r: (s, r.assign(AVALC="MR")), "AVALC must be one of"),
        (lambda s, r: (s, r.assign(CRITERION="mRECIST")), "more than one mRECIST response"),
        (lambda s, r: (pd.concat([s, s.iloc[:1]]), r), "one row per subject"),
        (lambda s, r: (s.assign(BCLC="E"), r), "BCLC must be one of"),
        (lambda s, r: (s.assign(PVTT="maybe"), r), "PVTT must be Y/N"),
        (lambda s, r: (s.assign(AGE="old"), r), "AGE must be numeric"),
        (lambda s, r: (s.assign(ECOG=5), r), r"ECOG must lie in \[0.0, 4.0\]"),
        (lambda s, r: (s.assign(AFP=-1.0), r), "AFP must lie in"),
    ],
)
def test_response_dataset_bad_input(change, match):
    adsl, adrs = change(*tiny_tables())
    with pytest.raises(ValueError, match=match):
        response_dataset(adsl, adrs)


def test_response_dataset_bad_features_argument():
    adsl, adrs = tiny_tables()
    with pytest.raises(ValueError, match="not a single string"):
        response_dataset(adsl, adrs, features="AGE")
    with pytest.raises(ValueError, match="more than once"):
        response_dataset(adsl, adrs, features=("AGE", "AGE"))


# --------------------------------------------------------------------------
# fit_models


def test_strong_signal_gives_high_auc(strong):
    # response has logit slope 3 per SD of log AFP, for which the population AUC is about 0.9
    _, _, res = strong
    t = res.table
    assert list(t.columns) == ["model", "AUC", "CI low", "CI high", "Brier", "best"]
    assert list(t["model"]) == list(MODEL_FAMILIES)
    assert t["best"].sum() == 1
    assert res.best_model == t.loc[t["AUC"].idxmax(), "model"]
    assert t["AUC"].max() > 0.8
    assert ((t["CI low"] <= t["AUC"]) & (t["AUC"] <= t["CI high"])).all()
    assert t["Brier"].between(0, 1).all()
    assert res.split["n train"] + res.split["n validation"] == len(strong[1])
    assert res.split["n validation"] == int(np.ceil(0.3 * len(strong[1])))


def test_table_auc_equals_sklearn_on_validation(strong):
    _, _, res = strong
    for name, score in res._scores.items():
        auc = res.table.set_index("model").loc[name, "AUC"]
        assert auc == pytest.approx(roc_auc_score(res._y_val, score), abs=1e-14)


def test_noise_labels_give_auc_near_half(noise):
    # 600 subjects, about 170 in validation split roughly evenly: the SE of an AUC of 0.5
    # is about 0.044, so 0.15 is more than 3 SE for each model; evaluating on the
    # training rows (leakage) would give the forest and the tree an AUC near 1.
    _, _, res = noise
    aucs = res.table.set_index("model")["AUC"]
    assert (aucs - 0.5).abs().max() < 0.15, aucs.to_dict()
    assert abs(aucs.mean() - 0.5) < 0.06
    assert (res.table["CI low"] < 0.5).sum() >= 6  # nearly every CI covers 0.5


def test_calibration_table_is_aggregate(strong):
    _, _, res = strong
    cal = res.calibration
    assert list(cal.columns) == ["model", "bin low", "bin high", "n", "mean predicted", "observed"]
    assert (cal.groupby("model")["n"].sum() == res.split["n validation"]).all()
    assert len(cal) <= 5 * len(MODEL_FAMILIES)
    assert cal["observed"].between(0, 1).all()
    # a mean of several k-NN probabilities of exactly 0.4 can exceed 0.4 by float rounding
    eps = 1e-12
    assert cal["mean predicted"].between(cal["bin low"] - eps, cal["bin high"] + eps).all()


def test_roc_curves_have_no_thresholds(strong):
    _, _, res = strong
    roc = res.roc_curves()
    assert list(roc.columns) == ["model", "FPR", "TPR"]
    assert set(roc["model"]) == set(MODEL_FAMILIES)
    ends = roc.groupby("model").agg(first=("FPR", "first"), last=("TPR", "last"))
    assert (ends["first"] == 0).all() and (ends["last"] == 1).all()


def test_compare_with_best(strong):
    _, _, res = strong
    other = next(m for m in MODEL_FAMILIES if m != res.best_model)
    t = res.compare(other)
    assert t.auc2 == res.table.set_index("model").loc[res.best_model, "AUC"]
    assert 0 <= t.p <= 1
    with pytest.raises(ValueError, match="was not fitted"):
        res.compare("XGBoost")


def test_same_seed_same_tables_other_seed_differs(strong):
    X, y, res = strong
    again = fit_models(X, y, seed=0)
    pd.testing.assert_frame_equal(res.table, again.table, check_exact=True)
    pd.testing.assert_frame_equal(res.calibration, again.calibration, check_exact=True)
    pd.testing.assert_frame_equal(res.roc_curves(), again.roc_curves(), check_exact=True)
    other = fit_models(X, y, seed=1, families=("random forest", "MLP"))
    assert not other.table["AUC"].equals(res.table["AUC"].iloc[[2, 7]].reset_index(drop=True))


def test_subset_of_families(strong):
    X, y, _ = strong
    res = fit_models(X, y, families=("naive Bayes", "logistic regression"))
    assert list(res.table["model"]) == ["naive Bayes", "logistic regression"]
    assert set(res.fitted) == {"naive Bayes", "logistic regression"}


def _labels_with(y: pd.Series, n_pos: int) -> pd.Series:
    return pd.Series(np.r_[np.ones(n_pos), np.zeros(len(y) - n_pos)].astype(int), index=y.index)


def test_fit_models_bad_input(strong):
    X, y, _ = strong
    with pytest.raises(ValueError, match="no responders"):
        fit_models(X, _labels_with(y, 0))
    with pytest.raises(ValueError, match="only responders"):
        fit_models(X, _labels_with(y, len(y)))
    with pytest.raises(ValueError, match=f"at least {MIN_PER_CLASS} subjects"):
        fit_models(X, _labels_with(y, MIN_PER_CLASS - 1))
    with pytest.raises(ValueError, match="missing or non-finite"):
        fit_models(X.assign(AGE=np.nan), y)
    with pytest.raises(ValueError, match="non-numeric"):
        fit_models(X.assign(AGE="x"), y)
    with pytest.raises(ValueError, match="y has 10 values"):
        fit_models(X, y.iloc[:10].to_numpy())
    with pytest.raises(ValueError, match="same index"):
        fit_models(X, y.iloc[::-1])
    with pytest.raises(ValueError, match="families must be distinct names"):
        fit_models(X, y, families=("MLP", "XGBoost"))
    with pytest.raises(ValueError, match="test_size"):
        fit_models(X, y, test_size=30)
    with pytest.raises(ValueError, match="DataFrame"):
        fit_models(X.to_numpy(), y)


def test_no_responders_from_tables_fails_clearly():
    adsl, adrs = make_cohort(60, seed=3)
    X, y = response_dataset(adsl, adrs.assign(AVALC="PD"))
    with pytest.raises(ValueError, match="no responders"):
        fit_models(X, y)


# --------------------------------------------------------------------------
# SHAP and figures


def test_shap_ranks_the_signal_feature_first_and_is_deterministic(strong):
    X, _, res = strong
    state = np.random.get_state()
    a = shap_summary(res, X, seed=0, max_samples=60)
    b = shap_summary(res, X, seed=0, max_samples=60)
    assert np.random.get_state()[1].tolist() == state[1].tolist()  # global RNG left as it was
    assert list(a.columns) == ["feature", "mean |SHAP|"]
    assert a.loc[0, "feature"] == "AFP"
    assert a.loc[0, "mean |SHAP|"] > 3 * a.loc[1, "mean |SHAP|"]
    assert sorted(a["feature"]) == sorted(X.columns)
    assert a["mean |SHAP|"].is_monotonic_decreasing
    assert a.attrs["model"] == res.best_model and a.attrs["n explained"] == 60
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_shap_fallback_without_shap(strong, monkeypatch):
    X, _, res = strong
    monkeypatch.setitem(sys.modules, "shap", None)  # makes "import shap" raise ImportError
    out = shap_summary(res, X, model="logistic regression")
    assert list(out.columns) == ["feature", "AUC decrease (permutation)"]
    assert out.loc[0, "feature"] == "AFP"
    assert "permutation importance" in out.attrs["method"]


def test_shap_bad_input(strong):
    X, _, res = strong
    with pytest.raises(ValueError, match="was not fitted"):
        shap_summary(res, X, model="XGBoost")
    with pytest.raises(ValueError, match="differ from the fitted features"):
        shap_summary(res, X.drop(columns="AGE"))
    with pytest.raises(ValueError, match="max_samples"):
        shap_summary(res, X, max_samples=0)


def test_figures(strong):
    import matplotlib.pyplot as plt

    _, _, res = strong
    fig = roc_plot(res)
    lines = fig.axes[0].get_lines()
    assert len(lines) == len(MODEL_FAMILIES) + 1  # one per model and the chance diagonal
    assert any(res.best_model in t.get_text() for t in fig.axes[0].get_legend().get_texts())
    fig2 = calibration_plot(res)
    assert len(fig2.axes[0].get_lines()) == len(MODEL_FAMILIES) + 1
    df = pd.DataFrame({"feature": ["AFP", "AGE", "RT"], "mean |SHAP|": [0.3, 0.1, 0.05]})
    fig3 = shap_plot(df)
    bars = fig3.axes[0].patches
    assert len(bars) == 3 and bars[-1].get_width() == pytest.approx(0.3)  # largest drawn on top
    with pytest.raises(ValueError, match="shap_summary"):
        shap_plot(pd.DataFrame())
    with pytest.raises(ValueError, match="ModelResults"):
        roc_plot(res.table)
    for f in (fig, fig2, fig3):
        plt.close(f)
    assert isinstance(res, ModelResults)


def _exact_interventional_shapley(predict, x: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Shapley values of one row by brute force over every coalition (Shapley 1953:
    phi_i = sum over S without i of |S|!(d-|S|-1)!/d! [v(S+i) - v(S)]), with the interventional
    value v(S) = mean over the background of f(x on S, background elsewhere). Independent of shap."""
    from itertools import combinations
    from math import factorial

    d = len(x)

    def v(subset: tuple[int, ...]) -> float:
        rows = background.copy()
        rows[:, list(subset)] = x[list(subset)]
        return float(predict(rows).mean())

    phi = np.zeros(d)
    for i in range(d):
        others = [j for j in range(d) if j != i]
        for k in range(d):
            for s in combinations(others, k):
                w = factorial(k) * factorial(d - k - 1) / factorial(d)
                phi[i] += w * (v(tuple(sorted((*s, i)))) - v(s))
    return phi


@pytest.fixture(scope="module")
def small_fits():
    """Three features, 40 rows (all of them the background): small enough for brute force."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    from reanalysis.patient.models import ModelResults

    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.normal(size=(40, 3)), columns=["A", "B", "C"])
    y = (X["A"] + 0.5 * X["B"] * X["C"] + rng.normal(scale=0.5, size=40) > 0).astype(int)
    fitted = {
        "random forest": RandomForestClassifier(n_estimators=25, max_depth=3, random_state=0).fit(X, y),
        "logistic regression": LogisticRegression().fit(X, y),
    }
    res = ModelResults(
        table=pd.DataFrame(),
        calibration=pd.DataFrame(),
        fitted=fitted,
        best_model="random forest",
        seed=0,
        split={},
        feature_names=("A", "B", "C"),
    )
    return X, res


@pytest.mark.parametrize(("model", "tolerance"), [("random forest", 1e-6), ("logistic regression", 0.1)])
def test_shap_values_are_interventional_shapley_values(small_fits, model, tolerance):
    """Tree models: shap's tree explainer gives the exact values (to its float32 thresholds); other
    models: the permutation explainer's sampled ones, within 10 % of the exact mean |SHAP|."""
    X, res = small_fits
    est = res.fitted[model]
    out = shap_summary(res, X, model=model, seed=0, max_samples=len(X))
    assert out.attrs["method"].endswith(
        "tree explainer" if model == "random forest" else "permutation explainer"
    )
    predict = lambda a: est.predict_proba(pd.DataFrame(a, columns=X.columns))[:, 1]  # noqa: E731
    exact = np.abs(
        np.array([_exact_interventional_shapley(predict, x, X.to_numpy()) for x in X.to_numpy()])
    ).mean(axis=0)
    got = out.set_index("feature").loc[["A", "B", "C"], "mean |SHAP|"].to_numpy()
    np.testing.assert_allclose(got, exact, rtol=tolerance)


def test_shap_explains_a_bounded_number_of_rows(strong):
    from reanalysis.patient.explain import EXPLAIN_ROWS

    X, _, res = strong
    assert len(X) > EXPLAIN_ROWS
    assert shap_summary(res, X, model="random forest").attrs["n explained"] == EXPLAIN_ROWS
