"""Survival: printed hazard ratios against their CIs, landmark p-values against the smallest
attainable p, and subgroup-interaction p-values against the ratio-of-HRs test."""

from __future__ import annotations

import itertools
import math

import pandas as pd
from scipy import stats as sps

from .. import stats as S
from ..data import Study
from ..printed import PrintedNumber, PrintedP, p_agree, parse_p, parse_p_text
from .lookup import quantity_labels
from .record import Check, Status, fmt_p

# A likelihood-ratio or score p from the same Cox fit can differ from the Wald p implied by the
# CI, most in small samples: a printed p within this factor of the Wald range, on the other side
# of alpha, is what such a test may give (not recomputable), not an error. Beyond it, no standard
# test of the same model gives it.
LR_WALD_RATIO = 2.0


def _wald_range(r: pd.Series) -> tuple[float, float, float]:
    """Wald p of the printed HR and CI, and its range over the rounding of all three numbers."""
    d_ci = max(PrintedNumber.find(r["printed"], r[b]).decimals for b in ("lower", "upper"))
    half_ci = PrintedNumber(0.0, d_ci).half_unit  # both bounds at the more precise one's precision
    half_hr = PrintedNumber.find(r["printed"], r["hr"]).half_unit
    hrs = {r["hr"] - half_hr, r["hr"] + half_hr}
    if r["hr"] - half_hr < 1 < r["hr"] + half_hr:
        hrs.add(1.0)  # p is largest at HR = 1
    ps = [
        S.hr_p_from_ci(hr, lo, hi)
        for hr in hrs
        for lo in (r["lower"] - half_ci, r["lower"] + half_ci)
        for hi in (r["upper"] - half_ci, r["upper"] + half_ci)
        if 0 < lo <= hr <= hi
    ]
    mid = S.hr_p_from_ci(r["hr"], r["lower"], r["upper"])
    return mid, min([*ps, mid]), max([*ps, mid])


def _other_test(study: Study, model: str) -> str:
    """Which test a printed p that is not the Wald p most likely is, for this kind of model."""
    if str(model).startswith("uni"):
        named = str((study.meta.get("tests_named") or {}).get("survival", "log-rank")).strip()
        named = named[: -len(" test")] if named.lower().endswith(" test") else named
        score = " (the score test of a univariable Cox model)" if "log-rank" in named.lower() else ""
        return f"the {named} test's p{score}"
    return "a likelihood-ratio or score p from the same Cox model"


def hazard_ratio_checks(study: Study, alpha: float = 0.05) -> list[Check]:
    """Printed p of an HR against the Wald p implied by its CI (range over the rounding of the
    HR and its CI)."""
    rows, labels = [], quantity_labels(study)
    for _, r in study["hazard_ratios"].iterrows():
        if pd.isna(r["lower"]) or pd.isna(r["upper"]) or pd.isna(r["p_printed"]):
            continue
        p_mid, lo_p, hi_p = _wald_range(r)
        printed = parse_p(r["p_printed"])
        in_range = printed.overlaps(lo_p, hi_p)
        ci_excludes_1 = r["upper"] < 1 or r["lower"] > 1
        p_sig = printed.value < alpha if printed.relation != ">" else False
        pr_lo, pr_hi = printed.interval()
        other = _other_test(study, r["model"])
        if in_range:
            status, reason = Status.REPRODUCED, "the printed p is the Wald p of this HR and CI"
        elif ci_excludes_1 != p_sig and (pr_hi * LR_WALD_RATIO < lo_p or pr_lo > hi_p * LR_WALD_RATIO):
            status = Status.INCONSISTENT
            reason = (
                "the CI excludes 1 but the printed p is not significant"
                if ci_excludes_1
                else "the CI includes 1 but the printed p is significant"
            ) + f", and no standard test of the same model is that far from the Wald p ({fmt_p(p_mid)})"
        elif ci_excludes_1 != p_sig:
            status = Status.NOT_RECOMPUTABLE
            ci = "excludes" if ci_excludes_1 else "includes"
            reason = (
                f"the Wald p of this CI is {fmt_p(p_mid)} and the printed p is on the other side of "
                f"{alpha:g}: {other} can be, while the Wald CI {ci} 1"
            )
        else:
            status = Status.NOT_RECOMPUTABLE
            reason = f"the printed p is not the Wald p of this HR (it is likely {other}); "
            reason += "both agree on significance"
        p_lo, p_hi = pr_lo, pr_hi
        rows.append(
            Check(
                study=study.id,
                check="hazard ratio",
                key=r["key"],
                location=r["location"],
                quantity=labels.get(r["key"], r["key"]),
                status=status,
                printed=f"{r['hr']:g} ({r['lower']:g}–{r['upper']:g}), {r['p_printed']}",
                recomputed=f"{fmt_p(p_mid)} (range {fmt_p(lo_p)}–{fmt_p(hi_p)})",
                method="Wald p from the CI on the log scale (Altman & Bland 2011)",
                reason=reason,
                tests_tried=("Wald",),
                test_chosen="Wald",
                printed_lower=p_lo,
                printed_upper=p_hi,
                recomputed_value=p_mid,
                recomputed_lower=lo_p,
                recomputed_upper=hi_p,
            )
        )
    return rows


