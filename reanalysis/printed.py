"""Printed values as value objects: what a paper printed, with the precision it printed it at.

A printed number stands for every value that rounds to it (± half a unit of its last printed
digit); a printed p-value is a value or a bound (``< 0.001``). Every check asks these objects
for the interval a print stands for instead of recomputing "half a unit of the last digit" by
hand, and every p-value text goes through one of the two parsers here: :func:`parse_p` (a
cell holding only a p) and :func:`find_p` (a p inside free text, located by its value).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

__all__ = [
    "PrintedNumber",
    "PrintedP",
    "find_p",
    "p_agree",
    "parse_p",
    "parse_p_text",
    "same_number",
]

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# a printed p: "0.001", APA's ".001" (no leading zero), or scientific "1.2e-3" / "1.2E-03"
_P_NUMBER = r"(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?"
_P_CELL = re.compile(rf"^\s*(?:p\s*)?(?P<rel>[=<>])?\s*(?P<num>{_P_NUMBER})\s*$", re.IGNORECASE)
_P_TAIL = re.compile(rf"([<>])?\s*=?\s*(?<![\d.])({_P_NUMBER})\s*$")
_P_IN_TEXT = re.compile(r"([<>=≤≥])?\s*(\d*\.\d+|\d+)")
_BOUND_SIGNS = {"≤": "<", "≥": ">", None: "="}
_VALUE_TOL = 1e-9  # a token "is" a value when they agree to this (floats parsed from text)


def _half_unit(decimals: int) -> float:
    return 0.5 * 10**-decimals


@dataclass(frozen=True)
class PrintedNumber:
    """A number as printed: its value and the decimals it was printed with."""

    value: float
    decimals: int

    @classmethod
    def find(cls, text: object, value: float) -> PrintedNumber:
        """The precision ``value`` was printed with inside ``text`` (``"45 (57.70)"``, 57.7 → 2
        decimals); 0 decimals when no token of the text is that value."""
        for tok in _NUMBER.findall(str(text)):
            if abs(float(tok) - value) < _VALUE_TOL:
                return cls(value, len(tok.split(".")[1]) if "." in tok else 0)
        return cls(value, 0)

    @property
    def half_unit(self) -> float:
        return _half_unit(self.decimals)

    def interval(self, floor: float | None = 0.0) -> tuple[float, float]:
        """The values that print as this number (clipped below at ``floor``; None: no clip)."""
        lo = self.value - self.half_unit
        return (lo if floor is None else max(lo, floor), self.value + self.half_unit)


@dataclass(frozen=True)
class PrintedP:
    """A p-value as printed in a paper: relation, value and printed decimals."""

    relation: str  # "=", "<", ">"
    value: float
    decimals: int  # digits after the decimal point as printed

    @property
    def half_unit(self) -> float:
        return _half_unit(self.decimals)

    def interval(self) -> tuple[float, float]:
        """The p-values this print can stand for: its rounding interval, or the side of a bound."""
        if self.relation == "<":
            return 0.0, self.value
        if self.relation == ">":
            return self.value, 1.0
        return max(self.value - self.half_unit, 0.0), min(self.value + self.half_unit, 1.0)

    def overlaps(self, lo: float, hi: float) -> bool:
        """Could some p in [lo, hi] be printed as this?"""
        if self.relation == "<":
            return lo < self.value
        if self.relation == ">":
            return hi > self.value
        return lo <= self.value + self.half_unit and hi >= self.value - self.half_unit


def parse_p(text: str) -> PrintedP:
    """Parse a cell holding one printed p-value: "0.678", "< 0.001", "P = 0.017", "> 0.05".

    Keeps the number of printed decimals, which decides how precisely a recomputed p has to
    match.
    """
    m = _P_CELL.match(text) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"cannot parse printed p-value {text!r}")
    num = m.group("num")
    value = float(num)
    if value > 1:
        raise ValueError(f"printed p-value {text!r} is greater than 1")
    return PrintedP(relation=m.group("rel") or "=", value=value, decimals=_p_decimals(num))


def _p_decimals(num: str) -> int:
    """Decimal places of the last printed digit: "0.017" → 3, ".001" → 3, "1.2e-3" → 4."""
    mantissa, _, exponent = num.lower().partition("e")
    digits = len(mantissa.split(".", 1)[1]) if "." in mantissa else 0
    return max(digits - int(exponent or 0), 0)


def parse_p_text(text: str) -> PrintedP:
    """A p printed at the end of a label: ``p=0.058``, ``P = 0.017``, ``interaction p<0.05``."""
    m = _P_TAIL.search(str(text))
    return parse_p(f"{m.group(1) or ''}{m.group(2)}" if m else str(text))


def find_p(text: str, value: float) -> PrintedP:
    """Relation, value and precision of the p whose value is ``value`` inside free text
    (``all p>0.2``, ``P = 0.017``); a plain value when no such token carries a sign."""
    for m in _P_IN_TEXT.finditer(str(text)):
        if abs(float(m.group(2)) - value) < 1e-12:
            digits = m.group(2).split(".")
            return PrintedP(
                _BOUND_SIGNS.get(m.group(1), m.group(1)), value, len(digits[1]) if len(digits) > 1 else 0
            )
    return PrintedP("=", value, PrintedNumber.find(text, value).decimals)


def _round(x: float, d: int, mode: str) -> Decimal:
    return Decimal(repr(x)).quantize(Decimal(1).scaleb(-d), rounding=mode)


def same_number(a: float, da: int, b: float, db: int) -> bool:
    """Equal once the more precise one is rounded to the other's decimals (half-up or half-even)."""
    d = min(da, db)
    return any(_round(a, d, m) == _round(b, d, m) for m in (ROUND_HALF_UP, ROUND_HALF_EVEN))


def p_agree(r: PrintedP, q: PrintedP) -> bool:
    """Can two printed p's (each a value or a bound) describe the same p?"""
    if r.relation == "=" and q.relation == "=":
        return same_number(r.value, r.decimals, q.value, q.decimals)
    if r.relation == q.relation:
        return True  # two bounds on the same side never contradict each other
    if "=" in (r.relation, q.relation):
        # a printed value stands for the interval its rounding covers: "0.001" may be 0.00087
        exact, bound = (r, q) if r.relation == "=" else (q, r)
        if bound.relation == "<":
            return exact.value - exact.half_unit < bound.value
        return exact.value + exact.half_unit > bound.value
    low, high = (r, q) if r.relation == ">" else (q, r)  # p > low and p < high
    return low.value < high.value
