"""Pseudo patient-level survival data reconstructed from the summaries a paper prints.

Papers of small trials print per arm only a few numbers: the arm size, sometimes the number
of events, the median with its 95% CI, a few landmark survival rates and the median (and
sometimes the range of) follow-up.  :func:`reconstruct_arm` turns those into one data set
of (time, event) rows that reproduces them; :func:`replicates` repeats this many times for
two arms and gives the distribution of the Cox hazard ratio and of log-rank-type p-values
that the printed summaries are compatible with.  Printed hazard ratios and p-values are
never used as inputs, so they can be checked against the reconstruction.

The model (a curve through the printed points, a censoring distribution) is built by
:mod:`reanalysis.recon_model` from inputs checked by :mod:`reanalysis.recon_inputs`.  Here:

3. *Censoring times.*  Under independent censoring the censored patients' times have
   sub-density g(t) S(t).  With d events (``events``, or the expected number rounded),
   the n - d censoring times are put at stratified quantiles of that sub-distribution.
4. *Event times.*  Walking forward in time, each event is put where the curve equals
   KM x (1 - u / r), KM being the Kaplan-Meier estimate just before it and r the number at
   risk: every Kaplan-Meier step then straddles the curve.  The step that crosses 0.5 is put
   at the median, so the reconstructed median is the printed one.  No event falls after the
   longest follow-up (events the curve would put later are spread before it).
5. *Follow-up.*  The censoring times are multiplied by the factor nearest 1 that makes the
   reverse Kaplan-Meier median follow-up equal ``followup_median``.

Without a seed the reconstruction is *central*: the printed values, the middle censoring
shape, every time at the middle of its stratum (u = 1/2).  A seed gives one random draw of
everything the printed numbers leave open (:func:`draw`): landmarks and median within their
printed rounding (or the median within its CI), the curve's shape between the printed points
(:func:`reanalysis.recon_model.wiggle`), the censoring shape or level, and positions inside
the strata.  Method, rationale and validation: ``book/reconstruction.md``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import replace
from statistics import NormalDist

import numpy as np
import pandas as pd

from .recon_inputs import ARM_KEYS, Inputs, count, rounding, validate
from .recon_model import Draw, Model, build, central, subdist, wiggle
from .survival import cox_batch, km_median_batch, km_median_row, logrank_batch

__all__ = ["ARM_KEYS", "VARY", "draw", "reconstruct_arm", "replicates", "summarise"]

VARY = ("all", "ci", "none")  # what a random draw varies; see draw()
_HALF_TOL = 1e-9  # a Kaplan-Meier estimate this close to 0.5 counts as 0.5
_FOLLOWUP_CANDIDATES = 12  # censoring times nearest the median follow-up tried as its anchor
_FOLLOWUP_ROUNDS = 4  # alternations of follow-up matching and event placement
_EXACT = 1e-9  # a reverse-KM median within this fraction of the printed follow-up matches it
# factors ranked by one rounding of their distance from 1 and chosen by another: ranks within
# this (relative) of a match's distance are tried too, so float noise cannot change the choice
_NEAR_TIE = 1e-9
_NORMAL = NormalDist()
_Z975 = _NORMAL.inv_cdf(0.975)


# --------------------------------------------------------------------------
# sampling


def _stratified(sub_t: np.ndarray, cum: np.ndarray, k: int, rng: np.random.Generator | None) -> np.ndarray:
    """k times, one in each of k equal-probability strata of the sub-distribution ``cum``
    (at the stratum's middle without ``rng``)."""
    if k == 0:
        return np.zeros(0)
    u = (np.arange(k) + (0.5 if rng is None else rng.random(k))) / k * cum[-1]
    return np.interp(u, cum, sub_t)


def _match_followup(ev_t: np.ndarray, ce_t: np.ndarray, fm: float) -> np.ndarray:
    """Scale the censoring times so that the reverse-KM median follow-up equals ``fm``.

    Every candidate factor puts one censoring time, or the midpoint of two neighbouring ones,
    exactly at ``fm``; the factor nearest 1 whose reverse Kaplan-Meier median is then ``fm``
    wins (else the nearest miss).

    The factors are tried nearest 1 first (1 itself first: from the second round of alternation
    on it is the answer two calls in three), and the trying stops once no factor left can be
    nearer 1 than a match found: the same choice as working out every factor's median (which a
    study's replicates did some 2,500 times), with the median worked out for about two factors
    a call instead of 25.
    """
    if ce_t.size == 0:
        return ce_t
    cand = np.sort(ce_t[ce_t > 0])
    # a censoring time at fm, or (where the reverse estimate sits exactly at 0.5, and the
    # median is the midpoint of that stretch, as R) the midpoint of two neighbours at fm
    cand = np.concatenate([cand, 0.5 * (cand[:-1] + cand[1:])])
    distance = np.abs(np.log(cand / fm))
    order = np.argsort(distance)[: 2 * _FOLLOWUP_CANDIDATES]
    factors = np.concatenate([[1.0], fm / cand[order]])
    near = np.abs(np.log(factors))  # what the choice minimises
    tried_by = np.concatenate([[0.0], distance[order]])  # the same, as sorted: non-decreasing
    rev = np.concatenate([np.zeros(ev_t.size), np.ones(ce_t.size)])
    med = np.full(factors.size, np.nan)  # a factor not tried cannot be chosen
    found = None
    for i, f in enumerate(factors):
        if found is not None and tried_by[i] > near[found] * (1.0 + _NEAR_TIE):
            break  # nearer 1 than the match found, no factor left is
        med[i] = km_median_row(np.concatenate([ev_t, f * ce_t]), rev)
        if found is None and abs(med[i] - fm) <= _EXACT * fm:
            found = i
    miss = np.abs(med - fm)
    exact = miss <= _EXACT * fm
    if exact.any():
        best = np.flatnonzero(exact)[np.argmin(near[exact])]
    else:
        best = int(np.argmin(miss + 1e-12 * near))
    return factors[best] * ce_t


def _track_events(model: Model, ce_t: np.ndarray, d: int, median: float | None, u: np.ndarray) -> np.ndarray:
    """Place d event times so that the Kaplan-Meier estimate follows the curve.

    Walking forward in time with the censoring times ``ce_t`` (sorted) already fixed,
    each event goes where S(t) = KM x (1 - u / r), KM being the estimate just before it
    and r the number at risk: the KM step then straddles the curve, so at any time the
    estimate is within one step of S(t).  The step that takes the KM from above 0.5 to
    0.5 or below is put at the median, and if the events run out before it the last one
    goes there, so the reconstructed median is the printed one.  An event the curve would
    put after ``model.t_hi`` (the longest follow-up) cannot be observed: it and the events
    left are spread evenly between the previous event and ``t_hi``.  ``u`` holds one number
    in [0, 1] per event.
    """
    curve, t_hi = model.curve, model.t_hi
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
        if t > t_hi:
            t_prev = out[k - 1] if k else 0.0
            m = d - k
            out[k:] = t_prev + (t_hi - t_prev) * (np.arange(m) + u[k:]) / m
            break
        out[k] = t
        # a step landing on exactly 0.5 leaves the median to rounding (and R takes a
        # midpoint): the next event then shares the median time
        tie_next = crosses and abs(km * (1 - 1 / r) - 0.5) <= _HALF_TOL
        km *= 1 - 1 / r
        r -= 1
    return out


def _arrays(
    inp: Inputs, dr: Draw, rng: np.random.Generator | None, shape_noise: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Times and event flags of one reconstruction (events first, then censorings).

    Without ``rng`` every position is the middle of its stratum (the central reconstruction);
    ``shape_noise`` perturbs the curve between the printed points (:func:`wiggle`)."""
    model = build(inp, dr)
    if rng is not None and shape_noise:
        model = wiggle(model, inp.n, rng)
    sub = subdist(model.curve, model.cens)
    n = inp.n
    d = inp.events if inp.events is not None else int(round(n * sub.p_event))
    d = min(d, n - (inp.alive or 0))  # those printed as still followed at the cut-off are censored
    if d > 0 and sub.events[-1] <= 0:
        raise ValueError(f"events ({d}) cannot occur: the survival curve has no deaths during follow-up")
    if d < n and sub.censored[-1] <= 0:
        raise ValueError(f"events ({d}) < n ({n}) but nobody can be censored: the curve reaches 0 first")
    ce_t = _stratified(sub.t, sub.censored, n - d, rng)
    u = np.full(d, 0.5) if rng is None else rng.random(d)
    ev_t = _track_events(model, ce_t, d, dr.median, u)
    fm = inp.followup_median
    if fm is not None:
        for _ in range(_FOLLOWUP_ROUNDS):  # events move a little when the censorings do
            scaled = _match_followup(ev_t, ce_t, fm)
            if np.allclose(scaled, ce_t, rtol=1e-12, atol=0.0):
                break
            ce_t = scaled
            ev_t = _track_events(model, ce_t, d, dr.median, u)
        ce_t = _match_followup(ev_t, ce_t, fm)
    ce_t = np.minimum(ce_t, inp.t_cap)  # scaling never takes anyone past the longest follow-up
    return np.concatenate([ev_t, ce_t]), np.concatenate([np.ones(d, dtype=int), np.zeros(n - d, dtype=int)])


# --------------------------------------------------------------------------
# what a random draw varies


def _median_bounds(landmarks: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    """Open interval of medians the landmarks allow."""
    lo = max([t for t, s in landmarks if s > 0.5], default=0.0)
    hi = min([t for t, s in landmarks if s <= 0.5], default=math.inf)
    return lo, hi


def _median_in_ci(inp: Inputs, bounds: tuple[float, float], rng: np.random.Generator) -> float | None:
    """Median from a split normal on the log scale fitted to the printed CI, truncated to ``bounds``.

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

    b_lo, b_hi = bounds
    u_lo, u_hi = cdf(b_lo), (cdf(b_hi) if math.isfinite(b_hi) else 1.0)
    u = u_lo + (u_hi - u_lo) * float(rng.random())
    if u < w:
        z = sd_lo * _NORMAL.inv_cdf(min(max(u / (2 * w), 1e-300), 1 - 1e-16))
    else:
        z = sd_hi * _NORMAL.inv_cdf(min(max(0.5 + (u - w) / (2 * (1 - w)), 1e-300), 1 - 1e-16))
    x = math.exp(mu + z)
    return float(min(max(x, math.nextafter(b_lo, math.inf)), math.nextafter(b_hi, 0.0)))


def _time_rounding(x: float) -> float:
    """Half a unit of the last printed digit of a time (17.4 -> 0.05; 5.86 -> 0.005)."""
    return rounding(x / 100)


def draw(inp: Inputs, rng: np.random.Generator, vary: str = "all") -> Draw:
    """One draw of what the printed numbers leave open.

    ``vary="all"``: every landmark uniformly within its printed rounding (kept monotone and
    on its side of one half), the median uniformly within its rounding and between the
    landmarks around it, the censoring shape (or, when neither events nor follow-up are
    printed, the censoring level) uniformly among those compatible.  ``"ci"``: the same but
    the median from its printed 95% CI.  ``"none"``: the printed values, the middle shape
    and level (only the positions inside strata vary).
    """
    if vary == "none":
        return central(inp)
    med = inp.median
    marks = []
    for t, s in inp.landmarks:
        h = rounding(s)
        x = min(max(s + h * (2 * float(rng.random()) - 1), 0.0), 1.0)
        if inp.median_nr or (med is not None and t < med):
            x = max(x, 0.5 + _HALF_TOL)  # still above one half before the median
        elif med is not None and t >= med:
            x = min(x, 0.5)
        marks.append((t, x))
    xs = np.minimum.accumulate([x for _, x in marks]) if marks else []
    marks_t = tuple((t, float(x)) for (t, _), x in zip(marks, xs, strict=True))
    bounds = _median_bounds(marks_t)
    if med is not None:
        if vary == "ci":
            med = _median_in_ci(inp, bounds, rng)
        else:
            h = _time_rounding(med)
            med = med + h * (2 * float(rng.random()) - 1)
        med = float(min(max(med, math.nextafter(bounds[0], math.inf)), math.nextafter(bounds[1], 0.0)))  # type: ignore[arg-type]
    return Draw(
        med,
        marks_t,
        shape=float(rng.random()),
        censoring=float(rng.random()),
        open_tail=True,
        tail=float(rng.random()),
        events=float(rng.random()),
    )


# --------------------------------------------------------------------------
# one arm


def _frame(time: np.ndarray, event: np.ndarray) -> pd.DataFrame:
    order = np.lexsort((event, time))
    return pd.DataFrame({"time": time[order].astype(float), "event": event[order]})


def reconstruct_arm(
    n: int,
    *,
    events: int | None = None,
    median: float | str | None = None,
    median_ci: tuple[float, float | None] | None = None,
    landmarks: Mapping[float, float] | None = None,
    followup_median: float | None = None,
    followup_range: tuple[float, float] | None = None,
    max_followup: float | None = None,
    alive: int | None = None,
    seed: int | None = None,
    vary: str = "all",
) -> pd.DataFrame:
    """One pseudo patient-level data set for an arm, from its printed summaries.

    Returns one row per patient with columns ``time`` (float, the unit of the inputs,
    e.g. months) and ``event`` (1 = event, 0 = censored), sorted by time then event.
    ``landmarks`` maps time -> survival proportion (0-1); ``median`` may be ``math.inf`` or
    ``"NR"`` (not reached); ``median_ci`` is (low, high) with high None or inf for "not
    reached"; ``max_followup`` is the longest follow-up the study window allows; ``alive`` the
    patients printed as alive and still followed at the data cut-off; any input but
    ``n`` may be None.  Without ``seed``: the central reconstruction; with it: one random draw
    (``vary``: see :func:`draw`).  Inconsistent inputs raise ValueError naming the input.
    """
    inp = validate(
        n, events, median, median_ci, landmarks, followup_median, followup_range, max_followup, alive
    )
    if vary not in VARY:
        raise ValueError(f"unknown vary {vary!r}; expected one of {VARY}")
    if seed is None:
        return _frame(*_arrays(inp, central(inp), None, False))
    rng = np.random.default_rng(count(seed, "seed"))
    return _frame(*_arrays(inp, draw(inp, rng, vary), rng, vary != "none"))


# --------------------------------------------------------------------------
# replicates


def _arm_inputs(name: str, spec: object) -> Inputs:
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
        return validate(*(spec.get(k) for k in ARM_KEYS))
    except ValueError as exc:
        raise ValueError(f"arm {name!r}: {exc}") from exc


def replicates(
    arms: dict[str, dict],
    n_rep: int = 1000,
    seed: int = 0,
    jitter: str | None = "all",
    progress: bool = False,
) -> pd.DataFrame:
    """Reconstruct two arms ``n_rep`` times and compare them in every replicate.

    ``arms`` maps each arm's name to its :func:`reconstruct_arm` arguments (without
    ``seed``); the first arm is compared with the second.  Every replicate is one random
    draw per arm (``jitter``: what it varies, see :func:`draw`; None = "none").  Returns one
    row per replicate: the medians used (``median_input_<arm>``) and reconstructed
    (``median_<arm>``), the censoring level drawn (``censoring_<arm>``, one per replicate shared
    by the arms; used only when neither events nor follow-up are printed), the Cox hazard ratio
    of the first arm vs the second (``hr``, ``log_hr``, ``se_log_hr``) and the p-values of the
    log-rank, Gehan-Breslow generalised Wilcoxon and Tarone-Ware tests.  ``progress`` shows a bar on stderr.
    """
    if not isinstance(arms, Mapping) or len(arms) != 2:
        raise ValueError(f"arms must be a dict with exactly two arms, got {arms!r}")
    n_rep = count(n_rep, "n_rep")
    if n_rep < 1:
        raise ValueError(f"n_rep must be at least 1, got {n_rep}")
    vary = "none" if jitter is None else jitter
    if vary not in VARY:
        raise ValueError(f"unknown jitter {jitter!r}; expected one of {VARY} or None")
    names = list(arms)
    inputs = [_arm_inputs(name, arms[name]) for name in names]
    seeds = np.random.SeedSequence(seed).spawn(n_rep * 2)
    times = np.empty((n_rep, inputs[0].n + inputs[1].n))
    events = np.empty_like(times, dtype=int)
    used = np.empty((n_rep, 2))
    level = np.empty((n_rep, 2))
    n0 = inputs[0].n
    from tqdm import tqdm

    # one censoring level per replicate, shared by the arms: censoring in a study is mostly
    # administrative (common accrual and cut-off), so where it is not printed the arms move together
    shared = np.random.default_rng(np.random.SeedSequence(seed).spawn(n_rep * 2 + 1)[-1]).random(n_rep)
    for r in tqdm(range(n_rep), desc="replicates", unit="rep", disable=not progress, file=sys.stderr):
        for k, inp in enumerate(inputs):
            rng = np.random.default_rng(seeds[2 * r + k])
            dr = draw(inp, rng, vary)
            if vary != "none":
                dr = replace(dr, censoring=float(shared[r]))
            used[r, k] = math.nan if dr.median is None else dr.median
            level[r, k] = dr.censoring
            cols = slice(0, n0) if k == 0 else slice(n0, None)
            times[r, cols], events[r, cols] = _arrays(inp, dr, rng, vary != "none")
    group = np.concatenate([np.ones(inputs[0].n), np.zeros(inputs[1].n)])
    cox = cox_batch(times, events, group)
    out = {"replicate": np.arange(n_rep)}
    for k, name in enumerate(names):
        out[f"median_input_{name}"] = used[:, k]
    out[f"median_{names[0]}"] = km_median_batch(times[:, :n0], events[:, :n0])
    out[f"median_{names[1]}"] = km_median_batch(times[:, n0:], events[:, n0:])
    for k, name in enumerate(names):
        out[f"censoring_{name}"] = level[:, k]
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
