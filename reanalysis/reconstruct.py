"""Pseudo patient-level survival data reconstructed from the summaries a paper prints.

Papers of small trials print per arm only a few numbers: the arm size, sometimes the number
of events, the median with its 95% CI, a few landmark survival rates and the median (and
sometimes the range of) follow-up.  :func:`reconstruct_arm` turns those into one data set
of (time, event) rows that reproduces them; :func:`replicates` repeats this many times for
two arms and gives the distribution of the Cox hazard ratio and of log-rank-type p-values
that the printed summaries are compatible with.  Printed hazard ratios and p-values are
never used as inputs, so they can be checked against the reconstruction.

Method (details and its validation in ``book/reconstruction.md``):

1. *Survival curve.*  The points (0, 1), the landmarks (t, S(t)) and (median, 0.5) are
   joined by a piecewise-exponential curve (constant hazard between consecutive points).
   Beyond the last point the last interval's hazard continues; if that hazard is zero
   (a flat last segment) the mean hazard over the printed range, -ln S(last) / last, is
   used instead.  With a median only, the curve is exponential.  With no point below 1
   at all, the hazard after the last point is the one that makes the expected number of
   events equal ``events`` under the censoring of step 2.
2. *Censoring.*  Censoring is administrative (staggered entry), with potential follow-up
   C drawn from a piecewise-uniform distribution: on ``followup_range`` (lo, hi) with half
   of its mass below ``followup_median``; else uniform on median x (1 - s, 1 + s), the
   spread s in [0, 1] chosen (at least long enough to reach the last printed time) so
   that the expected number of events is closest to ``events`` (s = 0.5 when no events
   are printed); with events but no follow-up, uniform on m x (0.5, 1.5) with m solved
   for the events; with neither, no censoring before S(t) has fallen to 0.1 / n.
3. *Events and censoring times.*  Under independent censoring the observed event times
   have sub-density f(t) G(t) and the censoring times g(t) S(t) (f, S of the curve, g, G
   of the censoring).  Given the number of events d (``events``, or n times the expected
   proportion, rounded), the d event times are placed at stratified quantiles of the
   first (one uniform draw per 1/d stratum, so the seed only jitters them inside their
   strata) and the n - d censoring times at stratified quantiles of the second.  The
   Kaplan-Meier curve of the result then follows the printed points, the number of events
   is exactly d, and the reverse Kaplan-Meier estimates the censoring distribution.
4. *Follow-up.*  The censoring times are finally multiplied by the factor nearest 1 that
   makes the reverse Kaplan-Meier median follow-up equal ``followup_median`` exactly (or
   as near as a finite sample allows).

The numbers are deterministic for a given ``seed`` (numpy ``Generator``).  ``median_ci``
is used only by :func:`replicates` with ``jitter="ci"``, which draws the median of each
replicate from a split normal on the log scale fitted to the printed CI and truncated to
the range the landmarks allow.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from .errors import ReanalysisError
from .survival import cox_batch, km_median_batch, logrank_batch

__all__ = ["ARM_KEYS", "add_cli", "reconstruct_arm", "replicates", "summarise"]

ARM_KEYS = ("n", "events", "median", "median_ci", "landmarks", "followup_median", "followup_range")

_GRID = 2001  # points of the time grid on which the sub-distributions are integrated
_S_FLOOR = 1e-12  # survival proportion 0 is taken as this on the log scale
_SPREADS = np.linspace(0.0, 1.0, 21)  # candidate censoring spreads s
_DEFAULT_SPREAD = 0.5
_TAIL_ALIVE = 0.1  # without censoring, follow until n * S(t) = this many expected survivors
_Z975 = float(sps.norm.ppf(0.975))


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
            raise ValueError(f"landmarks must map time -> survival proportion, got {type(landmarks).__name__}")
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
                raise ValueError(f"median {med:g} contradicts landmarks: S({t:g}) = {s:g} is above 0.5 after it")
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
    """Piecewise-exponential survival: log S linear between knots, then a constant hazard."""

    times: np.ndarray
    log_s: np.ndarray
    tail_hazard: float

    def log_survival(self, t: np.ndarray) -> np.ndarray:
        inside = np.interp(t, self.times, self.log_s)
        beyond = self.log_s[-1] - self.tail_hazard * (t - self.times[-1])
        return np.where(t <= self.times[-1], inside, beyond)

    def time_at(self, s: float) -> float:
        """First time at which S(t) = s (inf if the curve stays above s)."""
        ls = math.log(max(s, _S_FLOOR))
        if ls >= self.log_s[-1]:
            k = int(np.argmax(self.log_s <= ls))
            if k == 0:
                return 0.0
            t0, t1, l0, l1 = self.times[k - 1], self.times[k], self.log_s[k - 1], self.log_s[k]
            return float(t0 + (t1 - t0) * (l0 - ls) / (l0 - l1)) if l0 > l1 else float(t1)
        if self.tail_hazard <= 0:
            return math.inf
        return float(self.times[-1] + (self.log_s[-1] - ls) / self.tail_hazard)


def _knots(inp: _Inputs, median: float | None) -> tuple[np.ndarray, np.ndarray]:
    pts = {0.0: 1.0}
    pts.update(dict(inp.landmarks))
    if median is not None and median not in pts:
        pts[median] = 0.5
    times = np.array(sorted(pts))
    log_s = np.log(np.maximum([pts[t] for t in times], _S_FLOOR))
    return times, log_s


def _curve(times: np.ndarray, log_s: np.ndarray, tail_hazard: float | None = None) -> _Curve:
    """The curve through the knots; tail hazard from the last interval unless given."""
    if tail_hazard is None:
        tail_hazard = (log_s[-2] - log_s[-1]) / (times[-1] - times[-2])
        if tail_hazard <= 0:  # flat last segment: mean hazard over the printed range
            tail_hazard = -log_s[-1] / times[-1]
    return _Curve(times, log_s, float(tail_hazard))


# A censoring distribution is a tuple of (a, b, mass) components: uniform on [a, b], or a
# point mass at a when a == b.
_Censoring = tuple[tuple[float, float, float], ...]


def _censoring_from(fm: float | None, fr: tuple[float, float] | None, spread: float) -> _Censoring:
    if fr is not None:
        lo, hi = fr
        if fm is None:
            return ((lo, hi, 1.0),)
        return ((lo, fm, 0.5), (fm, hi, 0.5))
    assert fm is not None
    return ((fm * (1 - spread), fm * (1 + spread), 1.0),)


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


def _grid(curve: _Curve, cens: _Censoring) -> tuple[np.ndarray, np.ndarray]:
    """Time grid (with a left and a right copy of every point mass) and its ``left`` flags."""
    t_max = max(b for _, b, _ in cens)
    pts = [np.linspace(0.0, t_max, _GRID), curve.times[curve.times < t_max]]
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


def _subdist(curve: _Curve, cens: _Censoring) -> _SubDist:
    t, left = _grid(curve, cens)
    surv = np.exp(curve.log_survival(t))
    g = 1.0 - _censor_cdf(cens, t, left)
    ev = -np.diff(surv) * 0.5 * (g[:-1] + g[1:])  # dF times mean G, per interval
    ce = -np.diff(g) * 0.5 * (surv[:-1] + surv[1:])  # dH times mean S, per interval
    return _SubDist(t, np.concatenate([[0.0], np.cumsum(ev)]), np.concatenate([[0.0], np.cumsum(ce)]))


def _p_event(curve: _Curve, cens: _Censoring) -> float:
    return _subdist(curve, cens).p_event


def _best_spread(curve: _Curve, fm: float, n: int, events: int) -> float:
    """Censoring spread s whose expected number of events is closest to ``events``.

    Spreads too short to follow anyone up to the last printed time are excluded; among
    near-equal fits (within half an event) the one closest to the default is taken.
    """
    s_min = min(1.0, max(0.0, curve.times[-1] / fm - 1.0))
    spreads = _SPREADS[_SPREADS >= s_min - 1e-12]
    if spreads.size == 0:
        spreads = np.array([1.0])
    t = np.linspace(0.0, 2.0 * fm, _GRID)
    surv = np.exp(curve.log_survival(t))
    a, b = fm * (1 - spreads[:, None]), fm * (1 + spreads[:, None])
    width = np.where(b > a, b - a, 1.0)
    g = 1.0 - np.where(b > a, np.clip((t - a) / width, 0.0, 1.0), t >= a)
    ev = np.sum(-np.diff(surv) * 0.5 * (g[:, :-1] + g[:, 1:]), axis=1)
    ce = np.sum(-np.diff(g, axis=1) * 0.5 * (surv[:-1] + surv[1:]), axis=1)
    miss = np.abs(n * ev / (ev + ce) - events)
    ok = miss <= miss.min() + 0.5
    return float(spreads[ok][np.argmin(np.abs(spreads[ok] - _DEFAULT_SPREAD))])


def _bisect(fun, lo: float, hi: float, target: float, iters: int = 60, log: bool = True) -> float:
    """Root of the increasing function fun(x) = target on [lo, hi] (clipped to the ends)."""
    if fun(hi) <= target:
        return hi
    if fun(lo) >= target:
        return lo
    for _ in range(iters):
        mid = math.sqrt(lo * hi) if log else 0.5 * (lo + hi)
        if fun(mid) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


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
        cens = _censoring_from(fm, fr, _DEFAULT_SPREAD)
        scale = fm if fm is not None else max(fr[1], 1e-9)  # type: ignore[index]
        target = max(d, 0.5) / n if d < n else 1.0 - 0.5 / n
        lam = _bisect(lambda h: _p_event(_curve(times, log_s, h), cens), 1e-9 / scale, 1e4 / scale, target)
        return _curve(times, log_s, lam), cens
    curve = _curve(times, log_s)
    if fm is not None or fr is not None:
        spread = _DEFAULT_SPREAD
        if fr is None and d is not None:
            spread = _best_spread(curve, fm, n, d)  # type: ignore[arg-type]
        return curve, _censoring_from(fm, fr, spread)
    t_end = max(curve.time_at(_TAIL_ALIVE / n), float(times[-1]))
    if d is None or d == n:
        return curve, ((t_end, t_end, 1.0),)
    m = _bisect(lambda x: _p_event(curve, _uniform(x)), t_end * 1e-6, t_end / 1.5, max(d, 0.5) / n)
    return curve, _uniform(m)


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
    factors = np.concatenate([[1.0], fm / ce_t[ce_t > 0]])
    rows_t = np.concatenate([np.broadcast_to(ev_t, (factors.size, ev_t.size)), factors[:, None] * ce_t], axis=1)
    rev = np.concatenate([np.zeros(ev_t.size), np.ones(ce_t.size)])
    med = np.asarray(km_median_batch(rows_t, rev))
    miss = np.abs(med - fm)
    exact = miss <= 1e-9 * fm
    if exact.any():
        best = np.flatnonzero(exact)[np.argmin(np.abs(np.log(factors[exact])))]
    else:
        best = int(np.argmin(miss + 1e-12 * np.abs(np.log(factors))))
    return factors[best] * ce_t


def _reconstruct(inp: _Inputs, median: float | None, seed: int | np.random.SeedSequence) -> pd.DataFrame:
    curve, cens = _model(inp, median)
    sub = _subdist(curve, cens)
    n = inp.n
    d = inp.events if inp.events is not None else int(round(n * sub.p_event))
    if d > 0 and sub.events[-1] <= 0:
        raise ValueError(f"events ({d}) cannot occur: the survival curve has no deaths during follow-up")
    if d < n and sub.censored[-1] <= 0:
        raise ValueError(f"events ({d}) < n ({n}) but nobody can be censored: the curve reaches 0 first")
    rng = np.random.default_rng(seed)
    ev_t = _stratified(sub.t, sub.events, d, rng)
    ce_t = _stratified(sub.t, sub.censored, n - d, rng)
    if inp.followup_median is not None:
        ce_t = _match_followup(ev_t, ce_t, inp.followup_median)
    out = pd.DataFrame(
        {
            "time": np.concatenate([ev_t, ce_t]).astype(float),
            "event": np.concatenate([np.ones(d, dtype=int), np.zeros(n - d, dtype=int)]),
        }
    )
    return out.sort_values(["time", "event"], kind="stable").reset_index(drop=True)


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
            return 2 * w * float(sps.norm.cdf(z / sd_lo)) if sd_lo > 0 else 0.0
        return w + 2 * (1 - w) * (float(sps.norm.cdf(z / sd_hi)) - 0.5) if sd_hi > 0 else 1.0

    b_lo, b_hi = _median_bounds(inp)
    u_lo, u_hi = cdf(b_lo), (cdf(b_hi) if math.isfinite(b_hi) else 1.0)
    u = u_lo + (u_hi - u_lo) * float(rng.random())
    if u < w:
        z = sd_lo * float(sps.norm.ppf(u / (2 * w)))
    else:
        z = sd_hi * float(sps.norm.ppf(0.5 + (u - w) / (2 * (1 - w))))
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
    arms: dict[str, dict], n_rep: int = 1000, seed: int = 0, jitter: str | None = "ci"
) -> pd.DataFrame:
    """Reconstruct two arms ``n_rep`` times and compare them in every replicate.

    ``arms`` maps each arm's name to its :func:`reconstruct_arm` arguments (without
    ``seed``); the first arm is compared with the second.  Replicates differ in their
    seeds and, with ``jitter="ci"``, in the median drawn within its printed CI (``None``
    keeps the printed median).  Returns one row per replicate: the medians used
    (``median_input_<arm>``) and reconstructed (``median_<arm>``), the Cox hazard ratio
    of the first arm vs the second (``hr``, ``log_hr``, ``se_log_hr``) and the p-values
    of the log-rank, Gehan-Breslow generalised Wilcoxon and Tarone-Ware tests.
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
    for r in range(n_rep):
        cols = []
        for k, inp in enumerate(inputs):
            med = _draw_median(inp, rng) if jitter == "ci" else inp.median
            used[r, k] = math.nan if med is None else med
            cols.append(_reconstruct(inp, med, seeds[2 * r + k]))
        both = pd.concat(cols, ignore_index=True)
        times[r], events[r] = both["time"].to_numpy(), both["event"].to_numpy()
    group = np.concatenate([np.ones(inputs[0].n), np.zeros(inputs[1].n)])
    n0 = inputs[0].n
    cox = cox_batch(times, events, group)
    out = {"replicate": np.arange(n_rep)}
    for k, name in enumerate(names):
        out[f"median_input_{name}"] = used[:, k]
    out[f"median_{names[0]}"] = km_median_batch(times[:, :n0], events[:, :n0])
    out[f"median_{names[1]}"] = km_median_batch(times[:, n0:], events[:, n0:])
    out.update({"hr": cox.hr, "log_hr": cox.log_hr, "se_log_hr": cox.se})
    for label, weighting in (("logrank", "logrank"), ("wilcoxon", "wilcoxon"), ("tarone_ware", "tarone-ware")):
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


