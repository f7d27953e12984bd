"""Pseudo patient-level survival data reconstructed from the summaries a paper prints.

Papers of small trials print per arm only a few numbers: the arm size, sometimes the number
of events, the median with its 95% CI, a few landmark survival rates and the median (and
sometimes the range of) follow-up.  :func:`reconstruct_arm` turns those into one data set
of (time, event) rows that reproduces them; :func:`replicates` repeats this many times for
two arms and gives the distribution of the Cox hazard ratio and of log-rank-type p-values
that the printed summaries are compatible with.  Printed hazard ratios and p-values are
never used as inputs, so they can be checked against the reconstruction.

Method (details, rationale and validation in ``book/reconstruction.md``):

1. *Survival curve.*  The points (0, 1), the landmarks (t, S(t)) and (median, 0.5) are
   joined by a piecewise-exponential curve (constant hazard between consecutive points).
   Beyond the last point the last interval's hazard continues; if that hazard is zero
   (a flat last segment) the mean hazard over the printed range, -ln S(last) / last, is
   used instead.  An interval ending at S = 0 falls linearly (a constant hazard cannot
   reach 0).  With a median only, the curve is exponential.  With no point below 1
   at all, the hazard after the last point is the one that makes the expected number of
   events equal ``events`` under the censoring of step 2.
2. *Censoring distribution.*  Censoring is administrative (staggered entry): potential
   follow-up C is piecewise uniform with half its mass on each side of the median
   follow-up: on ``followup_range`` when printed, else on median x [1 - a, 1 + b].  The
   shape (a, b) is chosen so that the expected number of events, n x P(T <= C), equals
   ``events`` (to within half an event; of the shapes that do, the middle one), with the
   longest follow-up at least reaching the last printed time; without ``events``,
   a = b = 0.5.  With events but no follow-up, C is uniform on m x [0.5, 1.5] with m
   solved for the events; with neither, nobody is censored before S(t) falls to 0.1 / n.
3. *Censoring times.*  Under independent censoring the censored patients' times have
   sub-density g(t) S(t).  With d events (``events``, or the expected number rounded),
   the n - d censoring times are put at stratified quantiles of that sub-distribution
   (one uniform draw inside each of n - d equal-probability strata).
4. *Event times.*  Walking forward in time, each event is put where the curve equals
   KM x (1 - u / r), KM being the Kaplan-Meier estimate just before it, r the number at
   risk and u uniform on [0, 1]: every Kaplan-Meier step then straddles the curve, so the
   reconstructed estimate is within one step of every printed landmark.  The step that
   crosses 0.5 is put at the printed median, so the reconstructed median is the printed
   one.  The number of events is exactly d.
5. *Follow-up.*  The censoring times are multiplied by the factor nearest 1 that makes
   the reverse Kaplan-Meier median follow-up equal ``followup_median`` (steps 4 and 5
   alternate a few times, as the events shift slightly when the censorings move).

Results are deterministic for a given ``seed`` (numpy ``Generator``; the seed moves the
censoring times inside their strata and the events inside their Kaplan-Meier steps).
``median_ci`` is used only by :func:`replicates` with ``jitter="ci"``, which draws each
replicate's median from a split normal on the log scale fitted to the printed CI and
truncated to the range the landmarks allow.
"""

from __future__ import annotations

import math
import sys
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from .survival import cox_batch, km_median_batch, logrank_batch

__all__ = ["ARM_KEYS", "reconstruct_arm", "replicates", "summarise"]

ARM_KEYS = ("n", "events", "median", "median_ci", "landmarks", "followup_median", "followup_range")

_GRID = 2001  # points of the time grid on which the sub-distributions are integrated
_SHAPES = np.linspace(0.0, 1.0, 41)  # candidate censoring spreads below / above the median follow-up
_SEARCH_GRID = 801  # coarser grid for choosing the censoring shape
_QUANTILES = (np.arange(128) + 0.5) / 128  # strata of the censoring distribution for expectations
_SOLVE_GRID = 128  # candidate values when solving for a scale or a hazard
_DEFAULT_SPREAD = 0.5
_HALF_TOL = 1e-9  # a Kaplan-Meier estimate this close to 0.5 counts as 0.5
_FOLLOWUP_CANDIDATES = 12  # censoring times nearest the median follow-up tried as its anchor
_FOLLOWUP_ROUNDS = 4  # alternations of follow-up matching and event placement
_TAIL_ALIVE = 0.1  # without censoring, follow until n * S(t) = this many expected survivors
_NORMAL = NormalDist()
_Z975 = _NORMAL.inv_cdf(0.975)


