"""Treatment and its harms: printed BED ranges against the printed doses, and claims about adverse
events against the per-term grade counts."""

from __future__ import annotations

import pandas as pd

from ..data import Study
from ..radiobiology import attainable_bed
from .lookup import count_for
from .record import Check, Status


def bed_checks(study: Study, alpha_beta: float = 10.0) -> list[Check]:
    """A printed BED range against the doses and fraction numbers printed beside it."""
    tr = study["treatment"]
    by_key = {k.split(".", 1)[1]: g.iloc[0] for k, g in tr.groupby("key")}
    dose, frac = by_key.get("total_dose"), by_key.get("fractions")
    bedrow = by_key.get(f"bed{alpha_beta:g}")
    if bedrow is None:
        return []
    base = dict(
        study=study.id,
        check="BED range",
        key=bedrow["key"],
        location=bedrow["location"],
        quantity=bedrow["variable"],
        arm=bedrow["arm"],
        printed=bedrow["printed"],
    )
    if (
        dose is None
        or frac is None
        or any(pd.isna(x) for x in (dose["lower"], dose["upper"], frac["lower"], frac["upper"]))
    ):
        return [
            Check(
                **base, status=Status.NOT_RECOMPUTABLE, reason="dose and fraction ranges are not both printed"
            )
        ]
    rng = attainable_bed((dose["lower"], dose["upper"]), (frac["lower"], frac["upper"]), alpha_beta)
    ok = rng.contains(bedrow["lower"], bedrow["upper"])
    return [
        Check(
            **base,
            status=Status.REPRODUCED if ok else Status.INCONSISTENT,
            recomputed=f"attainable {rng.lowest:.1f}–{rng.highest:.1f}",
            method=f"LQ model, α/β = {alpha_beta:g} Gy, extremes of the printed dose and fraction ranges",
            reason=""
            if ok
            else (
                f"{dose['printed']} Gy in {frac['printed']} fractions can give BED "
                f"{rng.lowest:.1f}–{rng.highest:.1f} Gy only"
            ),
            recomputed_lower=rng.lowest,
            recomputed_upper=rng.highest,
        )
    ]


GRADE_SETS = {"any": ("1", "2", "3", "4", "5"), ">=3": ("3", "4", "5"), "3-4": ("3", "4")}
CLAIM_RANKS = {"most_common": 1, "second_most_common": 2}


def _grade_totals(study: Study, arm: str, band: str) -> pd.Series:
    """Per term, the events of the given band summed over the printed single grades."""
    ae = study["adverse_events"]
    ae = ae[(ae["arm"] == arm) & ae["grade_band"].isin(GRADE_SETS[band]) & ae["n"].notna()]
    return ae.groupby("term", sort=False)["n"].sum().astype(int)


def ae_claim_checks(study: Study) -> list[Check]:
    """Claims about adverse events: overall grade >= 3 rates against the bounds that the per-term
    grade counts allow, and 'most common' claims against the per-term totals.

    A patient may have several events, so the share of patients with any grade >= 3 event lies
    between the largest single term and the sum over terms (capped at N).
    """
    rows = []
    ae = study["adverse_events"]
    if ae[ae["grade_band"].isin(["1", "2", "3", "4", "5"])].empty:
        return rows
    for arm in [a.id for a in study.arms if a.n is not None]:
        N = study.arm_sizes[arm]
        for band in (">=3", "3-4"):
            totals = _grade_totals(study, arm, band)
            overall = ae[(ae["arm"] == arm) & (ae["grade_band"] == band) & ~ae["term"].isin(totals.index)]
            if totals.empty:
                continue
            lo, hi = int(totals.max()), min(N, int(totals.sum()))
            for _, r in overall.iterrows():
                n, _, note = count_for(study, r["key"], arm)
                if n is None:
                    continue
                ok = lo <= n <= hi
                rows.append(
                    Check(
                        study=study.id,
                        check="AE claim",
                        key=r["key"],
                        location=r["location"],
                        quantity=f"{r['term']} (grade {band})",
                        arm=arm,
                        status=Status.REPRODUCED if ok else Status.INCONSISTENT,
                        printed=r["printed"],
                        recomputed=f"n = {n}; attainable {lo}–{hi}",
                        method="patients with any such event: between the largest term and the sum of terms",
                        reason="; ".join(x for x in (note, "" if ok else f"{n} lies outside {lo}–{hi}") if x),
                        recomputed_value=float(n),
                        recomputed_lower=float(lo),
                        recomputed_upper=float(hi),
                    )
                )
        for claim in study.meta.get("ae_claims") or []:
            rows.append(_rank_claim(study, arm, claim))
    return rows


def _rank_claim(study: Study, arm: str, claim: dict) -> Check:
    """A 'most common' / 'second most common' claim against the per-term totals of one arm."""
    base = dict(
        study=study.id,
        check="AE claim",
        key="ae.claims",
        location=claim.get("location", ""),
        arm=arm,
        printed=claim.get("printed", ""),
    )
    totals = _grade_totals(study, arm, claim.get("grade_band", "any"))
    if totals.empty or claim.get("term") not in totals.index:
        return Check(
            **base,
            quantity=claim.get("printed", ""),
            status=Status.NOT_RECOMPUTABLE,
            reason="the claimed term has no graded counts",
        )
    ranked = totals.sort_values(ascending=False, kind="stable")
    rank = CLAIM_RANKS[claim["kind"]]
    value = int(totals[claim["term"]])
    distinct = sorted(set(ranked.to_numpy().tolist()), reverse=True)
    ok = len(distinct) >= rank and value == distinct[rank - 1]
    top = ", ".join(f"{t} {v}" for t, v in ranked.head(3).items())
    return Check(
        **base,
        quantity=f"{claim['kind'].replace('_', ' ')} (grade {claim.get('grade_band', 'any')})",
        status=Status.REPRODUCED if ok else Status.INCONSISTENT,
        recomputed=f"{claim['term']}: {value}; top: {top}",
        method="per-term totals over the printed grades",
        reason="" if ok else f"{claim['term']} is not ranked {rank} ({top})",
        recomputed_value=float(value),
    )
