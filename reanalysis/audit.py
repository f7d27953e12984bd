"""Printed vs recomputed: every check a study's aggregates allow, as one tidy table.

Each check returns rows of ``CHECK_COLUMNS``. ``status`` is ``reproduced``,
``inconsistent`` (``reason`` says why) or ``not recomputable`` (``reason`` says what is
missing). A check calls a number inconsistent only when no reading of the printed precision,
rounding or a standard test explains it; ambiguity goes into ``reason``.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
from scipy import stats as sps

from . import stats as S
from .data import Study

REPRODUCED, INCONSISTENT, NOT_RECOMPUTABLE = "reproduced", "inconsistent", "not recomputable"
STATUSES = (REPRODUCED, INCONSISTENT, NOT_RECOMPUTABLE)
CHECK_COLUMNS = [
    "study",
    "check",
    "key",
    "location",
    "quantity",
    "arm",
    "printed",
    "recomputed",
    "method",
    "status",
    "reason",
    "test_named",
    "tests_reproducing",
]
COUNT_TABLES = ("baseline", "treatment", "response", "adverse_events")


def _not_recomputable(
    study: Study,
    check: str,
    key: str,
    location: str,
    quantity: str,
    arm: str | None,
    printed: str,
    reason: str,
    test_named: str = "",
) -> dict:
    """A check row for a printed number that the published data cannot recompute, and why."""
    return _row(
        study, check, key, location, quantity, arm, printed, "", "", NOT_RECOMPUTABLE, reason, test_named
    )


def _row(
    study: Study,
    check: str,
    key: str,
    location: str,
    quantity: str,
    arm: str | None,
    printed: str,
    recomputed: str,
    method: str,
    status: str,
    reason: str = "",
    test_named: str = "",
    tests_reproducing: str = "",
) -> dict:
    return dict(
        study=study.id,
        check=check,
        key=key,
        location=location,
        quantity=quantity,
        arm=arm or "",
        printed=printed,
        recomputed=recomputed,
        method=method,
        status=status,
        reason=reason,
        test_named=test_named or "",
        tests_reproducing=tests_reproducing,
    )


def fmt_p(p: float) -> str:
    """A p-value as journals print it: three decimals, ``< 0.001`` below that."""
    if p is None or math.isnan(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def quantity_labels(study: Study) -> dict[str, str]:
    """Key → readable label (``Gender: male``, ``RECIST 1.1 ORR``, ``Increased AST (any grade)``)."""
    labels: dict[str, str] = {}
    for table in ("baseline", "treatment"):
        for _, r in study[table].iterrows():
            labels[r["key"]] = f"{r['variable']}: {r['level']}" if pd.notna(r["level"]) else r["variable"]
    for _, r in study["response"].iterrows():
        scope = f" ({r['scope']})" if pd.notna(r["scope"]) else ""
        labels[r["key"]] = f"{r['criterion']}{scope} {r['category'].replace('_', ' ')}"
    for _, r in study["adverse_events"].iterrows():
        band = "any grade" if r["grade_band"] == "any" else f"grade {r['grade_band']}"
        labels[r["key"]] = f"{r['term']} ({band})"
    for _, r in study["survival"].iterrows():
        what = (
            f"{r['time']:g}-month rate" if r["statistic"] == "landmark" else r["statistic"].replace("_", " ")
        )
        crit = f" ({r['criterion']})" if pd.notna(r["criterion"]) else ""
        sub = f", {r['subgroup']}" if pd.notna(r["subgroup"]) else ""
        labels[r["key"]] = f"{r['endpoint']}{crit} {what}{sub}"
    for _, r in study["hazard_ratios"].iterrows():
        labels[r["key"]] = (
            f"{r['endpoint']} HR ({r['model']}{', ' + r['subgroup'] if pd.notna(r['subgroup']) else ''})"
        )
    for _, r in study["pvalues"].iterrows():
        if r["key"] not in labels and pd.notna(r["levels"]):
            first = str(r["levels"]).split(";")[0].strip()
            labels[r["key"]] = labels.get(first, r["key"]).split(":")[0]
    return labels


# ---------------------------------------------------------------- percentages (GRIM)


def percentage_checks(study: Study) -> list[dict]:
    """Every printed percentage against n/N at the printed precision."""
    rows, labels = [], quantity_labels(study)
    for table in (*COUNT_TABLES, "survival"):
        df = study[table]
        if "pct" not in df or not len(df):
            continue
        for _, r in df[df["pct"].notna()].iterrows():
            N = denominator_of(study, r)
            n = r["value"] if table == "survival" else r["n"]
            if table == "survival" and r["statistic"] == "landmark":
                continue
            n = None if pd.isna(n) else int(n)
            if N is None:
                rows.append(
                    _not_recomputable(
                        study,
                        "percentage",
                        r["key"],
                        r["location"],
                        labels.get(r["key"], r["key"]),
                        r["arm"],
                        f"{r['pct']}%",
                        "the denominator (arm size) is not printed",
                    )
                )
                continue
            g = S.grim_percentage(n, N, r["pct"])
            printed = f"{r['pct']}%"
            if n is None:
                status = REPRODUCED if g.candidates else INCONSISTENT
                reason = (
                    f"no n is printed; n = {_fmt_candidates(g.candidates)} of {N} gives {printed}"
                    if g.candidates
                    else f"no whole number of {N} patients gives {printed}"
                )
                rows.append(
                    _row(
                        study,
                        "percentage",
                        r["key"],
                        r["location"],
                        labels.get(r["key"], r["key"]),
                        r["arm"],
                        printed,
                        f"n ∈ {_fmt_candidates(g.candidates)}",
                        f"n/{N}",
                        status,
                        reason,
                    )
                )
                continue
            reason = (
                ""
                if g.consistent
                else (
                    f"{n}/{N} = {g.expected}%; {printed} would need n = {_fmt_candidates(g.candidates)}"
                    if g.candidates
                    else f"{n}/{N} = {g.expected}%; no whole number of {N} patients gives {printed}"
                )
            )
            rows.append(
                _row(
                    study,
                    "percentage",
                    r["key"],
                    r["location"],
                    labels.get(r["key"], r["key"]),
                    r["arm"],
                    f"{n} ({printed})",
                    f"{g.expected}%",
                    f"{n}/{N} at {g.decimals} decimals",
                    REPRODUCED if g.consistent else INCONSISTENT,
                    reason,
                )
            )
    return rows


def _fmt_candidates(c: tuple[int, ...]) -> str:
    if not c:
        return "none"
    return str(c[0]) if len(c) == 1 else "{" + ", ".join(map(str, c)) + "}"


# ---------------------------------------------------------------- categorical p-values


def denominator_of(study: Study, row: pd.Series) -> int | None:
    """The N a row's percentage is of: its own denominator if printed, else the arm's N."""
    if "denominator" in row.index and pd.notna(row["denominator"]):
        return int(row["denominator"])
    return study.arm_sizes.get(row["arm"])


def count_for(study: Study, key: str, arm: str) -> tuple[int | None, int | None, str]:
    """(n, N, note) for a quantity and arm; n inferred from a printed % when unique (and said so)."""
    for table in COUNT_TABLES:
        df = study[table]
        hit = df[(df["key"] == key) & (df["arm"] == arm)]
        if len(hit):
            r = hit.iloc[0]
            N = denominator_of(study, r)
            if pd.notna(r.get("n")):
                return int(r["n"]), N, ""
            if pd.notna(r.get("pct")) and N is not None:
                g = S.grim_percentage(None, N, r["pct"])
                if len(g.candidates) == 1:
                    return g.candidates[0], N, f"n = {g.candidates[0]} inferred from {r['pct']}% of {N}"
            return None, N, ""
    return None, None, ""


def contingency(study: Study, key: str, levels: list[str] | None = None) -> tuple[np.ndarray | None, str]:
    """The arms × outcome table behind a printed p (2×2, or arms × levels)."""
    a, b = study.comparison
    notes = []
    if levels:
        cols = []
        for lv in levels:
            na, _, ra = count_for(study, lv, a)
            nb, _, rb = count_for(study, lv, b)
            if na is None or nb is None:
                return None, f"level {lv} has no count"
            cols.append((na, nb))
            notes += [x for x in (ra, rb) if x]
        table = np.array(cols).T
        return table, "; ".join(notes)
    na, Na, ra = count_for(study, key, a)
    nb, Nb, rb = count_for(study, key, b)
    if na is None or nb is None or Na is None or Nb is None:
        return None, ""
    notes = [x for x in (ra, rb) if x]
    return S.two_by_two(na, Na, nb, Nb), "; ".join(notes)


def categorical_p_checks(study: Study, test_rule: str = "gtsummary") -> list[dict]:
    """Each printed p of a count comparison against Pearson, Yates and Fisher."""
    rows, labels = [], quantity_labels(study)
    continuous = _continuous_keys(study)
    for _, r in study["pvalues"].iterrows():
        if r["key"] in continuous or r["domain"] not in COUNT_TABLES or r["domain"] == "paired":
            continue
        levels = [x.strip() for x in str(r["levels"]).split(";")] if pd.notna(r["levels"]) else None
        table, note = contingency(study, r["key"], levels)
        label = labels.get(r["key"], r["key"])
        if table is None:
            rows.append(
                _not_recomputable(
                    study,
                    "p-value",
                    r["key"],
                    r["location"],
                    label,
                    None,
                    r["printed"],
                    "no counts printed for both arms",
                    r["test_named"],
                )
            )
            continue
        printed = S.parse_p(r["printed"])
        results = S.categorical_tests(table)
        reproducing = [name for name, res in results.items() if S.p_reproduces(res.p, printed)]
        paper_test = r["test_named"] if test_rule == "paper" and pd.notna(r["test_named"]) else None
        rule = test_rule if (test_rule != "paper" or paper_test) else "gtsummary"
        chosen, why = S.choose_test(table, rule, paper_test=paper_test, printed=printed)
        if rule != test_rule:
            why += " (the paper names no test for this p, so the gtsummary rule applies)"
        shape = "×".join(map(str, table.shape))
        if chosen not in results:  # e.g. Fisher chosen for an r×c table: scipy has only 2×2
            why += f"; {chosen} is not available for a {shape} table, so Pearson is shown"
            chosen = S.TEST_PEARSON
        res = results[chosen]
        all_p = "; ".join(f"{name} {fmt_p(x.p)}" for name, x in results.items())
        if all(math.isnan(x.p) for x in results.values()):
            status, reason = NOT_RECOMPUTABLE, "no events in either arm: every test is undefined"
            if printed.relation == "=" and printed.value >= 0.999:
                reason += f"; printed {r['printed']} is the conventional value for identical arms"
        elif reproducing:
            status = REPRODUCED
            reason = "reproduced by " + ", ".join(reproducing)
            if chosen not in reproducing:
                reason += f"; not by the {chosen} that the rule chose ({fmt_p(res.p)})"
        elif table.shape != (2, 2):
            status = NOT_RECOMPUTABLE
            reason = (
                f"no test computed here gives {r['printed']} ({all_p}); the exact test for a "
                f"{shape} table (Fisher–Freeman–Halton) is not available to check"
            )
        else:
            status = INCONSISTENT
            reason = f"no standard test gives {r['printed']} from these counts ({all_p})"
        if note:
            reason += f"; {note}"
        rows.append(
            _row(
                study,
                "p-value",
                r["key"],
                r["location"],
                label,
                None,
                r["printed"],
                fmt_p(res.p),
                f"{chosen} on the {shape} table: {why}",
                status,
                reason,
                r["test_named"],
                "; ".join(reproducing),
            )
        )
    return rows


def _continuous_keys(study: Study) -> set[str]:
    keys = set()
    for t in ("baseline", "treatment", "response"):
        df = study[t]
        keys |= set(df.loc[df["stat"] != "count", "key"])
    return keys


def _rounding_bounds(printed: str, value: float) -> tuple[float, float]:
    """The interval a printed number stands for (± half a unit of its last digit)."""
    half = 0.5 * 10 ** -_decimals_of(printed, value)
    return max(value - half, 0.0), value + half


def _p_in_range(printed: S.PrintedP, lo: float, hi: float) -> bool:
    """Could some p in [lo, hi] be printed as ``printed``?"""
    if printed.relation == "<":
        return lo < printed.value
    if printed.relation == ">":
        return hi > printed.value
    half = 0.5 * 10**-printed.decimals
    return lo <= printed.value + half and hi >= printed.value - half


def continuous_p_checks(study: Study) -> list[dict]:
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
            label = labels.get(key, key)
            if stat != "mean_sd" or a not in by_arm.index or b not in by_arm.index:
                rows.append(
                    _not_recomputable(
                        study,
                        "p-value",
                        key,
                        p_row["location"],
                        label,
                        None,
                        p_row["printed"],
                        "a median (IQR/range) comparison needs a rank test on patient data",
                        p_row["test_named"],
                    )
                )
                continue
            x, y = by_arm.loc[a], by_arm.loc[b]
            printed = S.parse_p(p_row["printed"])
            na, nb = study.arm_sizes[a], study.arm_sizes[b]
            reproducing, ranges = [], {}
            for eq in (True, False):
                mid = S.t_test_from_summary(x["mean"], x["sd"], na, y["mean"], y["sd"], nb, equal_var=eq)
                ps = [
                    S.t_test_from_summary(m1, s1, na, m2, s2, nb, equal_var=eq).p
                    for m1 in _rounding_bounds(x["printed"], x["mean"])
                    for s1 in _rounding_bounds(x["printed"], x["sd"])
                    for m2 in _rounding_bounds(y["printed"], y["mean"])
                    for s2 in _rounding_bounds(y["printed"], y["sd"])
                ]
                ranges[eq] = (mid.p, min(ps), max(ps))
                if S.p_reproduces(mid.p, printed) or _p_in_range(printed, min(ps), max(ps)):
                    reproducing.append(mid.test)
            status = REPRODUCED if reproducing else INCONSISTENT
            span = "; ".join(
                f"{'Student' if eq else 'Welch'} {fmt_p(m)} ({fmt_p(lo)}–{fmt_p(hi)} over "
                "the rounding of the printed means and SDs)"
                for eq, (m, lo, hi) in ranges.items()
            )
            reason = (
                ("reproduced by " + ", ".join(reproducing) + f": {span}")
                if reproducing
                else (f"no t-test gives {p_row['printed']}: {span}")
            )
            rows.append(
                _row(
                    study,
                    "p-value",
                    key,
                    p_row["location"],
                    label,
                    None,
                    p_row["printed"],
                    fmt_p(ranges[True][0]),
                    f"{S.TEST_STUDENT} from mean, SD and N",
                    status,
                    reason,
                    p_row["test_named"],
                    "; ".join(reproducing),
                )
            )
    return rows


# ---------------------------------------------------------------- internal sums


def sum_checks(study: Study) -> list[dict]:
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
                        _row(
                            study,
                            "sum",
                            f"response.{target.lower()}",
                            location,
                            f"{crit} {target} = {' + '.join(parts)}",
                            arm,
                            str(n[target]),
                            str(total),
                            "sum of categories",
                            REPRODUCED if total == n[target] else INCONSISTENT,
                            "" if total == n[target] else f"{' + '.join(str(n[p]) for p in parts)} = {total}",
                        )
                    )
            cats = [c for c in ("CR", "PR", "SD", "PD", "NE") if c in n]
            if N is not None and {"CR", "PR", "SD", "PD"} <= set(cats):
                total = sum(n[c] for c in cats)
                rows.append(
                    _row(
                        study,
                        "sum",
                        "response.categories",
                        location,
                        f"{crit} {' + '.join(cats)} = N",
                        arm,
                        str(N),
                        str(total),
                        "sum of categories",
                        REPRODUCED if total == N else INCONSISTENT,
                        ""
                        if total == N
                        else f"categories add to {total}, not {N}"
                        + (" (patients not evaluable are not listed)" if total < N else ""),
                    )
                )
    pv = study["pvalues"]
    for _, r in pv[pv["levels"].notna() & pv["domain"].isin(["baseline", "treatment"])].iterrows():
        levels = [x.strip() for x in str(r["levels"]).split(";")]
        for arm in [a.id for a in study.arms]:
            counts = [count_for(study, lv, arm)[0] for lv in levels]
            if arm not in study.arm_sizes:
                continue
            if None in counts:
                continue
            total, N = sum(counts), study.arm_sizes[arm]
            rows.append(
                _row(
                    study,
                    "sum",
                    r["key"],
                    r["location"],
                    f"{quantity_labels(study).get(r['key'], r['key'])} levels = N",
                    arm,
                    str(N),
                    str(total),
                    "sum of levels",
                    REPRODUCED if total == N else INCONSISTENT,
                    "" if total == N else f"levels add to {total}, not {N}",
                )
            )
    return rows


# ---------------------------------------------------------------- restatements


def _decimals_of(text: str, value: float) -> int:
    import re

    for tok in re.findall(r"\d+(?:\.\d+)?", str(text)):
        if abs(float(tok) - value) < 1e-9:
            return len(tok.split(".")[1]) if "." in tok else 0
    return 0


def _primary(study: Study, key: str, statistic: str, arm: str | None) -> tuple[float, str, str] | None:
    """(value, printed, location) of the quantity a restatement repeats."""
    if statistic == "p":
        for t in ("pvalues", "hazard_ratios"):
            df = study[t]
            hit = df[df["key"] == key]
            if len(hit):
                r = hit.iloc[0]
                txt = r["printed"] if t == "pvalues" else r["p_printed"]
                if pd.isna(txt):
                    return None
                return float(r["p"]), str(txt), r["location"]
        return None
    for t in ("baseline", "treatment", "response", "adverse_events", "survival", "hazard_ratios"):
        df = study[t]
        hit = df[df["key"] == key]
        if arm and "arm" in df:
            hit = hit[hit["arm"] == arm]
        if not len(hit):
            continue
        r = hit.iloc[0]
        col = {
            "pct": "pct",
            "n": "n",
            "median": "value" if t == "survival" else "median",
            "hr": "hr",
            "lower": "lower",
            "upper": "upper",
            "value": "value",
        }.get(statistic, statistic)
        if t == "survival" and statistic == "pct" and r["statistic"] == "landmark":
            col = "value"
        if col not in r.index or pd.isna(r[col]):
            return None
        return float(r[col]), str(r[col]) if col == "pct" else f"{r[col]:g}", r["location"]
    return None


def _round(x: float, d: int, mode: str) -> Decimal:
    return Decimal(repr(x)).quantize(Decimal(1).scaleb(-d), rounding=mode)


def restatement_checks(study: Study) -> list[dict]:
    """A number printed again elsewhere against its primary value, at the coarser precision."""
    rows, labels = [], quantity_labels(study)
    for _, r in study["restatements"].iterrows():
        arm = r["arm"] if pd.notna(r["arm"]) else None
        prim = _primary(study, r["key"], r["statistic"], arm)
        label = f"{labels.get(r['key'], r['key'])} [{r['statistic']}]"
        if prim is None:
            rows.append(
                _not_recomputable(
                    study,
                    "restatement",
                    r["key"],
                    r["location"],
                    label,
                    arm,
                    r["printed"],
                    "the primary location prints no such value",
                )
            )
            continue
        value, prim_printed, prim_loc = prim
        if r["statistic"] == "p":
            same = _p_agree(_loose_p(r["printed"], float(r["value"])), _loose_p(prim_printed, value))
        else:
            d_r = _decimals_of(r["printed"], r["value"])
            d_p = (
                _decimals_of(prim_printed, value)
                if r["statistic"] == "pct"
                else _decimals_of(f"{value:g}", value)
            )
            same = _same_number(float(r["value"]), d_r, value, d_p)
        status = REPRODUCED if same else INCONSISTENT
        reason = "" if same else f"{prim_loc} prints {prim_printed}"
        rows.append(
            _row(
                study,
                "restatement",
                r["key"],
                r["location"],
                label,
                arm,
                r["printed"],
                f"{prim_printed} ({prim_loc})",
                f"same value as {prim_loc} at the coarser precision",
                status,
                reason,
            )
        )
    return rows


def _loose_p(text: str, value: float) -> S.PrintedP:
    """Relation, value and precision of a p inside free text (``all p>0.2``, ``P = 0.017``)."""
    import re

    for m in re.finditer(r"([<>=≤≥])?\s*(\d*\.\d+|\d+)", str(text)):
        if abs(float(m.group(2)) - value) < 1e-12:
            rel = {"≤": "<", "≥": ">", None: "="}.get(m.group(1), m.group(1))
            digits = m.group(2).split(".")
            return S.PrintedP(rel, value, len(digits[1]) if len(digits) > 1 else 0)
    return S.PrintedP("=", value, _decimals_of(text, value))


def _p_agree(r: S.PrintedP, q: S.PrintedP) -> bool:
    """Can two printed p's (each a value or a bound) describe the same p?"""
    if r.relation == "=" and q.relation == "=":
        return _same_number(r.value, r.decimals, q.value, q.decimals)
    if r.relation == q.relation:
        return True  # two bounds on the same side never contradict each other
    if "=" in (r.relation, q.relation):
        # a printed value stands for the interval its rounding covers: "0.001" may be 0.00087
        exact, bound = (r, q) if r.relation == "=" else (q, r)
        half = 0.5 * 10**-exact.decimals
        if bound.relation == "<":
            return exact.value - half < bound.value
        return exact.value + half > bound.value
    low, high = (r, q) if r.relation == ">" else (q, r)  # p > low and p < high
    return low.value < high.value