# --------------------------------------------------------------------------
# input validation


def _number(value: object, name: str, *, positive: bool = False) -> float:
    """``value`` as a finite float (> 0 if ``positive``, else >= 0), or ValueError naming it."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number, got {value!r}") from exc
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if x < 0 or (positive and x == 0):
        raise ValueError(f"{name} must be {'positive' if positive else 'non-negative'}, got {value!r}")
    return x


def _count(value: object, name: str) -> int:
    is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    is_whole = isinstance(value, (float, np.floating)) and float(value).is_integer()
    if not (is_int or is_whole):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return int(value)  # type: ignore[arg-type]


def _pair(value: object, name: str) -> tuple[object, object]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:  # type: ignore[arg-type]
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}")
    lo, hi = value  # type: ignore[misc]
    return lo, hi


@dataclass(frozen=True)
class _Inputs:
    n: int
    events: int | None
    median: float | None
    median_ci: tuple[float, float] | None
    landmarks: tuple[tuple[float, float], ...]
    followup_median: float | None
    followup_range: tuple[float, float] | None


def _validate(
    n: object,
    events: object,
    median: object,
    median_ci: object,
    landmarks: object,
    followup_median: object,
    followup_range: object,
) -> _Inputs:
    """Check every input and their mutual consistency; ValueError names the culprit."""
    n_ = _count(n, "n")
    if n_ < 1:
        raise ValueError(f"n must be at least 1, got {n!r}")
    ev = None
    if events is not None:
        ev = _count(events, "events")
        if ev < 0:
            raise ValueError(f"events must be non-negative, got {events!r}")
        if ev > n_:
            raise ValueError(f"events ({ev}) exceeds n ({n_})")

    med = None if median is None else _number(median, "median", positive=True)
    ci = None
    if median_ci is not None:
        if med is None:
            raise ValueError("median_ci is given without a median")
        lo, hi = _pair(median_ci, "median_ci")
        lo_ = _number(lo, "median_ci lower limit")
        not_reached = hi is None or (isinstance(hi, (float, np.floating)) and float(hi) == math.inf)
        hi_ = math.inf if not_reached else _number(hi, "median_ci upper limit")
        if not lo_ <= med <= hi_:
            raise ValueError(f"median_ci ({lo_:g}, {hi_:g}) does not contain the median {med:g}")
        ci = (lo_, hi_)

    marks: list[tuple[float, float]] = []
    if landmarks is not None:
        if not isinstance(landmarks, Mapping):
            raise ValueError(
                f"landmarks must map time -> survival proportion, got {type(landmarks).__name__}"
            )
        for t, s in landmarks.items():
            t_ = _number(t, "landmarks: time")
            if t_ == 0:
                raise ValueError("landmarks: times must be positive (S(0) = 1 by definition), got 0")
            try:
                s_ = float(s)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"landmarks: S({t_:g}) must be a number, got {s!r}") from exc
            if not 0.0 <= s_ <= 1.0:
                raise ValueError(f"landmarks: S({t_:g}) = {s_:g} is outside [0, 1] (give proportions, not %)")
            marks.append((t_, s_))
        marks.sort()
        for (t0, s0), (t1, s1) in zip(marks, marks[1:], strict=False):
            if s1 > s0:
                raise ValueError(f"landmarks are not monotone: S({t0:g}) = {s0:g} < S({t1:g}) = {s1:g}")
    if med is not None:
        for t, s in marks:
            if t < med and s < 0.5:
                raise ValueError(
                    f"median {med:g} contradicts landmarks: S({t:g}) = {s:g} is already below 0.5 before it"
                )
            if t > med and s > 0.5:
                raise ValueError(
                    f"median {med:g} contradicts landmarks: S({t:g}) = {s:g} is above 0.5 after it"
                )
            if t == med and s > 0.5:
                raise ValueError(f"median {med:g} contradicts landmarks: S({t:g}) = {s:g} is above 0.5 at it")

    fm = None if followup_median is None else _number(followup_median, "followup_median", positive=True)
    fr = None
    if followup_range is not None:
        lo, hi = _pair(followup_range, "followup_range")
        lo_, hi_ = _number(lo, "followup_range low"), _number(hi, "followup_range high", positive=True)
        if lo_ > hi_:
            raise ValueError(f"followup_range low ({lo_:g}) exceeds high ({hi_:g})")
        if fm is not None and not lo_ <= fm <= hi_:
            raise ValueError(f"followup_median {fm:g} lies outside followup_range ({lo_:g}, {hi_:g})")
        fr = (lo_, hi_)
    return _Inputs(n_, ev, med, ci, tuple(marks), fm, fr)


# --------------------------------------------------------------------------
# survival curve and censoring distribution


@dataclass(frozen=True)
class _Curve:
    """Piecewise-exponential survival: log S linear between knots, then a constant hazard.

    An interval ending at S = 0 (everyone dead by a landmark) cannot have a constant
    hazard; there S falls linearly (a constant death density) instead.
    """

    times: np.ndarray
    log_s: np.ndarray  # log S at the knots; -inf at a final knot where S = 0
    tail_hazard: float

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


def _knots(inp: _Inputs, median: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Knot times and log S: (0, 1), the landmarks, (median, 0.5), up to the first S = 0."""
    pts = {0.0: 1.0}
    pts.update(dict(inp.landmarks))
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


