"""Numbers in running text: spelled-out cardinals and the terms of an itemised sum.

Papers print counts in words as often as in digits ("seven patients", "Forty-three (39.8%)",
"one received radiofrequency ablation"). :func:`spelled_numbers` reads them, so that a value
extracted from such a print can be validated against it like a digit. :func:`split_terms` and
:func:`number_term` read the ``total`` and ``items`` cells of ``text_sums.csv``
(``data/README.md``): each term is a key of a count, ``N`` (the arm's size) or a number.
"""

from __future__ import annotations

import re

__all__ = ["ARM_N", "TERM_SEP", "number_term", "spelled_numbers", "split_terms"]

_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_VALUE = {w: i for i, w in enumerate(_UNITS)} | {w: 20 + 10 * i for i, w in enumerate(_TENS)}
_ONES = "|".join(_UNITS[1:10])
_BELOW_100 = (
    rf"(?:(?:{'|'.join(_TENS)})(?:[\s-]+(?:{_ONES}))?|{'|'.join(sorted(_UNITS, key=len, reverse=True))})"
)
_CARDINAL = re.compile(
    rf"\b(?:(?P<hundreds>{_ONES}|a)[\s-]+hundred(?:(?:[\s-]+and)?[\s-]+(?P<rest>{_BELOW_100}))?"
    rf"|(?P<plain>{_BELOW_100}))\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z]+")

TERM_SEP = ";"
ARM_N = "N"  # the term naming the arm's size (study.yml)
_NUMBER_TERM = re.compile(r"^\d+(?:\.\d+)?$")


def _below_100(text: str) -> int:
    return sum(_VALUE[w] for w in _WORD.findall(text.lower()))


def spelled_numbers(text: object) -> list[int]:
    """Every cardinal number written in words in ``text``, in order: ``"Forty-three (39.8%)"``
    → ``[43]``, ``"one hundred and five"`` → ``[105]``. Ordinals, fractions and words such as
    "both", "single" or "no" are not counts and are not read."""
    out = []
    for m in _CARDINAL.finditer(str(text)):
        if m.group("plain"):
            out.append(_below_100(m.group("plain")))
        else:
            h = m.group("hundreds").lower()
            out.append(
                100 * (1 if h == "a" else _VALUE[h]) + (_below_100(m.group("rest")) if m.group("rest") else 0)
            )
    return out


def split_terms(cell: object) -> tuple[str, ...]:
    """``"a.b; 2; N"`` → ``("a.b", "2", "N")``; an empty cell → ``()``."""
    if not isinstance(cell, str):
        return ()
    return tuple(t.strip() for t in cell.split(TERM_SEP) if t.strip())


def number_term(term: str) -> float | None:
    """The number a term is (``"16"`` → 16.0), or None when it is a key or ``N``."""
    return float(term) if _NUMBER_TERM.match(term) else None