LANDMARK_TRANSFORMS = {
    # name: (g(S), var of g(S) given binomial var S(1-S)/N) — Klein et al., Stat Med 2007
    "linear": (lambda x: x, lambda x, n: x * (1 - x) / n),
    "log": (math.log, lambda x, n: (1 - x) / (n * x)),
    "cloglog": (lambda x: math.log(-math.log(x)), lambda x, n: (1 - x) / (n * x * math.log(x) ** 2)),
    "arcsine": (lambda x: math.asin(math.sqrt(x)), lambda x, n: 1 / (4 * n)),
}


_LANDMARK_TESTS = "z-tests (linear, log, cloglog, arcsine), binomial variance at full N"


def smallest_landmark_p(s1: float, n1: int, s2: float, n2: int) -> float:
    """Smallest two-sided p of a pointwise comparison of two survival rates at full N.

    Uses the binomial variance (the lower bound of a Kaplan–Meier variance) under the four
    usual transformations and returns the smallest p of them.
    """
    ps = []
    for g, var in LANDMARK_TRANSFORMS.values():
        try:
            se = math.sqrt(var(s1, n1) + var(s2, n2))
            ps.append(float(2 * sps.norm.sf(abs(g(s1) - g(s2)) / se)))
        except (ValueError, ZeroDivisionError):
            continue
    return min(ps) if ps else float("nan")


def _whole_curve_note(study: Study, endpoint: str, printed: PrintedP) -> str:
    """Whether the paper's whole-curve p for the endpoint (printed beside its median) would
    explain a landmark p that no pointwise test can give."""
    sv = study["survival"]
    keys = sv.loc[(sv["endpoint"] == endpoint) & (sv["statistic"] == "median") & sv["subgroup"].isna(), "key"]
    pv = study["pvalues"].set_index("key")
    whole = [k for k in dict.fromkeys(keys) if k in pv.index]
    if not whole:
        return " (a whole-curve test's p printed against a landmark would explain it; the paper prints none)"
    text = pv.loc[whole[0], "printed"]
    if p_agree(parse_p(text), printed):
        return f" (the paper's whole-curve {endpoint} p, {text}, printed against a landmark would explain it)"
    return f" (the paper's whole-curve {endpoint} p is {text}, so that does not explain it either)"


def landmark_p_checks(study: Study) -> list[Check]:
    """A printed p for a landmark survival difference against the smallest p attainable.

    Censoring only inflates the variance of a Kaplan–Meier estimate, so the binomial variance
    with the full arm N is its lower bound; the z built on it is the largest any pointwise
    test can give, and its p the smallest (normal approximation).
    """
    rows, labels = [], quantity_labels(study)
    sv = study["survival"]
    a, b = study.comparison
    pv = study["pvalues"].set_index("key")
    for key, grp in sv[sv["statistic"] == "landmark"].groupby("key", sort=False):
        if key not in pv.index or not {a, b} <= set(grp["arm"]):
            continue
        s = grp.set_index("arm")["value"] / 100
        p_min = smallest_landmark_p(s[a], study.arm_sizes[a], s[b], study.arm_sizes[b])
        printed = parse_p(pv.loc[key, "printed"])
        impossible = (
            printed.relation in ("<", "=")
            and printed.value < p_min
            and (printed.relation == "<" or not S.p_reproduces(p_min, printed))
        )
        p_lo, p_hi = printed.interval()
        rows.append(
            Check(
                study=study.id,
                check="landmark p",
                key=key,
                location=pv.loc[key, "location"],
                quantity=labels.get(key, key),
                status=Status.INCONSISTENT if impossible else Status.NOT_RECOMPUTABLE,
                printed=pv.loc[key, "printed"],
                recomputed=f"≥ {fmt_p(p_min)}",
                method=f"smallest attainable p: {_LANDMARK_TESTS}",
                reason=(
                    f"even with no censoring the smallest attainable p is {fmt_p(p_min)}"
                    + _whole_curve_note(study, grp["endpoint"].iloc[0], printed)
                    if impossible
                    else "attainable; the exact p needs the numbers at risk"
                ),
                test_named=pv.loc[key, "test_named"],
                tests_tried=tuple(f"{name} z-test" for name in LANDMARK_TRANSFORMS),
                footnote=_LANDMARK_TESTS,
                printed_lower=p_lo,
                printed_upper=p_hi,
                recomputed_lower=p_min,
                recomputed_upper=1.0,
            )
        )
    return rows


def _corners(bounds: tuple[tuple[float, str], ...]) -> list[tuple[float, ...]]:
    """Every combination of each printed bound ± half a unit of its last digit."""
    return list(
        itertools.product(*(PrintedNumber.find(printed, value).interval() for value, printed in bounds))
    )


