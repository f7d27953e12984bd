"""Printed vs recomputed: every check a study's aggregates allow, as typed records.

Each family (a module here) returns :class:`Check` records; :data:`REGISTRY` lists them in the
order the table shows them, and :func:`run_checks` runs every applicable family, then grades the
records (:mod:`.severity`). ``status`` is ``reproduced``, ``compatible (uninformative)`` (agrees,
but the check could not have failed), ``inconsistent`` (``reason`` says why, ``severity`` how bad)
or ``not recomputable`` (``reason`` says what is missing). A check calls a number inconsistent
only when no reading of the printed precision, rounding or a standard test explains it;
ambiguity goes into ``reason``.

Families: ``counts`` (percentages/GRIM, sums, denominators), ``pvalues`` (categorical and
continuous p, uncovered p), ``paired`` (McNemar range), ``survival`` (landmark p, hazard ratios,
subgroup interactions, identical summaries under two criteria), ``restatements``, ``treatment``
(BED/EQD2 against doses and stated schedules, adverse-event claims), ``text`` (itemised lists in
the text against their printed totals).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from ..data import Study
from . import counts, lookup, paired, pvalues, restatements, survival, text, treatment
from .lookup import COUNT_TABLES, contingency, count_for, denominator_of, quantity_labels
from .record import (
    CHECK_COLUMNS,
    COLUMNS,
    SEVERITIES,
    STATUSES,
    Check,
    Severity,
    Status,
    flat,
    fmt_p,
    frame_row,
    rows_frame,
    status_counts,
    to_frame,
)
from .severity import grade

__all__ = [
    "CHECK_COLUMNS",
    "COLUMNS",
    "COUNT_TABLES",
    "REGISTRY",
    "SEVERITIES",
    "STATUSES",
    "Check",
    "CheckOptions",
    "Family",
    "Severity",
    "Status",
    "check_records",
    "contingency",
    "count_for",
    "denominator_of",
    "flat",
    "fmt_p",
    "frame_row",
    "quantity_labels",
    "rows_frame",
    "run_checks",
    "status_counts",
    "to_frame",
]


@dataclass(frozen=True)
class CheckOptions:
    """The parameters that change what a check concludes."""

    test_rule: str = "gtsummary"  # which test a recomputed categorical p shows (stats.RULES)
    alpha: float = 0.05  # significance level where a verdict depends on significance
    alpha_beta: float = 10.0  # α/β (Gy) of the LQ model for BED checks


@dataclass(frozen=True)
class Family:
    """One family of checks: ``run(study, options, earlier)`` → records."""

    name: str
    run: Callable[[Study, CheckOptions, Sequence[Check]], list[Check]]
    two_arm_only: bool = False  # needs a between-arm comparison


REGISTRY: tuple[Family, ...] = (
    Family("percentages", lambda s, o, e: counts.percentage_checks(s)),
    Family("categorical p", lambda s, o, e: pvalues.categorical_p_checks(s, o.test_rule), two_arm_only=True),
    Family("continuous p", lambda s, o, e: pvalues.continuous_p_checks(s), two_arm_only=True),
    Family("landmark p", lambda s, o, e: survival.landmark_p_checks(s), two_arm_only=True),
    Family("paired p", lambda s, o, e: paired.paired_p_checks(s)),
    Family("interaction p", lambda s, o, e: survival.interaction_checks(s, o.alpha)),
    Family("uncovered p", lambda s, o, e: pvalues.uncovered_p_checks(s, e)),
    Family("sums", lambda s, o, e: counts.sum_checks(s)),
    Family("denominators", lambda s, o, e: counts.denominator_checks(s)),
    Family("restatements", lambda s, o, e: restatements.restatement_checks(s)),
    Family("text sums", lambda s, o, e: text.text_sum_checks(s)),
    Family("hazard ratios", lambda s, o, e: survival.hazard_ratio_checks(s, o.alpha)),
    Family("duplicate summaries", lambda s, o, e: survival.duplicate_criteria_checks(s)),
    Family("BED ranges", lambda s, o, e: treatment.bed_checks(s, o.alpha_beta)),
    Family("AE claims", lambda s, o, e: treatment.ae_claim_checks(s)),
)


def check_records(study: Study, options: CheckOptions | None = None) -> list[Check]:
    """Every applicable family's records, in registry order then source order, graded
    (severity on inconsistent rows; reproductions that could not have failed are compatible)."""
    options = options or CheckOptions()
    records: list[Check] = []
    with lookup.indexed(study):  # rows by key and labels worked out once for every family
        for family in REGISTRY:
            if family.two_arm_only and not study.is_two_arm:
                continue
            records += family.run(study, options, records)
    return grade(records, options.alpha)


def run_checks(
    study: Study, test_rule: str = "gtsummary", alpha: float = 0.05, alpha_beta: float = 10.0
) -> pd.DataFrame:
    """All checks of one study as one table (:func:`to_frame` of :func:`check_records`)."""
    return to_frame(check_records(study, CheckOptions(test_rule, alpha, alpha_beta)))