def _curve(times: np.ndarray, log_s: np.ndarray, tail_hazard: float | None = None) -> _Curve:
    """The curve through the knots; tail hazard from the last interval unless given."""
    if tail_hazard is None:
        if np.isneginf(log_s[-1]):
            tail_hazard = math.inf  # everyone is dead at the last knot
        else:
            tail_hazard = (log_s[-2] - log_s[-1]) / (times[-1] - times[-2])
            if tail_hazard <= 0:  # flat last segment: mean hazard over the printed range
                tail_hazard = -log_s[-1] / times[-1]
    return _Curve(times, log_s, float(tail_hazard))


# A censoring distribution is a tuple of (a, b, mass) components: uniform on [a, b], or a
# point mass at a when a == b.
_Censoring = tuple[tuple[float, float, float], ...]


def _censoring_from(
    fm: float | None, fr: tuple[float, float] | None, shape: tuple[float, float]
) -> _Censoring:
    """Half the censoring mass uniform below the median follow-up and half above it.

    On ``fr`` = (lo, hi) when the range is printed (uniform on it without a median), else
    on median x (1 - a) .. median .. median x (1 + b) for ``shape`` = (a, b).
    """
    if fr is not None:
        lo, hi = fr
        if fm is None:
            return ((lo, hi, 1.0),)
        return ((lo, fm, 0.5), (fm, hi, 0.5))
    assert fm is not None
    a, b = shape
    return ((fm * (1 - a), fm, 0.5), (fm, fm * (1 + b), 0.5))


def _uniform(m: float) -> _Censoring:
    return ((0.5 * m, 1.5 * m, 1.0),)


def _censor_cdf(cens: _Censoring, t: np.ndarray, left: np.ndarray) -> np.ndarray:
    """P(C < t) where ``left`` else P(C <= t), for every grid point."""
    h = np.zeros_like(t)
    for a, b, mass in cens:
        if b > a:
            h += mass * np.clip((t - a) / (b - a), 0.0, 1.0)
        else:
            h += mass * np.where(left, t > a, t >= a)
    return h


def _grid(curve: _Curve, cens: _Censoring, size: int = _GRID) -> tuple[np.ndarray, np.ndarray]:
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
class _SubDist:
    """Cumulative sub-distributions of observed event and censoring times on a grid."""

    t: np.ndarray
    events: np.ndarray  # integral of f G up to t
    censored: np.ndarray  # integral of S dH up to t

    @property
    def p_event(self) -> float:
        total = self.events[-1] + self.censored[-1]
        return float(self.events[-1] / total) if total > 0 else 0.0


def _subdist(curve: _Curve, cens: _Censoring, size: int = _GRID) -> _SubDist:
    t, left = _grid(curve, cens, size)
    surv = curve.survival(t)
    g = 1.0 - _censor_cdf(cens, t, left)
    ev = -np.diff(surv) * 0.5 * (g[:-1] + g[1:])  # dF times mean G, per interval
    ce = -np.diff(g) * 0.5 * (surv[:-1] + surv[1:])  # dH times mean S, per interval
    return _SubDist(t, np.concatenate([[0.0], np.cumsum(ev)]), np.concatenate([[0.0], np.cumsum(ce)]))