def interaction_checks(study: Study, alpha: float = 0.05) -> list[Check]:
    """A printed subgroup-interaction p against the ratio-of-HRs z-test from the subgroup CIs.

    The range covers the rounding of the printed CIs. A printed p outside it is called
    inconsistent only when the two disagree about significance: a model-based interaction
    test can legitimately differ from this approximation (Altman & Bland, BMJ 2003).
    """
    rows = []
    hrs = study["hazard_ratios"].set_index("key")
    pv = study["pvalues"]
    for _, r in pv[pv["domain"] == "interaction"].iterrows():
        keys = r["levels"]
        base = dict(
            study=study.id,
            check="interaction p",
            key=r["key"],
            location=r["location"],
            quantity="interaction: "
            + " vs ".join(str(hrs.loc[k, "subgroup"]) if k in hrs.index else k for k in keys),
            printed=r["printed"],
            test_named=r["test_named"],
        )
        usable = len(keys) == 2 and all(
            k in hrs.index
            and pd.notna(hrs.loc[k, "lower"])
            and pd.notna(hrs.loc[k, "upper"])
            and 0 < hrs.loc[k, "lower"] <= hrs.loc[k, "hr"] <= hrs.loc[k, "upper"]
            for k in keys
        )
        if not usable:
            rows.append(
                Check(
                    **base,
                    status=Status.NOT_RECOMPUTABLE,
                    reason="needs exactly two subgroup HRs with finite CIs",
                )
            )
            continue
        (h1, l1, u1, t1), (h2, l2, u2, t2) = (
            (hrs.loc[k, "hr"], hrs.loc[k, "lower"], hrs.loc[k, "upper"], hrs.loc[k, "printed"]) for k in keys
        )
        mid = S.interaction_p_from_cis(h1, l1, u1, h2, l2, u2)
        ps = []
        for a1, b1, a2, b2 in _corners(((l1, t1), (u1, t1), (l2, t2), (u2, t2))):
            if 0 < a1 <= h1 <= b1 and 0 < a2 <= h2 <= b2 and a1 < b1 and a2 < b2:
                ps.append(S.interaction_p_from_cis(h1, a1, b1, h2, a2, b2))
        lo, hi = min(ps), max(ps)
        printed = parse_p_text(r["printed"])
        if printed.overlaps(lo, hi):
            status, reason = Status.REPRODUCED, "the ratio-of-HRs test gives the printed p"
        elif (printed.value < alpha) != (mid < alpha) and printed.relation != ">":
            status = Status.INCONSISTENT
            reason = (
                f"the ratio-of-HRs test gives {fmt_p(mid)}: the two disagree about significance at {alpha:g}"
            )
        else:
            status = Status.NOT_RECOMPUTABLE
            reason = (
                "the printed p probably comes from an interaction term in a Cox model; the "
                "ratio-of-HRs approximation differs but agrees about significance"
            )
        p_lo, p_hi = printed.interval()
        rows.append(
            Check(
                **base,
                status=status,
                recomputed=f"{fmt_p(mid)} (range {fmt_p(lo)}–{fmt_p(hi)})",
                method="ratio of subgroup HRs, z-test from their CIs (Altman & Bland 2003)",
                reason=reason,
                tests_tried=("ratio-of-HRs z-test",),
                printed_lower=p_lo,
                printed_upper=p_hi,
                recomputed_value=mid,
                recomputed_lower=lo,
                recomputed_upper=hi,
            )
        )
    return rows


def duplicate_criteria_checks(study: Study) -> list[Check]:
    """A survival summary printed identically (value and CI) under two response criteria.

    PFS by RECIST 1.1 and by mRECIST counts progression differently; the same median with the
    same CI under both is possible but unlikely, and is the mark of a copied row: flagged for
    review (inconsistent), never silently accepted.
    """
    sv = study["survival"]
    sv = sv[sv["criterion"].notna() & sv["subgroup"].isna()]
    rows, labels = [], quantity_labels(study)
    for (endpoint, arm, statistic, _), grp in sv.groupby(
        ["endpoint", "arm", "statistic", sv["time"].fillna(-1)], sort=False
    ):
        if grp["criterion"].nunique() < 2:
            continue
        values = grp[["value", "lower", "upper"]].astype(float).round(9)
        if len(values.drop_duplicates()) > 1 or grp["lower"].isna().all():
            continue  # differ, or no CI printed: a bare equal median is no evidence of copying
        first, second = grp.iloc[0], grp.iloc[1]
        name = {k: labels.get(k, k) for k in (first["key"], second["key"])}
        rows.append(
            Check(
                study=study.id,
                check="duplicate",
                key=second["key"],
                location=second["location"],
                quantity=f"{name[second['key']]} = {name[first['key']]}",
                arm=arm,
                status=Status.INCONSISTENT,
                printed="; ".join(f"{r['criterion']}: {r['printed']}" for r in (first, second)),
                recomputed="identical",
                method="the same summary and CI under two response criteria",
                reason=f"{endpoint} {statistic} and its CI are identical under "
                + " and ".join(grp["criterion"].unique())
                + ": possibly a copied row; flagged for review",
            )
        )
    return rows
