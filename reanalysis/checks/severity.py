"""How bad an inconsistency is, and whether a reproduced value could have failed to reproduce.

Severity is graded by rules kept as data (``reanalysis/rules/severity.csv``, shown on the
methods page): each rule names a check family (``*``: any), a condition and a severity, and the
first rule whose family and condition match an inconsistent row decides. The conditions are the
named predicates below, computed from the check's structured fields, never from its prose.

A reproduced value is *informative* only if the check could have failed in the way that matters:
a compatible range that straddles the significance level (or an HR of 1) cannot tell a
significant result from a null one, so such a row is ``compatible (uninformative)``.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

from .record import Check, Severity, Status

RULES_FILE = Path(__file__).resolve().parent.parent / "rules" / "severity.csv"
# Families whose printed value is a p-value (recomputed values and ranges are p-values too).
P_FAMILIES = ("p-value", "landmark p", "paired p", "interaction p", "hazard ratio", "reconstructed p")
# Families whose compatible range is a hazard ratio (the threshold that matters is HR = 1).
HR_FAMILIES = ("reconstructed HR",)


@dataclasses.dataclass(frozen=True)
class Rule:
    check: str  # a family, or "*"
    condition: str  # a name in CONDITIONS, or "*"
    severity: Severity
    meaning: str


@cache
def rules() -> tuple[Rule, ...]:
    """The severity rules, in the order they are tried."""
    with RULES_FILE.open(encoding="utf-8", newline="") as fh:
        out = tuple(
            Rule(r["check"], r["condition"], Severity(r["severity"]), r["meaning"])
            for r in csv.DictReader(fh)
        )
    unknown = {r.condition for r in out} - set(CONDITIONS) - {"*"}
    if unknown:
        raise ValueError(f"{RULES_FILE.name}: unknown condition {sorted(unknown)[0]!r}")
    return out


def _side(x: float, alpha: float) -> bool:
    return x < alpha


def crosses_alpha(c: Check, alpha: float) -> bool:
    """The printed p and what the data allow sit on different sides of ``alpha``."""
    if c.check not in P_FAMILIES or c.printed_lower is None:
        return False
    printed_sig = c.printed_upper is not None and c.printed_upper <= alpha
    printed_null = c.printed_lower >= alpha
    lo = c.recomputed_lower if c.recomputed_lower is not None else c.recomputed_value
    hi = c.recomputed_upper if c.recomputed_upper is not None else c.recomputed_value
    if lo is None or hi is None:
        return False
    return (printed_sig and lo >= alpha) or (printed_null and hi < alpha)


def last_digit(c: Check, alpha: float) -> bool:
    """The recomputed value lies within one unit of the printed value's last digit."""
    if c.check in P_FAMILIES or None in (c.printed_lower, c.printed_upper, c.recomputed_value):
        return False
    unit = c.printed_upper - c.printed_lower  # the rounding interval is one unit wide
    return c.printed_lower - unit <= c.recomputed_value <= c.printed_upper + unit


def effect_flips(c: Check, alpha: float) -> bool:
    """A printed hazard ratio whose CI claims an effect (excludes 1), while the whole range the
    data allow lies on the other side of 1: the direction of the claimed effect is reversed."""
    if c.check not in HR_FAMILIES or not c.printed_claims_effect:
        return False
    if None in (c.printed_lower, c.printed_upper, c.recomputed_lower, c.recomputed_upper):
        return False
    return (c.printed_upper < 1 <= c.recomputed_lower) or (c.printed_lower > 1 >= c.recomputed_upper)


def mislabelled(c: Check, alpha: float) -> bool:
    """The family found a reading under which the number is right (set by the family)."""
    return c.mislabelled


CONDITIONS: dict[str, Callable[[Check, float], bool]] = {
    "crosses_alpha": crosses_alpha,
    "effect_flips": effect_flips,
    "last_digit": last_digit,
    "mislabelled": mislabelled,
}


def severity_of(c: Check, alpha: float = 0.05) -> tuple[Severity, str]:
    """The first matching rule's severity and meaning for an inconsistent check."""
    for rule in rules():
        if rule.check not in ("*", c.check):
            continue
        if rule.condition == "*" or CONDITIONS[rule.condition](c, alpha):
            return rule.severity, rule.meaning
    raise ValueError(f"{RULES_FILE.name} has no catch-all rule")  # pragma: no cover - the file has one


def could_fail(c: Check, alpha: float = 0.05) -> bool:
    """Could this reproduced check have failed in the way that matters?

    False when its compatible range straddles the threshold a reader decides on (alpha for a
    p, 1 for an HR), or when the family said so (e.g. GRIM at a granularity finer than the
    printed precision).
    """
    if c.informative is False:
        return False
    lo, hi = c.recomputed_lower, c.recomputed_upper
    if lo is None or hi is None:
        return True
    if c.check in HR_FAMILIES:
        return not (lo < 1 < hi)
    if c.check in P_FAMILIES:
        return not (lo < alpha <= hi)
    return True


def grade(checks: Iterable[Check], alpha: float = 0.05) -> list[Check]:
    """Severity on every inconsistent row; uninformative reproductions become ``compatible``."""
    out = []
    for c in checks:
        if c.status == Status.INCONSISTENT:
            severity, _ = severity_of(c, alpha)
            c = dataclasses.replace(c, severity=severity, informative=True)
        elif c.status == Status.REPRODUCED:
            informative = could_fail(c, alpha)
            c = dataclasses.replace(
                c, informative=informative, status=Status.REPRODUCED if informative else Status.COMPATIBLE
            )
        out.append(c)
    return out