# --------------------------------------------------------------------------
# command line


def _cli_number(text: str | None, option: str, *, whole: bool = False) -> float | int | None:
    if text is None:
        return None
    try:
        return int(text) if whole else float(text)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise ReanalysisError(f"{option}: expected {kind}, got {text!r}") from None


def _cli_pair(text: str | None, option: str, allow_nr: bool = False) -> tuple[float, float | None] | None:
    if text is None:
        return None
    lo, colon, hi = text.partition(":")
    if not colon:
        raise ReanalysisError(f"{option}: expected LO:HI, got {text!r}")
    hi_val = None if allow_nr and hi.strip().upper() in ("NR", "INF", "") else _cli_number(hi, option)
    return _cli_number(lo, option), hi_val  # type: ignore[return-value]


def _cli_landmarks(items: list[str]) -> dict[float, float] | None:
    out: dict[float, float] = {}
    for item in items:
        t, colon, s = item.partition(":")
        if not colon:
            raise ReanalysisError(f"--landmark: expected T:S (e.g. 12:0.522), got {item!r}")
        t_, s_ = _cli_number(t, "--landmark time"), _cli_number(s, "--landmark survival")
        if t_ in out:
            raise ReanalysisError(f"--landmark: time {t_:g} given twice")
        out[t_] = s_  # type: ignore[index]
    return out or None


