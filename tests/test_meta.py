"""Tests for reanalysis.meta against R's metafor.

Every expected number was computed in R 4.2.2 with metafor 3.8-1. The script and its
printed output are in tests/reference/metafor_reference.md. Names used in the R comments:

    bcg   <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
    xi    <- c(20, 26, 81, 5, 0); ni <- c(37, 37, 108, 41, 25)
    plo   <- escalc(measure="PLO", xi=xi, ni=ni)    # add=1/2, to="only0"
    pr    <- escalc(measure="PR",  xi=xi, ni=ni)
    pas   <- escalc(measure="PAS", xi=xi, ni=ni)
    yi    <- log(c(0.51, 0.35, 0.43))
    sei   <- (log(c(0.86, 0.60, 0.88)) - log(c(0.30, 0.21, 0.21))) / (2 * qnorm(0.975))
    tight <- list(threshold=1e-12, tol=1e-12, maxiter=1000)   # fully converged REML / PM

For every fit, estimate = fit$beta, se = fit$se, ci = c(fit$ci.lb, fit$ci.ub), tau2 = fit$tau2,
i2 = fit$I2, q = fit$QE, q_p = fit$QEp and weights = weights(fit). pi comes from
predict(fit, pi.type="riley"), the Higgins t(k-2) interval that reanalysis.meta implements.
pi_normal comes from predict(fit), metafor's default normal-quantile interval, which we do not
implement.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.meta_analysis import combine_effects, effectsize_2proportions

from reanalysis.meta import (
    METHODS,
    MetaResult,
    back_transform,
    forest_data,
    log_ratio_effects,
    pool,
    pool_log_ratios,
    pool_proportions,
    proportion_effects,
)

# R prints 15 significant digits; every comparison below holds to this relative tolerance.
REL = 1e-9

# --------------------------------------------------------------------------
# data

# metafor 3.8-1: dat.bcg (metadat 1.2-0), columns tpos, tneg, cpos, cneg
BCG_TPOS = [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27]
BCG_TNEG = [119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886]
BCG_CPOS = [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29]
BCG_CNEG = [128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825]
# metafor 3.8-1: bcg$yi, bcg$vi
BCG_YI = (
    -0.889311333920205, -1.58538865720143, -1.34807314829969, -1.44155119002131, -0.217547322211296,
    -0.786115585818864, -1.62089822359839, 0.0119523335238405, -0.469417648738149, -1.37134480347278,
    -0.339358828338391, 0.445913400571379, -0.0173139482168798,
)  # fmt: skip
BCG_VI = (
    0.325584765003961, 0.194581121398144, 0.415367965367965, 0.0200100319022476, 0.0512101721696309,
    0.00690561845590876, 0.223017247572315, 0.00396157929781773, 0.056434210463249, 0.0730247936130289,
    0.0124122139715597, 0.532505845200153, 0.0714046596839863,
)  # fmt: skip

# ORR-like counts; 0/25 is a zero-event study that needs the continuity correction.
EVENTS = [20, 26, 81, 5, 0]
TOTALS = [37, 37, 108, 41, 25]
# metafor 3.8-1: plo$yi, plo$vi
PLO_YI = (0.162518929497775, 0.860201265223112, 1.09861228866811, -1.97408102602201, -3.93182563272433)
PLO_VI = (0.108823529411765, 0.129370629370629, 0.0493827160493827, 0.227777777777778, 2.03921568627451)
# metafor 3.8-1: pr$yi, pr$vi
PR_YI = (0.540540540540541, 0.702702702702703, 0.75, 0.121951219512195, 0.0192307692307692)
PR_VI = (
    0.00671233688034272, 0.00564625984640594, 0.00173611111111111, 0.00261168584321179, 0.000725421028675466,
)  # fmt: skip
# metafor 3.8-1: pas$yi, pas$vi
PAS_YI = (0.825983255741099, 0.994109299061408, 1.0471975511966, 0.356733388514094, 0.0)
PAS_VI = (0.00675675675675676, 0.00675675675675676, 0.00231481481481481, 0.00609756097560976, 0.01)

HRS = [0.51, 0.35, 0.43]
HR_LOWERS = [0.30, 0.21, 0.21]
HR_UPPERS = [0.86, 0.60, 0.88]
# metafor 3.8-1 (base R): yi, sei as defined in the module docstring
HR_YI = (-0.673344553263766, -1.04982212449868, -0.843970070294529)
HR_SEI = (0.268665629291779, 0.267816687648227, 0.365520588147701)


def bcg_effects() -> tuple[np.ndarray, np.ndarray]:
    """Log risk ratios of dat.bcg built with statsmodels (checked against escalc below)."""
    n1 = np.add(BCG_TPOS, BCG_TNEG)
    n2 = np.add(BCG_CPOS, BCG_CNEG)
    yi, vi = effectsize_2proportions(np.array(BCG_TPOS), n1, np.array(BCG_CPOS), n2, statistic="risk-ratio")
    return np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)


def fit(dataset: str, method: str) -> MetaResult:
    """The reanalysis.meta fit that corresponds to METAFOR[(dataset, method)]."""
    if dataset == "bcg":
        return pool(*bcg_effects(), method=method)
    if dataset == "bcg90":
        return pool(*bcg_effects(), method=method, level=0.90)
    if dataset == "plo":
        return pool_proportions(EVENTS, TOTALS, method=method)
    if dataset == "pr":
        return pool_proportions(EVENTS, TOTALS, method=method, transform="raw")
    if dataset == "pas":
        return pool_proportions(EVENTS, TOTALS, method=method, transform="arcsine")
    if dataset == "hr":
        return pool_log_ratios(HRS, HR_LOWERS, HR_UPPERS, method=method)
    raise AssertionError(dataset)


# --------------------------------------------------------------------------
# metafor fits (see the module docstring for what each key is in R)

METAFOR: dict[tuple[str, str], dict] = {
    # metafor 3.8-1: fit <- rma(yi, vi, data=bcg, method="DL", control=tight)
    ("bcg", "DL"): {
        "estimate": -0.714117222073227,
        "se": 0.178742089535403,
        "ci": (-1.06444528008405, -0.363789164062403),
        "tau2": 0.308760262862376,
        "i2": 92.1173468545621,
        "q": 152.233008082373,
        "q_p": 1.99676459084597e-26,
        "weights": (
            5.03649168323173,
            6.34732918264198,
            4.41202722473061,
            9.71764635681429,
            8.87537738165672,
            10.1210604193452,
            6.00791382572125,
            10.2163425332843,
            8.74841677655812,
            8.36825172426313,
            9.94753189514472,
            3.79769662242323,
            8.40391437418475,
        ),
        "pi": (-1.99883849575212, 0.570604051605665),
        "pi_normal": (-1.85815375273217, 0.429919308585714),
    },
    # metafor 3.8-1: fit <- rma(yi, vi, data=bcg, method="REML", control=tight)
    ("bcg", "REML"): {
        "estimate": -0.71453234215814,
        "se": 0.179781516105207,
        "ci": (-1.06689763881035, -0.362167045505926),
        "tau2": 0.313243258136486,
        "i2": 92.2213845212691,
        "q": 152.233008082373,
        "q_p": 1.99676459084597e-26,
        "weights": (
            5.05948273436666,
            6.36467937256303,
            4.4360274026014,
            9.69874701892068,
            8.86845639124289,
            10.0957385442391,
            6.02718141444447,
            10.1894390370957,
            8.74313321163819,
            8.36760725788587,
            9.92502699981139,
            3.82162906298958,
            8.4028515522011,
        ),
        "pi": (-2.00837590692259, 0.579311222606309),
        "pi_normal": (-1.8666922179029, 0.437627533586617),
    },
    # metafor 3.8-1: fit <- rma(yi, vi, data=bcg, method="PM", control=tight)
    ("bcg", "PM"): {
        "estimate": -0.714968153493444,
        "se": 0.180892191537624,
        "ci": (-1.06951033399171, -0.360425972995181),
        "tau2": 0.318068452205024,
        "i2": 92.3303379541533,
        "q": 152.233008082373,
        "q_p": 1.99676459084597e-26,
        "weights": (
            5.08379109812791,
            6.38291469342248,
            4.46146171300907,
            9.67881320388956,
            8.86105579890968,
            10.0691064036999,
            6.0474680762677,
            10.1611594442227,
            8.73745055005624,
            8.36679879010424,
            9.90133109384382,
            3.84704605571886,
            8.40160307872785,
        ),
        "pi": (-2.01855805418466, 0.588621747197769),
        "pi_normal": (-1.87580708248402, 0.445870775497129),
    },
    # metafor 3.8-1: fit <- rma(yi, vi, data=bcg, method="FE", control=tight)
    ("bcg", "FE"): {
        "estimate": -0.430285163654091,
        "se": 0.0404987517108638,
        "ci": (-0.509661258426214, -0.350909068881968),
        "tau2": 0,
        "i2": 92.1173468545621,
        "q": 152.233008082373,
        "q_p": 1.99676459084597e-26,
        "weights": (
            0.503754802568308,
            0.842912651727497,
            0.394866486317794,
            8.19663305961031,
            3.20277948823389,
            23.750934121401,
            0.735435894753549,
            41.4013898709963,
            2.90630253648413,
            2.24601646781726,
            13.2139914272852,
            0.308005800297218,
            2.29697739250766,
        ),
        "pi": None,  # predict() gives no PI for method="FE"
    },
    # metafor 3.8-1: fit <- rma(yi, vi, data=bcg, method="DL", level=90)
    ("bcg90", "DL"): {
        "estimate": -0.714117222073227,
        "se": 0.178742089535403,
        "ci": (-1.00812179633442, -0.420112647812034),
        "tau2": 0.308760262862376,
        "i2": 92.1173468545621,
        "q": 152.233008082373,
        "q_p": 1.99676459084597e-26,
        "weights": (
            5.03649168323173,
            6.34732918264198,
            4.41202722473061,
            9.71764635681429,
            8.87537738165672,
            10.1210604193452,
            6.00791382572125,
            10.2163425332843,
            8.74841677655812,
            8.36825172426313,
            9.94753189514472,
            3.79769662242323,
            8.40391437418475,
        ),
        "pi": (-1.76238027877188, 0.33414583462543),
        "pi_normal": (-1.67422294425104, 0.24598850010459),
    },
    # metafor 3.8-1: fit <- rma(yi, vi, data=plo, method="DL", control=tight)
    ("plo", "DL"): {
        "estimate": -0.329525245949431,
        "se": 0.598726817240218,
        "ci": (-1.50300824431855, 0.843957752419691),
        "tau2": 1.47069947983247,
        "i2": 91.2615132734132,
        "q": 45.7745159448492,
        "q_p": 2.74382530111072e-09,
        "weights": (22.6950667755149, 22.4036309172187, 23.5825274879059, 21.1055991522061, 10.2131756671544),
        "pi": (-4.63368625989282, 3.97463576799396),
        "pi_normal": (-2.98031641781758, 2.32126592591871),
    },
    # metafor 3.8-1: fit <- rma(yi, vi, data=plo, method="REML", control=tight)
    ("plo", "REML"): {
        "estimate": -0.477506331541467,
        "se": 0.824158544386549,
        "ci": (-2.09282739609006, 1.13781473300712),
        "tau2": 3.0115646972321,
        "i2": 95.5328253866419,
        "q": 45.7745159448492,
        "q_p": 2.74382530111072e-09,
        "weights": (21.7677178911776, 21.6253197107381, 22.1904271644177, 20.968369708525, 13.4481655251417),
        "pi": (-6.59145036273229, 5.63643769964935),
        "pi_normal": (-4.24288332619256, 3.28787066310962),
    },
    # metafor 3.8-1: fit <- rma(yi, vi, data=plo, method="PM", control=tight)
    ("plo", "PM"): {
        "estimate": -0.508186206565208,
        "se": 0.890506606240331,
        "ci": (-2.25354708279125, 1.23717466966083),
        "tau2": 3.56689404438746,
        "i2": 96.2019037893468,
        "q": 45.7745159448492,
        "q_p": 2.74382530111072e-09,
        "weights": (21.574073628786, 21.4541458945743, 21.9286871080597, 20.897775958533, 14.1453174100471),
        "pi": (-7.15324997299077, 6.13687755986036),
        "pi_normal": (-4.60066237357633, 3.58428996044592),
    },
    # metafor 3.8-1: fit <- rma(yi, vi, data=plo, method="FE", control=tight)
    ("plo", "FE"): {
        "estimate": 0.470745502565909,
        "se": 0.154212414513189,
        "ci": (0.168494724151096, 0.772996280980722),
        "tau2": 0,
        "i2": 91.2615132734132,
        "q": 45.7745159448492,
        "q_p": 2.74382530111072e-09,
        "weights": (21.8532415907995, 18.3824326322608, 48.1574742997251, 10.4406448346287, 1.16620664258593),
        "pi": None,  # predict() gives no PI for method="FE"
    },
    # metafor 3.8-1: fit <- rma(yi, vi, data=pr, method="DL")
    ("pr", "DL"): {
        "estimate": 0.424599449439639,
        "se": 0.176899859406965,
        "ci": (0.0778820961317888, 0.771316802747489),
        "tau2": 0.153015201271148,
        "i2": 98.5284652197221,
        "q": 271.825039653121,
        "q_p": 1.28939440487665e-57,
        "weights": (19.5918378385849, 19.7234791850417, 20.2218383653536, 20.1080679813433, 20.3547766296766),
        "pi": (-0.941662820854938, 1.79086171973422),
        "pi_normal": (-0.416836536068552, 1.26603543494783),
    },
    # metafor 3.8-1: fit <- rma(yi, vi, data=pas, method="DL")
    ("pas", "DL"): {
        "estimate": 0.648935863498017,
        "se": 0.188752875997324,
        "ci": (0.278987024564908, 1.01888470243113),
        "tau2": 0.171786867544333,
        "i2": 96.8778972761238,
        "q": 128.118782556709,
        "q_p": 9.83263344612606e-27,
        "weights": (19.9545899982291, 19.9545899982291, 20.4637012776051, 20.0285367829521, 19.5985819429846),
        "pi": (-0.800438777274562, 2.0983105042706),
        "pi_normal": (-0.243686296789048, 1.54155802378508),
    },
    # metafor 3.8-1: fit <- rma(yi=yi, sei=sei, method="DL", control=tight)
    ("hr", "DL"): {
        "estimate": -0.858316081010778,
        "se": 0.168356989703037,
        "ci": (-1.18828971737431, -0.528342444647245),
        "tau2": 0,
        "i2": 0,
        "q": 0.986864654175196,
        "q_p": 0.610527264527667,
        "weights": (39.2679367838684, 39.5172791427985, 21.2147840733331),
        "pi": (-2.99749446094362, 1.28086229892207),
        "pi_normal": (-1.18828971737431, -0.528342444647245),
    },
    # metafor 3.8-1: fit <- rma(yi=yi, sei=sei, method="REML", control=tight)
    ("hr", "REML"): {
        "estimate": -0.858316081010778,
        "se": 0.168356989703037,
        "ci": (-1.18828971737431, -0.528342444647245),
        "tau2": 0,
        "i2": 0,
        "q": 0.986864654175196,
        "q_p": 0.610527264527667,
        "weights": (39.2679367838684, 39.5172791427985, 21.2147840733331),
        "pi": (-2.99749446094362, 1.28086229892207),
        "pi_normal": (-1.18828971737431, -0.528342444647245),
    },
    # metafor 3.8-1: fit <- rma(yi=yi, sei=sei, method="PM", control=tight)
    ("hr", "PM"): {
        "estimate": -0.858316081010778,
        "se": 0.168356989703037,
        "ci": (-1.18828971737431, -0.528342444647245),
        "tau2": 0,
        "i2": 0,
        "q": 0.986864654175196,
        "q_p": 0.610527264527667,
        "weights": (39.2679367838684, 39.5172791427985, 21.2147840733331),
        "pi": (-2.99749446094362, 1.28086229892207),
        "pi_normal": (-1.18828971737431, -0.528342444647245),
    },
    # metafor 3.8-1: fit <- rma(yi=yi, sei=sei, method="FE", control=tight)
    ("hr", "FE"): {
        "estimate": -0.858316081010778,
        "se": 0.168356989703037,
        "ci": (-1.18828971737431, -0.528342444647245),
        "tau2": 0,
        "i2": 0,
        "q": 0.986864654175196,
        "q_p": 0.610527264527667,
        "weights": (39.2679367838684, 39.5172791427985, 21.2147840733331),
        "pi": None,  # predict() gives no PI for method="FE"
    },
}

# metafor 3.8-1: fit <- rma(yi, vi, data=bcg, method="DL")
#   predict(fit, transf=exp, pi.type="riley")
BCG_DL_EXP = {
    "estimate": 0.489624150463619,
    "ci": (0.344919135222476, 0.695037718225147),
    "pi": (0.135492567068217, 1.76933549865154),
}
# metafor 3.8-1: fit <- rma(yi, vi, data=plo, method="DL")
#   predict(fit, transf=transf.ilogit, pi.type="riley")
PLO_DL_ILOGIT = {
    "estimate": 0.418356142613707,
    "ci": (0.181977283400027, 0.699298109101089),
    "pi": (0.00962531952249089, 0.981560268662257),
}
# metafor 3.8-1: fit <- rma(yi, vi, data=pas, method="DL")
#   predict(fit, transf=transf.iarcsin, pi.type="riley")
# (transf.iarcsin clips to [0, 1]: the PI on the arcsine scale is -0.80 to 2.10)
PAS_DL_IARCSIN = {
    "estimate": 0.365225531936834,
    "ci": (0.0758352356758934, 0.725092753582787),
    "pi": (0.0, 1.0),
}


def close(actual: float, expected: float, rel: float = REL) -> bool:
    return actual == pytest.approx(expected, rel=rel, abs=1e-300 if expected else 1e-12)


def assert_pair(actual: tuple[float, float] | None, expected: tuple[float, float] | None) -> None:
    if expected is None:
        assert actual is None
        return
    assert actual is not None
    assert close(actual[0], expected[0]) and close(actual[1], expected[1]), (actual, expected)


# --------------------------------------------------------------------------
# effect sizes


def test_bcg_effect_sizes_match_escalc() -> None:
    yi, vi = bcg_effects()
    assert yi.tolist() == pytest.approx(BCG_YI, rel=REL)
    assert vi.tolist() == pytest.approx(BCG_VI, rel=REL)


@pytest.mark.parametrize(
    ("transform", "yi", "vi"),
    [("logit", PLO_YI, PLO_VI), ("raw", PR_YI, PR_VI), ("arcsine", PAS_YI, PAS_VI)],
)
def test_proportion_effects_match_escalc(transform: str, yi: tuple, vi: tuple) -> None:
    got_yi, got_vi = proportion_effects(EVENTS, TOTALS, transform=transform)
    assert got_yi.tolist() == pytest.approx(yi, rel=REL, abs=1e-15)
    assert got_vi.tolist() == pytest.approx(vi, rel=REL)


def test_continuity_only_for_zero_or_all_event_studies() -> None:
    # metafor 3.8-1: escalc(measure="PLO", xi=37, ni=37) -> yi, vi
    yi, vi = proportion_effects([37], [37], transform="logit")
    assert close(float(yi[0]), 4.31748811353631) and close(float(vi[0]), 2.02666666666667)
    # metafor 3.8-1: escalc(measure="PR", xi=37, ni=37) -> yi, vi
    yi, vi = proportion_effects([37], [37], transform="raw")
    assert close(float(yi[0]), 0.986842105263158) and close(float(vi[0]), 0.000341704330077272)
    # metafor 3.8-1: escalc(measure="PLO", xi=xi, ni=ni, add=0.25) -> yi, vi
    yi, vi = proportion_effects(EVENTS, TOTALS, continuity=0.25)
    assert yi.tolist() == pytest.approx(
        [0.162518929497775, 0.860201265223112, 1.09861228866811, -1.97408102602201, -4.61512051684126],
        rel=REL,
    )
    assert vi.tolist() == pytest.approx(
        [0.108823529411765, 0.129370629370629, 0.0493827160493827, 0.227777777777778, 4.03960396039604],
        rel=REL,
    )


def test_log_ratio_effects_match_r() -> None:
    yi, vi = log_ratio_effects(HRS, HR_LOWERS, HR_UPPERS)
    assert yi.tolist() == pytest.approx(HR_YI, rel=REL)
    assert np.sqrt(vi).tolist() == pytest.approx(HR_SEI, rel=REL)


# --------------------------------------------------------------------------
# pooled fits against metafor


@pytest.mark.parametrize(("dataset", "method"), list(METAFOR))
def test_pool_matches_metafor(dataset: str, method: str) -> None:
    expected = METAFOR[(dataset, method)]
    res = fit(dataset, method)
    assert res.method == method
    assert res.k == len(expected["weights"])
    for name in ("estimate", "se", "tau2", "i2", "q", "q_p"):
        assert close(getattr(res, name), expected[name]), (name, getattr(res, name), expected[name])
    assert_pair(res.ci, expected["ci"])
    assert_pair(res.pi, expected["pi"])
    assert list(res.weights) == pytest.approx(expected["weights"], rel=REL)
    assert all(type(v) is float for v in (res.estimate, res.se, res.tau2, res.i2, res.q, res.q_p))
    assert all(type(w) is float for w in res.weights)


@pytest.mark.parametrize(("dataset", "method"), [key for key in METAFOR if key[1] != "FE"])
def test_metafor_default_pi_is_the_normal_version_of_ours(dataset: str, method: str) -> None:
    """predict(fit) without pi.type uses z in place of t(k-2); everything else is the same."""
    expected = METAFOR[(dataset, method)]
    res = fit(dataset, method)
    z = float(sps.norm.isf((1 - res.level) / 2))
    half = z * math.sqrt(res.se**2 + res.tau2)
    assert_pair((res.estimate - half, res.estimate + half), expected["pi_normal"])
    assert res.pi is not None and res.pi[1] - res.pi[0] > expected["pi_normal"][1] - expected["pi_normal"][0]


def test_dl_tau2_is_truncated_at_zero() -> None:
    """statsmodels' DL tau2 is negative for the three HRs; metafor and we report 0."""
    yi, vi = log_ratio_effects(HRS, HR_LOWERS, HR_UPPERS)
    raw = combine_effects(yi, vi, method_re="chi2").tau2
    # metafor 3.8-1 script: (Q - 2) / (sum(w) - sum(w^2) / sum(w)) with w = 1 / sei^2
    assert close(float(raw), -0.0445467587144133)
    assert pool(yi, vi, "DL").tau2 == 0.0


