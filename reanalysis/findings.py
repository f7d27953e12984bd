"""Summary of findings: what a study found on its main outcomes, and whether it holds up.

One row per main outcome (response rates, median survival and hazard ratio per endpoint, the
share of patients with a grade >= 3 adverse event), in the manner of a Cochrane summary-of-
findings table: each arm as printed, the effect with its CI, a verdict combining every check of
the numbers behind the row (worst first), and a one-line reason; then a plain-language bottom
line computed from those verdicts. Which outcomes are main is data-driven: whatever the study
printed among the standard ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from . import rates as R
from .checks import SEVERITIES, Status
from .data import Study
from .printed import PrintedNumber, parse_p_text
from .tables import Footnotes, TableSpec, verdict

# Order in which a row's verdict is decided: the worst status present wins.
# A row is "not recomputable" only when nothing behind it could be checked.
_STATUS_RANK = (Status.INCONSISTENT, Status.COMPATIBLE, Status.REPRODUCED, Status.NOT_RECOMPUTABLE)
# Families (and restated figures) that judge a between-arm comparison rather than a summary.
_COMPARISON_FAMILIES = (
    "p-value",
    "landmark p",
    "hazard ratio",
    "interaction p",
    "reconstructed HR",
    "reconstructed p",
)
_SEVERITY_RANK = tuple(reversed(SEVERITIES))  # critical first


@dataclass(frozen=True)
class Verdict:
    """The combined verdict of the checks behind one outcome."""

    status: Status
    severity: str
    reason: str

    @property
    def text(self) -> str:
        return verdict(self.status, self.severity)


def combine(rows: pd.DataFrame, empty_reason: str = "no check applies to what is printed") -> Verdict:
    """The worst verdict among check rows (inconsistent by severity, then compatible, not
    recomputable, reproduced), with that row's reason."""
    if rows.empty:
        return Verdict(Status.NOT_RECOMPUTABLE, "", empty_reason)
    for status in _STATUS_RANK:
        hit = rows[rows["status"] == status]
        if hit.empty:
            continue
        if status == Status.INCONSISTENT:
            worst = min(hit["severity"], key=_SEVERITY_RANK.index)
            r = hit[hit["severity"] == worst].iloc[0]
            located = "location" in r.index and isinstance(r["location"], str) and r["location"]
            where = f"{r['location']}: {r['printed']} — " if located else ""
            return Verdict(status, worst, f"{where}{r['reason']}")
        if status == Status.REPRODUCED:
            n_nr = int((rows["status"] == Status.NOT_RECOMPUTABLE).sum())
            reason = f"{len(hit)} of {len(rows)} checks of the printed numbers reproduced" + (
                f"; {n_nr} not recomputable from what is printed" if n_nr else ""
            )
            if len(rows) == len(hit):
                reason = (
                    f"{len(rows)} check{'s' if len(rows) > 1 else ''} of the printed numbers, all reproduced"
                )
            return Verdict(status, "", reason)
        return Verdict(status, "", next((str(x) for x in hit["reason"] if x), ""))
    raise AssertionError("unreachable: every status is ranked")  # pragma: no cover


@dataclass(frozen=True)
class Finding:
    outcome: str
    printed: dict[str, str]  # arm label -> as printed
    effect: str
    verdict: Verdict


def _pct_diff(d: pd.Series, lvl: str) -> str:
    return f"{100 * d['diff']:+.1f} points ({lvl} CI {100 * d['diff_lo']:.1f} to {100 * d['diff_hi']:.1f})"


def _related(checks: pd.DataFrame, keys: set[str], comparison: bool | None = None) -> pd.DataFrame:
    """Check rows of ``keys``; only those judging the between-arm comparison (its p or HR) when
    ``comparison`` is True, only those judging the summaries themselves when False."""
    rows = checks[checks["key"].isin(keys)]
    if comparison is None:
        return rows
    judges = rows["check"].isin(_COMPARISON_FAMILIES) | (rows["statistic"] == "p")
    return rows[judges if comparison else ~judges]


