"""Cross-study synthesis: random-effects pooling of what the studies printed.

Response and grade >= 3 adverse-event rates are pooled over the radiotherapy-containing arms
(single-arm proportions, logit scale); hazard ratios of an RT-containing arm against a non-RT
arm are pooled only across studies with the same kind of control, unless asked otherwise:
IO + targeted therapy and TACE + sorafenib are different comparators.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import meta
from .checks import count_for, fmt_p
from .data import Arm, Study, list_studies, load_study, require_criterion
from .params import DEFAULT_CRITERION

# The default estimator: REML τ² (Cochrane Handbook 10.10.4: preferred to DL, which
# underestimates τ² with few studies). Below HKSJ_BELOW_K studies the CI also gets the
# Hartung-Knapp-Sidik-Jonkman adjustment: with so few studies the normal-quantile CI is too
# narrow (IntHout, Ioannidis & Borm 2014, BMC Med Res Methodol 14:25); from 5 studies on the
# two agree closely enough that the plain z interval is kept, as metafor's default.
AUTO = "auto"
DEFAULT_METHOD = "REML"
HKSJ_BELOW_K = 5

# A prediction interval is shown only when it says something. Back on the natural scale it
# is called uninformative when it spans nearly every possible rate (a width of at least
# 90 percentage points: 0–100 % says nothing about the next study's rate) or, for a ratio,
# at least a 100-fold range (from 10-fold benefit to 10-fold harm around 1).
PI_UNINFORMATIVE_RATE_WIDTH = 0.90
PI_UNINFORMATIVE_RATIO_SPAN = 100.0

# Below this many studies in every analysis the page calls its pooled numbers fragile: τ² is
# poorly estimated and small-study effects cannot be examined (the Cochrane Handbook, §13.3.5.4,
# asks for at least 10 studies before a test of funnel-plot asymmetry)
FEW_STUDIES = 10


def resolve_estimator(estimator: str, k: int) -> tuple[str, str]:
    """The (τ² method, CI test) for an ``estimator`` parameter and ``k`` studies: ``auto`` is
    REML, with the HKSJ adjustment when k < :data:`HKSJ_BELOW_K`; a named method keeps the
    normal-quantile CI."""
    if estimator == AUTO:
        return DEFAULT_METHOD, "knha" if k < HKSJ_BELOW_K else "z"
    return estimator, "z"


def estimator_text(estimator: str) -> str:
    """The ``estimator`` parameter in words, for the page."""
    if estimator == AUTO:
        return (
            f"random effects, {DEFAULT_METHOD} τ², with the Hartung–Knapp–Sidik–Jonkman adjustment "
            f"of the confidence interval (t on k − 1 degrees of freedom) when fewer than "
            f"{HKSJ_BELOW_K} studies are pooled"
        )
    names = {"DL": "DerSimonian–Laird", "PM": "Paule–Mandel", "REML": "REML", "FE": "fixed effect"}
    return "fixed effect" if estimator == "FE" else f"random effects, {names[estimator]} τ²"


def method_text(result: meta.MetaResult) -> str:
    """How a result was pooled, in words for the page."""
    names = {"DL": "DerSimonian–Laird", "PM": "Paule–Mandel", "REML": "REML", "FE": "fixed effect"}
    what = names.get(result.method, result.method)
    if result.method != "FE":
        what = f"random effects, {what} τ²"
    if result.test == "knha":
        what += f", Hartung–Knapp–Sidik–Jonkman CI (t on {result.k - 1} df)"
    return what


def controls_text(hrs: Iterable[Pooled], across_comparators: bool) -> str:
    """The controls of the comparative hazard ratios, and so whether they were pooled together."""
    controls = sorted({c for p in hrs for c in p.rows["control"]})
    if not controls:
        return "no study here compares an RT-containing arm with a non-RT arm"
    if len(controls) == 1:
        return f"here every such comparison has the same control, {controls[0]}"
    named = ", ".join(controls[:-1]) + f" and {controls[-1]}"
    if across_comparators:
        return f"here the controls differ ({named}); as asked, the hazard ratios are pooled across them"
    return f"here the controls differ ({named}), so the hazard ratios are shown side by side, not pooled"


def precision_text(max_k: int) -> str:
    """How much the pooled numbers can carry, from the most studies in any one analysis."""
    if max_k < FEW_STUDIES:
        return (
            f"With at most {max_k} {'study' if max_k == 1 else 'studies'} per analysis every pooled "
            "number here is fragile; the confidence and prediction intervals say how fragile."
        )
    return (
        f"Up to {max_k} studies per analysis; the confidence and prediction intervals say how "
        "precise each pooled number is."
    )


def heterogeneity_text(result: meta.MetaResult) -> str:
    """The heterogeneity line under a forest plot: τ², I² (whole %), Q and its p."""
    p = fmt_p(result.q_p)
    return (
        f"Heterogeneity: τ² = {result.tau2:.3f}, I² = {round(result.i2)}%, "
        f"Q = {result.q:.2f} (df = {result.k - 1}), p {p if p.startswith('<') else '= ' + p}"
    )


class PIStatus(enum.Enum):
    """Whether a pooled result's prediction interval is worth printing."""

    SHOWN = "shown"
    TOO_FEW = "fewer than 3 studies"
    FIXED_EFFECT = "none for a fixed-effect model"
    UNINFORMATIVE = "uninformative"