def test_i2_matches_statsmodels_q_based_value_for_dl() -> None:
    yi, vi = bcg_effects()
    assert close(pool(yi, vi, "DL").i2, 100 * combine_effects(yi, vi, method_re="chi2").i2)


def test_method_is_case_insensitive() -> None:
    yi, vi = bcg_effects()
    assert pool(yi, vi, "reml") == pool(yi, vi, "REML")
    assert set(METHODS) == {"DL", "PM", "REML", "FE"}


def test_no_prediction_interval_below_three_studies() -> None:
    res = pool_log_ratios(HRS[:2], HR_LOWERS[:2], HR_UPPERS[:2], method="DL")
    assert res.k == 2 and res.pi is None
    assert res.back("log")["pi"] is None


def test_pooling_is_order_invariant_and_weights_follow_input() -> None:
    yi, vi = bcg_effects()
    a = pool(yi, vi, "REML")
    b = pool(yi[::-1], vi[::-1], "REML")
    assert close(a.estimate, b.estimate) and close(a.tau2, b.tau2)
    assert list(a.weights) == pytest.approx(list(b.weights)[::-1], rel=REL)
    assert sum(a.weights) == pytest.approx(100.0)


# --------------------------------------------------------------------------
# back-transformation and forest data


@pytest.mark.parametrize(
    ("dataset", "transform", "expected"),
    [("bcg", "log", BCG_DL_EXP), ("plo", "logit", PLO_DL_ILOGIT), ("pas", "arcsine", PAS_DL_IARCSIN)],
)
def test_back_matches_metafor_transf(dataset: str, transform: str, expected: dict) -> None:
    back = fit(dataset, "DL").back(transform)
    assert back["transform"] == transform
    assert close(back["estimate"], expected["estimate"])
    assert_pair(back["ci"], expected["ci"])
    assert_pair(back["pi"], expected["pi"])