def _same_number(a: float, da: int, b: float, db: int) -> bool:
    """Equal once the more precise one is rounded to the other's decimals (half-up or half-even)."""
    if da <= db:
        return any(_round(b, da, m) == _round(a, da, m) for m in (ROUND_HALF_UP, ROUND_HALF_EVEN))
    return any(_round(a, db, m) == _round(b, db, m) for m in (ROUND_HALF_UP, ROUND_HALF_EVEN))


# ---------------------------------------------------------------- survival and HRs


def hazard_ratio_checks(study: Study, alpha: float = 0.05) -> list[dict]:
    """Printed p of an HR against the Wald p implied by its CI (range over CI rounding)."""
    rows, labels = [], quantity_labels(study)
    for _, r in study["hazard_ratios"].iterrows():
        if pd.isna(r["lower"]) or pd.isna(r["upper"]) or pd.isna(r["p_printed"]):
            continue
        d = max(_decimals_of(r["printed"], r["lower"]), _decimals_of(r["printed"], r["upper"]))
        half = 0.5 * 10**-d
        ps = [
            S.hr_p_from_ci(r["hr"], lo, hi)
            for lo in (r["lower"] - half, r["lower"] + half)
            for hi in (r["upper"] - half, r["upper"] + half)
            if lo > 0
        ]
        p_mid = S.hr_p_from_ci(r["hr"], r["lower"], r["upper"])
        printed = S.parse_p(r["p_printed"])
        lo_p, hi_p = min(ps), max(ps)
        in_range = (printed.relation == "<" and lo_p < printed.value) or (
            printed.relation == "="
            and lo_p - 0.5 * 10**-printed.decimals <= printed.value <= hi_p + 0.5 * 10**-printed.decimals
        )
        ci_excludes_1 = r["upper"] < 1 or r["lower"] > 1
        p_sig = printed.value < alpha if printed.relation != ">" else False
        recomputed = f"{fmt_p(p_mid)} (range {fmt_p(lo_p)}–{fmt_p(hi_p)})"
        if in_range:
            status, reason = REPRODUCED, "the printed p is the Wald p of this HR and CI"
        elif ci_excludes_1 != p_sig:
            status = INCONSISTENT
            reason = (
                "the CI excludes 1 but the printed p is not significant"
                if ci_excludes_1
                else "the CI includes 1 but the printed p is significant"
            )
        else:
            status = NOT_RECOMPUTABLE
            reason = (
                "the printed p is not the Wald p of this HR (it is likely the "
                f"{study.meta.get('tests_named', {}).get('survival', 'survival')} test p); "
                "both agree on significance"
            )
        rows.append(
            _row(
                study,
                "hazard ratio",
                r["key"],
                r["location"],
                labels.get(r["key"], r["key"]),
                None,
                f"{r['hr']:g} ({r['lower']:g}–{r['upper']:g}), {r['p_printed']}",
                recomputed,
                "Wald p from the CI on the log scale (Altman & Bland 2011)",
                status,
                reason,
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


def landmark_p_checks(study: Study) -> list[dict]:
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
        printed = S.parse_p(pv.loc[key, "printed"])
        impossible = (
            printed.relation in ("<", "=")
            and printed.value < p_min
            and (printed.relation == "<" or not S.p_reproduces(p_min, printed))
        )
        status = INCONSISTENT if impossible else NOT_RECOMPUTABLE
        reason = (
            f"even with no censoring the smallest attainable p is {fmt_p(p_min)} (a whole-curve "
            "test's p printed against a landmark would explain it)"
            if impossible
            else "attainable; the exact p needs the numbers at risk"
        )
        rows.append(
            _row(
                study,
                "landmark p",
                key,
                pv.loc[key, "location"],
                labels.get(key, key),
                None,
                pv.loc[key, "printed"],
                f"≥ {fmt_p(p_min)}",
                "smallest attainable p: z-tests (linear, log, cloglog, arcsine), binomial variance at full N",
                status,
                reason,
                pv.loc[key, "test_named"],
            )
        )
    return rows


def paired_p_checks(study: Study) -> list[dict]:
    """A printed p comparing two criteria on the same patients against the McNemar range.

    Only the margins are printed, so every joint table consistent with them is tried; a printed
    p outside the range that every McNemar variant can reach is inconsistent.
    """
    rows, labels = [], quantity_labels(study)
    pv = study["pvalues"]
    for _, r in pv[pv["domain"] == "paired"].iterrows():
        keys = [x.strip() for x in str(r["levels"]).split(";")]
        label = " vs ".join(labels.get(k, k) for k in keys)
        arms = [a.id for a in study.arms]
        counts = [[count_for(study, k, arm) for k in keys] for arm in arms]
        usable = [
            (arm, c)
            for arm, c in zip(arms, counts, strict=True)
            if len(c) == 2 and None not in (c[0][0], c[1][0]) and c[0][1] == c[1][1] and c[0][1]
        ]
        if not usable:
            rows.append(
                _not_recomputable(
                    study,
                    "paired p",
                    r["key"],
                    r["location"],
                    label,
                    None,
                    r["printed"],
                    "the paired counts or their common N are not printed",
                    r["test_named"],
                )
            )
            continue
        arm, ((a, N, _), (b, _, _)) = usable[0]
        printed = S.parse_p(r["printed"])
        ranges = S.mcnemar_range(a, b, N)
        attainable = [name for name, (lo, hi) in ranges.items() if _p_in_range(printed, lo, hi)]
        span = "; ".join(f"{name} {fmt_p(lo)}–{fmt_p(hi)}" for name, (lo, hi) in ranges.items())
        status = NOT_RECOMPUTABLE if attainable else INCONSISTENT
        reason = (
            f"attainable by {', '.join(attainable)}; the exact p needs the joint table"
            if attainable
            else f"no joint table with these margins gives {r['printed']} ({span})"
        )
        rows.append(
            _row(
                study,
                "paired p",
                r["key"],
                r["location"],
                label,
                arm,
                r["printed"],
                span,
                f"McNemar over all joint tables with margins {a}/{N} and {b}/{N}",
                status,
                reason,
                r["test_named"],
                "; ".join(attainable),
            )
        )
    return rows


def interaction_checks(study: Study, alpha: float = 0.05) -> list[dict]:
    """A printed subgroup-interaction p against the ratio-of-HRs z-test from the subgroup CIs.

    The range covers the rounding of the printed CIs. A printed p outside it is called
    inconsistent only when the two disagree about significance: a model-based interaction
    test can legitimately differ from this approximation (Altman & Bland, BMJ 2003).
    """
    rows = []
    hrs = study["hazard_ratios"].set_index("key")
    pv = study["pvalues"]
    for _, r in pv[pv["domain"] == "interaction"].iterrows():
        keys = [x.strip() for x in str(r["levels"]).split(";")] if pd.notna(r["levels"]) else []
        label = "interaction: " + " vs ".join(
            str(hrs.loc[k, "subgroup"]) if k in hrs.index else k for k in keys
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
                _not_recomputable(
                    study,
                    "interaction p",
                    r["key"],
                    r["location"],
                    label,
                    None,
                    r["printed"],
                    "needs exactly two subgroup HRs with finite CIs",
                    r["test_named"],
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
        printed = S.parse_p(_loose_p_text(r["printed"]))
        if _p_in_range(printed, lo, hi):
            status, reason = REPRODUCED, "the ratio-of-HRs test gives the printed p"
        elif (printed.value < alpha) != (mid < alpha) and printed.relation != ">":
            status = INCONSISTENT
            reason = (
                f"the ratio-of-HRs test gives {fmt_p(mid)}: the two disagree about significance at {alpha:g}"
            )
        else:
            status = NOT_RECOMPUTABLE
            reason = (
                "the printed p probably comes from an interaction term in a Cox model; the "
                "ratio-of-HRs approximation differs but agrees about significance"
            )
        rows.append(
            _row(
                study,
                "interaction p",
                r["key"],
                r["location"],
                label,
                None,
                r["printed"],
                f"{fmt_p(mid)} (range {fmt_p(lo)}–{fmt_p(hi)})",
                "ratio of subgroup HRs, z-test from their CIs (Altman & Bland 2003)",
                status,
                reason,
                r["test_named"],
            )
        )
    return rows


def _corners(bounds: tuple[tuple[float, str], ...]) -> list[tuple[float, ...]]:
    """Every combination of each printed bound ± half a unit of its last digit."""
    import itertools

    options = []
    for value, printed in bounds:
        lo, hi = _rounding_bounds(printed, value)
        options.append((lo, hi))
    return list(itertools.product(*options))


def _loose_p_text(text: str) -> str:
    """``p=0.058`` or ``P = 0.017`` → ``0.058`` for parse_p; bounds keep their sign."""
    import re

    m = re.search(r"([<>])?\s*=?\s*(\d*\.\d+|\d+)\s*$", str(text))
    return f"{m.group(1) or ''}{m.group(2)}" if m else str(text)


def bed_checks(study: Study, alpha_beta: float = 10.0) -> list[dict]:
    """A printed BED range against the doses and fraction numbers printed beside it."""
    from .radiobiology import attainable_bed

    tr = study["treatment"]
    rows = []
    by_key = {k.split(".", 1)[1]: g.iloc[0] for k, g in tr.groupby("key")}
    dose, frac = by_key.get("total_dose"), by_key.get("fractions")
    tag = f"bed{alpha_beta:g}"
    bedrow = by_key.get(tag)
    if bedrow is None:
        return rows
    if (
        dose is None
        or frac is None
        or any(pd.isna(x) for x in (dose["lower"], dose["upper"], frac["lower"], frac["upper"]))
    ):
        return [
            _not_recomputable(
                study,
                "BED range",
                bedrow["key"],
                bedrow["location"],
                bedrow["variable"],
                bedrow["arm"],
                bedrow["printed"],
                "dose and fraction ranges are not both printed",
            )
        ]
    rng = attainable_bed((dose["lower"], dose["upper"]), (frac["lower"], frac["upper"]), alpha_beta)
    ok = rng.contains(bedrow["lower"], bedrow["upper"])
    reason = (
        ""
        if ok
        else (
            f"{dose['printed']} Gy in {frac['printed']} fractions can give BED "
            f"{rng.lowest:.1f}–{rng.highest:.1f} Gy only"
        )
    )
    return [
        _row(
            study,
            "BED range",
            bedrow["key"],
            bedrow["location"],
            bedrow["variable"],
            bedrow["arm"],
            bedrow["printed"],
            f"attainable {rng.lowest:.1f}–{rng.highest:.1f}",
            f"LQ model, α/β = {alpha_beta:g} Gy, extremes of the printed dose and fraction ranges",
            REPRODUCED if ok else INCONSISTENT,
            reason,
        )
    ]


GRADE_SETS = {"any": ("1", "2", "3", "4", "5"), ">=3": ("3", "4", "5"), "3-4": ("3", "4")}


def _grade_totals(study: Study, arm: str, band: str) -> pd.Series:
    """Per term, the events of the given band summed over the printed single grades."""
    ae = study["adverse_events"]
    ae = ae[(ae["arm"] == arm) & ae["grade_band"].isin(GRADE_SETS[band]) & ae["n"].notna()]
    return ae.groupby("term", sort=False)["n"].sum().astype(int)


def ae_claim_checks(study: Study) -> list[dict]:
    """Claims about adverse events: overall grade >= 3 rates against the bounds that the per-term
    grade counts allow, and 'most common' claims against the per-term totals.

    A patient may have several events, so the share of patients with any grade >= 3 event lies
    between the largest single term and the sum over terms (capped at N).
    """
    rows = []
    ae = study["adverse_events"]
    graded = ae[ae["grade_band"].isin(["1", "2", "3", "4", "5"])]
    if graded.empty:
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
                    _row(
                        study,
                        "AE claim",
                        r["key"],
                        r["location"],
                        f"{r['term']} (grade {band})",
                        arm,
                        r["printed"],
                        f"n = {n}; attainable {lo}–{hi}",
                        "patients with any such event: between the largest term and the sum of terms",
                        REPRODUCED if ok else INCONSISTENT,
                        "; ".join(x for x in (note, "" if ok else f"{n} lies outside {lo}–{hi}") if x),
                    )
                )
        for claim in study.meta.get("ae_claims") or []:
            totals = _grade_totals(study, arm, claim.get("grade_band", "any"))
            if totals.empty or claim.get("term") not in totals.index:
                rows.append(
                    _not_recomputable(
                        study,
                        "AE claim",
                        "ae.claims",
                        claim.get("location", ""),
                        claim.get("printed", ""),
                        arm,
                        claim.get("printed", ""),
                        "the claimed term has no graded counts",
                    )
                )
                continue
            ranked = totals.sort_values(ascending=False, kind="stable")
            rank = {"most_common": 1, "second_most_common": 2}[claim["kind"]]
            value = int(totals[claim["term"]])
            distinct = sorted(set(ranked.to_numpy().tolist()), reverse=True)
            ok = len(distinct) >= rank and value == distinct[rank - 1]
            top = ", ".join(f"{t} {v}" for t, v in ranked.head(3).items())
            rows.append(
                _row(
                    study,
                    "AE claim",
                    "ae.claims",
                    claim.get("location", ""),
                    f"{claim['kind'].replace('_', ' ')} (grade {claim.get('grade_band', 'any')})",
                    arm,
                    claim.get("printed", ""),
                    f"{claim['term']}: {value}; top: {top}",
                    "per-term totals over the printed grades",
                    REPRODUCED if ok else INCONSISTENT,
                    "" if ok else f"{claim['term']} is not ranked {rank} ({top})",
                )
            )
    return rows


def not_recomputable_p(study: Study, done: set[str]) -> list[dict]:
    """Every printed p no other check covers, listed with why it cannot be recomputed."""
    rows, labels = [], quantity_labels(study)
    for _, r in study["pvalues"].iterrows():
        if r["key"] in done:
            continue
        why = {
            "survival": "a survival comparison needs patient-level times (pseudo-IPD reconstruction "
            "is a separate step)",
            "followup": "a follow-up comparison needs patient-level follow-up times",
        }.get(r["domain"], "the data behind this p are not printed")
        rows.append(
            _not_recomputable(
                study,
                "p-value",
                r["key"],
                r["location"],
                labels.get(r["key"], r["key"]),
                None,
                r["printed"],
                why,
                r["test_named"],
            )
        )
    return rows


def run_checks(
    study: Study,
    test_rule: str = "gtsummary",
    ci_method: str = "wilson",
    alpha: float = 0.05,
    alpha_beta: float = 10.0,
) -> pd.DataFrame:
    """All checks of one study as one table (stable order: check kind, then source order)."""
    rows = percentage_checks(study)
    if study.is_two_arm:
        rows += categorical_p_checks(study, test_rule) + continuous_p_checks(study) + landmark_p_checks(study)
    rows += paired_p_checks(study) + interaction_checks(study, alpha)
    rows += not_recomputable_p(
        study,
        {r["key"] for r in rows if r["check"] in ("p-value", "landmark p", "paired p", "interaction p")},
    )
    rows += sum_checks(study) + restatement_checks(study) + hazard_ratio_checks(study, alpha)
    rows += bed_checks(study, alpha_beta) + ae_claim_checks(study)
    return pd.DataFrame(rows, columns=CHECK_COLUMNS)


def status_counts(checks: pd.DataFrame) -> pd.DataFrame:
    """Checks × status counts, every status present as a column."""
    out = pd.crosstab(checks["check"], checks["status"]).reindex(columns=list(STATUSES), fill_value=0)
    out.loc["total"] = out.sum()
    return out.astype(int)


def rate_table(study: Study, criterion: str, method: str = "wilson", alpha: float = 0.05) -> pd.DataFrame:
    """ORR and DCR per arm with CIs, and the risk difference (first arm minus second) with CI."""
    resp = study["response"]
    a, b = study.comparison
    rows = []
    for cat in ("ORR", "DCR"):
        sel = resp[(resp["criterion"] == criterion) & (resp["category"] == cat) & resp["scope"].isna()]
        sel = sel[sel["n"].notna()].set_index("arm")
        if not {a, b} <= set(sel.index) or not {a, b} <= set(study.arm_sizes):
            continue
        na, nb = int(sel.loc[a, "n"]), int(sel.loc[b, "n"])
        Na, Nb = study.arm_sizes[a], study.arm_sizes[b]
        lo_a, hi_a = S.proportion_ci(na, Na, method, alpha)
        lo_b, hi_b = S.proportion_ci(nb, Nb, method, alpha)
        d, dlo, dhi = S.risk_difference_ci(na, Na, nb, Nb, "newcombe", alpha)
        rows.append(
            {
                "outcome": cat,
                "arm_a_n": na,
                "arm_a_N": Na,
                "arm_a_rate": na / Na,
                "arm_a_lo": lo_a,
                "arm_a_hi": hi_a,
                "arm_b_n": nb,
                "arm_b_N": Nb,
                "arm_b_rate": nb / Nb,
                "arm_b_lo": lo_b,
                "arm_b_hi": hi_b,
                "diff": d,
                "diff_lo": dlo,
                "diff_hi": dhi,
            }
        )
    columns = [
        "outcome",
        "arm_a_n",
        "arm_a_N",
        "arm_a_rate",
        "arm_a_lo",
        "arm_a_hi",
        "arm_b_n",
        "arm_b_N",
        "arm_b_rate",
        "arm_b_lo",
        "arm_b_hi",
        "diff",
        "diff_lo",
        "diff_hi",
    ]
    return pd.DataFrame(rows, columns=columns)


def arm_rates(study: Study, method: str = "wilson", alpha: float = 0.05) -> pd.DataFrame:
    """ORR and DCR of every arm, criterion and scope with a confidence interval."""
    resp = study["response"]
    rows = []
    sel = resp[resp["category"].isin(["ORR", "DCR"]) & resp["n"].notna()]
    for _, r in sel.iterrows():
        N = denominator_of(study, r)
        if N is None:
            continue
        lo, hi = S.proportion_ci(int(r["n"]), N, method, alpha)
        rows.append(
            {
                "arm": r["arm"],
                "criterion": r["criterion"],
                "scope": r["scope"] if pd.notna(r["scope"]) else "",
                "outcome": r["category"],
                "n": int(r["n"]),
                "N": N,
                "rate": int(r["n"]) / N,
                "lo": lo,
                "hi": hi,
            }
        )
    return pd.DataFrame(rows, columns=["arm", "criterion", "scope", "outcome", "n", "N", "rate", "lo", "hi"])


# ---------------------------------------------------------------- across studies

AUDIT_COLUMNS = ["study", "location", "quantity", "printed", "recomputed", "method", "status", "reason"]
AUDIT_STATUS = {REPRODUCED: "consistent", INCONSISTENT: "inconsistent", NOT_RECOMPUTABLE: "not recomputable"}


def audit_all(
    studies: list[str] | None = None,
    test_rule: str = "gtsummary",
    alpha: float = 0.05,
    alpha_beta: float = 10.0,
) -> pd.DataFrame:
    """Every check of every study (or of ``studies``) as one table, study by study.

    Keeps the chapter columns (check, key, arm, test_named, tests_reproducing) beside the audit
    columns; :func:`audit_table` gives the audit's own view.
    """
    from .data import list_studies, load_study

    frames = [
        run_checks(load_study(s), test_rule=test_rule, alpha=alpha, alpha_beta=alpha_beta)
        for s in (studies or list_studies())
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CHECK_COLUMNS)


def audit_table(checks: pd.DataFrame) -> pd.DataFrame:
    """The audit's view: ``study, location, quantity, printed, recomputed, method, status, reason``
    with status ``consistent`` / ``inconsistent`` / ``not recomputable``."""
    out = checks.assign(quantity=checks["quantity"] + checks["arm"].map(lambda a: f" [{a}]" if a else ""))
    out = out.assign(status=out["status"].map(AUDIT_STATUS))
    return out[AUDIT_COLUMNS].reset_index(drop=True)


def test_usage(checks: pd.DataFrame) -> pd.DataFrame:
    """Per study: how many printed p-values each test reproduces, beside the test the paper named."""
    pc = checks[checks["check"].eq("p-value") & checks["status"].ne(NOT_RECOMPUTABLE)]
    rows = []
    for sid, grp in pc.groupby("study", sort=False):
        named = "; ".join(sorted({t for t in grp["test_named"] if t})) or "not named"
        reproducing = grp["tests_reproducing"].str.split("; ")
        tests = sorted({t for ts in reproducing for t in ts if t})
        row = {
            "study": sid,
            "test named in the paper": named,
            "p-values checked": len(grp),
            "reproduced by none": int((grp["tests_reproducing"] == "").sum()),
        }
        for t in tests:
            row[f"reproduced by {t}"] = int(reproducing.map(lambda ts, t=t: t in ts).sum())
        only = grp["tests_reproducing"].where(~grp["tests_reproducing"].str.contains(";"))
        row["most often the only test that reproduces"] = (
            only.replace("", pd.NA).dropna().mode().iat[0] if only.replace("", pd.NA).dropna().size else ""
        )
        rows.append(row)
    return pd.DataFrame(rows).fillna(0)


def baseline_pvalues(checks: pd.DataFrame) -> pd.DataFrame:
    """Printed baseline p-values per study (Carlisle-style view), with the recomputed p where any."""
    base = checks[checks["check"].eq("p-value") & checks["key"].str.startswith("baseline.")]
    out = base[["study", "key", "quantity", "printed", "recomputed"]].copy()
    out["p printed"] = out["printed"].map(lambda x: S.parse_p(_loose_p_text(x)).value)
    out["bound"] = out["printed"].str.contains("<")
    return out.reset_index(drop=True)


def carlisle(pvalues: pd.Series) -> dict[str, float]:
    """How far a set of baseline p-values is from uniform: KS distance and p, and Stouffer's
    combined z (Carlisle, Anaesthesia 2017). In randomised trials baseline p-values are uniform;
    these studies are not randomised, so an excess of small p-values is expected, not suspicious."""
    p = pvalues.astype(float).clip(1e-12, 1 - 1e-12).to_numpy()
    if len(p) < 3:
        return {
            "n": int(len(p)),
            "ks": float("nan"),
            "ks_p": float("nan"),
            "stouffer_z": float("nan"),
            "stouffer_p": float("nan"),
        }
    ks = sps.kstest(p, "uniform")
    st = sps.combine_pvalues(p, method="stouffer")
    return {
        "n": int(len(p)),
        "ks": float(ks.statistic),
        "ks_p": float(ks.pvalue),
        "stouffer_z": float(st.statistic),
        "stouffer_p": float(st.pvalue),
    }


def carlisle_table(baseline: pd.DataFrame) -> pd.DataFrame:
    """:func:`carlisle` for every study of a :func:`baseline_pvalues` table."""
    rows = [{"study": sid, **carlisle(grp["p printed"])} for sid, grp in baseline.groupby("study", sort=True)]
    return pd.DataFrame(rows, columns=["study", "n", "ks", "ks_p", "stouffer_z", "stouffer_p"])


def verdicts_text(checks: pd.DataFrame) -> str:
    """'244 reproduced, 17 inconsistent, 9 not recomputable from published data'."""
    counts = checks["status"].value_counts()
    return (
        f"{counts.get(REPRODUCED, 0)} reproduced, {counts.get(INCONSISTENT, 0)} inconsistent, "
        f"{counts.get(NOT_RECOMPUTABLE, 0)} not recomputable from published data"
    )


def commonest_reasons(checks: pd.DataFrame) -> list[str]:
    """Why printed numbers cannot be recomputed, commonest first: ['3× a median …', …]."""
    nr = checks.loc[checks["status"] == NOT_RECOMPUTABLE, "reason"].value_counts()
    return [f"{n}× {reason}" for reason, n in nr.items()]


def glance_rows(checks: pd.DataFrame) -> list[tuple[str, str]]:
    """The audit's 'at a glance' rows: scale, verdicts, where the inconsistencies are, and the
    commonest reason a printed number cannot be recomputed."""
    per_study = checks[checks["status"] == INCONSISTENT]["study"].value_counts()
    return [
        ("Studies", f"{checks['study'].nunique()} ({', '.join(sorted(checks['study'].unique()))})"),
        ("Checked", f"{len(checks)} printed numbers: {verdicts_text(checks)}"),
        ("Inconsistent, by study", "; ".join(f"{s} {n}" for s, n in per_study.items()) or "none"),
        ("Not recomputable, most often because", (commonest_reasons(checks) or [""])[0]),
    ]