def _hr_text(r: pd.Series) -> str:
    """'HR 0.51 (0.30–0.86), p = 0.017': the printed HR and p at their printed precision."""
    num = [PrintedNumber.find(r["printed"], r[c]) for c in ("hr", "lower", "upper")]
    hr, lo, hi = (f"{n.value:.{n.decimals}f}" for n in num)
    text = f"HR {hr} ({lo}–{hi})"
    if isinstance(r["p_printed"], str):
        p = parse_p_text(r["p_printed"])
        text += f", p {'=' if p.relation == '=' else p.relation} {p.value:.{p.decimals}f}"
    return text


def _response_rows(
    study: Study, checks: pd.DataFrame, criterion: str, ci_method: str, alpha: float
) -> list[Finding]:
    resp = study["response"]
    sel = resp[
        (resp["criterion"] == criterion) & resp["scope"].isna() & resp["category"].isin(["ORR", "DCR"])
    ]
    lvl = f"{100 * (1 - alpha):g}%"
    diffs = (
        R.rate_table(study, criterion, ci_method, alpha).set_index("outcome") if study.is_two_arm else None
    )
    per_arm = R.arm_rates(study, ci_method, alpha)
    per_arm = per_arm[(per_arm["criterion"] == criterion) & (per_arm["scope"] == "")]
    out = []
    for cat, grp in sel.groupby("category", sort=False):
        printed = {study.arm(a).label: p for a, p in zip(grp["arm"], grp["printed"], strict=True)}
        if diffs is not None and cat in diffs.index:
            effect = "difference " + _pct_diff(diffs.loc[cat], lvl)
        elif diffs is None and len(grp) == 1:
            r = per_arm[per_arm["outcome"] == cat]
            effect = ""
            if len(r):
                rate, lo, hi = (100 * r[c].iloc[0] for c in ("rate", "lo", "hi"))
                effect = f"{rate:.1f}% ({lvl} CI {lo:.1f}–{hi:.1f})"
        else:
            effect = ""
        rows = _related(checks, set(grp["key"]))
        out.append(Finding(f"{cat} ({criterion})", printed, effect, combine(rows)))
    return out


def _survival_rows(study: Study, checks: pd.DataFrame, criterion: str) -> list[Finding]:
    """Median and hazard ratio per endpoint; their check rows include the survival
    reconstruction's (families ``reconstructed …``, keyed to the printed rows they judge)."""
    sv = study["survival"]
    med = sv[(sv["statistic"] == "median") & sv["subgroup"].isna() & (sv["endpoint"] != "followup")]
    if med["criterion"].notna().any():
        med = med[med["criterion"].isna() | (med["criterion"] == criterion)]
    hrs = study["hazard_ratios"]
    if study.is_two_arm:
        a, b = study.comparison
        hrs = hrs[(hrs["comparison"] == f"{a} vs {b}") & hrs["subgroup"].isna()]
    else:
        hrs = hrs.iloc[0:0]
    out = []
    for endpoint, grp in med.groupby("endpoint", sort=False):
        printed = {study.arm(a).label: p for a, p in zip(grp["arm"], grp["printed"], strict=True)}
        rows = _related(checks, set(grp["key"]), comparison=False)
        crit = f" ({grp['criterion'].dropna().iloc[0]})" if grp["criterion"].notna().any() else ""
        out.append(Finding(f"median {endpoint}{crit}, months", printed, "", combine(rows)))
        hr = hrs[hrs["endpoint"] == endpoint]
        if hr.empty:
            continue
        hr = hr.sort_values("model", key=lambda m: ~m.str.startswith("uni"), kind="stable").iloc[0]
        effect = _hr_text(hr)
        rows = pd.concat(
            [
                _related(checks, {hr["key"]}, comparison=True),
                _related(checks, set(grp["key"]), comparison=True),
            ],
            ignore_index=True,
        )
        out.append(Finding(f"{endpoint} hazard ratio ({hr['model']})", {}, effect, combine(rows)))
    return out