def test_back_transform_identity_and_errors() -> None:
    assert back_transform(0.3, "identity") == 0.3 == back_transform(0.3, "raw")
    assert back_transform(0.0, "logit") == 0.5
    with pytest.raises(ValueError, match="unknown transform"):
        back_transform(0.3, "probit")


def test_forest_data_rows() -> None:
    yi, vi = proportion_effects(EVENTS, TOTALS)
    res = pool(yi, vi, "DL")
    labels = ["A", "B", "C", "D", "E"]
    df = forest_data(labels, res, yi, vi, "logit")
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == [
        "label", "kind", "yi", "se", "estimate", "lower", "upper", "weight", "pi_lower", "pi_upper",
    ]  # fmt: skip
    assert df["label"].tolist() == [*labels, "Pooled (DL)"]
    assert df["kind"].tolist() == ["study"] * 5 + ["pooled"]
    studies = df[df["kind"] == "study"]
    # 20/37 back from the logit scale is the raw proportion; 0/25 gets 0.5/26 from the correction
    assert close(studies["estimate"].iloc[0], 20 / 37) and close(studies["estimate"].iloc[4], 0.5 / 26)
    # study CI: Wald yi +/- z sqrt(vi) on the logit scale (escalc yi, vi), back-transformed
    z = float(sps.norm.isf(0.025))
    lo, hi = PLO_YI[0] - z * math.sqrt(PLO_VI[0]), PLO_YI[0] + z * math.sqrt(PLO_VI[0])
    assert close(studies["lower"].iloc[0], 1 / (1 + math.exp(-lo)))
    assert close(studies["upper"].iloc[0], 1 / (1 + math.exp(-hi)))
    assert studies["weight"].tolist() == pytest.approx(METAFOR[("plo", "DL")]["weights"], rel=REL)
    assert studies["pi_lower"].isna().all()
    pooled = df.iloc[-1]
    assert close(pooled["estimate"], PLO_DL_ILOGIT["estimate"])
    assert close(pooled["lower"], PLO_DL_ILOGIT["ci"][0]) and close(pooled["upper"], PLO_DL_ILOGIT["ci"][1])
    assert close(pooled["pi_lower"], PLO_DL_ILOGIT["pi"][0]) and close(
        pooled["pi_upper"], PLO_DL_ILOGIT["pi"][1]
    )
    assert pooled["weight"] == 100.0


