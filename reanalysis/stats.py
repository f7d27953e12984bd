"""Statistical helpers for re-analysing published clinical studies.

The functions here recompute the tests a paper reports (chi-square, Fisher,
t-tests from summary statistics), decide which test a printed p-value came
from, give confidence intervals for proportions and risk differences, check
printed percentages for arithmetic consistency (GRIM) and recover a p-value
from a ratio and its confidence interval.  Computation is delegated to scipy
and statsmodels; this module only validates inputs, chooses between methods
and returns plain Python floats so that results serialise and compare cleanly.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import numpy as np
from scipy import stats as sps
from scipy.special import gammaln
from scipy.stats.contingency import expected_freq
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
)

from .printed import PrintedP, parse_p
from .vocabulary import TEST_RULES

__all__ = [
    "RULES",
    "TEST_FISHER",
    "TEST_PEARSON",
    "TEST_STUDENT",
    "TEST_WELCH",
    "TEST_YATES",
    "GrimResult",
    "PrintedP",
    "TestChoice",
    "TestResult",
    "categorical_tests",
    "choose_test",
    "expected_counts",
    "fisher_exact",
    "grim_percentage",
    "hr_p_from_ci",
    "p_reproduces",
    "parse_p",
    "pearson_chi2",
    "proportion_ci",
    "risk_difference_ci",
    "t_test_from_summary",
    "two_by_two",
]

TEST_PEARSON = "Pearson chi-square"
TEST_YATES = "Pearson chi-square with Yates correction"
TEST_FISHER = "Fisher exact"
TEST_STUDENT = "Student t-test"
TEST_WELCH = "Welch t-test"

RULES = TEST_RULES

# Float noise allowed when deciding whether a computed p sits exactly on a
# rounding boundary (e.g. 0.0105 computed as 0.010499999999999999).
_P_TOL = 1e-9


@dataclass(frozen=True)
class TestResult:
    """Outcome of one significance test.

    ``statistic`` is chi-square for the chi-square tests, t for the t-tests and,
    for Fisher's test, scipy's sample odds ratio (ad/bc), not R's conditional MLE.
    """

    __test__ = False  # not a pytest test class, despite the name

    test: str
    statistic: float
    p: float
    df: float | None = None


@dataclass(frozen=True)
class TestChoice:
    """The test a rule chose for a table: its name, the rule's reason for this table, and the
    same reason without this table's numbers (one footnote can then serve many rows)."""

    __test__ = False  # not a pytest test class, despite the name

    test: str
    reason: str
    footnote: str


@dataclass(frozen=True)
class GrimResult:
    """GRIM check of one printed percentage (see :func:`grim_percentage`)."""

    consistent: bool
    decimals: int
    expected: str
    candidates: tuple[int, ...]


# --------------------------------------------------------------------------
# validation helpers


def _as_count(value: object, name: str) -> int:
    """Return ``value`` as a non-negative int, or raise ValueError."""
    is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    is_whole = isinstance(value, (float, np.floating)) and float(value).is_integer()
    if not (is_int or is_whole):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    out = int(value)
    if out < 0:
        raise ValueError(f"{name} must be non-negative, got {out}")
    return out


def _check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")
    return alpha


