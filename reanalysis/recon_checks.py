"""A study's check records: every check of the printed data plus the survival reconstruction's.

The survival reconstruction (:mod:`reanalysis.pseudo`) judges printed medians, landmark rates,
hazard ratios and whole-curve p-values against pseudo patient-level data; here its rows become
:class:`~reanalysis.checks.Check` records (families ``reconstructed median``, ``reconstructed
landmark``, ``reconstructed HR``, ``reconstructed p``) graded by the same severity rules as every
other check, so a study chapter, its summary of findings, the overview and the audit count the
same records. :func:`study_records` is the one entry point per study (the place to cache).

This module sits between the checks and the artefacts: it imports :mod:`reanalysis.checks` and
:mod:`reanalysis.pseudo`; neither imports it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from . import pseudo
from .checks import Check, CheckOptions, Status, check_records, fmt_p, to_frame
from .checks.severity import grade
from .data import Study
from .errors import ParameterError
from .params import DEFAULT_CRITERION, STUDY_PARAMS

# Check families of the reconstruction's rows, by what a row compares.
FAMILY = {
    pseudo.ReconKind.MEDIAN: "reconstructed median",
    pseudo.ReconKind.LANDMARK: "reconstructed landmark",
    pseudo.ReconKind.HR: "reconstructed HR",
    pseudo.ReconKind.P: "reconstructed p",
}
# The `statistic` a row judges: "p" and "hr" mark a between-arm comparison for the findings.
_STATISTIC = {
    pseudo.ReconKind.MEDIAN: "median",
    pseudo.ReconKind.LANDMARK: "rate",
    pseudo.ReconKind.HR: "hr",
    pseudo.ReconKind.P: "p",
}
# The data tables whose printed rows a reconstruction row may point at (for their location).
_LOCATED_IN = ("survival", "hazard_ratios", "pvalues")


@dataclass(frozen=True)
class StudyOptions:
    """Everything that changes a study's records: the checks' options and the reconstruction's
    (criterion of the PFS shown, replicates and seed, the test comparing the arms). Defaults
    are the chapters' (:mod:`reanalysis.params`), so the audit and the chapters agree."""

    checks: CheckOptions = field(default_factory=CheckOptions)
    criterion: str = DEFAULT_CRITERION
    n_replicates: int = STUDY_PARAMS["n_replicates"].default
    seed: int = STUDY_PARAMS["seed"].default
    weighting: str = STUDY_PARAMS["weighting"].default

    def for_study(self, study: Study) -> StudyOptions:
        """These options with the criterion named as ``study`` names it (:func:`criterion_of`):
        the same records under one key, whether a chapter or the audit asks."""
        return replace(self, criterion=criterion_of(study, self.criterion) or self.criterion)

    @classmethod
    def from_params(cls, values: Mapping[str, Any]) -> StudyOptions:
        """From validated chapter parameters (:func:`reanalysis.params.validate`)."""
        return cls(
            CheckOptions(values["test_rule"], values["alpha"], values["alpha_beta"]),
            values["criterion"],
            values["n_replicates"],
            values["seed"],
            values["weighting"],
        )


@dataclass(frozen=True)
class Reconstruction:
    """One reconstructed endpoint: its inputs, the central pseudo-IPD and its verdict rows."""

    endpoint: pseudo.Endpoint
    ipd: pd.DataFrame
    rows: tuple[pseudo.ReconRow, ...]

    @property
    def table(self) -> pd.DataFrame:
        """Printed vs reconstructed, as a chapter shows it."""
        return pseudo.rows_frame(list(self.rows))


@dataclass(frozen=True)
class StudyResult:
    """A study's graded records, and the reconstructions behind their survival rows."""

    records: tuple[Check, ...]
    reconstructions: tuple[Reconstruction, ...]
    skipped: tuple[str, ...]  # printed summaries too thin to reconstruct, and why


def weighting(study: Study, choice: str) -> str:
    """The test comparing reconstructed arms: ``choice``, or for ``auto`` the paper's own
    (Breslow/Wilcoxon when its methods name one, else log-rank)."""
    if choice != "auto":
        return choice
    named = str((study.meta.get("tests_named") or {}).get("survival", "")).lower()
    return "wilcoxon" if ("breslow" in named or "wilcoxon" in named) else "logrank"


