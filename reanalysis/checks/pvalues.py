"""Printed p-values of between-arm comparisons: counts (Pearson, Yates, Fisher), means (t-tests),
and every printed p no other check covers."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from .. import stats as S
from ..data import Study, line_of, study_file
from ..errors import DataError
from ..printed import PrintedNumber, parse_p
from .lookup import COUNT_TABLES, contingency, continuous_keys, quantity_labels
from .record import Check, Status, fmt_p

# The families that verdict a printed p; a p none of them covers is listed as not recomputable.
P_FAMILIES = ("p-value", "landmark p", "paired p", "interaction p")


def require_paper_tests(study: Study) -> None:
    """With ``test_rule=paper`` every test a count comparison's p names must be one computed
    here (Pearson, Yates, Fisher): otherwise stop with the file, line and column of the name,
    before any kernel starts, instead of failing inside a chapter."""
    continuous = continuous_keys(study)
    pv = study["pvalues"]
    for idx, r in pv.iterrows():
        if r["key"] in continuous or r["domain"] not in COUNT_TABLES or r["domain"] == "paired":
            continue
        if pd.notna(r["test_named"]):
            try:
                S.paper_test_name(r["test_named"])
            except ValueError as exc:
                raise DataError(
                    study_file(study, "pvalues.csv"),
                    f"{exc} (test_rule=paper uses the test each p names; choose another test_rule, "
                    "or name the test as the paper did)",
                    row=line_of(pv, idx),
                    column="test_named",
                ) from None


def categorical_p_checks(study: Study, test_rule: str = "gtsummary") -> list[Check]:
    """Each printed p of a count comparison against Pearson, Yates and Fisher."""
    if test_rule == "paper":
        require_paper_tests(study)
    rows, labels = [], quantity_labels(study)
    continuous = continuous_keys(study)
    for _, r in study["pvalues"].iterrows():
        if r["key"] in continuous or r["domain"] not in COUNT_TABLES or r["domain"] == "paired":
            continue
        table, note = contingency(study, r["key"], r["levels"])
        base = dict(
            study=study.id,
            check="p-value",
            key=r["key"],
            location=r["location"],
            quantity=labels.get(r["key"], r["key"]),
            printed=r["printed"],
            test_named=r["test_named"],
        )
        if table is None:
            rows.append(
                Check(**base, status=Status.NOT_RECOMPUTABLE, reason="no counts printed for both arms")
            )
            continue
        printed = parse_p(r["printed"])
        results = S.categorical_tests(table)
        reproducing = tuple(name for name, res in results.items() if S.p_reproduces(res.p, printed))
        paper_test = r["test_named"] if test_rule == "paper" and pd.notna(r["test_named"]) else None
        rule = test_rule if (test_rule != "paper" or paper_test) else "gtsummary"
        choice = S.choose_test(table, rule, paper_test=paper_test, printed=printed)
        chosen, why, footnote = choice.test, choice.reason, choice.footnote
        if rule != test_rule:
            suffix = " (the paper names no test for this p, so the gtsummary rule applies)"
            why, footnote = why + suffix, footnote + suffix
        shape = "×".join(map(str, table.shape))
        if chosen not in results:  # e.g. Fisher chosen for a 3×3 table: computed for 2×k only
            suffix = f"; {chosen} is not available for a {shape} table, so Pearson is shown"
            why, footnote = why + suffix, footnote + suffix
            chosen = S.TEST_PEARSON
        res = results[chosen]
        all_p = "; ".join(f"{name} {fmt_p(x.p)}" for name, x in results.items())
        if all(math.isnan(x.p) for x in results.values()):
            status, reason = Status.NOT_RECOMPUTABLE, "no events in either arm: every test is undefined"
            if printed.relation == "=" and printed.value >= 0.999:
                reason += f"; printed {r['printed']} is the conventional value for identical arms"
        elif reproducing:
            status = Status.REPRODUCED
            reason = "reproduced by " + ", ".join(reproducing)
            if chosen not in reproducing:
                reason += f"; not by the {chosen} that the rule chose ({fmt_p(res.p)})"
        elif S.TEST_FISHER not in results:
            status = Status.NOT_RECOMPUTABLE
            reason = (
                f"no test computed here gives {r['printed']} ({all_p}); the exact test for a "
                f"{shape} table (Fisher–Freeman–Halton) is not available to check"
            )
        else:
            status = Status.INCONSISTENT
            reason = f"no standard test gives {r['printed']} from these counts ({all_p})"
        if note:
            reason += f"; {note}"
        lo, hi = printed.interval()
        rows.append(
            Check(
                **base,
                status=status,
                recomputed=fmt_p(res.p),
                method=f"{chosen} on the {shape} table: {why}",
                reason=reason,
                tests_tried=tuple(results),
                tests_reproducing=reproducing,
                test_chosen=chosen,
                footnote=footnote,
                printed_lower=lo,
                printed_upper=hi,
                recomputed_value=res.p,
            )
        )
    return rows


def continuous_p_checks(study: Study) -> list[Check]:
    """Mean ± SD rows: Student and Welch t from summaries; medians need patient data."""
    rows, labels = [], quantity_labels(study)
    a, b = study.comparison
    pv = study["pvalues"].set_index("key")
    for t in ("baseline", "response"):
        df = study[t]
        for key, grp in df[df["stat"] != "count"].groupby("key", sort=False):
            if key not in pv.index:
                continue
            p_row = pv.loc[key]
            stat = grp["stat"].iloc[0]
            by_arm = grp.set_index("arm")
            base = dict(
                study=study.id,
                check="p-value",
                key=key,
                location=p_row["location"],
                quantity=labels.get(key, key),
                printed=p_row["printed"],
                test_named=p_row["test_named"],
            )
            if stat != "mean_sd" or a not in by_arm.index or b not in by_arm.index:
                rows.append(
                    Check(
                        **base,
                        status=Status.NOT_RECOMPUTABLE,
                        reason="a median (IQR/range) comparison needs a rank test on patient data",
                    )
                )
                continue
            x, y = by_arm.loc[a], by_arm.loc[b]
            printed = parse_p(p_row["printed"])
            na, nb = study.arm_sizes[a], study.arm_sizes[b]
            reproducing, ranges = [], {}
            for eq in (True, False):
                mid = S.t_test_from_summary(x["mean"], x["sd"], na, y["mean"], y["sd"], nb, equal_var=eq)
                ps = [
                    S.t_test_from_summary(m1, s1, na, m2, s2, nb, equal_var=eq).p
                    for m1 in PrintedNumber.find(x["printed"], x["mean"]).interval()
                    for s1 in PrintedNumber.find(x["printed"], x["sd"]).interval()
                    for m2 in PrintedNumber.find(y["printed"], y["mean"]).interval()
                    for s2 in PrintedNumber.find(y["printed"], y["sd"]).interval()
                ]
                ranges[eq] = (mid.p, min(ps), max(ps))
                if S.p_reproduces(mid.p, printed) or printed.overlaps(min(ps), max(ps)):
                    reproducing.append(mid.test)
            span = "; ".join(
                f"{'Student' if eq else 'Welch'} {fmt_p(m)} ({fmt_p(lo)}–{fmt_p(hi)} over "
                "the rounding of the printed means and SDs)"
                for eq, (m, lo, hi) in ranges.items()
            )
            p_lo, p_hi = printed.interval()
            rows.append(
                Check(
                    **base,
                    status=Status.REPRODUCED if reproducing else Status.INCONSISTENT,
                    recomputed=fmt_p(ranges[True][0]),
                    method=f"{S.TEST_STUDENT} from mean, SD and N",
                    footnote=f"{S.TEST_STUDENT} from mean, SD and N",
                    reason=(
                        ("reproduced by " + ", ".join(reproducing) + f": {span}")
                        if reproducing
                        else (f"no t-test gives {p_row['printed']}: {span}")
                    ),
                    tests_tried=(S.TEST_STUDENT, S.TEST_WELCH),
                    tests_reproducing=tuple(reproducing),
                    test_chosen=S.TEST_STUDENT,
                    printed_lower=p_lo,
                    printed_upper=p_hi,
                    recomputed_value=ranges[True][0],
                    recomputed_lower=min(ranges[True][1], ranges[False][1]),
                    recomputed_upper=max(ranges[True][2], ranges[False][2]),
                )
            )
    return rows


# Why a printed p of a domain cannot be recomputed from aggregates (default: the data are missing).
_NOT_RECOMPUTABLE_WHY = {
    # the survival reconstruction (recon_checks) judges the arms of each endpoint and replaces
    # this row for the p-values it covers; the others (groups by prognostic factor, another
    # response criterion than the one shown) stay here
    "survival": "a survival comparison needs patient-level times, and the survival reconstruction "
    "covers only the comparison of the arms under the response criterion shown",
    "followup": "a follow-up comparison needs patient-level follow-up times",
}


def uncovered_p_checks(study: Study, earlier: Sequence[Check]) -> list[Check]:
    """Every printed p no other check covers, listed with why it cannot be recomputed."""
    done = {c.key for c in earlier if c.check in P_FAMILIES}
    labels = quantity_labels(study)
    return [
        Check(
            study=study.id,
            check="p-value",
            key=r["key"],
            location=r["location"],
            quantity=labels.get(r["key"], r["key"]),
            status=Status.NOT_RECOMPUTABLE,
            printed=r["printed"],
            reason=_NOT_RECOMPUTABLE_WHY.get(r["domain"], "the data behind this p are not printed"),
            test_named=r["test_named"],
        )
        for _, r in study["pvalues"].iterrows()
        if r["key"] not in done
    ]