def cmd_reconstruct(args: argparse.Namespace) -> None:
    """Write one reconstructed arm as CSV (time,event) to stdout."""
    kwargs = {
        "events": _cli_number(args.events, "--events", whole=True),
        "median": _cli_number(args.median, "--median"),
        "median_ci": _cli_pair(args.median_ci, "--median-ci", allow_nr=True),
        "landmarks": _cli_landmarks(args.landmark),
        "followup_median": _cli_number(args.followup_median, "--followup-median"),
        "followup_range": _cli_pair(args.followup_range, "--followup-range"),
        "seed": _cli_number(args.seed, "--seed", whole=True),
    }
    n = _cli_number(args.n, "--n", whole=True)
    if kwargs["seed"] is None or kwargs["seed"] < 0:  # type: ignore[operator]
        raise ReanalysisError(f"--seed: expected a non-negative whole number, got {args.seed!r}")
    try:
        df = reconstruct_arm(n, **kwargs)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ReanalysisError(f"reconstruct: {exc}") from exc
    df.to_csv(sys.stdout, index=False, lineterminator="\n", float_format="%.4f")


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``reconstruct`` subcommand (one arm, CSV to stdout) on ``subparsers``."""
    p = subparsers.add_parser(
        "reconstruct",
        help="pseudo patient-level data of one arm from printed summaries (CSV to stdout)",
        description="Reconstruct one arm's (time, event) data from its printed summaries; "
        "method in book/reconstruction.md.",
    )
    p.add_argument("--n", required=True, metavar="N", help="number of patients in the arm")
    p.add_argument("--events", metavar="D", help="number of events")
    p.add_argument("--median", metavar="M", help="median survival")
    p.add_argument("--median-ci", metavar="LO:HI", help="95%% CI of the median (HI may be NR)")
    p.add_argument(
        "--landmark", action="append", default=[], metavar="T:S", help="survival proportion S at time T (repeatable)"
    )
    p.add_argument("--followup-median", metavar="F", help="median follow-up (reverse Kaplan-Meier)")
    p.add_argument("--followup-range", metavar="LO:HI", help="range of follow-up")
    p.add_argument("--seed", default="0", help="random seed (default 0)")
    p.set_defaults(func=cmd_reconstruct)