@dataclass(frozen=True)
class PredictionInterval:
    """A prediction interval on the natural scale (``bounds`` only when ``status`` is SHOWN or
    UNINFORMATIVE) and whether it is shown."""

    status: PIStatus
    bounds: tuple[float, float] | None

    def text(self, scale: float = 1.0) -> str:
        """Readable: the bounds, or why there are none."""
        if self.status is PIStatus.SHOWN and self.bounds is not None:
            return f"{scale * self.bounds[0]:.2f}–{scale * self.bounds[1]:.2f}"
        if self.status is PIStatus.UNINFORMATIVE:
            return "uninformative (spans almost every possible value)"
        return f"not estimable ({self.status.value})"


def prediction_interval(result: meta.MetaResult, transform: str) -> PredictionInterval:
    """The result's prediction interval on the natural scale, judged by the thresholds above."""
    pi = result.back(transform)["pi"]
    if pi is None:
        status = PIStatus.FIXED_EFFECT if result.method == "FE" else PIStatus.TOO_FEW
        return PredictionInterval(status, None)
    lo, hi = pi
    if transform == "log":
        wide = lo <= 0 or hi / lo >= PI_UNINFORMATIVE_RATIO_SPAN
    else:
        wide = hi - lo >= PI_UNINFORMATIVE_RATE_WIDTH
    return PredictionInterval(PIStatus.UNINFORMATIVE if wide else PIStatus.SHOWN, (lo, hi))


@dataclass
class Pooled:
    """Rows that went in, rows left out (with why), and the pooled result (None when k < 2)."""

    rows: pd.DataFrame
    excluded: pd.DataFrame
    result: meta.MetaResult | None
    note: str = ""


Include = str | Sequence[Study]  # comma-separated study ids ("": every study), or the studies loaded


def select_studies(include: Include) -> list[Study]:
    """The studies ``include`` names (comma-separated ids; "": every study in data/), loaded; or
    the studies given. A page loads them once for its six pools: each load copies the study
    (about 4 ms)."""
    if not isinstance(include, str):
        return list(include)
    wanted = [s.strip() for s in include.split(",") if s.strip()]
    known = list_studies()
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise ValueError(f"unknown study '{unknown[0]}' in include (known: {', '.join(known)})")
    return [load_study(s) for s in (wanted or known)]


def _overall_ae_keys(st: Study, attribution: str) -> tuple[list[str], list[str]]:
    """Keys of the study's overall adverse-event rows (study.yml ``ae_overall``) counting
    ``attribution`` events, and the other attributions it prints instead."""
    entries = st.meta.get("ae_overall") or []
    keys = [e["key"] for e in entries if e["attribution"] == attribution]
    others = sorted({e["attribution"] for e in entries} - {attribution})
    return keys, others