def test_forest_data_rejects_effects_that_do_not_match_the_result() -> None:
    yi, vi = proportion_effects(EVENTS, TOTALS)
    res = pool(yi, vi, "DL")
    with pytest.raises(ValueError, match="do not match"):
        forest_data(list("ABCDE"), res, yi, vi * 2, "logit")
    with pytest.raises(ValueError, match="labels"):
        forest_data(list("ABCD"), res, yi, vi, "logit")


def test_forest_data_fixed_effect_has_no_pi() -> None:
    yi, vi = bcg_effects()
    df = forest_data([f"trial {i}" for i in range(1, 14)], pool(yi, vi, "FE"), yi, vi, "log")
    assert math.isnan(df.iloc[-1]["pi_lower"]) and math.isnan(df.iloc[-1]["pi_upper"])
    assert df.iloc[-1]["label"] == "Pooled (FE)"


# --------------------------------------------------------------------------
# input validation


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "HS"}, "unknown method"),
        ({"level": 95}, r"0\.95, not 95"),
        ({"level": 0.0}, "strictly between 0 and 1"),
    ],
)
def test_pool_rejects_bad_options(kwargs: dict, message: str) -> None:
    yi, vi = bcg_effects()
    with pytest.raises(ValueError, match=message):
        pool(yi, vi, **kwargs)


