"""Counts: every printed percentage against n/N (GRIM), and sums that must add up."""

from __future__ import annotations

import pandas as pd

from .. import stats as S
from ..data import Study
from ..printed import PrintedNumber
from .lookup import COUNT_TABLES, count_for, denominator_of, quantity_labels
from .record import Check, Status


def _fmt_candidates(c: tuple[int, ...]) -> str:
    if not c:
        return "none"
    return str(c[0]) if len(c) == 1 else "{" + ", ".join(map(str, c)) + "}"


def _total_n(study: Study) -> int | None:
    """The whole cohort's N: printed as ``total_n``, or the sum of the printed arm sizes."""
    if study.meta.get("total_n"):
        return int(study.meta["total_n"])
    sizes = study.arm_sizes
    return sum(sizes.values()) if len(sizes) == len(study.arms) and len(sizes) > 1 else None


def percentage_checks(study: Study) -> list[Check]:
    """Every printed percentage against n/N at the printed precision."""
    rows, labels = [], quantity_labels(study)
    for table in (*COUNT_TABLES, "survival"):
        df = study[table]
        if "pct" not in df or not len(df):
            continue
        for _, r in df[df["pct"].notna()].iterrows():
            if table == "survival" and r["statistic"] == "landmark":
                continue
            N = denominator_of(study, r)
            n = r["value"] if table == "survival" else r["n"]
            n = None if pd.isna(n) else int(n)
            printed = f"{r['pct']}%"
            base = dict(
                study=study.id,
                check="percentage",
                key=r["key"],
                location=r["location"],
                quantity=labels.get(r["key"], r["key"]),
                arm=r["arm"],
            )
            if N is None:
                rows.append(
                    Check(
                        **base,
                        status=Status.NOT_RECOMPUTABLE,
                        printed=printed,
                        reason="the denominator (arm size) is not printed",
                    )
                )
                continue
            g = S.grim_percentage(n, N, r["pct"])
            if n is None:
                rows.append(
                    Check(
                        **base,
                        status=Status.REPRODUCED if g.candidates else Status.INCONSISTENT,
                        # with no n printed, GRIM can fail only if consecutive counts are further
                        # apart (100/N points) than one unit of the printed last digit
                        informative=100 / N > 10**-g.decimals,
                        printed=printed,
                        recomputed=f"n ∈ {_fmt_candidates(g.candidates)}",
                        method=f"n/{N}",
                        reason=(
                            f"no n is printed; n = {_fmt_candidates(g.candidates)} of {N} gives {printed}"
                            if g.candidates
                            else f"no whole number of {N} patients gives {printed}"
                        ),
                    )
                )
                continue
            reason, mislabelled = "", False
            if not g.consistent:
                reason = f"{n}/{N} = {g.expected}%; " + (
                    f"{printed} would need n = {_fmt_candidates(g.candidates)}"
                    if g.candidates
                    else f"no whole number of {N} patients gives {printed}"
                )
                total = _total_n(study)
                if total and total != N and S.grim_percentage(n, total, r["pct"]).consistent:
                    mislabelled = True
                    reason += f"; {n} of all {total} patients gives {printed}: the % is of the whole cohort"
            lo, hi = PrintedNumber(float(r["pct"]), g.decimals).interval()
            rows.append(
                Check(
                    **base,
                    status=Status.REPRODUCED if g.consistent else Status.INCONSISTENT,
                    printed=f"{n} ({printed})",
                    recomputed=f"{g.expected}%",
                    method=f"{n}/{N} at {g.decimals} decimals",
                    reason=reason,
                    printed_lower=lo,
                    printed_upper=hi,
                    recomputed_value=100 * n / N,
                    mislabelled=mislabelled,
                )
            )
    return rows