def rt_rates(
    outcome: str, criterion: str = DEFAULT_CRITERION, include: Include = "", attribution: str = "all-cause"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per study, the RT-containing arm's printed count of ``outcome`` (ORR, DCR, or AE>=3, the
    share of patients with any grade >= 3 adverse event of the given ``attribution``: all-cause
    and treatment-related counts are never mixed).

    A response outcome by a criterion no included study reports is refused (ParameterError);
    studies that do not report it are listed as excluded.
    """
    rows, excluded = [], []
    studies = select_studies(include)
    if outcome != "AE>=3":
        require_criterion(studies, criterion)
    for st in studies:
        for arm in [a for a in st.arms if a.contains_rt]:
            label = rate_label(st, arm)
            if outcome == "AE>=3":
                ae = st["adverse_events"]
                keys, others = _overall_ae_keys(st, attribution)
                hit = ae[(ae["arm"] == arm.id) & ae["grade_band"].isin([">=3", "3-4"]) & ae["key"].isin(keys)]
                if hit.empty and others:
                    kinds = " and ".join(others)
                    why = f"prints only {kinds} grade ≥ 3 AEs, not pooled with {attribution} ones"
                    excluded.append({"study": label, "why": why})
                    continue
                where = f"the {attribution} adverse-event totals"
            else:
                crit = st.match_criterion(criterion)
                resp = st["response"]
                hit = resp[
                    (resp["arm"] == arm.id)
                    & (resp["category"] == outcome)
                    & resp["scope"].isna()
                    & (resp["criterion"] == crit)
                ]
                where = f"response ({crit or criterion})"
            if hit.empty:
                what = "grade ≥ 3 AE total" if outcome == "AE>=3" else outcome
                excluded.append({"study": label, "why": f"no {what} printed for this arm in {where}"})
                continue
            r = hit.iloc[0]
            n, N, note = count_for(st, r["key"], arm.id)
            if n is None or N is None:
                excluded.append(
                    {
                        "study": label,
                        "why": f"{outcome} printed as {r['printed']} without a count or an arm size",
                    }
                )
                continue
            rows.append(
                {
                    "study": label,
                    "events": n,
                    "total": N,
                    "printed": r["printed"],
                    "location": r["location"],
                    "note": note,
                }
            )
    return pd.DataFrame(
        rows, columns=["study", "events", "total", "printed", "location", "note"]
    ), pd.DataFrame(excluded, columns=["study", "why"])


def pool_rates(
    outcome: str,
    criterion: str = DEFAULT_CRITERION,
    include: Include = "",
    method: str = AUTO,
    alpha: float = 0.05,
    continuity: float = 0.5,
    attribution: str = "all-cause",
) -> Pooled:
    """Random-effects pooled proportion (logit) of ``outcome`` in RT-containing arms (for AE>=3,
    of one ``attribution``)."""
    rows, excluded = rt_rates(outcome, criterion, include, attribution)
    if len(rows) < 2:
        return Pooled(rows, excluded, None, f"{len(rows)} study: nothing to pool")
    how, test = resolve_estimator(method, len(rows))
    res = meta.pool_proportions(
        rows["events"], rows["total"], method=how, level=1 - alpha, continuity=continuity, test=test
    )
    return Pooled(rows, excluded, res)


def rate_label(st: Study, arm: Arm) -> str:
    """How a rate's row names its arm: 'short title: arm label'."""
    return f"{st.meta['short_title']}: {arm.label}"


def contributing(pools: Iterable[Pooled], studies: Sequence[Study]) -> list[str]:
    """The short titles of the ``studies`` with a row in any of ``pools`` (a rate's row names
    the study's arm, a hazard ratio's the study), in the order given."""
    labels = {label for p in pools for label in p.rows["study"]}
    rt_arms = {st.id: [rate_label(st, a) for a in st.arms if a.contains_rt] for st in studies}
    return [
        st.meta["short_title"]
        for st in studies
        if st.meta["short_title"] in labels or any(label in labels for label in rt_arms[st.id])
    ]


def comparative_hrs(endpoint: str, include: Include = "") -> pd.DataFrame:
    """Printed univariable HRs of an RT-containing arm against a non-RT arm, with the control."""
    out = []
    for st in select_studies(include):
        if not st.is_two_arm:
            continue
        a, b = st.comparison
        if not (st.arm(a).contains_rt and not st.arm(b).contains_rt):
            continue
        hr = st["hazard_ratios"]
        hit = hr[
            (hr["endpoint"] == endpoint)
            & (hr["model"] == "univariable")
            & hr["subgroup"].isna()
            & (hr["comparison"] == f"{a} vs {b}")
            & hr["lower"].notna()
            & hr["upper"].notna()
        ]
        if hit.empty:
            continue
        r = hit.iloc[0]
        out.append(
            {
                "study": st.meta["short_title"],
                "RT arm": st.arm(a).label,
                "control": st.arm(b).label,
                "hr": float(r["hr"]),
                "lower": float(r["lower"]),
                "upper": float(r["upper"]),
                "printed": r["printed"],
                "location": r["location"],
            }
        )
    return pd.DataFrame(
        out, columns=["study", "RT arm", "control", "hr", "lower", "upper", "printed", "location"]
    )


