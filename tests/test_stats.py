"""Tests for reanalysis.stats against independent reference values.

Every expected number comes from R 4.2.2 (Debian r-base-core) or from a named
textbook/paper; the exact R code and its printed output are in
tests/reference/r_reference.md.  Tables are written row-wise as
[[events1, non-events1], [events2, non-events2]]; R's matrix() fills by
column, so [[a, b], [c, d]] is matrix(c(a, c, b, d), 2) in the comments.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from reanalysis.stats import (
    RULES,
    TEST_FISHER,
    TEST_PEARSON,
    TEST_STUDENT,
    TEST_WELCH,
    TEST_YATES,
    GrimResult,
    PrintedP,
    TestResult,
    categorical_tests,
    choose_test,
    expected_counts,
    fisher_exact,
    grim_percentage,
    hr_p_from_ci,
    p_reproduces,
    parse_p,
    pearson_chi2,
    proportion_ci,
    risk_difference_ci,
    t_test_from_summary,
    two_by_two,
)

REL = 1e-9  # R prints 15 significant digits; scipy/statsmodels agree far below 1e-6

GENDER = [[35, 2], [37, 4]]  # male 35/37 vs 37/41, printed P = 0.678
ALBUMIN = [[17, 20], [31, 10]]  # 17/37 vs 31/41, printed P = 0.010
ORR = [[20, 17], [5, 36]]  # RECIST ORR 20/37 vs 5/41, printed P < 0.001
HFSR = [[0, 37], [22, 19]]  # HFSR any grade 0/37 vs 22/41, printed P < 0.001
HCV = [[1, 36], [5, 36]]  # HCV 1/37 vs 5/41, printed P = 0.204
TEA = [[3, 1], [1, 3]]  # Agresti, Categorical Data Analysis: Fisher's tea tasting
CR_ZERO = [[0, 37], [0, 41]]  # CR 0/37 vs 0/41: empty column
RXC = [[10, 15, 30], [20, 25, 5]]  # 2x3 table


def approx(x: float) -> object:
    return pytest.approx(x, rel=REL, abs=0.0)


# ----------------------------------------------------------------------------
# two_by_two


def test_two_by_two_layout() -> None:
    t = two_by_two(35, 37, 37, 41)
    assert t.tolist() == GENDER
    assert t.dtype.kind == "i"
    assert two_by_two(0, 37, 0, 41).tolist() == CR_ZERO
    assert two_by_two(37, 37, 0, 1).tolist() == [[37, 0], [0, 1]]


@pytest.mark.parametrize(
    "args",
    [(38, 37, 1, 41), (1, 37, 42, 41), (-1, 37, 1, 41), (1, -37, 1, 41), (1.5, 37, 1, 41), (True, 37, 1, 41)],
)
def test_two_by_two_rejects_invalid(args: tuple) -> None:
    with pytest.raises(ValueError):
        two_by_two(*args)


# ----------------------------------------------------------------------------
# expected_counts


def test_expected_counts_2x2() -> None:
    # R: chisq.test(matrix(c(35,37,2,4),2))$expected
    exp = expected_counts(np.array(GENDER))
    want = [[34.1538461538462, 2.84615384615385], [37.8461538461538, 3.15384615384615]]
    np.testing.assert_allclose(exp, want, rtol=1e-13)


def test_expected_counts_rxc() -> None:
    # R: chisq.test(matrix(c(10,20,15,25,30,5),2))$expected
    exp = expected_counts(np.array(RXC))
    want = [
        [15.7142857142857, 20.952380952381, 18.3333333333333],
        [14.2857142857143, 19.047619047619, 16.6666666666667],
    ]
    np.testing.assert_allclose(exp, want, rtol=1e-13)


def test_expected_counts_empty_column_and_errors() -> None:
    # row total x column total / N: column 1 total is 0, column 2 total is N = 78
    np.testing.assert_array_equal(expected_counts(np.array(CR_ZERO)), [[0.0, 37.0], [0.0, 41.0]])
    with pytest.raises(ValueError, match="zero"):
        expected_counts(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="negative"):
        expected_counts(np.array([[1, -1], [2, 3]]))


# ----------------------------------------------------------------------------
# pearson_chi2

# (table, Pearson X2, Pearson p, Yates X2, Yates p); all df = 1.
# R: chisq.test(m, correct=FALSE) and chisq.test(m, correct=TRUE), $statistic and $p.value
CHI2_CASES = [
    # m = matrix(c(35,37,2,4),2)
    (GENDER, 0.518457481872116, 0.471500419000193, 0.086766644693474, 0.768328659273375),
    # m = matrix(c(17,31,20,10),2)
    (ALBUMIN, 7.23055372445617, 0.00716730971243351, 6.03156723796968, 0.0140522510690692),
    # m = matrix(c(20,5,17,36),2)
    (ORR, 15.6473426947426, 7.63197449051069e-05, 13.7843300456462, 0.000205039299047711),
    # m = matrix(c(0,22,37,19),2)
    (HFSR, 27.6533101045296, 1.45123518930066e-07, 25.0669629480605, 5.53734777230656e-07),
    # m = matrix(c(1,5,36,36),2)
    (HCV, 2.46802900461437, 0.116183535582605, 1.31221160184575, 0.251994622904913),
    # m = matrix(c(3,1,1,3),2)
    (TEA, 2.0, 0.157299207050284, 0.5, 0.479500122186953),
]


@pytest.mark.parametrize(("table", "x2", "p", "x2_yates", "p_yates"), CHI2_CASES)
def test_pearson_chi2_matches_r(table: list, x2: float, p: float, x2_yates: float, p_yates: float) -> None:
    res = pearson_chi2(np.array(table))
    assert res == TestResult(TEST_PEARSON, approx(x2), approx(p), 1.0)
    yates = pearson_chi2(np.array(table), correction=True)
    assert yates == TestResult(TEST_YATES, approx(x2_yates), approx(p_yates), 1.0)


def test_pearson_chi2_rxc_and_yates_only_for_2x2() -> None:
    # R: chisq.test(matrix(c(10,20,15,25,30,5),2)): X-squared 23.5056818181818, df 2,
    # p 7.86694377889197e-06; correct=TRUE gives the same numbers (R applies Yates to 2x2 only)
    for correction in (False, True):
        res = pearson_chi2(np.array(RXC), correction=correction)
        assert res.test == TEST_PEARSON
        assert res.statistic == approx(23.5056818181818)
        assert res.p == approx(7.86694377889197e-06)
        assert res.df == 2.0


def test_pearson_chi2_empty_column_gives_nan() -> None:
    # R: chisq.test(matrix(c(0,0,37,41),2), correct=FALSE): X-squared NaN, df 1, p NaN (with a warning)
    res = pearson_chi2(np.array(CR_ZERO))
    assert res.test == TEST_PEARSON
    assert math.isnan(res.statistic)
    assert math.isnan(res.p)
    assert res.df == 1.0
    yates = pearson_chi2(np.array(CR_ZERO), correction=True)
    assert yates.test == TEST_YATES
    assert math.isnan(yates.p)


@pytest.mark.parametrize(
    "table",
    [[[1, 2, 3]], [1, 2, 3, 4], [[1, -2], [3, 4]], [[1.5, 2], [3, 4]], [[1, np.nan], [3, 4]], "abc"],
)
def test_pearson_chi2_rejects_invalid_tables(table: object) -> None:
    with pytest.raises(ValueError):
        pearson_chi2(table)


# ----------------------------------------------------------------------------
# fisher_exact

# (table, two-sided p, sample odds ratio ad/bc)
# R: fisher.test(m)$p.value; m[1,1]*m[2,2]/(m[1,2]*m[2,1])
FISHER_CASES = [
    (GENDER, 0.677525070459461, 1.89189189189189),  # m = matrix(c(35,37,2,4),2)
    (ALBUMIN, 0.0102703651674276, 0.274193548387097),  # m = matrix(c(17,31,20,10),2)
    (ORR, 8.99963474764383e-05, 8.47058823529412),  # m = matrix(c(20,5,17,36),2)
    (HFSR, 1.79268648082144e-08, 0.0),  # m = matrix(c(0,22,37,19),2)
    (HCV, 0.204089349727417, 0.2),  # m = matrix(c(1,5,36,36),2)
    (TEA, 0.485714285714286, 9.0),  # m = matrix(c(3,1,1,3),2)
]


@pytest.mark.parametrize(("table", "p", "odds_ratio"), FISHER_CASES)
def test_fisher_exact_matches_r(table: list, p: float, odds_ratio: float) -> None:
    res = fisher_exact(np.array(table))
    assert res.test == TEST_FISHER
    assert res.p == approx(p)
    assert res.statistic == pytest.approx(odds_ratio, rel=1e-12, abs=1e-15)
    assert res.df is None


def test_fisher_tea_tasting_textbook() -> None:
    # Agresti, Categorical Data Analysis, tea-tasting example: two-sided P = 0.486 (= 17/35)
    assert fisher_exact(np.array(TEA)).p == pytest.approx(17 / 35, rel=1e-12)
    assert round(fisher_exact(np.array(TEA)).p, 4) == 0.4857


def test_fisher_empty_column_and_rxc() -> None:
    # R: fisher.test(matrix(c(0,0,37,41),2))$p.value == 1
    res = fisher_exact(np.array(CR_ZERO))
    assert res.p == 1.0
    assert math.isnan(res.statistic)  # 0*41 / (37*0)
    # 2 x k (Fisher–Freeman–Halton), R 4.2: fisher.test(matrix(c(10,20,15,25,30,5), nrow = 2))
    assert fisher_exact(np.array(RXC)).p == pytest.approx(4.01601974487799e-06, rel=1e-9)
    assert fisher_exact(np.array(RXC).T).p == pytest.approx(4.01601974487799e-06, rel=1e-9)
    with pytest.raises(NotImplementedError, match="2 x k"):
        fisher_exact(np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]]))


# ----------------------------------------------------------------------------
# categorical_tests


def test_categorical_tests_2x2_and_rxc() -> None:
    res = categorical_tests(np.array(ALBUMIN))
    assert list(res) == [TEST_PEARSON, TEST_YATES, TEST_FISHER]
    assert all(key == value.test for key, value in res.items())
    assert res[TEST_FISHER].p == approx(0.0102703651674276)  # R: fisher.test(matrix(c(17,31,20,10),2))
    rxc = categorical_tests(np.array(RXC))
    assert list(rxc) == [TEST_PEARSON, TEST_FISHER]
    assert rxc[TEST_FISHER].p == approx(4.01601974487799e-06)  # R fisher.test, see above
    assert list(categorical_tests(np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]]))) == [TEST_PEARSON]
    assert rxc[TEST_PEARSON].p == approx(7.86694377889197e-06)


# ----------------------------------------------------------------------------
# t_test_from_summary


def test_t_test_student_age() -> None:
    # R: textbook pooled-variance t for 54.16 +- 10.68 (n 37) vs 51.71 +- 9.571 (n 41),
    # confirmed by t.test(var.equal=TRUE) on samples with exactly these means/SDs:
    # t = 1.0685539572578, df = 76, p = 0.288653002721201
    res = t_test_from_summary(54.16, 10.68, 37, 51.71, 9.571, 41, equal_var=True)
    assert res == TestResult(TEST_STUDENT, approx(1.0685539572578), approx(0.288653002721201), 76.0)


def test_t_test_welch_age() -> None:
    # R: Welch t with Welch-Satterthwaite df, confirmed by t.test(var.equal=FALSE):
    # t = 1.06250808865852, df = 72.7160309827835, p = 0.291521059748729
    res = t_test_from_summary(54.16, 10.68, 37, 51.71, 9.571, 41, equal_var=False)
    assert res.test == TEST_WELCH
    assert res.statistic == approx(1.06250808865852)
    assert res.df == approx(72.7160309827835)
    assert res.p == approx(0.291521059748729)


def test_t_test_sign_and_symmetry() -> None:
    a = t_test_from_summary(54.16, 10.68, 37, 51.71, 9.571, 41, equal_var=True)
    b = t_test_from_summary(51.71, 9.571, 41, 54.16, 10.68, 37, equal_var=True)
    assert b.statistic == pytest.approx(-a.statistic, rel=1e-12)
    assert b.p == pytest.approx(a.p, rel=1e-12)


@pytest.mark.parametrize(
    "args",
    [
        (1.0, 0.0, 10, 2.0, 1.0, 10),
        (1.0, -1.0, 10, 2.0, 1.0, 10),
        (1.0, 1.0, 1, 2.0, 1.0, 10),
        (1.0, 1.0, 10, 2.0, 1.0, -3),
        (math.nan, 1.0, 10, 2.0, 1.0, 10),
        (1.0, 1.0, 10.5, 2.0, 1.0, 10),
    ],
)
def test_t_test_rejects_invalid(args: tuple) -> None:
    with pytest.raises(ValueError):
        t_test_from_summary(*args, equal_var=True)


# ----------------------------------------------------------------------------
# parse_p


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("0.678", PrintedP("=", 0.678, 3)),
        ("< 0.001", PrintedP("<", 0.001, 3)),
        ("<0.001", PrintedP("<", 0.001, 3)),
        ("P = 0.017", PrintedP("=", 0.017, 3)),
        ("p=0.017", PrintedP("=", 0.017, 3)),
        ("P < 0.001", PrintedP("<", 0.001, 3)),
        ("> 0.05", PrintedP(">", 0.05, 2)),
        ("1.000", PrintedP("=", 1.0, 3)),
        ("0.010", PrintedP("=", 0.01, 3)),
        ("0.2", PrintedP("=", 0.2, 1)),
        ("1", PrintedP("=", 1.0, 0)),
        # APA style (no leading zero) and scientific notation, as papers print them; decimals
        # are those of the last printed digit: 1.2e-3 = 0.0012 (4), 5e-4 = 0.0005 (4)
        ("<.001", PrintedP("<", 0.001, 3)),
        ("P < .05", PrintedP("<", 0.05, 2)),
        ("1.2e-3", PrintedP("=", 0.0012, 4)),
        ("p = 1.2E-03", PrintedP("=", 0.0012, 4)),
        ("<5e-4", PrintedP("<", 0.0005, 4)),
    ],
)
def test_parse_p_accepts(text: str, want: PrintedP) -> None:
    assert parse_p(text) == want


@pytest.mark.parametrize(
    "text", ["", "abc", "NS", "<", "P =", "0.5.5", "1.5", "-0.01", "0,05", "< = 0.05", "1.2e3", "e-3"]
)
def test_parse_p_rejects_with_text_in_message(text: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_p(text)
    assert repr(text) in str(err.value) or text in str(err.value)


def test_parse_p_rejects_non_string() -> None:
    with pytest.raises(ValueError):
        parse_p(0.05)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------
# p_reproduces


@pytest.mark.parametrize(
    ("p", "printed", "want"),
    [
        (0.677525070459461, "0.678", True),  # R fisher.test, Gender
        (0.471500419000193, "0.678", False),  # R chisq.test correct=FALSE, Gender
        (0.0102703651674276, "0.010", True),  # R fisher.test, Albumin
        (0.00716730971243351, "0.010", False),  # R chisq.test correct=FALSE, Albumin
        (0.0140522510690692, "0.010", False),  # R chisq.test correct=TRUE, Albumin
        (0.204089349727417, "0.204", True),  # R fisher.test, HCV
        (7.63197449051069e-05, "< 0.001", True),
        (0.001, "< 0.001", False),  # "<" is strict
        (0.0011, "< 0.001", False),
        (0.06, "> 0.05", True),
        (0.05, "> 0.05", False),
        (0.288653002721201, "0.288", False),  # R Student t, Age: rounds to 0.289
        (0.291521059748729, "0.288", False),  # R Welch t, Age
        (0.99996, "1.000", True),
        (0.9994, "1.000", False),
        (math.nan, "0.5", False),
        (math.nan, "< 0.001", False),
        (math.nan, "> 0.05", False),
    ],
)
def test_p_reproduces(p: float, printed: str, want: bool) -> None:
    assert p_reproduces(p, parse_p(printed)) is want


def test_p_reproduces_ties_accept_half_up_and_half_even() -> None:
    # 0.0105 is stored as 0.010499999999999999...: within the 1e-9 tolerance it is a tie.
    assert p_reproduces(0.0105, parse_p("0.011"))  # half up
    assert p_reproduces(0.0105, parse_p("0.010"))  # half even (0 is even)
    # 0.0115: half up and half even both give 0.012, so 0.011 is not a reproduction
    assert p_reproduces(0.0115, parse_p("0.012"))
    assert not p_reproduces(0.0115, parse_p("0.011"))
    # clearly off a tie: no truncation accepted
    assert not p_reproduces(0.01099, parse_p("0.010"))
    assert p_reproduces(0.0105 + 2e-9, parse_p("0.011"))
    assert not p_reproduces(0.0105 + 2e-9, parse_p("0.010"))


def test_p_reproduces_rejects_non_printedp() -> None:
    with pytest.raises(TypeError):
        p_reproduces(0.5, "0.5")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="relation"):
        p_reproduces(0.5, PrintedP("~", 0.5, 1))


# ----------------------------------------------------------------------------
# choose_test


# gtsummary rule: Fisher iff some expected count < 5 (smallest expected count from R's
# chisq.test(m)$expected, see CHI2_CASES tables and tests/reference/r_reference.md)
@pytest.mark.parametrize(
    ("table", "want"),
    [
        (GENDER, TEST_FISHER),  # smallest expected 2.846
        (ALBUMIN, TEST_PEARSON),  # smallest expected 14.23
        (ORR, TEST_PEARSON),  # smallest expected 11.86
        (HFSR, TEST_PEARSON),  # smallest expected 10.44
        (HCV, TEST_FISHER),  # smallest expected 2.846
        (TEA, TEST_FISHER),  # all expected 2
        (CR_ZERO, TEST_FISHER),  # expected 0 in the empty column
        (RXC, TEST_PEARSON),  # smallest expected 14.29
    ],
)
def test_choose_test_gtsummary(table: list, want: str) -> None:
    choice = choose_test(np.array(table))
    name, reason = choice.test, choice.reason
    assert name == want
    assert "gtsummary" in reason
    assert choose_test(np.array(table), "gtsummary") == choice


def test_choose_test_gtsummary_rxc_small_expected_selects_fisher() -> None:
    choice = choose_test(np.array([[1, 2, 3], [4, 5, 6]]))
    name, reason = choice.test, choice.reason
    assert name == TEST_FISHER
    assert "below 5" in reason


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Pearson chi-square", TEST_PEARSON),
        ("chi-square", TEST_PEARSON),
        ("Chi-squared test", TEST_PEARSON),
        ("χ2 test", TEST_PEARSON),
        ("Fisher", TEST_FISHER),
        ("Fisher's exact test", TEST_FISHER),
        ("chi-square with Yates' correction", TEST_YATES),
        ("continuity-corrected chi-square", TEST_YATES),
        (TEST_YATES, TEST_YATES),
    ],
)
def test_choose_test_paper_mapping(text: str, want: str) -> None:
    choice = choose_test(np.array(GENDER), "paper", paper_test=text)
    name, reason = choice.test, choice.reason
    assert name == want
    assert text in reason


def test_choose_test_paper_errors_and_yates_on_rxc() -> None:
    with pytest.raises(ValueError, match="unknown test"):
        choose_test(np.array(GENDER), "paper", paper_test="Mann-Whitney U")
    for text in ("Mantel-Haenszel chi-square", "chi-square test for trend", "McNemar's chi-square"):
        with pytest.raises(ValueError, match="not Pearson"):
            choose_test(np.array(GENDER), "paper", paper_test=text)
    with pytest.raises(ValueError, match="paper_test"):
        choose_test(np.array(GENDER), "paper")
    choice = choose_test(np.array(RXC), "paper", paper_test="Yates chi-square")
    name, reason = choice.test, choice.reason
    assert name == TEST_PEARSON
    assert "2x2" in reason


# Which test reproduces each printed p (R p-values in CHI2_CASES / FISHER_CASES):
# Gender: Pearson 0.4715, Yates 0.7683, Fisher 0.6775 -> 0.678: Fisher only
# Albumin: Pearson 0.00717, Yates 0.01405, Fisher 0.01027 -> 0.010: Fisher only
# ORR: all three < 0.001 -> Pearson (first tried)
# HFSR: all three < 0.001 -> Pearson (first tried)
# HCV: Pearson 0.1162, Yates 0.2520, Fisher 0.2041 -> 0.204: Fisher only
@pytest.mark.parametrize(
    ("table", "printed", "want"),
    [
        (GENDER, "0.678", TEST_FISHER),
        (ALBUMIN, "0.010", TEST_FISHER),
        (ORR, "<0.001", TEST_PEARSON),
        (HFSR, "< 0.001", TEST_PEARSON),
        (HCV, "0.204", TEST_FISHER),
        (TEA, "0.48", TEST_YATES),  # R chisq.test(matrix(c(3,1,1,3),2))$p.value = 0.4795
    ],
)
def test_choose_test_reproduce(table: list, printed: str, want: str) -> None:
    choice = choose_test(np.array(table), "reproduce", printed=parse_p(printed))
    name, reason = choice.test, choice.reason
    assert name == want
    assert "reproduces" in reason


def test_choose_test_reproduce_fallback() -> None:
    # No test gives 0.500 for the Albumin table: fall back to gtsummary (Pearson, expected >= 5)
    choice = choose_test(np.array(ALBUMIN), "reproduce", printed=parse_p("0.500"))
    name, reason = choice.test, choice.reason
    assert name == TEST_PEARSON
    assert "No test reproduces" in reason
    assert "gtsummary" in reason
    # Empty column: chi-square p is nan, Fisher p = 1 (R fisher.test) reproduces "1.000"
    assert choose_test(np.array(CR_ZERO), "reproduce", printed=parse_p("1.000")).test == TEST_FISHER


def test_choose_test_errors() -> None:
    assert RULES == ("gtsummary", "paper", "reproduce")
    with pytest.raises(ValueError, match="unknown rule"):
        choose_test(np.array(GENDER), "majority")
    with pytest.raises(ValueError, match="printed"):
        choose_test(np.array(GENDER), "reproduce")
    with pytest.raises(TypeError):
        choose_test(np.array(GENDER), "reproduce", printed="0.678")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        choose_test(np.array([[1, -1], [2, 3]]))


# ----------------------------------------------------------------------------
# proportion_ci

# (k, n, alpha, Clopper-Pearson, Wilson, Wald)
# R: binom.test(k, n, conf.level=1-alpha)$conf.int;
#    prop.test(k, n, correct=FALSE, conf.level=1-alpha)$conf.int;
#    p + c(-1, 1) * qnorm(1 - alpha/2) * sqrt(p * (1 - p) / n)
# fmt: off
PROPORTION_CASES = [
    (20, 37, 0.05, (0.36921957010654, 0.705126871771355), (0.383840468921795, 0.68961430195627),
     (0.379962940245658, 0.701118140835423)),
    (20, 37, 0.10, (0.39380021309769, 0.682188545265551), (0.407660119603586, 0.667896080841532),
     (0.405779570269863, 0.675301510811218)),
    (5, 41, 0.05, (0.0408067262474272, 0.26204467554831), (0.0532333646857772, 0.255442115209769),
     (0.0217879347253636, 0.222114504299027)),
    (5, 41, 0.10, (0.0493039217546313, 0.239470670818363), (0.0606408624653198, 0.230066961988121),
     (0.0378915410851673, 0.206010897939223)),
    (22, 41, 0.05, (0.374248428313749, 0.693440567148599), (0.387464712676695, 0.67943766023664),
     (0.383948146116023, 0.689222585591294)),
    (22, 41, 0.10, (0.397698292092502, 0.671334178833973), (0.410230920982246, 0.658410257296453),
     (0.408488173010517, 0.6646825586968)),
    (0, 37, 0.05, (0.0, 0.0948905874149899), (0.0, 0.0940578258372025), (0.0, 0.0)),
    (0, 37, 0.10, (0.0, 0.0777747110051379), (0.0, 0.0681401945102038), (0.0, 0.0)),
    (37, 37, 0.05, (0.90510941258501, 1.0), (0.905942174162798, 1.0), (1.0, 1.0)),
    (37, 37, 0.10, (0.922225288994862, 1.0), (0.931859805489796, 1.0), (1.0, 1.0)),
]
# fmt: on


@pytest.mark.parametrize(("k", "n", "alpha", "cp", "wilson", "wald"), PROPORTION_CASES)
def test_proportion_ci_matches_r(k: int, n: int, alpha: float, cp: tuple, wilson: tuple, wald: tuple) -> None:
    for method, want in (("clopper-pearson", cp), ("wilson", wilson), ("wald", wald)):
        got = proportion_ci(k, n, method=method, alpha=alpha)
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), method
        assert all(type(x) is float for x in got)


def test_proportion_ci_default_is_wilson_95() -> None:
    assert proportion_ci(20, 37) == proportion_ci(20, 37, "wilson", 0.05)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((38, 37), {}),
        ((-1, 37), {}),
        ((0, 0), {}),
        ((5, 41), {"alpha": 0.0}),
        ((5, 41), {"alpha": 1.0}),
        ((5, 41), {"alpha": 1.5}),
        ((5, 41), {"method": "beta-binomial"}),
        ((5, 41), {"method": "agresti-coull"}),
    ],
)
def test_proportion_ci_rejects_invalid(args: tuple, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        proportion_ci(*args, **kwargs)


# ----------------------------------------------------------------------------
# risk_difference_ci


def test_newcombe_published_worked_example() -> None:
    # Newcombe RG, Stat Med 1998;17:873-890, example 56/70 vs 48/80, method 10: 0.0524 to 0.3339
    diff, lo, hi = risk_difference_ci(56, 70, 48, 80)
    assert diff == pytest.approx(0.2, rel=1e-12)
    assert (round(lo, 4), round(hi, 4)) == (0.0524, 0.3339)
    # R: Newcombe method 10 by formula from prop.test(correct=FALSE) Wilson limits
    assert (lo, hi) == (approx(0.0524314724023649), approx(0.333872654036906))


# (k1, n1, k2, n2, alpha, diff, Newcombe 10 (lo, hi), Wald (lo, hi)); R: newcombe10() / wald_rd()
# in tests/reference/r_reference.md
# fmt: off
RD_CASES = [
    (56, 70, 48, 80, 0.10, 0.2, (0.0765641915440721, 0.313644583582944),
     (0.0804143416377496, 0.319585658362251)),
    (56, 70, 48, 80, 0.05, 0.2, (0.0524314724023649, 0.333872654036906),
     (0.0575048991490372, 0.342495100850963)),
    (20, 37, 5, 41, 0.05, 0.418589321028345, (0.212738084259021, 0.582739039013417),
     (0.229333279286606, 0.607845362770085)),
    (20, 37, 5, 41, 0.10, 0.418589321028345, (0.247281936367021, 0.559934266203519),
     (0.259760644003226, 0.577417998053465)),
    (0, 37, 22, 41, 0.05, -0.536585365853659, (-0.67943766023664, -0.36027925760682),
     (-0.689222585591294, -0.383948146116023)),
    (0, 37, 22, 41, 0.10, -0.536585365853659, (-0.658410257296453, -0.393028645890254),
     (-0.6646825586968, -0.408488173010517)),
    (35, 37, 37, 41, 0.05, 0.043506921555702, (-0.092889166621227, 0.17726607869091),
     (-0.0729310705645117, 0.159944913675916)),
    (1, 37, 5, 41, 0.05, -0.0949241924851681, (-0.230255043264594, 0.0358069221164577),
     (-0.207897099132404, 0.0180487141620682)),
    (1, 37, 5, 41, 0.10, -0.0949241924851681, (-0.205055623767058, 0.0102301943269037),
     (-0.189734044457812, -0.000114340512523736)),
]
# fmt: on


@pytest.mark.parametrize(("k1", "n1", "k2", "n2", "alpha", "diff", "newcombe", "wald"), RD_CASES)
def test_risk_difference_ci_matches_r(
    k1: int, n1: int, k2: int, n2: int, alpha: float, diff: float, newcombe: tuple, wald: tuple
) -> None:
    for method, want in (("newcombe", newcombe), ("wald", wald)):
        got = risk_difference_ci(k1, n1, k2, n2, method=method, alpha=alpha)
        assert got == pytest.approx((diff, *want), rel=1e-9, abs=1e-12), method
        assert all(type(x) is float for x in got)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((38, 37, 5, 41), {}),
        ((1, 37, 42, 41), {}),
        ((-1, 37, 5, 41), {}),
        ((1, 0, 5, 41), {}),
        ((1, 37, 5, 41), {"alpha": 0}),
        ((1, 37, 5, 41), {"alpha": -0.05}),
        ((1, 37, 5, 41), {"method": "newcomb"}),
        ((1, 37, 5, 41), {"method": "score"}),
    ],
)
def test_risk_difference_ci_rejects_invalid(args: tuple, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        risk_difference_ci(*args, **kwargs)


# ----------------------------------------------------------------------------
# grim_percentage


# candidates from R's grim() in tests/reference/r_reference.md (half up, half even or truncation)
@pytest.mark.parametrize(
    ("n", "N", "printed", "consistent", "decimals", "expected", "candidates"),
    [
        (35, 37, "94.60", False, 2, "94.59", ()),  # 35/37 = 94.5946%: 94.60 is no rounding of it
        (35, 37, "94.59", True, 2, "94.59", (35,)),
        (35, 37, "94.6", True, 1, "94.6", (35,)),
        (0, 37, "0", True, 0, "0", (0,)),
        (1, 300, "0", True, 0, "0", (0, 1, 2)),  # 2/300 = 0.67% truncates to 0
        (1, 8, "12", True, 0, "13", (1,)),  # 12.5%: half even / truncation
        (1, 8, "13", True, 0, "13", (1,)),  # 12.5%: half up
        (1, 8, "12.5", True, 1, "12.5", (1,)),
        (22, 41, "53.7", True, 1, "53.7", (22,)),
        (22, 41, "53.65", True, 2, "53.66", (22,)),  # truncation of 53.6585
        (22, 41, "53.66", True, 2, "53.66", (22,)),
        (6823, 20000, "34.115", True, 3, "34.115", (6823,)),
        (None, 37, "93.7", False, 1, "", ()),
        (89, 95, "93.7", True, 1, "93.7", (89,)),
        (1, 37, "2.7", True, 1, "2.7", (1,)),
        (5, 41, "12.2", True, 1, "12.2", (5,)),
        (37, 37, "100", True, 0, "100", (37,)),
        (37, 37, "100.0", True, 1, "100.0", (37,)),
        (36, 37, "100.0", False, 1, "97.3", (37,)),
        (0, 37, "0.00", True, 2, "0.00", (0,)),
    ],
)
def test_grim_percentage(
    n: int | None, N: int, printed: str, consistent: bool, decimals: int, expected: str, candidates: tuple
) -> None:
    assert grim_percentage(n, N, printed) == GrimResult(consistent, decimals, expected, candidates)


def test_grim_percentage_infers_n_without_n() -> None:
    res = grim_percentage(None, 41, "12.2")
    assert res.consistent is False
    assert res.candidates == (5,)


@pytest.mark.parametrize(
    "printed", ["0", "0.0", "2.7", "12.5", "33.3", "33.33", "50", "66.667", "99.9", "100", "100.0"]
)
def test_grim_candidates_are_every_count_that_rounds_to_the_print(printed: str) -> None:
    """Against every k in 0..N, rounded by decimal's own half-up, half-even and truncation (an
    implementation independent of the window of counts grim_percentage tries)."""
    from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext

    step = Decimal(1).scaleb(-(len(printed.split(".")[1]) if "." in printed else 0))
    for N in [*range(1, 251), 997, 2000, 3001]:
        with localcontext() as ctx:
            ctx.prec = 60
            brute = tuple(
                k
                for k in range(N + 1)
                if any(
                    (Decimal(100 * k) / N).quantize(step, rounding=mode) == Decimal(printed)
                    for mode in (ROUND_HALF_UP, ROUND_HALF_EVEN, ROUND_DOWN)
                )
            )
        assert grim_percentage(None, N, printed).candidates == brute, N


@pytest.mark.parametrize(
    ("n", "N", "printed"),
    [(1, 0, "0"), (38, 37, "50"), (-1, 37, "0"), (1, 37, "abc"), (1, 37, "-2.7"), (1, 37, ""), (1, 37, 2.7)],
)
def test_grim_percentage_rejects_invalid(n: int, N: int, printed: object) -> None:
    with pytest.raises(ValueError):
        grim_percentage(n, N, printed)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------
# hr_p_from_ci


def test_hr_p_from_ci_altman_bland_example() -> None:
    # Altman & Bland, BMJ 2011;343:d2304, ratio example: 0.81 (95% CI 0.70 to 0.94) -> P = 0.005
    # (figures not re-checked against the article text; see tests/reference/r_reference.md).
    # R (exact quantile): 2*pnorm(-abs(log(0.81)/((log(0.94)-log(0.70))/(2*qnorm(0.975)))))
    p = hr_p_from_ci(0.81, 0.70, 0.94)
    assert p == approx(0.00507959777657788)
    assert round(p, 3) == 0.005
    assert type(p) is float


@pytest.mark.parametrize(
    ("hr", "lower", "upper", "level", "want"),
    [
        (1.50, 1.10, 2.05, 0.95, 0.0106762109707463),  # R: p_from_ci(1.50, 1.10, 2.05)
        (0.60, 0.40, 0.90, 0.90, 0.0382402224556877),  # R: p_from_ci(0.60, 0.40, 0.90, 0.90)
        (1.0, 0.5, 2.0, 0.95, 1.0),  # R: p_from_ci(1, 0.5, 2)
    ],
)
def test_hr_p_from_ci_matches_r(hr: float, lower: float, upper: float, level: float, want: float) -> None:
    assert hr_p_from_ci(hr, lower, upper, level) == approx(want)


@pytest.mark.parametrize(
    "args",
    [
        (0.0, 0.5, 2.0),
        (-1.0, 0.5, 2.0),
        (1.0, 0.0, 2.0),
        (1.0, 2.0, 0.5),
        (1.0, 1.0, 1.0),
        (3.0, 0.5, 2.0),
        (1.0, 0.5, 2.0, 1.0),
        (1.0, 0.5, 2.0, 0.0),
        (math.inf, 0.5, 2.0),
    ],
)
def test_hr_p_from_ci_rejects_invalid(args: tuple) -> None:
    with pytest.raises(ValueError):
        hr_p_from_ci(*args)


# ----------------------------------------------------------------------------
# plain Python floats


def test_results_are_plain_floats() -> None:
    for res in [
        *categorical_tests(np.array(GENDER)).values(),
        t_test_from_summary(54.16, 10.68, 37, 51.71, 9.571, 41, equal_var=False),
    ]:
        assert type(res.statistic) is float
        assert type(res.p) is float
        assert res.df is None or type(res.df) is float


def test_interaction_p_from_cis_by_hand():
    # Hand arithmetic (Altman & Bland, BMJ 2003;326:219 method), z quantile 1.959964:
    # ECOG 0: HR 0.07 (0.01-0.78): se1 = (ln .78 - ln .01)/3.919928 = 1.111426
    # ECOG 1-2: HR 0.71 (0.36-1.41): se2 = (ln 1.41 - ln .36)/3.919928 = 0.348282
    # z = (ln .07 - ln .71)/sqrt(se1^2 + se2^2) = -2.316786/1.164718 = -1.989125, p = 0.046687
    from reanalysis.stats import interaction_p_from_cis

    p = interaction_p_from_cis(0.07, 0.01, 0.78, 0.71, 0.36, 1.41)
    assert p == pytest.approx(0.046687, abs=2e-6)
    # identical subgroups: no interaction at all
    assert interaction_p_from_cis(0.5, 0.3, 0.8, 0.5, 0.3, 0.8) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="inside its CI"):
        interaction_p_from_cis(0.9, 0.3, 0.8, 0.5, 0.3, 0.8)
