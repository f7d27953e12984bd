"""Treatment and its harms: printed BED ranges against the printed doses, and claims about adverse
events against the per-term grade counts."""

from __future__ import annotations

import pandas as pd

from ..data import Study
from ..printed import PrintedNumber
from ..radiobiology import BedRange, attainable_bed
from .lookup import count_for
from .record import Check, Status


def _treatment_row(study: Study, key: str | None) -> pd.Series | None:
    tr = study["treatment"]
    hit = tr[tr["key"] == key] if key else tr.iloc[0:0]
    return hit.iloc[0] if len(hit) else None


def _dose_check(study: Study, row: pd.Series, **fields: object) -> Check:
    return Check(
        study=study.id,
        check="BED range",
        key=row["key"],
        location=row["location"],
        quantity=row["variable"],
        arm=row["arm"],
        printed=row["printed"],
        **fields,
    )


def bed_checks(study: Study, alpha_beta: float = 10.0) -> list[Check]:
    """A printed BED range against the doses and fractions printed beside it, against each
    schedule the Methods state (per technique), and against the printed EQD2.

    Which rows are doses is data (study.yml ``radiotherapy``); a study whose printed BED is at
    another α/β than ``alpha_beta`` has nothing to check at this one.
    """
    rt = study.meta.get("radiotherapy") or {}
    if float(rt.get("alpha_beta", 0)) != alpha_beta:
        return []
    bedrow = _treatment_row(study, rt.get("bed"))
    if bedrow is None:
        return []
    rows = []
    dose, frac = _treatment_row(study, rt.get("total_dose")), _treatment_row(study, rt.get("fractions"))
    if dose is not None and frac is not None:
        if any(pd.isna(x) for x in (dose["lower"], dose["upper"], frac["lower"], frac["upper"])):
            rows.append(
                _dose_check(
                    study,
                    bedrow,
                    status=Status.NOT_RECOMPUTABLE,
                    reason="dose and fraction ranges are not both printed",
                )
            )
        else:
            rng = attainable_bed((dose["lower"], dose["upper"]), (frac["lower"], frac["upper"]), alpha_beta)
            ok = rng.contains(bedrow["lower"], bedrow["upper"])
            rows.append(
                _dose_check(
                    study,
                    bedrow,
                    status=Status.REPRODUCED if ok else Status.INCONSISTENT,
                    recomputed=f"attainable {rng.lowest:.1f}–{rng.highest:.1f}",
                    method=f"LQ model, α/β = {alpha_beta:g} Gy, extremes of the printed dose and fraction "
                    "ranges",
                    reason=""
                    if ok
                    else (
                        f"{dose['printed']} Gy in {frac['printed']} fractions can give BED "
                        f"{rng.lowest:.1f}–{rng.highest:.1f} Gy only"
                    ),
                    recomputed_lower=rng.lowest,
                    recomputed_upper=rng.highest,
                )
            )
    if rt.get("schedules"):
        rows.append(_schedule_check(study, bedrow, rt["schedules"], alpha_beta))
    eqd2row = _treatment_row(study, rt.get("eqd2"))
    if eqd2row is not None:
        rows.append(_eqd2_check(study, bedrow, eqd2row, alpha_beta))
    return rows


def _schedule_check(study: Study, bedrow: pd.Series, schedules: list[dict], alpha_beta: float) -> Check:
    """The printed BED range against the union of the schedules the Methods state per technique:
    each technique's own dose and fraction ranges, not the extremes of all of them mixed."""
    ranges = {
        s["technique"]: attainable_bed(tuple(s["dose"]), tuple(s["fractions"]), alpha_beta) for s in schedules
    }
    lowest, highest = min(r.lowest for r in ranges.values()), max(r.highest for r in ranges.values())
    ok = BedRange(lowest, highest).contains(bedrow["lower"], bedrow["upper"])
    per = "; ".join(f"{t} {r.lowest:.1f}–{r.highest:.1f}" for t, r in ranges.items())
    where = ", ".join(dict.fromkeys(s.get("location", "Methods") for s in schedules))
    return _dose_check(
        study,
        bedrow,
        status=Status.REPRODUCED if ok else Status.INCONSISTENT,
        recomputed=f"attainable {per}",
        method=f"LQ model, α/β = {alpha_beta:g} Gy, each technique's schedule as {where} states it",
        reason=""
        if ok
        else f"no schedule the Methods state gives BED {bedrow['lower']:g}–{bedrow['upper']:g} ({per})",
        recomputed_lower=lowest,
        recomputed_upper=highest,
    )


def _eqd2_check(study: Study, bedrow: pd.Series, eqd2row: pd.Series, alpha_beta: float) -> Check:
    """Printed BED and EQD2 (median and range) against each other: EQD2 = BED / (1 + 2/(α/β)),
    each at its printed precision."""
    factor = 1 + 2 / alpha_beta
    pairs = [
        (s, bedrow[c], eqd2row[c])
        for s, c in (("median", "median"), ("lowest", "lower"), ("highest", "upper"))
    ]
    bad = []
    for name, b, e in pairs:
        if pd.isna(b) or pd.isna(e):
            continue
        b_lo, b_hi = PrintedNumber.find(bedrow["printed"], b).interval()
        e_lo, e_hi = PrintedNumber.find(eqd2row["printed"], e).interval()
        if not (b_lo / factor <= e_hi and b_hi / factor >= e_lo):
            bad.append(f"{name}: BED {b:g} gives EQD2 {b / factor:.1f}, printed {e:g}")
    return _dose_check(
        study,
        eqd2row,
        status=Status.INCONSISTENT if bad else Status.REPRODUCED,
        recomputed="; ".join(f"{b / factor:.1f}" for _, b, _ in pairs if pd.notna(b)),
        method=f"EQD2 = BED / (1 + 2/(α/β)), α/β = {alpha_beta:g} Gy, at the printed precision",
        reason="; ".join(bad),
    )


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