def pool_hrs(
    endpoint: str,
    include: Include = "",
    method: str = AUTO,
    alpha: float = 0.05,
    across_comparators: bool = False,
) -> Pooled:
    """Pooled log HR over studies with the same control (or all, when asked)."""
    rows = comparative_hrs(endpoint, include)
    empty = pd.DataFrame(columns=["study", "why"])
    if len(rows) < 2:
        return Pooled(rows, empty, None, f"{len(rows)} comparative study: nothing to pool")
    if rows["control"].nunique() > 1 and not across_comparators:
        controls = " and ".join(sorted(rows["control"].unique()))
        return Pooled(
            rows,
            empty,
            None,
            f"not pooled: the controls differ ({controls}), so the hazard ratios answer different questions",
        )
    how, test = resolve_estimator(method, len(rows))
    res = meta.pool_log_ratios(
        rows["hr"], rows["lower"], rows["upper"], method=how, level=1 - alpha, test=test
    )
    note = "pooled across different controls, as asked" if rows["control"].nunique() > 1 else ""
    return Pooled(rows, empty, res, note)


def forest_frame(p: Pooled, transform: str, labels: list[str]) -> pd.DataFrame | None:
    """:func:`meta.forest_data` for a pooled result, with the study labels."""
    if p.result is None:
        return None
    if transform == "log":
        yi, vi = meta.log_ratio_effects(p.rows["hr"], p.rows["lower"], p.rows["upper"])
    else:
        yi, vi = meta.proportion_effects(p.rows["events"], p.rows["total"], transform=transform)
    frame = meta.forest_data(labels, p.result, yi, vi, transform)
    pooled = frame["kind"] == "pooled"
    how = f"{p.result.method}, HKSJ" if p.result.test == "knha" else p.result.method
    frame.loc[pooled, "label"] = f"Pooled ({how})"
    if prediction_interval(p.result, transform).status is not PIStatus.SHOWN:
        frame.loc[pooled, ["pi_lower", "pi_upper"]] = np.nan  # not drawn: it would say nothing
    return frame


def summary_row(name: str, p: Pooled, transform: str, scale: float = 1.0) -> dict:
    """One line of the synthesis summary table."""
    if p.result is None:
        return {
            "quantity": name,
            "k": len(p.rows),
            "pooled (CI)": "",
            "method": "",
            "prediction interval": "",
            "I²": "",
            "τ²": "",
            "note": p.note,
        }
    b = p.result.back(transform)
    return {
        "quantity": name,
        "k": p.result.k,
        "pooled (CI)": f"{scale * b['estimate']:.2f} ({scale * b['ci'][0]:.2f}–{scale * b['ci'][1]:.2f})",
        "method": method_text(p.result),
        "prediction interval": prediction_interval(p.result, transform).text(scale),
        "I²": f"{round(p.result.i2)}%",  # a whole percentage, as Cochrane reviews print it
        "τ²": f"{p.result.tau2:.3f}",
        "note": p.note,
    }


CITED_COLUMNS = [
    "trial",
    "citing_study",
    "regimen",
    "population",
    "outcome",
    "statistic",
    "value",
    "lower",
    "upper",
    "unit",
    "printed",
    "location",
    "source",
]


def cited_benchmarks(path: str | None = None) -> pd.DataFrame:
    """Historical benchmarks as the seed papers cite them (``data/cited_benchmarks.csv``)."""
    from pathlib import Path

    from .data import DATA_DIR
    from .errors import DataError

    file = Path(path) if path else Path(DATA_DIR) / "cited_benchmarks.csv"
    df = pd.read_csv(file, dtype=str, keep_default_na=False)
    missing = [c for c in CITED_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(file.name, "missing column", column=missing[0])
    return df[CITED_COLUMNS]
