"""Itemised lists in the text against the total they add up to or are part of.

A paper often lists a total's parts in running text ("14 patients had received subsequent
therapy, including 1 …, 2 … and 4 …"; "of the seven patients …, six received RT"). Each row of
``text_sums.csv`` names the items and the total as terms (a key of a count, ``N`` or a number
as printed) and the relation the printed sum must satisfy: ``=`` (the items add up to the
total), ``<=`` (they are part of it) or ``>=`` (they cover it, e.g. sites of which each patient
has at least one).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from ..data import Study
from ..textnumbers import ARM_N, number_term, split_terms
from .counts import _total_n
from .lookup import count_for, quantity_labels
from .record import Check, Status

_RELATIONS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "=": (operator.eq, "="),
    "<=": (operator.le, "≤"),
    ">=": (operator.ge, "≥"),
}
# survival rows that count patients (the rest are times or rates)
_SURVIVAL_COUNTS = ("events", "alive", "lost", "censored", "n")
_MAX_LABELS = 4  # items named one by one in the quantity; longer lists are summarised


@dataclass(frozen=True)
class Term:
    """One term of a text sum, resolved: its value (None when the data print none) and label."""

    label: str
    value: int | None
    note: str = ""
    key: str = ""  # the key a term names (empty for a number or N)


def _survival_count(study: Study, key: str, arm: str | None) -> int | None:
    df = study["survival"]
    hit = df[(df["key"] == key) & df["statistic"].isin(_SURVIVAL_COUNTS)]
    if arm:
        hit = hit[hit["arm"] == arm]
    return int(hit["value"].iloc[0]) if len(hit) == 1 else None


def _resolve(study: Study, term: str, arm: str | None, labels: dict[str, str]) -> Term:
    """A term's value: a printed number, the arm's (or cohort's) N, or the count a key holds."""
    number = number_term(term)
    if number is not None:
        return Term(f"{number:g}", int(number) if number.is_integer() else None)
    if term == ARM_N:
        n = study.arm_sizes.get(arm) if arm else _total_n(study)
        return Term(f"N of {study.arm(arm).label}" if arm else "N", n)
    label = labels.get(term, term)
    if arm:
        n, _, note = count_for(study, term, arm)
        if n is not None:
            return Term(label, n, note, term)
    return Term(label, _survival_count(study, term, arm), key=term)


def _quantity(items: list[Term], sign: str, total: Term) -> str:
    """``a + b = total`` in labels; a label two terms share is replaced by the terms' keys."""
    every = [t.label for t in (*items, total)]
    names = [t.key if t.key and every.count(t.label) > 1 else t.label for t in (*items, total)]
    *parts, whole = names
    if len(parts) > _MAX_LABELS:
        parts = [f"{len(parts)} items ({parts[0]}, …, {parts[-1]})"]
    return f"{' + '.join(parts)} {sign} {whole}"


def _reason(relation: str, s: int, total: int) -> str:
    """Why a sum fails its relation, with the arithmetic."""
    if relation == "<=":
        return f"the items add up to {s}, more than the {total} they are part of"
    if relation == ">=":
        return f"the items add up to {s}, fewer than the {total} they must cover"
    if s > total:
        return (
            f"the items add up to {s}, {s - total} more than the printed total of {total} "
            "(possible only if some patients are listed under more than one item)"
        )
    return f"the items add up to {s}, {total - s} short of the printed total of {total}"


def text_sum_checks(study: Study) -> list[Check]:
    """Every itemised list of ``text_sums.csv`` against its total."""
    rows, labels = [], quantity_labels(study)
    for _, r in study["text_sums"].iterrows():
        arm = r["arm"] if pd.notna(r["arm"]) else None
        test, sign = _RELATIONS[r["relation"]]
        total = _resolve(study, split_terms(r["total"])[0], arm, labels)
        items = [_resolve(study, t, arm, labels) for t in split_terms(r["items"])]
        base = dict(
            study=study.id,
            check="text sum",
            key=r["key"],
            location=r["location"],
            quantity=_quantity(items, sign, total),
            arm=arm,
            printed=r["printed"],
        )
        missing = [t.label for t in (*items, total) if t.value is None]
        if missing:
            rows.append(
                Check(
                    **base,
                    status=Status.NOT_RECOMPUTABLE,
                    method="sum of the listed items",
                    reason=f"no count is printed for {', '.join(missing)}",
                )
            )
            continue
        s, whole = sum(t.value or 0 for t in items), total.value or 0  # none is None past here
        ok = test(s, whole)
        notes = [t.note for t in (*items, total) if t.note]
        rows.append(
            Check(
                **base,
                status=Status.REPRODUCED if ok else Status.INCONSISTENT,
                recomputed=f"{' + '.join(str(t.value) for t in items)} = {s}",
                method=f"sum of the listed items {sign} the total"
                + (f" ({'; '.join(notes)})" if notes else ""),
                reason="" if ok else _reason(r["relation"], s, whole),
                recomputed_value=float(s),
            )
        )
    return rows