def criterion_of(study: Study, criterion: str) -> str | None:
    """The study's name for ``criterion``, or (for the audit and overview, which show every
    study with one criterion) the first the study reports when it does not report that one."""
    try:
        return study.resolve_criterion(criterion)
    except ParameterError:
        return study.criteria[0] if study.criteria else None


def reconstruct(
    study: Study, checks: pd.DataFrame, options: StudyOptions
) -> tuple[list[Reconstruction], list[str]]:
    """Every reconstructable endpoint of ``study`` compared with what was printed (central
    reconstruction; ``options.n_replicates`` replicates from ``options.seed``), and notes on
    printed summaries too thin to reconstruct. ``checks``: the study's checks (an event count
    whose percentage failed is not used)."""
    criterion = criterion_of(study, options.criterion)
    test = weighting(study, options.weighting)
    eps, skipped = pseudo.endpoints(study, criterion)
    done = []
    for name, subgroup in eps:
        ep = pseudo.endpoint_inputs(study, name, criterion, checks, subgroup)
        ipd = pseudo.reconstruct_endpoint(ep)  # the central reconstruction: the point estimate
        rows, _ = pseudo.compare_rows(
            study, ep, ipd, options.n_replicates, options.seed, test, options.checks.alpha
        )
        done.append(Reconstruction(ep, ipd, tuple(rows)))
    return done, skipped


def _locations(study: Study) -> dict[str, str]:
    out: dict[str, str] = {}
    for table in _LOCATED_IN:
        for key, loc in zip(study[table]["key"], study[table]["location"], strict=True):
            out.setdefault(str(key), str(loc))
    return out


def _number(kind: pseudo.ReconKind, x: float) -> str:
    if math.isinf(x):
        return "NR"  # a median the reconstructed curve never reaches, as the papers print it
    if kind == pseudo.ReconKind.P:
        return fmt_p(x)
    return f"{x:.1f}%" if kind == pseudo.ReconKind.LANDMARK else f"{x:.2f}"


def records(study: Study, recons: list[Reconstruction], options: StudyOptions) -> list[Check]:
    """The reconstruction's rows of printed values as (ungraded) check records; rows with
    nothing printed (no HR or p for the comparison) are left out: they check no printed number."""
    where = _locations(study)
    central = "central reconstruction from the printed summaries"
    spread = f"{central}; 2.5–97.5% range of {options.n_replicates} replicates (seed {options.seed})"
    out = []
    for rec in recons:
        for r in rec.rows:
            if not r.printed:
                continue
            recomputed = _number(r.kind, r.central)
            if r.lower is not None and r.upper is not None:
                recomputed += f"; {r.spread}"
            out.append(
                Check(
                    study=study.id,
                    check=FAMILY[r.kind],
                    key=r.key,
                    location=where.get(r.key, ""),
                    quantity=f"{r.endpoint} {r.quantity}, reconstructed",
                    status=r.status,
                    arm=r.arm,
                    statistic=_STATISTIC[r.kind],
                    printed=r.printed,
                    recomputed=recomputed,
                    method=spread if r.lower is not None else central,
                    reason=r.reason,
                    printed_lower=r.printed_lower,
                    printed_upper=r.printed_upper,
                    recomputed_value=None if math.isinf(r.central) else r.central,
                    recomputed_lower=r.lower,
                    recomputed_upper=r.upper,
                    printed_claims_effect=r.printed_significant,
                )
            )
    return out


def merge(checks: list[Check], recon: list[Check]) -> list[Check]:
    """The checks, less the "not recomputable" rows of printed p-values the reconstruction now
    judges (one verdict per printed number), then the reconstruction's records."""
    judged = {c.key for c in recon if c.check == FAMILY[pseudo.ReconKind.P]}
    kept = [
        c
        for c in checks
        if not (c.check == "p-value" and c.status == Status.NOT_RECOMPUTABLE and c.key in judged)
    ]
    return kept + recon


def study_result(study: Study, options: StudyOptions | None = None) -> StudyResult:
    """A study's graded records and the reconstructions behind them (deterministic)."""
    options = options or StudyOptions()
    checks = check_records(study, options.checks)
    recons, skipped = reconstruct(study, to_frame(checks), options)
    recon = grade(records(study, recons, options), options.checks.alpha)
    return StudyResult(tuple(merge(checks, recon)), tuple(recons), tuple(skipped))


def study_records(study: Study, options: StudyOptions | None = None) -> list[Check]:
    """Every check of ``study`` with the survival reconstruction's verdicts, graded."""
    return list(study_result(study, options).records)
