"""The model behind a reconstruction: a survival curve through the printed points and a
censoring distribution (steps 1 and 2 of ``book/reconstruction.md``).

:func:`build` makes both from an arm's checked inputs and a :class:`Draw` (what one
reconstruction takes among what the printed numbers leave open; :data:`CENTRAL` takes the
middle of everything).  :func:`wiggle` perturbs the curve between the printed points as a
Kaplan-Meier estimate of that many patients would wiggle, for replicates.  Every time is
bounded by the longest follow-up printed or allowed by the study window.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass, replace

import numpy as np

# scipy.special's inverses, not scipy.stats' ppf: the same functions (``gamma.ppf(q, a)`` is
# ``gammaincinv(a, q)``, ``beta.ppf(q, a, b)`` is ``betaincinv(a, b, q)``, bit for bit: a test holds
# it) without the distribution wrapper's argument checks, 30 x faster a call, once a draw
from scipy.special import betaincinv, gammaincinv

from .recon_inputs import Inputs

_GRID = 2001  # points of the time grid on which the sub-distributions are integrated
_SHAPES = np.linspace(0.0, 1.0, 41)  # candidate censoring spreads below / above the median follow-up
_SEARCH_GRID = 801  # coarser grid for choosing the censoring shape
_QUANTILES = (np.arange(128) + 0.5) / 128  # strata of the censoring distribution for expectations
_SOLVE_GRID = 128  # candidate values when solving for a scale or a hazard
_DEFAULT_SPREAD = 0.5  # censoring spread on each side of the median follow-up when nothing fixes it
_SHAPE_FIT = 0.5  # censoring shapes whose expected events are within this of the best fit "fit"
_TAIL_ALIVE = 0.1  # without censoring, follow until n * S(t) = this many expected survivors
_WIGGLE_POINTS = 4  # perturbed points inside each interval between printed points (and in the tail)
# points per interval at which the smooth cumulative hazard between printed points is tabulated,
# log S linear between them: on the worked example (37 patients) S stays within 0.004 of the
# cubic, a seventh of a Kaplan-Meier step there (16 points: 0.001, at more cost per draw)
_SMOOTH_POINTS = 8
# fewest events the last printed interval is taken to hold when drawing the tail hazard: with
# less than one, the gamma draw would put most tails at nearly zero hazard (no more deaths)
_TAIL_EVENTS_MIN = 1.0


@dataclass(frozen=True)
class Curve:
    """Piecewise-exponential survival: log S linear between knots, then a constant hazard.

    The knots are the printed points, or a finer grid tabulating the smooth curve through them
    (``pins`` then holds the printed points' times).

    An interval ending at S = 0 (everyone dead by a landmark) cannot have a constant
    hazard; there S falls linearly (a constant death density) instead.
    """

    times: np.ndarray
    log_s: np.ndarray  # log S at the knots; -inf at a final knot where S = 0
    tail_hazard: float
    pins: np.ndarray | None = None  # the printed points' times, when ``times`` is a finer grid

    @property
    def printed_times(self) -> np.ndarray:
        """Times of the points the curve must pass through: (0, the landmarks, the median)."""
        return self.times if self.pins is None else self.pins

    def __post_init__(self) -> None:
        # plain lists for the scalar inverse, which runs once per reconstructed event
        object.__setattr__(self, "_t", [float(x) for x in self.times])
        object.__setattr__(self, "_neg_log_s", [-float(x) for x in self.log_s])

    @property
    def ends_at_zero(self) -> bool:
        return bool(np.isneginf(self.log_s[-1]))

    def survival(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        if not self.ends_at_zero:
            inside = np.interp(t, self.times, self.log_s)
            beyond = self.log_s[-1] - self.tail_hazard * (t - self.times[-1])
            return np.exp(np.where(t <= self.times[-1], inside, beyond))
        t0, t1 = self.times[-2], self.times[-1]
        head = np.exp(np.interp(t, self.times[:-1], self.log_s[:-1]))
        linear = math.exp(self.log_s[-2]) * np.clip((t1 - t) / (t1 - t0), 0.0, 1.0)
        return np.where(t <= t0, head, linear)

    def time_at(self, s: float) -> float:
        """First time at which S(t) = s (inf if the curve stays above s)."""
        neg, times = self._neg_log_s, self._t  # type: ignore[attr-defined]
        if s <= 0:
            return times[-1] if self.ends_at_zero else math.inf
        ls = math.log(s)
        if -ls <= neg[-1]:
            k = bisect_left(neg, -ls)  # first knot with log S <= ls
            if k == 0:
                return 0.0
            t0, t1, l0, l1 = times[k - 1], times[k], -neg[k - 1], -neg[k]
            if l1 == -math.inf:
                return t0 + (t1 - t0) * (1.0 - s / math.exp(l0))
            return t0 + (t1 - t0) * (l0 - ls) / (l0 - l1)
        if self.tail_hazard <= 0:
            return math.inf
        return times[-1] + (-neg[-1] - ls) / self.tail_hazard


@dataclass(frozen=True)
class Draw:
    """What one reconstruction takes among what the printed numbers leave open.

    ``median`` and ``landmarks`` are the values used (the printed ones, or drawn within their
    CI and rounding); ``shape`` the position (0-1) among the censoring shapes that reproduce
    the printed events; ``censoring`` the censoring level when neither events nor follow-up
    are printed, from 0 (nobody censored before the end) to 1 (the most the landmarks allow).
    ``open_tail``: the censoring spreads are taken at ``shape`` and the hazard after the last
    printed point is the one that reproduces the printed events (the central reconstruction
    keeps the last interval's hazard and chooses the censoring shape for the events instead).
    ``tail`` (0-1, None for the central draw): the quantile at which the hazard after the last
    printed point is drawn where the printed events do not fix it (:func:`_drawn_tail`).
    ``events`` (0-1, None for the central draw): the quantile at which the expected number of
    events the model is fitted to is drawn around the printed count (:func:`_expected_events`).
    """

    median: float | None
    landmarks: tuple[tuple[float, float], ...]
    shape: float = 0.5
    censoring: float = 0.5
    open_tail: bool = False
    tail: float | None = None
    events: float | None = None


def central(inp: Inputs) -> Draw:
    """The central draw: printed values, the middle shape and the middle censoring level."""
    return Draw(inp.median, inp.landmarks)


# A censoring distribution is a tuple of (a, b, mass) components: uniform on [a, b], or a
# point mass at a when a == b.
Censoring = tuple[tuple[float, float, float], ...]


@dataclass(frozen=True)
class Model:
    """Survival curve, censoring distribution, and the latest time an event may fall."""

    curve: Curve
    cens: Censoring
    t_hi: float


def _knots(landmarks: tuple[tuple[float, float], ...], median: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Knot times and log S: (0, 1), the landmarks, (median, 0.5), up to the first S = 0."""
    pts = {0.0: 1.0}
    pts.update(dict(landmarks))
    if median is not None and median not in pts:
        pts[median] = 0.5
    times = sorted(pts)
    zero = next((i for i, t in enumerate(times) if pts[t] == 0.0), None)
    if zero is not None:
        times = times[: zero + 1]
    surv = np.array([pts[t] for t in times])
    log_s = np.full(surv.shape, -np.inf)
    np.log(surv, out=log_s, where=surv > 0)
    return np.array(times), log_s


def pchip(x: np.ndarray, y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Monotone piecewise-cubic Hermite interpolation (Fritsch-Carlson, as
    ``scipy.interpolate.PchipInterpolator``, to which the tests compare it) of the points
    (x, y), x increasing, evaluated at ``at`` inside [x[0], x[-1]].  Written out because
    SciPy's constructor costs more than the rest of a reconstruction."""
    h = np.diff(x)
    m = np.diff(y) / h
    d = np.zeros_like(y)
    if x.size == 2:
        d[:] = m[0]
    else:
        w1, w2 = 2 * h[1:] + h[:-1], h[1:] + 2 * h[:-1]
        same = (m[:-1] * m[1:]) > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            d[1:-1] = np.where(same, (w1 + w2) / (w1 / m[:-1] + w2 / m[1:]), 0.0)
        for end, (h0, h1, m0, m1) in ((0, (h[0], h[1], m[0], m[1])), (-1, (h[-1], h[-2], m[-1], m[-2]))):
            e = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
            if np.sign(e) != np.sign(m0):
                e = 0.0
            elif np.sign(m0) != np.sign(m1) and abs(e) > 3 * abs(m0):
                e = 3 * m0
            d[end] = e
    k = np.clip(np.searchsorted(x, at, side="right") - 1, 0, x.size - 2)
    s = (at - x[k]) / h[k]
    s2, s3 = s * s, s * s * s
    return (
        (2 * s3 - 3 * s2 + 1) * y[k]
        + (s3 - 2 * s2 + s) * h[k] * d[k]
        + (-2 * s3 + 3 * s2) * y[k + 1]
        + (s3 - s2) * h[k] * d[k + 1]
    )


def _smooth(times: np.ndarray, log_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cumulative hazard through the finite knots by monotone cubic (PCHIP) interpolation,
    tabulated ``_SMOOTH_POINTS`` times per interval.

    A real hazard changes gradually; a constant hazard per interval puts a kink at every
    printed point, and then too many (or too few) events just after it.  PCHIP passes through
    every printed point and never decreases, so S never rises.  A flat stretch (two printed
    points at the same S: nobody died in between) stays flat, and each falling stretch between
    flat ones is interpolated on its own: PCHIP across a flat stretch would also stop the hazard
    just before and after it.  A falling stretch of one interval keeps a constant hazard.
    """
    finite = np.flatnonzero(np.isfinite(log_s))
    if finite.size < 3:
        return times, log_s
    t, h = times[finite], -log_s[finite]
    frac = np.arange(_SMOOTH_POINTS) / _SMOOTH_POINTS
    grid = np.concatenate([a + frac * (b - a) for a, b in zip(t[:-1], t[1:], strict=True)] + [t[-1:]])
    dense = np.interp(grid, t, h)  # flat stretches and single intervals: linear
    flat = np.diff(h) <= 0
    start = 0
    for stop in [*np.flatnonzero(flat), t.size - 1]:  # falling runs t[start] .. t[stop]
        if stop - start >= 2:
            inside = (grid >= t[start]) & (grid <= t[stop])
            dense[inside] = pchip(t[start : stop + 1], h[start : stop + 1], grid[inside])
        start = stop + 1
    dense = np.maximum.accumulate(np.clip(dense, 0.0, None))
    rest = slice(finite[-1] + 1, None)  # a final knot at S = 0 stays as it is
    return np.concatenate([grid, times[rest]]), np.concatenate([-dense, log_s[rest]])


def _curve(times: np.ndarray, log_s: np.ndarray, tail_hazard: float | None = None) -> Curve:
    """The smooth curve through the knots (:func:`_smooth`); tail hazard from the last
    interval unless given."""
    if tail_hazard is None:
        if np.isneginf(log_s[-1]):
            tail_hazard = math.inf  # everyone is dead at the last knot
        else:
            tail_hazard = (log_s[-2] - log_s[-1]) / (times[-1] - times[-2])
            if tail_hazard <= 0:  # flat last segment: mean hazard over the printed range
                tail_hazard = -log_s[-1] / times[-1]
    grid, dense = _smooth(times, log_s)
    return Curve(grid, dense, float(tail_hazard), None if grid is times else times)


def _censoring_from(
    fm: float | None, fr: tuple[float, float] | None, shape: tuple[float, float]
) -> Censoring:
    """Half the censoring mass uniform below the median follow-up and half above it, on
    median x (1 - a) .. median .. median x (1 + b) for ``shape`` = (a, b); uniform on the
    printed range ``fr`` when no median follow-up is printed."""
    if fm is None:
        assert fr is not None
        return ((fr[0], fr[1], 1.0),)
    a, b = shape
    return ((fm * (1 - a), fm, 0.5), (fm, fm * (1 + b), 0.5))


def _uniform(m: float, spread: float = _DEFAULT_SPREAD) -> Censoring:
    """Uniform on m (1 - spread) .. m (1 + spread)."""
    return ((m * (1.0 - spread), m * (1.0 + spread), 1.0),)


def censor_cdf(cens: Censoring, t: np.ndarray, left: np.ndarray) -> np.ndarray:
    """P(C < t) where ``left`` else P(C <= t), for every grid point."""
    h = np.zeros_like(t)
    for a, b, mass in cens:
        if b > a:
            h += mass * np.clip((t - a) / (b - a), 0.0, 1.0)
        else:
            h += mass * np.where(left, t > a, t >= a)
    return h


def _grid(curve: Curve, cens: Censoring, size: int = _GRID) -> tuple[np.ndarray, np.ndarray]:
    """Time grid (with a left and a right copy of every point mass) and its ``left`` flags."""
    t_max = max(b for _, b, _ in cens)
    pts = [np.linspace(0.0, t_max, size), curve.times[curve.times < t_max]]
    pts += [np.array([a, b]) for a, b, _ in cens]
    t = np.unique(np.concatenate(pts))
    atoms = np.array(sorted({a for a, b, _ in cens if a == b}))
    if atoms.size == 0:
        return t, np.zeros(t.shape, dtype=bool)
    t = np.sort(np.concatenate([t, atoms]))
    left = np.zeros(t.shape, dtype=bool)
    dup = np.flatnonzero(np.diff(t) == 0)
    left[dup] = np.isin(t[dup], atoms)
    return t, left


@dataclass(frozen=True)
class SubDist:
    """Cumulative sub-distributions of observed event and censoring times on a grid."""

    t: np.ndarray
    events: np.ndarray  # integral of f G up to t
    censored: np.ndarray  # integral of S dH up to t

    @property
    def p_event(self) -> float:
        total = self.events[-1] + self.censored[-1]
        return float(self.events[-1] / total) if total > 0 else 0.0


def subdist(curve: Curve, cens: Censoring, size: int = _GRID) -> SubDist:
    t, left = _grid(curve, cens, size)
    surv = curve.survival(t)
    g = 1.0 - censor_cdf(cens, t, left)
    ev = -np.diff(surv) * 0.5 * (g[:-1] + g[1:])  # dF times mean G, per interval
    ce = -np.diff(g) * 0.5 * (surv[:-1] + surv[1:])  # dH times mean S, per interval
    return SubDist(t, np.concatenate([[0.0], np.cumsum(ev)]), np.concatenate([[0.0], np.cumsum(ce)]))


def _limits(last: float, fm: float, fr: tuple[float, float] | None, cap: float) -> tuple[float, float, float]:
    """Bounds of the censoring spreads: a <= a_max and b_min <= b <= b_max.

    With a printed range the potential follow-up stays inside it (a up to 1 - lo / median,
    b up to hi / median - 1); without, a and b are at most 1 and the longest follow-up stays
    below ``cap``.  b_min makes the longest follow-up reach the last printed time ``last``."""
    if fr is not None:
        a_max, b_max = 1.0 - fr[0] / fm, fr[1] / fm - 1.0
    else:
        a_max, b_max = 1.0, min(1.0, cap / fm - 1.0)
    b_min = min(max(0.0, last / fm - 1.0), b_max)
    return a_max, b_min, b_max


def _default_shape(
    curve: Curve, fm: float, fr: tuple[float, float] | None, cap: float
) -> tuple[float, float]:
    """The whole printed range; without one, half the median follow-up on each side."""
    a_max, b_min, b_max = _limits(float(curve.times[-1]), fm, fr, cap)
    if fr is not None:
        return a_max, b_max
    return _DEFAULT_SPREAD, min(max(_DEFAULT_SPREAD, b_min), b_max)


def _best_shape(
    curve: Curve, fm: float, fr: tuple[float, float] | None, n: int, events: float, cap: float, pick: float
) -> tuple[float, float]:
    """Censoring shape (a, b) that reproduces the expected number of events.

    One equation, two unknowns: of the shapes (a, b within :func:`_limits`) whose
    expected events come within half an event of the best fit, take the a at position
    ``pick`` (0-1; 0.5 the middle one), and for it the b at that position.  As
    G = 1 - (below_a + above_b) / 2 is separable, the expected events and censorings are
    sums of one term per a and one per b.
    """
    a_max, b_min, b_max = _limits(float(curve.times[-1]), fm, fr, cap)
    a = _SHAPES * a_max
    b = np.unique(b_min + _SHAPES * max(0.0, b_max - b_min))
    t = np.linspace(0.0, fm * (1 + float(b.max())), _SEARCH_GRID)
    surv = curve.survival(t)
    d_f, s_mid = -np.diff(surv), 0.5 * (surv[:-1] + surv[1:])

    def half(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For a uniform half on [lo, hi]: sum of dF x mean CDF, and of dCDF x mean S."""
        lo, hi = lo[:, None], hi[:, None]
        cdf = np.where(hi > lo, np.clip((t - lo) / np.where(hi > lo, hi - lo, 1.0), 0.0, 1.0), t >= lo)
        ev = np.sum(d_f * 0.5 * (cdf[:, :-1] + cdf[:, 1:]), axis=1)
        return ev, np.sum(np.diff(cdf, axis=1) * s_mid, axis=1)

    ev_a, ce_a = half(fm * (1 - a), np.full(a.shape, fm))
    ev_b, ce_b = half(np.full(b.shape, fm), fm * (1 + b))
    ev = d_f.sum() - 0.5 * (ev_a[:, None] + ev_b[None, :])
    ce = 0.5 * (ce_a[:, None] + ce_b[None, :])
    miss = np.abs(n * ev / (ev + ce) - events)  # shape (a, b)
    fits = miss <= miss.min() + _SHAPE_FIT
    rows = np.flatnonzero(fits.any(axis=1))
    ia = rows[int(pick * (rows.size - 1))]
    cols = np.flatnonzero(fits[ia])
    return float(a[ia]), float(b[cols[int(pick * (cols.size - 1))]])


def _spread_shape(
    curve: Curve, fm: float, fr: tuple[float, float] | None, cap: float, pick: float
) -> tuple[float, float]:
    """Censoring spreads (a, b) at position ``pick`` (0-1) of their ranges (a growing, b
    shrinking with it): the default for 0.5, anywhere for a random draw."""
    if pick == 0.5:
        return _default_shape(curve, fm, fr, cap)
    a_max, b_min, b_max = _limits(float(curve.times[-1]), fm, fr, cap)
    return float(pick) * a_max, b_min + (1.0 - pick) * (b_max - b_min)


def _tail_for_events(curve: Curve, cens: Censoring, n: int, d: float) -> Curve | None:
    """The curve with the hazard after its last printed point chosen so that the expected
    number of events is ``d``; None when the tail cannot do it (no follow-up after the last
    printed point, or too many or too few events before it whatever the tail)."""
    c = _censor_quantiles(cens)
    t_last = float(curve.times[-1])
    if curve.ends_at_zero or not np.any(c > t_last):
        return None
    beyond = np.maximum(c - t_last, 0.0)
    head = np.interp(np.minimum(c, t_last), curve.times, curve.log_s)
    scale = max(float(c.max()) - t_last, 1e-9)
    lams = np.concatenate([[0.0], np.geomspace(1e-4 / scale, 1e2 / scale, _SOLVE_GRID)])
    p = 1.0 - np.mean(np.exp(head - lams[:, None] * beyond), axis=1)
    target = d / n
    if not p[0] <= target <= p[-1]:
        return None
    lam = float(np.interp(target, np.maximum.accumulate(p), lams))
    return replace(curve, tail_hazard=lam)


def _censor_quantiles(cens: Censoring) -> np.ndarray:
    """Potential follow-up at the midpoints of ``_QUANTILES`` equal-probability strata."""
    xs, cs, cum = [], [], 0.0
    for a, b, mass in sorted(cens):
        xs += [a, b]
        cs += [cum, cum + mass]
        cum += mass
    return np.interp(_QUANTILES * cum, cs, xs)


def _solve(grid: np.ndarray, p: np.ndarray, target: float) -> float:
    """The grid value (log-interpolated) at which the non-decreasing ``p`` reaches ``target``."""
    p = np.maximum.accumulate(p)
    if target <= p[0]:
        return float(grid[0])
    if target >= p[-1]:
        return float(grid[-1])
    return float(np.exp(np.interp(target, p, np.log(grid))))


def _drawn_tail(curve: Curve, n: int, u: float) -> Curve:
    """The hazard after the last printed point, drawn at quantile ``u`` of what the last
    printed interval tells about it.

    Past the last printed point the curve continues the last interval's hazard, which the
    printed points give only as well as the events in that interval estimate it: about
    e = n (S(t0) - S(t1)) events over the interval, so (as the gamma posterior of a Poisson
    rate under a flat prior) the hazard is known up to a factor Gamma(e, 1) / e.  A large
    arm's tail is thus almost fixed; a small arm's, with two or three events in its last
    interval, may be half or double the central one.
    """
    knots = curve.printed_times
    if curve.ends_at_zero or knots.size < 2 or not math.isfinite(curve.tail_hazard):
        return curve
    s0, s1 = np.exp(np.interp(knots[-2:], curve.times, curve.log_s))
    e = max(n * float(s0 - s1), _TAIL_EVENTS_MIN)
    factor = float(gammaincinv(e, min(max(u, 1e-9), 1 - 1e-9))) / e
    return replace(curve, tail_hazard=curve.tail_hazard * factor)


def _hold_above_half(curve: Curve, cap: float) -> Curve:
    """A median printed as not reached: the curve stays above one half up to the longest
    follow-up, ending halfway between its last printed value and one half."""
    s_last = math.exp(float(curve.log_s[-1]))
    if not math.isfinite(cap) or cap <= curve.times[-1] or s_last <= 0.5:
        return curve
    s_cap = 0.5 + 0.5 * (s_last - 0.5)
    need = (math.log(s_last) - math.log(s_cap)) / (cap - float(curve.times[-1]))
    return replace(curve, tail_hazard=min(curve.tail_hazard, need))


def _unknown_censoring(curve: Curve, inp: Inputs, u: float, t_end: float) -> Censoring:
    """Neither events nor follow-up printed: a share ``level`` of the patients has a potential
    follow-up uniform on [0, c], the others are followed to ``t_end``.  c leaves, in
    expectation, one patient at risk at the last printed time with S > 0 (the most censoring
    the printed points allow); level 0 is no censoring.  The level is at position ``u`` (0-1)
    of its span: from 0, or, when ``alive`` patients are printed as still followed at the
    cut-off, from the level at which that many are censored in expectation, up to 1."""
    pts = [t for t, s in zip(curve.times, curve.log_s, strict=True) if t > 0 and s > -np.inf]
    t_last = max(pts, default=t_end)
    s_last = float(curve.survival(np.array([t_last]))[0])
    q = min(1.0, 1.0 / max(inp.n * s_last, 1e-9))  # P(C >= t_last) for one patient at risk there
    c = t_end if q >= 1.0 else min(t_last / (1.0 - q), t_end)
    least = 0.0
    if inp.alive:  # P(censored) is linear in the level: (1 - level) S(t_end) + level E[S(C)]
        s_end = float(curve.survival(np.array([t_end]))[0])
        s_early = float(np.mean(curve.survival(_censor_quantiles(((0.0, c, 1.0),)))))
        if s_early > s_end:
            least = min(max((inp.alive / inp.n - s_end) / (s_early - s_end), 0.0), 1.0)
    level = least + u * (1.0 - least)
    if level <= 0:
        return ((t_end, t_end, 1.0),)
    return ((t_end, t_end, 1.0 - level), (0.0, c, level))


def _expected_events(inp: Inputs, draw: Draw) -> float | None:
    """The expected number of events the curve's tail or the censoring is fitted to.

    The printed count is one realisation of the events a model expects, not the expectation
    itself: with n patients it is binomial around n p.  The central draw fits the printed count;
    a random draw fits n p with p at quantile ``draw.events`` of its posterior given the printed
    count, Beta(d + 1/2, n - d + 1/2) (Jeffreys' prior).  For a large arm p is nearly d / n;
    with 20 patients it moves by about two events either way.
    """
    n, d = inp.n, inp.events
    if d is None or draw.events is None:
        return None if d is None else float(d)
    u = min(max(draw.events, 1e-9), 1 - 1e-9)
    return n * float(betaincinv(d + 0.5, n - d + 0.5, u))


def build(inp: Inputs, draw: Draw) -> Model:
    """Survival curve and censoring distribution for the inputs and a draw (steps 1 and 2)."""
    n, fm, fr = inp.n, inp.followup_median, inp.followup_range
    d = _expected_events(inp, draw)
    cap = inp.t_cap
    times, log_s = _knots(draw.landmarks, draw.median)
    if log_s[-1] >= 0:  # no printed point below 1: calibrate the tail hazard on the events
        if d is None or (fm is None and fr is None):
            raise ValueError(
                "cannot shape the survival curve: give a median, a landmark below 1, "
                "or events together with followup_median or followup_range"
            )
        spread = (0.0, 0.0)
        if fm is not None:
            a_max, b_min, b_max = _limits(float(times[-1]), fm, fr, cap)
            spread = (a_max, b_max) if fr is not None else (_DEFAULT_SPREAD, min(_DEFAULT_SPREAD, b_max))
        cens = _censoring_from(fm, fr, spread)
        c = _censor_quantiles(cens)  # P(death observed) = E[1 - S(C)]
        scale = fm if fm is not None else max(fr[1], 1e-9)  # type: ignore[index]
        lams = np.geomspace(1e-6 / scale, 1e3 / scale, _SOLVE_GRID)
        beyond = np.maximum(c - times[-1], 0.0)
        p = 1.0 - np.mean(np.exp(np.interp(c, times, log_s) - lams[:, None] * beyond), axis=1)
        target = min(max(d, 0.5), n - 0.5) / n
        curve = _curve(times, log_s, _solve(lams, p, target))
        return Model(curve, cens, min(cap, max(b for _, b, _ in cens)))
    curve = _curve(times, log_s)
    if draw.tail is not None:
        curve = _drawn_tail(curve, n, draw.tail)
    if inp.median_nr:
        curve = _hold_above_half(curve, cap)
        if not math.isfinite(cap):
            cap = curve.time_at(0.5)  # not reached: nobody is followed past one half
    if fm is not None or fr is not None:
        if fm is None:
            shape = (0.0, 0.0)  # uniform on the printed range
        elif d is None:
            shape = _default_shape(curve, fm, fr, cap)
        elif draw.open_tail:
            shape = _spread_shape(curve, fm, fr, cap, draw.shape)
        else:
            shape = _best_shape(curve, fm, fr, n, d, cap, draw.shape)
        cens = _censoring_from(fm, fr, shape)
        if d is not None and draw.open_tail:
            tailed = _tail_for_events(curve, cens, n, d)
            if tailed is not None:
                curve = tailed
            elif fm is not None:  # the tail cannot do it: the censoring shape must
                cens = _censoring_from(fm, fr, _best_shape(curve, fm, fr, n, d, cap, draw.shape))
        return Model(curve, cens, min(cap, max(b for _, b, _ in cens)))
    t_end = min(max(curve.time_at(_TAIL_ALIVE / n), float(times[-1])), cap)
    if d is None:
        return Model(curve, _unknown_censoring(curve, inp, draw.censoring, t_end), t_end)
    if inp.events == n:
        return Model(curve, ((t_end, t_end, 1.0),), t_end)
    # the spread of the potential follow-up is not printed: the middle one, or anywhere for a draw
    w = draw.shape if draw.open_tail else _DEFAULT_SPREAD
    ms = np.geomspace(t_end * 1e-3, t_end / (1.0 + w), _SOLVE_GRID)  # P(death observed) = E[1 - S(m V)]
    v = _censor_quantiles(_uniform(1.0, w))
    p = 1.0 - np.mean(curve.survival(ms[:, None] * v), axis=1)
    m = _solve(ms, p, max(d, 0.5) / n)
    return Model(curve, _uniform(m, w), min(cap, (1.0 + w) * m))


def wiggle(model: Model, n: int, rng: np.random.Generator) -> Model:
    """The curve perturbed between its knots as a Kaplan-Meier estimate of n patients would be.

    The estimate's cumulative hazard deviates from the true one by a martingale whose variance
    grows by dH / (n S G) (Greenwood; G the probability of still being followed).  Between two
    printed points, where the estimate is pinned at both ends, the deviation is that
    martingale's bridge; after the last printed point it runs free up to the last event time.
    The perturbed cumulative hazard is kept non-decreasing and inside its pinned ends.
    """
    curve, cens = model.curve, model.cens
    printed = curve.printed_times
    knots = printed[:-1] if curve.ends_at_zero else printed
    ends = list(knots)
    t_last = float(knots[-1])
    tail = math.isfinite(model.t_hi) and model.t_hi > t_last
    if tail:
        ends.append(model.t_hi)
    if len(ends) < 2:
        return model
    frac = np.arange(1, _WIGGLE_POINTS + 1) / (_WIGGLE_POINTS + 1)
    pts = np.unique(
        np.concatenate(
            [np.asarray(ends)] + [a + frac * (b - a) for a, b in zip(ends, ends[1:], strict=False)]
        )
    )
    h = -np.log(np.maximum(curve.survival(pts), 1e-300))
    g = 1.0 - censor_cdf(cens, pts, np.zeros(pts.shape, dtype=bool))
    s = np.exp(-h)
    at_risk = np.maximum(n * 0.5 * (s[:-1] + s[1:]) * 0.5 * (g[:-1] + g[1:]), 1.0)
    dv = np.diff(h) / at_risk
    steps = rng.standard_normal(dv.size) * np.sqrt(dv)
    walk = np.concatenate([[0.0], np.cumsum(steps)])
    var = np.concatenate([[0.0], np.cumsum(dv)])
    is_end = np.isin(pts, np.asarray(ends))
    left = np.flatnonzero(is_end)
    new_h = h.copy()
    for k, i0 in enumerate(left[:-1]):
        i1 = left[k + 1]
        idx = np.arange(i0, i1 + 1)
        x = walk[idx] - walk[i0]
        if not (tail and k == len(left) - 2):  # a bridge between printed points
            span = var[i1] - var[i0]
            if span > 0:
                x = x - (var[idx] - var[i0]) / span * x[-1]
            else:
                x = np.zeros_like(x)
        new_h[idx] = h[idx] + x
    new_h = np.maximum.accumulate(np.maximum(new_h, 0.0))
    for i0, i1 in zip(left, left[1:], strict=False):  # stay inside the pinned ends
        if not (tail and i1 == left[-1]):
            # strictly below the end, so the curve reaches a printed value only at its time
            new_h[i0 + 1 : i1] = np.minimum(new_h[i0 + 1 : i1], h[i1] - 1e-6 * (h[i1] - h[i0]))
            new_h[i1] = h[i1]
    new_h = np.maximum.accumulate(new_h)
    times = pts
    log_s = -new_h
    if curve.ends_at_zero:
        times, log_s = np.r_[times[times <= t_last], curve.times[-1]], np.r_[log_s[pts <= t_last], -np.inf]
    return Model(Curve(times, log_s, curve.tail_hazard), cens, model.t_hi)
