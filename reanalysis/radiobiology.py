"""Linear-quadratic dose conversions: BED and EQD2, and whether a printed BED range fits.

BED = n·d·(1 + d/(α/β)) for n fractions of d Gy; EQD2 = BED / (1 + 2/(α/β))
(Fowler, Br J Radiol 1989; Joiner & van der Kogel, Basic Clinical Radiobiology).
"""

from __future__ import annotations

from dataclasses import dataclass


def _check(total_dose: float, fractions: float, alpha_beta: float) -> None:
    if total_dose <= 0 or fractions <= 0:
        raise ValueError(f"dose and fractions must be positive (got {total_dose} Gy in {fractions})")
    if alpha_beta <= 0:
        raise ValueError(f"alpha/beta must be positive (got {alpha_beta})")


def bed(total_dose: float, fractions: float, alpha_beta: float = 10.0) -> float:
    """Biologically effective dose (Gy) of ``total_dose`` Gy in ``fractions`` equal fractions."""
    _check(total_dose, fractions, alpha_beta)
    return float(total_dose * (1 + total_dose / fractions / alpha_beta))


def eqd2(total_dose: float, fractions: float, alpha_beta: float = 10.0) -> float:
    """Equivalent dose in 2-Gy fractions (Gy)."""
    return float(bed(total_dose, fractions, alpha_beta) / (1 + 2 / alpha_beta))


@dataclass(frozen=True)
class BedRange:
    """The BED range a box of total doses × fraction numbers can produce."""

    lowest: float  # smallest dose in the most fractions
    highest: float  # largest dose in the fewest fractions

    def contains(self, lo: float, hi: float, tolerance: float = 0.05) -> bool:
        return self.lowest - tolerance <= lo and hi <= self.highest + tolerance


def attainable_bed(
    dose_range: tuple[float, float], fraction_range: tuple[float, float], alpha_beta: float = 10.0
) -> BedRange:
    """BED rises with dose and falls with the number of fractions, so its extremes sit at
    (lowest dose, most fractions) and (highest dose, fewest fractions)."""
    (d_lo, d_hi), (n_lo, n_hi) = dose_range, fraction_range
    if d_lo > d_hi or n_lo > n_hi:
        raise ValueError("ranges must be given as (low, high)")
    return BedRange(bed(d_lo, n_hi, alpha_beta), bed(d_hi, n_lo, alpha_beta))
