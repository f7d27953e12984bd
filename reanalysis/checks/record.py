"""The check record: one printed number against what the published data recompute.

Every check family returns :class:`Check` objects; :func:`to_frame` turns them into the one
tidy table the chapters, the audit and the CLI read. Pages format from the structured fields
(``tests_reproducing``, ``test_chosen``, ``footnote``, intervals), never by parsing ``reason``
or ``method`` back: those two are prose for readers, free to be reworded.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, fields
from enum import StrEnum

import pandas as pd


class Status(StrEnum):
    """What a check found (a ``str``: frames hold the plain value)."""

    REPRODUCED = "reproduced"
    COMPATIBLE = "compatible (uninformative)"  # agrees, but the check could not have failed
    INCONSISTENT = "inconsistent"
    NOT_RECOMPUTABLE = "not recomputable"


class Severity(StrEnum):
    """How bad an inconsistency is (graded by :mod:`reanalysis.checks.severity`)."""

    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


STATUSES = tuple(s.value for s in Status)
SEVERITIES = tuple(s.value for s in Severity)


@dataclass(frozen=True)
class Check:
    """One printed number (or claim) and what the printed data make of it.

    ``printed``/``recomputed``/``method``/``reason`` are display text. The structured fields
    are what code reads: which tests were tried, which reproduce the printed value, which the
    rule chose and the rule's reason in a form shared across rows (``footnote``); the interval
    the printed value stands for and the recomputed value or range.
    """

    study: str
    check: str  # the family: "percentage", "p-value", "hazard ratio", …
    key: str
    location: str
    quantity: str
    status: Status
    arm: str = ""
    statistic: str = ""  # which figure of the quantity is checked, where a row has several (p, median, pct)
    printed: str = ""
    recomputed: str = ""
    method: str = ""
    reason: str = ""
    test_named: str = ""
    tests_tried: tuple[str, ...] = ()
    tests_reproducing: tuple[str, ...] = ()
    test_chosen: str = ""
    footnote: str = ""  # the rule's reason for the test shown, without this row's numbers
    printed_lower: float | None = None
    printed_upper: float | None = None
    recomputed_value: float | None = None
    recomputed_lower: float | None = None
    recomputed_upper: float | None = None
    severity: Severity | None = None  # inconsistent rows only
    informative: bool | None = None  # could this check have failed? None: not assessed
    mislabelled: bool = False  # right under another denominator or row than the printed one
    printed_claims_effect: bool | None = None  # the printed estimate's CI excludes the null; None: not known

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "arm", self.arm or "")
        object.__setattr__(self, "test_named", "" if _missing(self.test_named) else str(self.test_named))


def _missing(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


# The columns the `checks` CSV has always had, in their order; the structured fields follow.
CHECK_COLUMNS = [
    "study",
    "check",
    "key",
    "location",
    "quantity",
    "arm",
    "printed",
    "recomputed",
    "method",
    "status",
    "reason",
    "test_named",
    "tests_reproducing",
]
FIELDS = [f.name for f in fields(Check)]
COLUMNS = CHECK_COLUMNS + [f for f in FIELDS if f not in CHECK_COLUMNS]
TUPLE_FIELDS = ("tests_tried", "tests_reproducing")


def to_frame(checks: Iterable[Check]) -> pd.DataFrame:
    """The checks as one table, a row each, in the given order.

    ``status`` and ``severity`` hold plain strings (compare with :class:`Status` members);
    ``tests_tried``/``tests_reproducing`` hold tuples (test with ``in``, never by substring).
    """
    return rows_frame(frame_row(c) for c in checks)


def frame_row(check: Check) -> dict[str, object]:
    """One record as a row of :func:`to_frame`'s table."""
    row = {f: getattr(check, f) for f in FIELDS}
    row["status"] = check.status.value
    row["severity"] = check.severity.value if check.severity else ""
    return row


def rows_frame(rows: Iterable[dict[str, object]]) -> pd.DataFrame:
    """Rows as :func:`frame_row` makes them (from records, or read back from a study's results
    artefact: :func:`reanalysis.results.study_rows`) as one table, in the given order."""
    return pd.DataFrame(list(rows), columns=COLUMNS)


def flat(frame: pd.DataFrame) -> pd.DataFrame:
    """A check table for a CSV file: tuple fields joined with ``; ``, missing numbers empty."""
    out = frame.copy()
    for col in TUPLE_FIELDS:
        if col in out:
            out[col] = out[col].map("; ".join)
    return out


def status_counts(checks: pd.DataFrame) -> pd.DataFrame:
    """Checks × status counts, every status present as a column."""
    out = pd.crosstab(checks["check"], checks["status"]).reindex(columns=list(STATUSES), fill_value=0)
    out.loc["total"] = out.sum()
    return out.astype(int)


def fmt_p(p: float) -> str:
    """A p-value as journals print it: three decimals, ``< 0.001`` below that."""
    if p is None or math.isnan(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"