@pytest.mark.parametrize(
    ("yi", "vi", "message"),
    [
        ([0.1, 0.2], [0.1], "differ in length"),
        ([0.1], [0.1], "at least 2 studies"),
        ([0.1, 0.2], [0.1, 0.0], "must be positive"),
        ([0.1, math.nan], [0.1, 0.1], "non-finite"),
        ([[0.1, 0.2]], [[0.1, 0.2]], "one-dimensional"),
        (["a", "b"], [0.1, 0.2], "sequence of numbers"),
    ],
)
def test_pool_rejects_bad_data(yi: list, vi: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pool(yi, vi)


@pytest.mark.parametrize(
    ("events", "totals", "kwargs", "message"),
    [
        ([5, 40], [37, 37], {}, "exceed totals"),
        ([5, 1.5], [37, 37], {}, "whole numbers"),
        ([5, -1], [37, 37], {}, "whole numbers"),
        ([5, 0], [37, 0], {}, "at least one patient"),
        ([5, 0], [37, 25], {"continuity": 0}, "continuity correction"),
        ([5, 0], [37, 25], {"continuity": -0.5}, "non-negative"),
        ([5, 3], [37, 25], {"transform": "log"}, "unknown transform"),
    ],
)
def test_pool_proportions_rejects_bad_input(events: list, totals: list, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pool_proportions(events, totals, **kwargs)


def test_arcsine_needs_no_continuity_correction() -> None:
    res = pool_proportions(EVENTS, TOTALS, transform="arcsine", continuity=0)
    assert close(res.estimate, METAFOR[("pas", "DL")]["estimate"])


@pytest.mark.parametrize(
    ("ratios", "lowers", "uppers", "message"),
    [
        ([0.5, 0.4], [0.6, 0.3], [0.9, 0.5], "outside"),
        ([0.5, 0.4], [0.3, 0.5], [0.9, 0.5], "below its upper"),
        ([0.5, 0.0], [0.3, 0.2], [0.9, 0.5], "positive"),
        ([0.5, 0.4], [0.3, 0.2], [0.9], "differ in length"),
    ],
)
def test_pool_log_ratios_rejects_bad_input(ratios: list, lowers: list, uppers: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pool_log_ratios(ratios, lowers, uppers)


def test_printed_ci_level_changes_the_standard_errors() -> None:
    _, vi95 = log_ratio_effects(HRS, HR_LOWERS, HR_UPPERS)
    _, vi90 = log_ratio_effects(HRS, HR_LOWERS, HR_UPPERS, ci_level=0.90)
    ratio = (sps.norm.isf(0.025) / sps.norm.isf(0.05)) ** 2
    assert (vi90 / vi95).tolist() == pytest.approx([ratio] * 3, rel=REL)


# --------------------------------------------------------------------------
# Hartung-Knapp-Sidik-Jonkman against metafor 3.8-1: rma(..., test="knha", control=tight);
# pi from predict(fit, pi.type="riley"). Script and output: tests/reference/metafor_reference.md.
KNHA = {
    # fit <- rma(yi, vi, data=bcg, method="REML", test="knha", control=tight)
    ("bcg", "REML"): {
        "estimate": -0.71453234215814,
        "se": 0.180791744092848,
        "ci": (-1.10844371368555, -0.320620970630728),
        "tau2": 0.313243258136486,
        "pi": (-2.00905765037112, 0.579992966054843),
    },
    # fit <- rma(yi, vi, data=plo, method="REML", test="knha", control=tight)
    ("plo", "REML"): {
        "estimate": -0.477506331541467,
        "se": 0.880582528683574,
        "ci": (-2.92239538302767, 1.96738271994474),
        "tau2": 3.0115646972321,
        "pi": (-6.67060758504696, 5.71559492196402),
    },
    # fit <- rma(yi=yi, sei=sei, method="REML", test="knha", control=tight)  (tau2 = 0: the
    # Knapp-Hartung se, 0.118, is below the plain one, 0.168: metafor does not truncate it)
    ("hr", "REML"): {
        "estimate": -0.858316081010778,
        "se": 0.118261926970945,
        "ci": (-1.36715608391775, -0.349476078103811),
        "tau2": 0.0,
        "pi": (-2.36097633759814, 0.644344175576587),
    },
    # fit <- rma(yi, vi, data=bcg, method="DL", test="knha", control=tight)
    ("bcg", "DL"): {
        "estimate": -0.714117222073227,
        "se": 0.180696628335547,
        "ci": (-1.10782135416833, -0.320413089978125),
        "tau2": 0.308760262862376,
        "pi": (-2.00016235180598, 0.57192790765953),
    },
}


@pytest.mark.parametrize(("dataset", "method"), list(KNHA))
def test_hksj_matches_metafor_knha(dataset: str, method: str) -> None:
    expected = KNHA[(dataset, method)]
    yi, vi = {
        "bcg": bcg_effects,
        "plo": lambda: proportion_effects(EVENTS, TOTALS),
        "hr": lambda: log_ratio_effects(HRS, HR_LOWERS, HR_UPPERS),
    }[dataset]()
    res = pool(yi, vi, method, test="knha")
    assert res.test == "knha"
    for name in ("estimate", "se", "tau2"):
        assert close(getattr(res, name), expected[name]), (name, getattr(res, name), expected[name])
    assert_pair(res.ci, expected["ci"])
    assert_pair(res.pi, expected["pi"])
    # the weights, tau2 and estimate are those of the z fit: only the se and the intervals change
    plain = pool(yi, vi, method)
    assert res.weights == plain.weights and res.estimate == plain.estimate


def test_hksj_with_two_studies_uses_t_on_one_df() -> None:
    """metafor 3.8-1: rma(yi=yi[1:2], sei=sei[1:2], method="REML", test="knha", control=tight)."""
    yi, vi = log_ratio_effects(HRS[:2], HR_LOWERS[:2], HR_UPPERS[:2])
    res = pool(yi, vi, "REML", test="knha")
    assert close(res.se, 0.188237842897126)
    assert_pair(res.ci, (-3.25396765488367, 1.52960948700989))
    assert res.pi is None  # metafor prints the CI as its k = 2 "riley" interval; we give none


def test_unknown_test_is_refused() -> None:
    yi, vi = bcg_effects()
    with pytest.raises(ValueError, match="unknown test"):
        pool(yi, vi, "REML", test="hksj")