def _ae_rows(study: Study, checks: pd.DataFrame) -> list[Finding]:
    ae = study["adverse_events"]
    out = []
    for entry in study.meta.get("ae_overall") or []:
        grp = ae[(ae["key"] == entry["key"]) & ae["grade_band"].isin([">=3", "3-4"])]
        if grp.empty:
            continue
        printed = {study.arm(a).label: p for a, p in zip(grp["arm"], grp["printed"], strict=True)}
        band = "3–4" if grp["grade_band"].iloc[0] == "3-4" else "≥ 3"
        rows = _related(checks, {entry["key"]})
        out.append(
            Finding(f"grade {band} adverse events ({entry['attribution']})", printed, "", combine(rows))
        )
    return out


def findings(
    study: Study,
    checks: pd.DataFrame,
    criterion: str,
    ci_method: str = "wilson",
    alpha: float = 0.05,
) -> list[Finding]:
    """The main outcomes the study printed, each with its combined verdict.

    ``checks``: the study's records (:func:`reanalysis.recon_checks.study_records`), so the
    survival reconstruction's verdicts, with their severity, count like every other check.
    """
    return [
        *_response_rows(study, checks, criterion, ci_method, alpha),
        *_survival_rows(study, checks, criterion),
        *_ae_rows(study, checks),
    ]


def summary_table(study: Study, items: list[Finding], notes: Footnotes | None = None) -> TableSpec:
    """The summary-of-findings table: outcome, each arm as printed, effect, verdict, why."""
    arms = [a.label for a in study.arms]
    rows = [
        {
            "Outcome": f.outcome,
            **{arm: f.printed.get(arm, "") for arm in arms},
            "Effect": f.effect,
            "Holds up?": f.verdict.text,
            "Why": f.verdict.reason,
        }
        for f in items
    ]
    columns = [
        "Outcome",
        *arms,
        "Effect",
        "Holds up?",
        "Why",
    ]
    notes = notes if notes is not None else Footnotes()
    notes.mark(
        "Effect: the hazard ratio as printed, or the difference between arms computed from the "
        "printed counts (Newcombe interval). Holds up?: the worst verdict among every check of the "
        "numbers behind the row (severity rules: Methods)."
    )
    return TableSpec(
        pd.DataFrame(rows, columns=columns),
        "summary-of-findings",
        "Summary of findings: the main outcomes as printed, and whether they hold up",
        notes,
    )


def bottom_line(items: list[Finding]) -> str:
    """'Of 7 main outcomes, 4 hold up as printed; PFS hazard ratio does not (critical); …'."""
    if not items:
        return "The paper prints none of the standard main outcomes (response, survival, grade ≥ 3 harms)."
    by = {s: [f for f in items if f.verdict.status == s] for s in Status}
    plural = "s" if len(items) > 1 else ""
    parts = [f"Of {len(items)} main outcome{plural}, {len(by[Status.REPRODUCED])} hold up as printed"]
    bad = sorted(by[Status.INCONSISTENT], key=lambda f: _SEVERITY_RANK.index(f.verdict.severity))
    if bad:
        parts.append(
            f"{len(bad)} do{'es' if len(bad) == 1 else ''} not: "
            + ", ".join(f"{f.outcome} ({f.verdict.severity})" for f in bad)
        )
    if by[Status.COMPATIBLE]:
        names = ", ".join(f.outcome for f in by[Status.COMPATIBLE])
        parts.append(
            f"{len(by[Status.COMPATIBLE])} agree only within ranges too wide to tell (compatible): {names}"
        )
    if by[Status.NOT_RECOMPUTABLE]:
        parts.append(f"{len(by[Status.NOT_RECOMPUTABLE])} cannot be checked from what is printed")
    return "; ".join(parts) + "."
