"""Inputs of the survival reconstruction: what a paper prints for one arm, checked.

:func:`validate` turns the printed summaries of an arm (as :func:`reanalysis.reconstruct.reconstruct_arm`
takes them) into an :class:`Inputs` record, or raises ValueError naming the culprit.  A median
"not reached" is ``median=math.inf`` (or ``"NR"``); ``max_followup`` is the longest follow-up
the study window allows (accrual start to data cut-off) when no range of follow-up is printed;
``alive`` the patients printed as alive and still followed at the data cut-off (censored there).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

ARM_KEYS = (
    "n",
    "events",
    "median",
    "median_ci",
    "landmarks",
    "followup_median",
    "followup_range",
    "max_followup",
    "alive",
)
NOT_REACHED = ("NR", "NOT REACHED", "INF")
_MAX_DECIMALS = 4  # printed percentages have at most this many decimals


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


def count(value: object, name: str) -> int:
    """``value`` as a whole number, or ValueError naming it."""
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


def _not_reached(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().upper() in NOT_REACHED
    return isinstance(value, (float, np.floating)) and float(value) == math.inf


def rounding(s: float) -> float:
    """Half a unit of the last printed digit of a survival proportion printed as a percentage
    (0.522 = 52.2% -> 0.0005; 0.5 = 50% -> 0.005): how far the unrounded value may lie."""
    pct = 100 * s
    for k in range(_MAX_DECIMALS + 1):
        if abs(round(pct, k) - pct) < 1e-9:
            return 0.5 * 10.0**-k / 100
    return 0.5 * 10.0**-_MAX_DECIMALS / 100


@dataclass(frozen=True)
class Inputs:
    """One arm's printed summaries, checked.  ``median`` is None when not printed or not
    reached (``median_nr``); ``median_ci`` has inf as a "not reached" upper limit."""

    n: int
    events: int | None
    median: float | None
    median_ci: tuple[float, float] | None
    landmarks: tuple[tuple[float, float], ...]
    followup_median: float | None
    followup_range: tuple[float, float] | None
    max_followup: float | None = None
    median_nr: bool = False
    alive: int | None = None  # printed as alive and still followed at the cut-off: censored

    @property
    def t_cap(self) -> float:
        """The longest follow-up printed (range) or allowed by the study window; inf if unknown."""
        caps = [c for c in (self.followup_range and self.followup_range[1], self.max_followup) if c]
        return min(caps, default=math.inf)

    @property
    def last_time(self) -> float:
        """The last printed time (landmark or median); 0 if none."""
        return max([t for t, _ in self.landmarks] + [self.median or 0.0])


def _landmarks(landmarks: object) -> list[tuple[float, float]]:
    marks: list[tuple[float, float]] = []
    if landmarks is None:
        return marks
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
    return marks


def validate(
    n: object,
    events: object = None,
    median: object = None,
    median_ci: object = None,
    landmarks: object = None,
    followup_median: object = None,
    followup_range: object = None,
    max_followup: object = None,
    alive: object = None,
) -> Inputs:
    """Check every input and their mutual consistency; ValueError names the culprit."""
    n_ = count(n, "n")
    if n_ < 1:
        raise ValueError(f"n must be at least 1, got {n!r}")
    ev = None
    if events is not None:
        ev = count(events, "events")
        if ev < 0:
            raise ValueError(f"events must be non-negative, got {events!r}")
        if ev > n_:
            raise ValueError(f"events ({ev}) exceeds n ({n_})")

    alive_ = None
    if alive is not None:
        alive_ = count(alive, "alive")
        if alive_ < 0:
            raise ValueError(f"alive must be non-negative, got {alive!r}")
        if alive_ + (ev or 0) > n_:
            raise ValueError(f"alive ({alive_}) and events ({ev or 0}) add up to more than n ({n_})")

    nr = median is not None and _not_reached(median)
    med = None if median is None or nr else _number(median, "median", positive=True)
    ci = None
    if median_ci is not None:
        if med is None and not nr:
            raise ValueError("median_ci is given without a median")
        lo, hi = _pair(median_ci, "median_ci")
        lo_ = _number(lo, "median_ci lower limit")
        hi_ = math.inf if hi is None or _not_reached(hi) else _number(hi, "median_ci upper limit")
        if med is not None and not lo_ <= med <= hi_:
            raise ValueError(f"median_ci ({lo_:g}, {hi_:g}) does not contain the median {med:g}")
        if nr and math.isfinite(hi_):
            raise ValueError(f"median_ci upper limit {hi_:g} is finite but the median is not reached")
        ci = (lo_, hi_)

    marks = _landmarks(landmarks)
    for t, s in marks:
        if nr and s < 0.5:
            raise ValueError(f"median not reached contradicts landmarks: S({t:g}) = {s:g} is below 0.5")
        if med is None:
            continue
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
    mx = None if max_followup is None else _number(max_followup, "max_followup", positive=True)
    if mx is not None and fm is not None and fm > mx:
        raise ValueError(f"followup_median {fm:g} exceeds max_followup {mx:g}")
    inp = Inputs(n_, ev, med, ci, tuple(marks), fm, fr, mx, nr, alive_)
    if med is not None and med > inp.t_cap:
        raise ValueError(f"median {med:g} lies beyond the longest follow-up {inp.t_cap:g}")
    late = [t for t, _ in marks if t > inp.t_cap]
    if late:
        raise ValueError(f"landmark at {late[0]:g} lies beyond the longest follow-up {inp.t_cap:g}")
    return inp
