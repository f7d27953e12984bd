"""Paired comparisons: two criteria on the same patients, checked against the McNemar range."""

from __future__ import annotations

from .. import stats as S
from ..data import Study
from ..printed import parse_p
from .lookup import count_for, quantity_labels
from .record import Check, Status, fmt_p


def paired_p_checks(study: Study) -> list[Check]:
    """A printed p comparing two criteria on the same patients against the McNemar range.

    Only the margins are printed, so every joint table consistent with them is tried; a printed
    p outside the range that every McNemar variant can reach is inconsistent.
    """
    rows, labels = [], quantity_labels(study)
    pv = study["pvalues"]
    for _, r in pv[pv["domain"] == "paired"].iterrows():
        keys = r["levels"]
        base = dict(
            study=study.id,
            check="paired p",
            key=r["key"],
            location=r["location"],
            quantity=" vs ".join(labels.get(k, k) for k in keys),
            printed=r["printed"],
            test_named=r["test_named"],
        )
        arms = [a.id for a in study.arms]
        counts = [[count_for(study, k, arm) for k in keys] for arm in arms]
        usable = [
            (arm, c)
            for arm, c in zip(arms, counts, strict=True)
            if len(c) == 2 and None not in (c[0][0], c[1][0]) and c[0][1] == c[1][1] and c[0][1]
        ]
        if not usable:
            rows.append(
                Check(
                    **base,
                    status=Status.NOT_RECOMPUTABLE,
                    reason="the paired counts or their common N are not printed",
                )
            )
            continue
        arm, ((a, N, _), (b, _, _)) = usable[0]
        printed = parse_p(r["printed"])
        ranges = S.mcnemar_range(a, b, N)
        attainable = tuple(name for name, (lo, hi) in ranges.items() if printed.overlaps(lo, hi))
        span = "; ".join(f"{name} {fmt_p(lo)}–{fmt_p(hi)}" for name, (lo, hi) in ranges.items())
        p_lo, p_hi = printed.interval()
        rows.append(
            Check(
                **base,
                arm=arm,
                status=Status.NOT_RECOMPUTABLE if attainable else Status.INCONSISTENT,
                recomputed=span,
                method=f"McNemar over all joint tables with margins {a}/{N} and {b}/{N}",
                reason=(
                    f"attainable by {', '.join(attainable)}; the exact p needs the joint table"
                    if attainable
                    else f"no joint table with these margins gives {r['printed']} ({span})"
                ),
                tests_tried=tuple(ranges),
                tests_reproducing=attainable,
                printed_lower=p_lo,
                printed_upper=p_hi,
                recomputed_lower=min(lo for lo, _ in ranges.values()),
                recomputed_upper=max(hi for _, hi in ranges.values()),
            )
        )
    return rows