def _sum_check(
    study: Study,
    key: str,
    location: str,
    quantity: str,
    arm: str,
    printed: int,
    total: int,
    method: str,
    why: str,
) -> Check:
    ok = total == printed
    return Check(
        study=study.id,
        check="sum",
        key=key,
        location=location,
        quantity=quantity,
        arm=arm,
        printed=str(printed),
        recomputed=str(total),
        method=method,
        status=Status.REPRODUCED if ok else Status.INCONSISTENT,
        reason="" if ok else why,
        recomputed_value=float(total),
    )


def sum_checks(study: Study) -> list[Check]:
    """CR+PR = ORR, CR+PR+SD = DCR, categories = N, levels of a variable = N."""
    rows = []
    resp = study["response"]
    counts = resp[resp["stat"] == "count"]
    for (crit, scope), grp in counts.groupby([counts["criterion"], counts["scope"].fillna("")], sort=False):
        crit = f"{crit} ({scope})" if scope else crit
        location = grp["location"].iloc[0]
        for arm in [a.id for a in study.arms]:
            n = {r["category"]: int(r["n"]) for _, r in grp[grp["arm"] == arm].iterrows() if pd.notna(r["n"])}
            N = study.arm_sizes.get(arm)
            for target, parts in (("ORR", ("CR", "PR")), ("DCR", ("CR", "PR", "SD"))):
                if target in n and all(p in n for p in parts):
                    total = sum(n[p] for p in parts)
                    rows.append(
                        _sum_check(
                            study,
                            f"response.{target.lower()}",
                            location,
                            f"{crit} {target} = {' + '.join(parts)}",
                            arm,
                            n[target],
                            total,
                            "sum of categories",
                            f"{' + '.join(str(n[p]) for p in parts)} = {total}",
                        )
                    )
            cats = [c for c in ("CR", "PR", "SD", "PD", "NE") if c in n]
            if N is not None and {"CR", "PR", "SD", "PD"} <= set(cats):
                total = sum(n[c] for c in cats)
                rows.append(
                    _sum_check(
                        study,
                        "response.categories",
                        location,
                        f"{crit} {' + '.join(cats)} = N",
                        arm,
                        N,
                        total,
                        "sum of categories",
                        f"categories add to {total}, not {N}"
                        + (" (patients not evaluable are not listed)" if total < N else ""),
                    )
                )
    pv = study["pvalues"]
    labels = quantity_labels(study)
    for _, r in pv[pv["levels"].map(bool) & pv["domain"].isin(["baseline", "treatment"])].iterrows():
        for arm in [a.id for a in study.arms]:
            counts = [count_for(study, lv, arm)[0] for lv in r["levels"]]
            if arm not in study.arm_sizes or None in counts:
                continue
            total, N = sum(counts), study.arm_sizes[arm]
            rows.append(
                _sum_check(
                    study,
                    r["key"],
                    r["location"],
                    f"{labels.get(r['key'], r['key'])} levels = N",
                    arm,
                    N,
                    total,
                    "sum of levels",
                    f"levels add to {total}, not {N}",
                )
            )
    return rows


def denominator_checks(study: Study) -> list[Check]:
    """Percentages printed under an arm's column but computed over another denominator (e.g.
    treated sites instead of patients): flagged, not silently re-denominated."""
    rows, labels = [], quantity_labels(study)
    for table in COUNT_TABLES:
        df = study[table]
        if "denominator" not in df:
            continue
        for _, r in df[df["denominator"].notna()].iterrows():
            N, d = study.arm_sizes.get(r["arm"]), int(r["denominator"])
            if N is None or d == N:
                continue
            rows.append(
                Check(
                    study=study.id,
                    check="denominator",
                    key=r["key"],
                    location=r["location"],
                    quantity=labels.get(r["key"], r["key"]),
                    arm=r["arm"],
                    status=Status.INCONSISTENT,
                    printed=str(r["printed"]),
                    recomputed=f"of {d}, not {N}",
                    method="the percentage's denominator against the column's N",
                    reason=f"the percentage is of {d}, not of the {N} patients the column counts; "
                    "the table prints the column's N only",
                    mislabelled=True,
                )
            )
    return rows