def _default_shape(curve: _Curve, fm: float) -> tuple[float, float]:
    b_min = max(0.0, float(curve.times[-1]) / fm - 1.0)
    return _DEFAULT_SPREAD, max(_DEFAULT_SPREAD, b_min)


def _best_shape(curve: _Curve, fm: float, n: int, events: int) -> tuple[float, float]:
    """Censoring shape (a, b) that reproduces the expected number of events.

    One equation, two unknowns: of the shapes (a in [0, 1], b from the shortest follow-up
    that reaches the last printed time up to 1) whose expected events come within half an
    event of the best fit, take the middle a, and for it the middle b.  As
    G = 1 - (below_a + above_b) / 2 is separable, the expected events and censorings are
    sums of one term per a and one per b.
    """
    b_min = max(0.0, float(curve.times[-1]) / fm - 1.0)
    a = _SHAPES
    b = np.unique(b_min + _SHAPES * max(0.0, 1.0 - b_min))
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
    fits = miss <= miss.min() + 0.5
    rows = np.flatnonzero(fits.any(axis=1))
    ia = rows[(rows.size - 1) // 2]
    cols = np.flatnonzero(fits[ia])
    return float(a[ia]), float(b[cols[(cols.size - 1) // 2]])


def _censor_quantiles(cens: _Censoring) -> np.ndarray:
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


def _model(inp: _Inputs, median: float | None) -> tuple[_Curve, _Censoring]:
    """Survival curve and censoring distribution for the inputs (steps 1 and 2)."""
    n, d, fm, fr = inp.n, inp.events, inp.followup_median, inp.followup_range
    times, log_s = _knots(inp, median)
    shaped = bool(log_s[-1] < 0)
    if not shaped:  # no printed point below 1: calibrate the tail hazard on the events
        if d is None or (fm is None and fr is None):
            raise ValueError(
                "cannot shape the survival curve: give a median, a landmark below 1, "
                "or events together with followup_median or followup_range"
            )
        cens = _censoring_from(fm, fr, (_DEFAULT_SPREAD, _DEFAULT_SPREAD))
        c = _censor_quantiles(cens)  # P(death observed) = E[1 - S(C)]
        scale = fm if fm is not None else max(fr[1], 1e-9)  # type: ignore[index]
        lams = np.geomspace(1e-6 / scale, 1e3 / scale, _SOLVE_GRID)
        beyond = np.maximum(c - times[-1], 0.0)
        p = 1.0 - np.mean(np.exp(np.interp(c, times, log_s) - lams[:, None] * beyond), axis=1)
        target = max(d, 0.5) / n if d < n else 1.0 - 0.5 / n
        return _curve(times, log_s, _solve(lams, p, target)), cens
    curve = _curve(times, log_s)
    if fm is not None or fr is not None:
        shape = (_DEFAULT_SPREAD, _DEFAULT_SPREAD)
        if fr is None:
            shape = _default_shape(curve, fm) if d is None else _best_shape(curve, fm, n, d)  # type: ignore[arg-type]
        return curve, _censoring_from(fm, fr, shape)
    t_end = max(curve.time_at(_TAIL_ALIVE / n), float(times[-1]))
    if d is None or d == n:
        return curve, ((t_end, t_end, 1.0),)
    ms = np.geomspace(t_end * 1e-3, t_end / 1.5, _SOLVE_GRID)  # P(death observed) = E[1 - S(m V)]
    v = _censor_quantiles(_uniform(1.0))
    p = 1.0 - np.mean(curve.survival(ms[:, None] * v), axis=1)
    return curve, _uniform(_solve(ms, p, max(d, 0.5) / n))


# --------------------------------------------------------------------------
# sampling


def _stratified(sub_t: np.ndarray, cum: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k draws, one in each of k equal-probability strata of the sub-distribution ``cum``."""
    if k == 0:
        return np.zeros(0)
    u = (np.arange(k) + rng.random(k)) / k * cum[-1]
    return np.interp(u, cum, sub_t)


def _match_followup(ev_t: np.ndarray, ce_t: np.ndarray, fm: float) -> np.ndarray:
    """Scale the censoring times so that the reverse-KM median follow-up equals ``fm``.

    Every candidate factor puts one censoring time exactly at ``fm``; the factor nearest 1
    whose reverse Kaplan-Meier median is then ``fm`` wins (else the nearest miss).
    """
    if ce_t.size == 0:
        return ce_t
    cand = ce_t[ce_t > 0]
    cand = cand[np.argsort(np.abs(np.log(cand / fm)))[:_FOLLOWUP_CANDIDATES]]
    factors = np.concatenate([[1.0], fm / cand])
    rows_t = np.concatenate(
        [np.broadcast_to(ev_t, (factors.size, ev_t.size)), factors[:, None] * ce_t], axis=1
    )
    rev = np.concatenate([np.zeros(ev_t.size), np.ones(ce_t.size)])
    med = np.asarray(km_median_batch(rows_t, rev))
    miss = np.abs(med - fm)
    exact = miss <= 1e-9 * fm
    if exact.any():
        best = np.flatnonzero(exact)[np.argmin(np.abs(np.log(factors[exact])))]
    else:
        best = int(np.argmin(miss + 1e-12 * np.abs(np.log(factors))))
    return factors[best] * ce_t


def _track_events(curve: _Curve, ce_t: np.ndarray, d: int, median: float | None, u: np.ndarray) -> np.ndarray:
    """Place d event times so that the Kaplan-Meier estimate follows the curve.

    Walking forward in time with the censoring times ``ce_t`` (sorted) already fixed,
    each event goes where S(t) = KM x (1 - u / r), KM being the estimate just before it
    and r the number at risk: the KM step then straddles the curve, so at any time the
    estimate is within one step of S(t).  The step that takes the KM from above 0.5 to
    0.5 or below is put at the printed median, and if the events run out before it the
    last one goes there, so the reconstructed median is the printed one.  ``u`` holds one
    number in [0, 1] per event (the seed's jitter).
    """
    n = d + ce_t.size
    t_med = curve.time_at(0.5) if median is not None else None
    out = np.empty(d)
    km, r, j = 1.0, n, 0
    tie_next = False
    for k in range(d):
        while True:
            # the step across 0.5 goes at the median; the last event is kept for it
            crosses = t_med is not None and km > 0.5 + _HALF_TOL
            crosses = crosses and (km * (1 - 1 / r) <= 0.5 + _HALF_TOL or k == d - 1)
            t = t_med if crosses or tie_next else curve.time_at(km * (1 - u[k] / r))
            if j < ce_t.size and ce_t[j] < t:
                r -= 1  # a censoring comes first
                j += 1
                continue
            break
        out[k] = t
        # a step landing on exactly 0.5 leaves the median to rounding (and R takes a
        # midpoint): the next event then shares the median time
        tie_next = crosses and abs(km * (1 - 1 / r) - 0.5) <= _HALF_TOL
        km *= 1 - 1 / r
        r -= 1
    return out


def _reconstruct_arrays(
    inp: _Inputs, median: float | None, seed: int | np.random.SeedSequence
) -> tuple[np.ndarray, np.ndarray]:
    """Times and event flags of one reconstruction (events first, then censorings)."""
    curve, cens = _model(inp, median)
    sub = _subdist(curve, cens)
    n = inp.n
    d = inp.events if inp.events is not None else int(round(n * sub.p_event))
    if d > 0 and sub.events[-1] <= 0:
        raise ValueError(f"events ({d}) cannot occur: the survival curve has no deaths during follow-up")
    if d < n and sub.censored[-1] <= 0:
        raise ValueError(f"events ({d}) < n ({n}) but nobody can be censored: the curve reaches 0 first")
    rng = np.random.default_rng(seed)
    ce_t = _stratified(sub.t, sub.censored, n - d, rng)
    u = rng.random(d)
    ev_t = _track_events(curve, ce_t, d, median, u)
    fm = inp.followup_median
    if fm is not None:
        for _ in range(_FOLLOWUP_ROUNDS):  # events move a little when the censorings do
            scaled = _match_followup(ev_t, ce_t, fm)
            if np.allclose(scaled, ce_t, rtol=1e-12, atol=0.0):
                break
            ce_t = scaled
            ev_t = _track_events(curve, ce_t, d, median, u)
        ce_t = _match_followup(ev_t, ce_t, fm)
    return np.concatenate([ev_t, ce_t]), np.concatenate([np.ones(d, dtype=int), np.zeros(n - d, dtype=int)])


def _reconstruct(inp: _Inputs, median: float | None, seed: int | np.random.SeedSequence) -> pd.DataFrame:
    time, event = _reconstruct_arrays(inp, median, seed)
    order = np.lexsort((event, time))
    return pd.DataFrame({"time": time[order].astype(float), "event": event[order]})


def reconstruct_arm(
    n: int,
    *,
    events: int | None = None,
    median: float | None = None,
    median_ci: tuple[float, float | None] | None = None,
    landmarks: Mapping[float, float] | None = None,
    followup_median: float | None = None,
    followup_range: tuple[float, float] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """One pseudo patient-level data set for an arm, from its printed summaries.

    Returns one row per patient with columns ``time`` (float, the unit of the inputs,
    e.g. months) and ``event`` (1 = event, 0 = censored), sorted by time then event.
    ``landmarks`` maps time -> survival proportion (0-1); ``median_ci`` is (low, high)
    with high None or inf for "not reached"; any input but ``n`` may be None.  The method
    is in the module docstring.  Inconsistent inputs (non-monotone landmarks, proportions
    outside [0, 1], events > n, a median the landmarks contradict, a CI that does not
    contain the median, negative times) raise ValueError naming the input.
    """
    inp = _validate(n, events, median, median_ci, landmarks, followup_median, followup_range)
    return _reconstruct(inp, inp.median, seed)


# --------------------------------------------------------------------------
# replicates


def _median_bounds(inp: _Inputs) -> tuple[float, float]:
    """Open interval of medians the landmarks allow."""
    lo = max([t for t, s in inp.landmarks if s > 0.5], default=0.0)
    hi = min([t for t, s in inp.landmarks if s < 0.5], default=math.inf)
    return lo, hi


def _draw_median(inp: _Inputs, rng: np.random.Generator) -> float | None:
    """Median from a split normal on the log scale fitted to the printed CI, truncated to the landmarks.

    The lower and upper half-widths of the log CI give the SDs below and above the printed
    median (a missing or infinite side borrows the other's); without a usable CI, or with
    zero width, the printed median is returned.
    """
    med, ci = inp.median, inp.median_ci
    if med is None or ci is None:
        return med
    mu = math.log(med)
    sd_lo = (mu - math.log(ci[0])) / _Z975 if ci[0] > 0 else math.nan
    sd_hi = (math.log(ci[1]) - mu) / _Z975 if math.isfinite(ci[1]) else math.nan
    sd_lo = sd_hi if math.isnan(sd_lo) else sd_lo
    sd_hi = sd_lo if math.isnan(sd_hi) else sd_hi
    if math.isnan(sd_lo) or sd_lo + sd_hi <= 0:
        return med
    w = sd_lo / (sd_lo + sd_hi)

    def cdf(x: float) -> float:
        if x <= 0:
            return 0.0
        z = math.log(x) - mu
        if z < 0:
            return 2 * w * _NORMAL.cdf(z / sd_lo) if sd_lo > 0 else 0.0
        return w + 2 * (1 - w) * (_NORMAL.cdf(z / sd_hi) - 0.5) if sd_hi > 0 else 1.0

    b_lo, b_hi = _median_bounds(inp)
    u_lo, u_hi = cdf(b_lo), (cdf(b_hi) if math.isfinite(b_hi) else 1.0)
    u = u_lo + (u_hi - u_lo) * float(rng.random())
    if u < w:
        z = sd_lo * _NORMAL.inv_cdf(min(max(u / (2 * w), 1e-300), 1 - 1e-16))
    else:
        z = sd_hi * _NORMAL.inv_cdf(min(max(0.5 + (u - w) / (2 * (1 - w)), 1e-300), 1 - 1e-16))
    x = math.exp(mu + z)
    return float(min(max(x, math.nextafter(b_lo, math.inf)), math.nextafter(b_hi, 0.0)))


def _arm_inputs(name: str, spec: object) -> _Inputs:
    if not isinstance(spec, Mapping):
        raise ValueError(f"arm {name!r}: expected a dict of reconstruct_arm arguments, got {spec!r}")
    unknown = sorted(set(spec) - set(ARM_KEYS))
    if unknown:
        raise ValueError(
            f"arm {name!r}: unknown input(s) {unknown}; allowed: {list(ARM_KEYS)} "
            "(printed hazard ratios and p-values are deliberately not used)"
        )
    if "n" not in spec:
        raise ValueError(f"arm {name!r}: n is required")
    try:
        return _validate(*(spec.get(k) for k in ARM_KEYS))
    except ValueError as exc:
        raise ValueError(f"arm {name!r}: {exc}") from exc


def replicates(
    arms: dict[str, dict],
    n_rep: int = 1000,
    seed: int = 0,
    jitter: str | None = "ci",
    progress: bool = False,
) -> pd.DataFrame:
    """Reconstruct two arms ``n_rep`` times and compare them in every replicate.

    ``arms`` maps each arm's name to its :func:`reconstruct_arm` arguments (without
    ``seed``); the first arm is compared with the second.  Replicates differ in their
    seeds and, with ``jitter="ci"``, in the median drawn within its printed CI (``None``
    keeps the printed median).  Returns one row per replicate: the medians used
    (``median_input_<arm>``) and reconstructed (``median_<arm>``), the Cox hazard ratio
    of the first arm vs the second (``hr``, ``log_hr``, ``se_log_hr``) and the p-values
    of the log-rank, Gehan-Breslow generalised Wilcoxon and Tarone-Ware tests.
    ``progress`` shows a bar on stderr (for the command line; chapters keep it off).
    """
    if not isinstance(arms, Mapping) or len(arms) != 2:
        raise ValueError(f"arms must be a dict with exactly two arms, got {arms!r}")
    n_rep = _count(n_rep, "n_rep")
    if n_rep < 1:
        raise ValueError(f"n_rep must be at least 1, got {n_rep}")
    if jitter not in ("ci", None, "none"):
        raise ValueError(f"unknown jitter {jitter!r}; expected 'ci' or None")
    names = list(arms)
    inputs = [_arm_inputs(name, arms[name]) for name in names]
    rng = np.random.default_rng(seed)
    seeds = np.random.SeedSequence(seed).spawn(n_rep * 2)
    times = np.empty((n_rep, inputs[0].n + inputs[1].n))
    events = np.empty_like(times, dtype=int)
    used = np.empty((n_rep, 2))
    n0 = inputs[0].n
    from tqdm import tqdm

    for r in tqdm(range(n_rep), desc="replicates", unit="rep", disable=not progress, file=sys.stderr):
        for k, inp in enumerate(inputs):
            med = _draw_median(inp, rng) if jitter == "ci" else inp.median
            used[r, k] = math.nan if med is None else med
            cols = slice(0, n0) if k == 0 else slice(n0, None)
            times[r, cols], events[r, cols] = _reconstruct_arrays(inp, med, seeds[2 * r + k])
    group = np.concatenate([np.ones(inputs[0].n), np.zeros(inputs[1].n)])
    cox = cox_batch(times, events, group)
    out = {"replicate": np.arange(n_rep)}
    for k, name in enumerate(names):
        out[f"median_input_{name}"] = used[:, k]
    out[f"median_{names[0]}"] = km_median_batch(times[:, :n0], events[:, :n0])
    out[f"median_{names[1]}"] = km_median_batch(times[:, n0:], events[:, n0:])
    out.update({"hr": cox.hr, "log_hr": cox.log_hr, "se_log_hr": cox.se})
    for label, weighting in (
        ("logrank", "logrank"),
        ("wilcoxon", "wilcoxon"),
        ("tarone_ware", "tarone-ware"),
    ):
        out[f"p_{label}"] = logrank_batch(times, events, group, weighting).p
    return pd.DataFrame(out)


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Median and 2.5/97.5 percentiles of every numeric column of :func:`replicates`.

    Columns holding inf (a median not reached) use the inverted-CDF percentile, so the
    answer is inf rather than nan when the percentile falls among the infinities.
    """
    rows = {}
    for col in df.columns:
        if col == "replicate" or not pd.api.types.is_numeric_dtype(df[col]):
            continue
        x = df[col].to_numpy(dtype=float)
        x = x[~np.isnan(x)]
        if x.size == 0:
            rows[col] = (math.nan, math.nan, math.nan)
            continue
        method = "linear" if np.all(np.isfinite(x)) else "inverted_cdf"
        q = np.percentile(x, [50.0, 2.5, 97.5], method=method)
        rows[col] = tuple(float(v) for v in q)
    return pd.DataFrame.from_dict(rows, orient="index", columns=["median", "p2.5", "p97.5"])
