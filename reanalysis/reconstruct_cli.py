"""Command line of the survival reconstruction (``python -m reanalysis reconstruct``).

Kept apart from :mod:`reanalysis.reconstruct` so that building the argument parser imports
nothing heavy; the reconstruction itself is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import sys

from .errors import ParameterError, ReanalysisError
from .params import DEFAULT_CRITERION


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
    """Write one reconstructed arm as CSV (time,event) to stdout: the central reconstruction,
    one random draw (``--seed``), or ``--replicates K`` draws with a ``replicate`` column."""
    median = args.median
    nr = median is not None and median.strip().upper() in ("NR", "NOT REACHED")
    kwargs = {
        "events": _cli_number(args.events, "--events", whole=True),
        "median": "NR" if nr else _cli_number(median, "--median"),
        "median_ci": _cli_pair(args.median_ci, "--median-ci", allow_nr=True),
        "landmarks": _cli_landmarks(args.landmark),
        "followup_median": _cli_number(args.followup_median, "--followup-median"),
        "followup_range": _cli_pair(args.followup_range, "--followup-range"),
        "max_followup": _cli_number(args.max_followup, "--max-followup"),
        "alive": _cli_number(args.alive, "--alive", whole=True),
    }
    n = _cli_number(args.n, "--n", whole=True)
    seed = _cli_number(args.seed, "--seed", whole=True)
    if seed is not None and seed < 0:  # type: ignore[operator]
        raise ReanalysisError(f"--seed: expected a non-negative whole number, got {args.seed!r}")
    k = _cli_number(args.replicates, "--replicates", whole=True)
    if k is not None and k < 1:  # type: ignore[operator]
        raise ReanalysisError(f"--replicates: expected at least 1, got {args.replicates!r}")
    try:
        import numpy as np
        import pandas as pd

        from .reconstruct import reconstruct_arm

        if k is None:
            df = reconstruct_arm(n, **kwargs, seed=seed)  # type: ignore[arg-type]
        else:
            seeds = np.random.SeedSequence(seed or 0).generate_state(k)
            df = pd.concat(
                [
                    reconstruct_arm(n, **kwargs, seed=int(s)).assign(replicate=r)  # type: ignore[arg-type]
                    for r, s in enumerate(seeds)
                ],
                ignore_index=True,
            )[["replicate", "time", "event"]]
    except ValueError as exc:
        raise ReanalysisError(f"reconstruct: {exc}") from exc
    df.to_csv(sys.stdout, index=False, lineterminator="\n", float_format="%.4f")


def cmd_replicates(args: argparse.Namespace) -> None:
    """Draw reconstruction replicates of one printed two-arm endpoint; CSV of HR and p per replicate."""
    from . import pseudo
    from .checks import run_checks
    from .data import load_study
    from .reconstruct import replicates

    n_rep = _cli_number(args.n_replicates, "--n-replicates", whole=True)
    seed = _cli_number(args.seed, "--seed", whole=True)
    if n_rep < 1 or seed < 0:  # type: ignore[operator]
        raise ReanalysisError("--n-replicates must be at least 1 and --seed non-negative")
    study = load_study(args.study)
    try:
        criterion = study.resolve_criterion(args.criterion, parameter="--criterion")
    except ParameterError as exc:
        raise ParameterError(f"replicates: {exc}") from None
    eps, _ = pseudo.endpoints(study, criterion)
    known = [name if sub is None else f"{name}:{sub}" for name, sub in eps]
    if args.endpoint not in known:
        raise ReanalysisError(
            f"replicates: study '{args.study}' has no reconstructable endpoint '{args.endpoint}' "
            f"(known: {', '.join(known) or 'none'})"
        )
    name, _, sub = args.endpoint.partition(":")
    ep = pseudo.endpoint_inputs(study, name, criterion, run_checks(study), sub or None)
    if len(ep.inputs) != 2:
        raise ReanalysisError(f"replicates: '{args.endpoint}' of '{args.study}' has no two arms to compare")
    reps = replicates(dict(ep.inputs), n_rep=n_rep, seed=seed, progress=sys.stderr.isatty() or args.progress)
    reps.to_csv(sys.stdout, index=False, lineterminator="\n", float_format="%.6g")


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
    p.add_argument("--median", metavar="M", help="median survival (NR: not reached)")
    p.add_argument(
        "--median-ci",
        metavar="LO:HI",
        help="95%% CI of the median (HI may be NR); checked only: one that does not contain "
        "--median is refused; a reconstruction keeps the printed median (draws vary it within "
        "its rounding)",
    )
    p.add_argument(
        "--landmark",
        action="append",
        default=[],
        metavar="T:S",
        help="survival proportion S at time T (repeatable)",
    )
    p.add_argument("--followup-median", metavar="F", help="median follow-up (reverse Kaplan-Meier)")
    p.add_argument("--followup-range", metavar="LO:HI", help="range of follow-up; no time is placed past HI")
    p.add_argument(
        "--max-followup",
        metavar="T",
        help="longest follow-up the study window allows (accrual start to data cut-off); no time past it",
    )
    p.add_argument(
        "--alive",
        metavar="K",
        help="patients alive and still followed at the data cut-off (e.g. 'nine still under "
        "follow-up'): censored; without --events it narrows the unknown censoring",
    )
    p.add_argument(
        "--seed",
        default=None,
        help="one random draw of what the printed numbers leave open (default: the central, "
        "deterministic reconstruction); with --replicates, the seed of the draws",
    )
    p.add_argument("--replicates", metavar="K", help="K random draws, with a replicate column")
    p.set_defaults(func=cmd_reconstruct)

    r = subparsers.add_parser(
        "replicates",
        help="reconstruction replicates of a study's two-arm endpoint: HR and p per replicate (CSV)",
        description="Reconstruct both arms of a printed endpoint many times (seeds and medians "
        "drawn within their printed CIs) and compare them in each replicate; shows progress on a "
        "terminal.",
    )
    r.add_argument("study")
    r.add_argument("endpoint", help="e.g. OS, PFS, or 'PFS:PSM-matched cohort' for a subgroup")
    r.add_argument(
        "--criterion",
        default=DEFAULT_CRITERION,
        help=f"response criterion of PFS, one the study reports (default {DEFAULT_CRITERION})",
    )
    r.add_argument("--n-replicates", default="1000", help="number of replicates (default 1000)")
    r.add_argument("--seed", default="0", help="random seed (default 0)")
    r.add_argument("--progress", action="store_true", help="show the progress bar even when not a terminal")
    r.set_defaults(func=cmd_replicates)