def _as_table(table: object) -> np.ndarray:
    """Validate a contingency table of counts: 2-D, at least 2x2, whole, >= 0."""
    try:
        arr = np.asarray(table, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"table must be a 2-D array of counts: {exc}") from exc
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 2:
        raise ValueError(f"table must be 2-D with at least 2 rows and 2 columns, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("table contains non-finite values")
    if np.any(arr < 0):
        raise ValueError("table contains negative counts")
    if np.any(arr != np.round(arr)):
        raise ValueError("table contains non-integer counts")
    return arr.astype(np.int64)


def _is_2x2(arr: np.ndarray) -> bool:
    return arr.shape == (2, 2)


# --------------------------------------------------------------------------
# contingency tables


def two_by_two(n1: int, N1: int, n2: int, N2: int) -> np.ndarray:
    """Build the 2x2 table [[n1, N1-n1], [n2, N2-n2]] from events and group sizes.

    Rows are the two groups, columns are (event, no event), the layout every
    test in this module expects.
    """
    n1, N1 = _as_count(n1, "n1"), _as_count(N1, "N1")
    n2, N2 = _as_count(n2, "n2"), _as_count(N2, "N2")
    if n1 > N1:
        raise ValueError(f"n1 ({n1}) exceeds N1 ({N1})")
    if n2 > N2:
        raise ValueError(f"n2 ({n2}) exceeds N2 ({N2})")
    return np.array([[n1, N1 - n1], [n2, N2 - n2]], dtype=np.int64)


def expected_counts(table: np.ndarray) -> np.ndarray:
    """Expected counts under independence (row total x column total / N).

    Used to decide between chi-square and Fisher (gtsummary's "< 5" rule).
    """
    arr = _as_table(table)
    if arr.sum() == 0:
        raise ValueError("table total is zero: expected counts are undefined")
    return np.asarray(expected_freq(arr), dtype=float)


def pearson_chi2(table: np.ndarray, correction: bool = False) -> TestResult:
    """Pearson chi-square test of independence for an r x c table.

    ``correction=True`` applies Yates' continuity correction, which (as in R's
    ``chisq.test``) only exists for 2x2 tables; for larger tables the plain
    Pearson test is returned under TEST_PEARSON.  A table with an empty row or
    column has undefined expected frequencies: like R, the result then has
    statistic and p equal to nan instead of raising.
    """
    arr = _as_table(table)
    yates = bool(correction) and _is_2x2(arr)
    name = TEST_YATES if yates else TEST_PEARSON
    dof = float((arr.shape[0] - 1) * (arr.shape[1] - 1))
    if np.any(arr.sum(axis=0) == 0) or np.any(arr.sum(axis=1) == 0):
        return TestResult(name, math.nan, math.nan, dof)
    res = sps.chi2_contingency(arr, correction=yates)
    return TestResult(name, float(res.statistic), float(res.pvalue), float(res.dof))


_FISHER_REL_ERR = 1 + 1e-7  # R's fisher.test: tables this close in probability count as ties
_FISHER_MAX_TABLES = 2_000_000  # enumeration budget; far above any table a paper prints


def fisher_exact(table: np.ndarray) -> TestResult:
    """Two-sided Fisher exact test of a 2 x k (or k x 2) table, as R's ``fisher.test`` computes it.

    2 x 2 tables go to scipy (the statistic is scipy's sample odds ratio ad/bc, nan when 0/0).
    Larger 2 x k tables (Fisher–Freeman–Halton) are hand-written because scipy has no r x c exact
    test: every first row with the observed margins is enumerated, and p sums the probabilities
    of the tables no more probable than the observed one within R's relative tolerance 1e-7; the
    statistic is then nan. Tables with more than two rows and two columns raise
    NotImplementedError.
    """
    arr = _as_table(table)
    if _is_2x2(arr):
        res = sps.fisher_exact(arr, alternative="two-sided")
        return TestResult(TEST_FISHER, float(res.statistic), float(res.pvalue), None)
    if arr.shape[0] != 2:
        arr = arr.T
    if arr.shape[0] != 2:
        raise NotImplementedError(
            f"Fisher's exact test is implemented for 2 x k tables only; got shape {arr.shape}"
        )
    return TestResult(TEST_FISHER, math.nan, _fisher_2xk_p(arr), None)


def _fisher_2xk_p(arr: np.ndarray) -> float:
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


def categorical_tests(table: np.ndarray) -> dict[str, TestResult]:
    """Every applicable test for a table, keyed by test name.

    Pearson always; Yates-corrected Pearson only for 2x2 tables; Fisher for 2 x k tables.
    Order is Pearson, Yates, Fisher (the order :func:`choose_test` tries them).
    """
    arr = _as_table(table)
    out = {TEST_PEARSON: pearson_chi2(arr, correction=False)}
    if _is_2x2(arr):
        out[TEST_YATES] = pearson_chi2(arr, correction=True)
    if 2 in arr.shape:
        out[TEST_FISHER] = fisher_exact(arr)
    return out


# --------------------------------------------------------------------------
# t-test from summary statistics


def t_test_from_summary(
    mean1: float,
    sd1: float,
    n1: int,
    mean2: float,
    sd2: float,
    n2: int,
    equal_var: bool,
) -> TestResult:
    """Two-sample t-test from means, SDs and sizes, as papers print them.

    ``equal_var=True`` is Student's pooled test, ``False`` Welch's test with
    Welch-Satterthwaite degrees of freedom (scipy does not return those, so
    they are computed here).
    """
    n1, n2 = _as_count(n1, "n1"), _as_count(n2, "n2")
    if n1 < 2 or n2 < 2:
        raise ValueError(f"each group needs at least 2 observations, got n1={n1}, n2={n2}")
    values = {"mean1": mean1, "sd1": sd1, "mean2": mean2, "sd2": sd2}
    for name, value in values.items():
        if not math.isfinite(float(value)):
            raise ValueError(f"{name} must be finite, got {value!r}")
    if sd1 <= 0 or sd2 <= 0:
        raise ValueError(f"standard deviations must be positive, got sd1={sd1}, sd2={sd2}")
    res = sps.ttest_ind_from_stats(mean1, sd1, n1, mean2, sd2, n2, equal_var=bool(equal_var))
    if equal_var:
        return TestResult(TEST_STUDENT, float(res.statistic), float(res.pvalue), float(n1 + n2 - 2))
    v1, v2 = sd1**2 / n1, sd2**2 / n2
    df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
    return TestResult(TEST_WELCH, float(res.statistic), float(res.pvalue), float(df))


# --------------------------------------------------------------------------
# printed p-values


def _round_candidates(x: float, decimals: int) -> set[int]:
    """Integers (in units of 10**-decimals) that ``x`` rounds to.

    Accepts round-half-up and round-half-even; a value within _P_TOL of a
    half-way point counts as exactly half-way.
    """
    scale = 10**decimals
    scaled = x * scale
    lower = math.floor(scaled)
    frac = scaled - lower
    if abs(frac - 0.5) <= _P_TOL * scale:
        return {lower + 1, lower if lower % 2 == 0 else lower + 1}
    if frac > 0.5:
        return {lower + 1}
    return {lower}


def p_reproduces(p: float, printed: PrintedP) -> bool:
    """Whether a computed p is what the paper would have printed.

    "=": p rounds to the printed value at the printed decimals (half-up or
    half-even, with a 1e-9 tolerance for float noise; truncation is not
    accepted).  "<": p < value.  ">": p > value.  nan never reproduces.
    """
    if not isinstance(printed, PrintedP):
        raise TypeError(f"printed must be a PrintedP (see parse_p), got {printed!r}")
    p = float(p)
    if math.isnan(p):
        return False
    if printed.relation == "<":
        return p < printed.value
    if printed.relation == ">":
        return p > printed.value
    if printed.relation != "=":
        raise ValueError(f"unknown relation {printed.relation!r}; expected '=', '<' or '>'")
    target = round(printed.value * 10**printed.decimals)
    return target in _round_candidates(p, printed.decimals)


def _fmt_p(p: float) -> str:
    if math.isnan(p):
        return "nan"
    return f"{p:.2e}" if p < 0.001 else f"{p:.4f}"


def _fmt_printed(printed: PrintedP) -> str:
    return f"P {printed.relation} {printed.value:.{printed.decimals}f}"


# --------------------------------------------------------------------------
# choosing the test


def paper_test_name(paper_test: str) -> str:
    """Map a paper's free-text test name to one of the TEST_* names."""
    text = paper_test.strip().lower()
    # chi-square tests that are not Pearson's test of independence
    other = ("mantel", "trend", "mcnemar", "likelihood", "cochran")
    if any(word in text for word in other):
        raise ValueError(f"test {paper_test!r} is not Pearson, Yates or Fisher and is not computed here")
    if "fisher" in text:
        return TEST_FISHER
    if "yates" in text or "continuity" in text:
        return TEST_YATES
    if "chi" in text or "χ" in text or "pearson" in text:
        return TEST_PEARSON
    raise ValueError(
        f"unknown test name {paper_test!r}: expected a chi-square (Pearson), "
        "Yates-corrected chi-square or Fisher exact test"
    )


def _gtsummary_choice(arr: np.ndarray) -> TestChoice:
    exp = np.asarray(expected_freq(arr), dtype=float) if arr.sum() > 0 else np.zeros(arr.shape)
    small = int(np.sum(exp < 5))
    rule = "following gtsummary's default rule."
    if small:
        return TestChoice(
            TEST_FISHER,
            f"Fisher's exact test, because {small} of {exp.size} expected counts are below 5 "
            f"(smallest {exp.min():.2f}), {rule}",
            f"Fisher's exact test, because an expected count is below 5, {rule}",
        )
    pearson = "Pearson's chi-square test without continuity correction, because all expected counts"
    return TestChoice(
        TEST_PEARSON,
        f"{pearson} are at least 5 (smallest {exp.min():.2f}), {rule}",
        f"{pearson} are at least 5, {rule}",
    )


def choose_test(
    table: np.ndarray,
    rule: str = "gtsummary",
    *,
    paper_test: str | None = None,
    printed: PrintedP | None = None,
) -> TestChoice:
    """Choose the test to report for a table, with the rule's reason (:class:`TestChoice`).

    gtsummary: Fisher when any expected count is below 5, else Pearson without
    correction (gtsummary's default for categorical variables; for tables larger
    than 2 x k this can select Fisher, which :func:`fisher_exact` does not compute).
    paper: the test the paper named (free text mapped to TEST_* names).
    reproduce: the first of Pearson, Yates, Fisher whose p reproduces the printed
    p (:func:`p_reproduces`); if none does, the gtsummary choice, saying so.
    """
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; expected one of {RULES}")
    arr = _as_table(table)
    if rule == "gtsummary":
        return _gtsummary_choice(arr)
    if rule == "paper":
        if paper_test is None:
            raise ValueError("rule='paper' needs paper_test, the test the paper names")
        name = paper_test_name(paper_test)
        if name == TEST_YATES and not _is_2x2(arr):
            reason = (
                f"The paper names {paper_test!r}; Yates' correction exists only for 2x2 "
                "tables, so Pearson's chi-square is used (as R's chisq.test does)."
            )
            return TestChoice(TEST_PEARSON, reason, reason)
        reason = f"The test the paper names ({paper_test!r})."
        return TestChoice(name, reason, reason)
    if printed is None:
        raise ValueError("rule='reproduce' needs printed, the paper's p-value (see parse_p)")
    if not isinstance(printed, PrintedP):
        raise TypeError(f"printed must be a PrintedP (see parse_p), got {printed!r}")
    results = categorical_tests(arr)
    for name, res in results.items():
        if p_reproduces(res.p, printed):
            reason = (
                f"{name} (p = {_fmt_p(res.p)}) reproduces the printed {_fmt_printed(printed)}; "
                f"tests tried in the order {', '.join(results)}."
            )
            return TestChoice(name, reason, reason)
    tried = "; ".join(f"{name} p = {_fmt_p(res.p)}" for name, res in results.items())
    fallback = _gtsummary_choice(arr)
    lead = (
        f"No test reproduces the printed {_fmt_printed(printed)} ({tried}); "
        "falling back to the gtsummary rule: "
    )
    return TestChoice(fallback.test, lead + fallback.reason, lead + fallback.footnote)


# --------------------------------------------------------------------------
# confidence intervals

_PROPORTION_METHODS = {"wilson": "wilson", "clopper-pearson": "beta", "wald": "normal"}
_RD_METHODS = {"newcombe": "newcomb", "wald": "wald"}


def proportion_ci(k: int, n: int, method: str = "wilson", alpha: float = 0.05) -> tuple[float, float]:
    """Two-sided 1-alpha confidence interval for the proportion k/n.

    Methods: "wilson" (score; R's prop.test(correct=FALSE)), "clopper-pearson"
    (exact; R's binom.test, statsmodels' "beta") and "wald" (normal
    approximation; statsmodels clips it to [0, 1]).
    """
    k, n = _as_count(k, "k"), _as_count(n, "n")
    if n == 0:
        raise ValueError("n must be positive")
    if k > n:
        raise ValueError(f"k ({k}) exceeds n ({n})")
    alpha = _check_alpha(alpha)
    if method not in _PROPORTION_METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {tuple(_PROPORTION_METHODS)}")
    lo, hi = proportion_confint(k, n, alpha=alpha, method=_PROPORTION_METHODS[method])
    return float(lo), float(hi)


def risk_difference_ci(
    k1: int, n1: int, k2: int, n2: int, method: str = "newcombe", alpha: float = 0.05
) -> tuple[float, float, float]:
    """Difference p1 - p2 of two independent proportions with a 1-alpha CI.

    "newcombe" is Newcombe's (1998) hybrid score interval, method 10 (Wilson
    limits of each proportion combined; statsmodels' "newcomb"), which behaves
    well with small counts and zero cells; "wald" is the textbook normal
    approximation.  Returns (diff, lower, upper).
    """
    k1, n1 = _as_count(k1, "k1"), _as_count(n1, "n1")
    k2, n2 = _as_count(k2, "k2"), _as_count(n2, "n2")
    if n1 == 0 or n2 == 0:
        raise ValueError(f"group sizes must be positive, got n1={n1}, n2={n2}")
    if k1 > n1:
        raise ValueError(f"k1 ({k1}) exceeds n1 ({n1})")
    if k2 > n2:
        raise ValueError(f"k2 ({k2}) exceeds n2 ({n2})")
    alpha = _check_alpha(alpha)
    if method not in _RD_METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {tuple(_RD_METHODS)}")
    lo, hi = confint_proportions_2indep(
        k1, n1, k2, n2, method=_RD_METHODS[method], compare="diff", alpha=alpha
    )
    return float(k1 / n1 - k2 / n2), float(lo), float(hi)


# --------------------------------------------------------------------------
# GRIM for percentages

_PCT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*%?\s*$")


def _half_up(x: Fraction, decimals: int) -> int:
    return math.floor(x * 10**decimals + Fraction(1, 2))


def _half_even(x: Fraction, decimals: int) -> int:
    return round(x * 10**decimals)  # Fraction.__round__ rounds half to even, exactly


def _truncate(x: Fraction, decimals: int) -> int:
    return math.floor(x * 10**decimals)


def grim_percentage(n: int | None, N: int, printed_pct: str) -> GrimResult:
    """GRIM test: can the printed percentage arise from n out of N?

    ``printed_pct`` is the percentage exactly as printed ("94.60", "0",
    "34.115"); its decimals fix the precision.  Arithmetic is exact (fractions),
    so there is no float noise.  Because journals differ, n/N*100 counts as
    consistent if round-half-up, round-half-even or truncation at the printed
    decimals gives the printed digits.  ``candidates`` lists every n in 0..N
    that is consistent (useful to infer n when only the percentage is printed);
    with ``n=None`` the result is never consistent.  ``expected`` is n/N*100
    rounded half-up at the printed decimals ("" when n is None).
    """
    N = _as_count(N, "N")
    if N == 0:
        raise ValueError("N must be positive")
    if n is not None:
        n = _as_count(n, "n")
        if n > N:
            raise ValueError(f"n ({n}) exceeds N ({N})")
    m = _PCT_RE.match(printed_pct) if isinstance(printed_pct, str) else None
    if m is None:
        raise ValueError(f"cannot parse printed percentage {printed_pct!r}")
    digits = m.group(1)
    decimals = len(digits.split(".", 1)[1]) if "." in digits else 0
    try:
        target = int(Decimal(digits).scaleb(decimals))
    except InvalidOperation as exc:  # pragma: no cover - regex already guarantees a number
        raise ValueError(f"cannot parse printed percentage {printed_pct!r}") from exc

    def matches(k: int) -> bool:
        x = Fraction(100 * k, N)
        return target in {_half_up(x, decimals), _half_even(x, decimals), _truncate(x, decimals)}

    # Every rule that gives ``target`` puts 100 k / N, in units of the last printed decimal,
    # within [target - 1/2, target + 1): only the k in that window are tried, not all N + 1 (the
    # checks ask some 400 times a study, for arms of up to a few hundred patients).
    unit = Fraction(100 * 10**decimals, N)  # 100 k / N in printed units, per patient
    lo = max(0, math.floor((target - Fraction(1, 2)) / unit))
    hi = min(N, math.ceil((target + 1) / unit))
    candidates = tuple(k for k in range(lo, hi + 1) if matches(k))
    if n is None:
        return GrimResult(False, decimals, "", candidates)
    units = _half_up(Fraction(100 * n, N), decimals)
    expected = f"{Decimal(units).scaleb(-decimals):.{decimals}f}"
    return GrimResult(n in candidates, decimals, expected, candidates)


# --------------------------------------------------------------------------
# p from a confidence interval


def hr_p_from_ci(hr: float, lower: float, upper: float, level: float = 0.95) -> float:
    """Two-sided Wald p implied by a ratio (HR, OR, RR) and its confidence interval.

    On the log scale se = (ln upper - ln lower) / (2 z) and z = ln(hr) / se
    (Altman & Bland, BMJ 2011;343:d2304), using the exact normal quantile for
    ``level`` instead of the article's 1.96 and its approximation to the normal tail.
    """
    hr, lower, upper, level = float(hr), float(lower), float(upper), float(level)
    if not all(math.isfinite(v) and v > 0 for v in (hr, lower, upper)):
        raise ValueError(f"ratio and limits must be positive and finite, got {hr}, {lower}, {upper}")
    if not lower < upper:
        raise ValueError(f"lower limit ({lower}) must be below upper limit ({upper})")
    if not lower <= hr <= upper:
        raise ValueError(f"ratio {hr} lies outside its confidence interval ({lower}, {upper})")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    zq = float(sps.norm.ppf(0.5 + level / 2))
    se = (math.log(upper) - math.log(lower)) / (2 * zq)
    z = math.log(hr) / se
    return float(2 * sps.norm.sf(abs(z)))


TEST_MCNEMAR_EXACT = "McNemar exact"
TEST_MCNEMAR_CC = "McNemar chi-square with continuity correction"
TEST_MCNEMAR = "McNemar chi-square"


def mcnemar_range(a: int, b: int, n: int) -> dict[str, tuple[float, float]]:
    """Smallest and largest McNemar p over every paired 2×2 table with margins a, b out of n.

    Two criteria applied to the same n patients classify a and b of them as responders; the
    joint table is unknown, but its concordant cell n11 ranges over max(0, a+b-n)..min(a, b),
    and the discordant cells are a - n11 and b - n11. Returns test name → (min p, max p).
    """
    from statsmodels.stats.contingency_tables import mcnemar

    for name, v in (("a", a), ("b", b)):
        _as_count(v, name)
    if a > n or b > n:
        raise ValueError(f"margins must not exceed n (a={a}, b={b}, n={n})")
    out: dict[str, list[float]] = {TEST_MCNEMAR_EXACT: [], TEST_MCNEMAR_CC: [], TEST_MCNEMAR: []}
    for n11 in range(max(0, a + b - n), min(a, b) + 1):
        n10, n01 = a - n11, b - n11
        table = [[n11, n10], [n01, n - a - b + n11]]
        out[TEST_MCNEMAR_EXACT].append(float(mcnemar(table, exact=True).pvalue))
        if n10 + n01 == 0:
            out[TEST_MCNEMAR_CC].append(1.0)
            out[TEST_MCNEMAR].append(1.0)
            continue
        out[TEST_MCNEMAR_CC].append(float(mcnemar(table, exact=False, correction=True).pvalue))
        out[TEST_MCNEMAR].append(float(mcnemar(table, exact=False, correction=False).pvalue))
    return {k: (min(v), max(v)) for k, v in out.items()}


def interaction_p_from_cis(
    hr1: float, lower1: float, upper1: float, hr2: float, lower2: float, upper2: float, level: float = 0.95
) -> float:
    """Two-sided p of the ratio of two independent subgroup ratios (HR1/HR2), from their CIs.

    The test of interaction of Altman & Bland (BMJ 2003;326:219): on the log scale the
    difference of the estimates has se = sqrt(se1² + se2²), each se read from its CI.
    """
    z_level = float(sps.norm.ppf(0.5 + level / 2))
    logs, ses = [], []
    for hr, lo, hi in ((hr1, lower1, upper1), (hr2, lower2, upper2)):
        if not all(math.isfinite(v) and v > 0 for v in (hr, lo, hi)) or not lo <= hr <= hi or lo >= hi:
            raise ValueError(f"each ratio must be positive and inside its CI, got {hr} ({lo}, {hi})")
        logs.append(math.log(hr))
        ses.append((math.log(hi) - math.log(lo)) / (2 * z_level))
    z = (logs[0] - logs[1]) / math.hypot(*ses)
    return float(2 * sps.norm.sf(abs(z)))
