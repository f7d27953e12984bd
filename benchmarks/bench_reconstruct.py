"""Wall-time benchmark of survival reconstruction replicates (a script, not a timed test).

Two arms like those of the HCC studies (37 and 41 patients) are reconstructed ``--n-rep``
times; the Cox hazard ratio and the log-rank, Gehan-Breslow-Wilcoxon and Tarone-Ware tests
are then computed for every replicate with the batched code of ``reanalysis.survival``, and,
for comparison, with lifelines in a Python loop over the first ``--loop-rep`` replicates
(scaled up linearly to ``--n-rep``).  Prints a markdown table.  Run:
``.venv/bin/python benchmarks/bench_reconstruct.py`` (defaults: 1000 and 100 replicates).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from reanalysis.reconstruct import _arm_inputs, _arrays, draw
from reanalysis.survival import cox_batch, logrank_batch

ARMS = {
    "RT+ICI": {
        "n": 37,
        "events": 18,
        "median": 17.4,
        "median_ci": (10.3, None),
        "landmarks": {3: 0.973, 6: 0.919, 12: 0.522},
        "followup_median": 13.4,
    },
    "ICI": {"n": 41, "events": 30, "median": 8.1, "median_ci": (6.2, 10.5), "landmarks": {6: 0.7, 12: 0.3}},
}


def reconstruct(n_rep: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The replicate data sets (times, events) and the arm labels, as ``replicates`` builds them
    (random draws of everything the printed numbers leave open)."""
    inputs = [_arm_inputs(name, spec) for name, spec in ARMS.items()]
    seeds = np.random.SeedSequence(seed).spawn(2 * n_rep)
    n0 = inputs[0].n
    times = np.empty((n_rep, n0 + inputs[1].n))
    events = np.empty_like(times, dtype=int)
    for r in range(n_rep):
        for k, inp in enumerate(inputs):
            cols = slice(0, n0) if k == 0 else slice(n0, None)
            rng = np.random.default_rng(seeds[2 * r + k])
            times[r, cols], events[r, cols] = _arrays(inp, draw(inp, rng), rng, True)
    group = np.r_[np.ones(n0), np.zeros(inputs[1].n)]
    return times, events, group


def batched(times: np.ndarray, events: np.ndarray, group: np.ndarray) -> None:
    cox_batch(times, events, group)
    for weighting in ("logrank", "wilcoxon", "tarone-ware"):
        logrank_batch(times, events, group, weighting)


def lifelines_loop(times: np.ndarray, events: np.ndarray, group: np.ndarray) -> None:
    from lifelines import CoxPHFitter
    from lifelines.statistics import logrank_test

    m = group == 1
    for t, e in zip(times, events, strict=True):
        CoxPHFitter().fit(pd.DataFrame({"t": t, "e": e, "g": group}), "t", "e")
        for weighting in (None, "wilcoxon", "tarone-ware"):
            logrank_test(t[m], t[~m], e[m], e[~m], weightings=weighting)


def timed(fun, *args) -> float:
    start = time.perf_counter()
    fun(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-rep", type=int, default=1000)
    parser.add_argument("--loop-rep", type=int, default=100)
    args = parser.parse_args()
    n_rep, loop_rep = args.n_rep, min(args.loop_rep, args.n_rep)

    t_rec = time.perf_counter()
    times, events, group = reconstruct(n_rep)
    t_rec = time.perf_counter() - t_rec
    batched(times[:2], events[:2], group)  # warm-up (imports, first-call overheads)
    t_batch = timed(batched, times, events, group)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lifelines_loop(times[:1], events[:1], group)  # warm-up
        t_loop = timed(lifelines_loop, times[:loop_rep], events[:loop_rep], group) * n_rep / loop_rep

    n = times.shape[1]
    print(f"{n_rep} replicates of {n} patients (two arms)\n")
    print("| step | time for all replicates (s) | per replicate (ms) |\n|---|---|---|")
    print(f"| reconstruction of both arms | {t_rec:.2f} | {1000 * t_rec / n_rep:.2f} |")
    print(f"| Cox HR + 3 log-rank tests, batched | {t_batch:.3f} | {1000 * t_batch / n_rep:.3f} |")
    print(
        f"| Cox HR + 3 log-rank tests, lifelines loop ({loop_rep} timed, scaled) | {t_loop:.1f} | "
        f"{1000 * t_loop / n_rep:.1f} |"
    )
    print(f"\nbatched statistics are {t_loop / t_batch:.0f}x faster than the lifelines loop")


if __name__ == "__main__":
    main()
