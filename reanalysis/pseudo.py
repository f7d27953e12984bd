"""Pseudo patient-level survival data for a study's printed endpoints, and how close it gets.

Reads a study's printed survival summaries (``survival.csv``), reconstructs every arm of an
endpoint with :func:`reanalysis.reconstruct.reconstruct_arm`, and compares what the
reconstruction gives (medians, landmark rates, Cox HR, log-rank / Wilcoxon p) with what the
paper printed. Printed HRs and p-values are never inputs: they are what it is checked against.
Everything produced here is labelled *reconstructed*: it is not the authors' data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .checks import Status, fmt_p
from .data import Study
from .printed import parse_p
from .reconstruct import reconstruct_arm, replicates, summarise
from .survival import cox_batch, km_table, logrank_batch, median_survival

P_COLUMN = {"logrank": "p_logrank", "wilcoxon": "p_wilcoxon", "tarone-ware": "p_tarone_ware"}


@dataclass
class Endpoint:
    """One endpoint's printed inputs per arm, and what was left out and why."""

    name: str
    criterion: str | None
    subgroup: str | None = None
    inputs: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    landmarks: dict[str, dict[float, float]] = field(default_factory=dict)

    @property
    def title(self) -> str:
        crit = f" ({self.criterion})" if self.criterion else ""
        sub = f", {self.subgroup}" if self.subgroup else ""
        return f"{self.name}{crit}{sub}"


def _rows(study: Study, endpoint: str, subgroup: str | None, criterion: str | None) -> pd.DataFrame:
    """The endpoint's printed rows: those of no criterion, and of ``criterion`` (resolved by the
    study: one it does not report is a ParameterError, never another criterion's rows);
    ``criterion=None`` takes the first criterion the paper printed for the endpoint."""
    sv = study["survival"]
    rows = sv[
        (sv["endpoint"] == endpoint)
        & (sv["subgroup"].isna() if subgroup is None else sv["subgroup"] == subgroup)
    ]
    chosen = None if criterion is None else study.resolve_criterion(criterion)
    if rows["criterion"].notna().any():
        chosen = chosen or rows["criterion"].dropna().iloc[0]
        rows = rows[rows["criterion"].isna() | (rows["criterion"] == chosen)]
    return rows


def endpoints(study: Study, criterion: str | None = None) -> tuple[list[tuple[str, str | None]], list[str]]:
    """(endpoint, subgroup) pairs with a printed median or landmark rate for every arm, and
    notes on printed subgroup summaries too thin to reconstruct.

    A subgroup (e.g. a PSM-matched cohort) needs its own arm sizes (statistic ``n``);
    survival by prognostic-factor level is shown in its own table, not reconstructed.
    """
    if criterion is not None:
        criterion = study.resolve_criterion(criterion)  # refused even when no endpoint needs it
    sv = study["survival"]
    sv = sv[sv["endpoint"] != "followup"]
    arms = [a.id for a in study.arms if a.n is not None]
    out, skipped = [], []
    for (ep, sub), _ in sv.groupby([sv["endpoint"], sv["subgroup"].fillna("")], sort=False):
        subgroup = sub or None
        rows = _rows(study, ep, subgroup, criterion)
        shape = rows[rows["statistic"].isin(["median", "landmark"])]
        has_arms = bool(arms) and all((shape["arm"] == a).any() for a in arms)
        sized = subgroup is None or all(((rows["statistic"] == "n") & (rows["arm"] == a)).any() for a in arms)
        if has_arms and sized:
            out.append((ep, subgroup))
        elif subgroup is not None and len(shape) and not _is_factor_level(study, rows):
            skipped.append(
                f"{ep}, {subgroup}: not reconstructed (the paper prints no arm sizes or too few "
                "summaries for it)"
            )
    return out, skipped


def _is_factor_level(study: Study, rows: pd.DataFrame) -> bool:
    pv = study["pvalues"]
    levels = {lv for x in pv["levels"] for lv in x}
    return bool(set(rows["key"]) & levels)


_MONTHS = {m: i for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"), start=1)}  # fmt: skip
_DAYS_PER_MONTH = 30.4375  # average month (365.25 / 12), as the validation data sets use


def study_window(study: Study) -> float | None:
    """The longest follow-up the study allows, in months: from the first day of accrual
    (``period``, "Month YYYY to Month YYYY") to the data cut-off (``data_cutoff``, a date),
    or None unless both are printed."""
    import datetime as dt
    import re

    cutoff, period = study.meta.get("data_cutoff"), str(study.meta.get("period") or "")
    m = re.match(r"\s*([A-Za-z]+)\s+(\d{4})", period)
    if not cutoff or not m or m.group(1).lower() not in _MONTHS:
        return None
    start = dt.date(int(m.group(2)), _MONTHS[m.group(1).lower()], 1)
    end = cutoff if isinstance(cutoff, dt.date) else dt.date.fromisoformat(str(cutoff))
    return (end - start).days / _DAYS_PER_MONTH


def _followup(study: Study, arm: str) -> dict:
    """Median and range of follow-up for an arm: its own if printed, else the study's (all
    patients); a range is a ``followup_range`` row or the lower/upper of a median marked
    ``interval: range`` (lower/upper of a median are otherwise its CI)."""
    sv = study["survival"]
    fu = sv[sv["endpoint"] == "followup"]
    out: dict = {}
    for rows in (fu[fu["arm"].isna()], fu[fu["arm"] == arm]):  # the arm's own rows win
        for _, r in rows.iterrows():
            if r["statistic"] == "followup_median" and pd.notna(r["value"]):
                out["followup_median"] = float(r["value"])
            ranged = r["statistic"] == "followup_range" or r.get("interval") == "range"
            if ranged and pd.notna(r["lower"]) and pd.notna(r["upper"]):
                out["followup_range"] = (float(r["lower"]), float(r["upper"]))
    window = study_window(study)
    if window is not None:
        out["max_followup"] = window
    return out


def endpoint_inputs(
    study: Study, endpoint: str, criterion: str | None, checks: pd.DataFrame, subgroup: str | None = None
) -> Endpoint:
    """Reconstruction inputs per arm from the printed summaries.

    An event count whose printed percentage failed its n/N check is not used (it cannot be
    what the paper meant); the note says so. Follow-up (the arm's, else all patients') is used
    for whole arms only; the study window (accrual start to data cut-off) bounds every time.
    A median printed as not reached is passed as such, with the lower limit of its CI.
    """
    rows = _rows(study, endpoint, subgroup, criterion)
    bad = checks[(checks["check"] == "percentage") & (checks["status"] == Status.INCONSISTENT)]
    crit = rows["criterion"].dropna().iloc[0] if rows["criterion"].notna().any() else None
    ep = Endpoint(endpoint, crit, subgroup)
    for arm in [a.id for a in study.arms if a.n is not None]:
        r = rows[rows["arm"] == arm]
        size = r[r["statistic"] == "n"]
        spec: dict = {"n": int(size.iloc[0]["value"]) if len(size) else study.arm_sizes[arm]}
        med = r[r["statistic"] == "median"]
        if len(med):
            m = med.iloc[0]
            interval = m.get("interval")
            ci = pd.isna(interval) or interval == "95% CI"  # lower/upper of a median: its CI by default
            if pd.isna(m["value"]):  # printed as not reached
                spec["median"] = "NR"
                if ci and pd.notna(m["lower"]):
                    spec["median_ci"] = (float(m["lower"]), None)
            else:
                spec["median"] = float(m["value"])
                if ci and pd.notna(m["lower"]) and pd.notna(m["upper"]):
                    spec["median_ci"] = (float(m["lower"]), float(m["upper"]))
        lm = r[r["statistic"] == "landmark"]
        if len(lm):
            spec["landmarks"] = {
                float(t): round(float(v) / 100, 10) for t, v in zip(lm["time"], lm["value"], strict=True)
            }
            ep.landmarks[arm] = spec["landmarks"]
        ev = r[r["statistic"] == "events"]
        if len(ev):
            e = ev.iloc[0]
            if ((bad["key"] == e["key"]) & (bad["arm"] == arm)).any():
                ep.notes.append(
                    f"{study.arm(arm).label}: the printed event count ({e['printed']}) is not used: "
                    "its percentage is inconsistent with it"
                )
            else:
                spec["events"] = int(e["value"])
        alive = r[r["statistic"] == "alive"]  # alive and still followed at the cut-off: censored
        if len(alive) and pd.notna(alive.iloc[0]["value"]):
            spec["alive"] = int(alive.iloc[0]["value"])
        if subgroup is None:
            spec.update(_followup(study, arm))
        else:
            window = study_window(study)
            if window is not None:
                spec["max_followup"] = window
        if "events" not in spec and "followup_median" not in spec and "followup_range" not in spec:
            least = (
                f"the least that leaves the {spec['alive']} patients printed as still followed censored"
                if spec.get("alive")
                else "none"
            )
            ep.notes.append(
                f"{study.arm(arm).label}: neither events nor follow-up are printed, so the censoring "
                f"is unknown: the replicates span it from {least} to the most the printed rates allow"
            )
        ep.inputs[arm] = spec
    return ep


def reconstruct_endpoint(ep: Endpoint, seed: int | None = None) -> pd.DataFrame:
    """Pseudo-IPD of every arm of an endpoint (columns arm, time, event): the central
    reconstruction (deterministic), or with ``seed`` one random draw per arm."""
    frames = []
    for i, (arm, spec) in enumerate(ep.inputs.items()):
        df = reconstruct_arm(**spec, seed=None if seed is None else seed + 1000 * i)
        frames.append(df.assign(arm=arm))
    return pd.concat(frames, ignore_index=True)[["arm", "time", "event"]]


# Censoring-level bins when censoring is not printed (see _span_range): 5 bins of 40 replicates
# at the chapters' 200, enough for a 2.5-97.5% range in each, fine enough that the extreme
# bin stays near the extreme of the span.
SPAN_BINS = 5


def _span_range(reps: pd.DataFrame, ep: Endpoint, column: str) -> tuple[float, float, bool]:
    """2.5-97.5% range of a replicate column (HR, p); when censoring is not printed, the union
    of that range over bins of the censoring level (shared by the arms), so that a printed
    value is called inconsistent only if no censoring in the span is compatible with it.  The
    flag says a span was used."""
    lo, hi = (float(np.percentile(reps[column], q)) for q in (2.5, 97.5))
    printed = {"events", "followup_median", "followup_range"}
    open_arms = [a for a, spec in ep.inputs.items() if not printed & set(spec)]
    if open_arms:
        level = reps[f"censoring_{open_arms[0]}"]
        bins = np.minimum((level * SPAN_BINS).astype(int), SPAN_BINS - 1)
        for _, grp in reps.groupby(bins):
            lo = min(lo, float(np.percentile(grp[column], 2.5)))
            hi = max(hi, float(np.percentile(grp[column], 97.5)))
    return lo, hi, bool(open_arms)


def compare(
    study: Study,
    ep: Endpoint,
    ipd: pd.DataFrame,
    n_rep: int = 200,
    seed: int = 0,
    weighting: str = "wilcoxon",
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Printed vs reconstructed for one endpoint: a check table and the replicate summary."""
    rows = []
    for arm, spec in ep.inputs.items():
        df = ipd[ipd["arm"] == arm]
        label = study.arm(arm).label
        if spec.get("median") == "NR":
            got = median_survival(df)
            status = (
                (Status.REPRODUCED, "not reached in the reconstruction either")
                if math.isinf(got)
                else (Status.INCONSISTENT, "reached in the reconstruction: the printed summaries do not fit")
            )
            rows.append(_row(ep, label, "median", "NR", got, status))
        elif "median" in spec:
            got = median_survival(df)
            rows.append(
                _row(
                    ep,
                    label,
                    "median",
                    f"{spec['median']:g}",
                    got,
                    _close(got, spec["median"], 0.05 * spec["median"] + 0.05),
                )
            )
        for t, s in (spec.get("landmarks") or {}).items():
            got = float(km_table(df, [t])["survival"].iloc[0])
            at_risk = max(int((df["time"] >= t).sum()), 1)
            rows.append(
                _row(
                    ep,
                    label,
                    f"S({t:g})",
                    f"{100 * s:g}%",
                    100 * got,
                    _close(100 * got, 100 * s, 100 / at_risk + 0.05),
                )
            )
    spread = None
    if len(ep.inputs) == 2:
        (a, sa), (b, sb) = ep.inputs.items()
        data = ipd.assign(g=(ipd["arm"] == a).astype(int))
        cox = cox_batch(data["time"].to_numpy(), data["event"].to_numpy(), data["g"].to_numpy())
        test = logrank_batch(
            data["time"].to_numpy(), data["event"].to_numpy(), data["g"].to_numpy(), weighting
        )
        reps = replicates({a: sa, b: sb}, n_rep=n_rep, seed=seed)
        spread = summarise(reps[["hr", P_COLUMN[weighting], "p_logrank"]])
        hr_lo, hr_hi, span = _span_range(reps, ep, "hr")
        p_lo, p_hi, _ = _span_range(reps, ep, P_COLUMN[weighting])
        hrs = study["hazard_ratios"]
        hrs = hrs[(hrs["endpoint"] == ep.name) & (hrs["comparison"] == f"{a} vs {b}")]
        if ep.subgroup is None:
            hrs = hrs[hrs["subgroup"].isna() & (hrs["model"] == "univariable")]
        elif "psm" in ep.subgroup.lower():
            hrs = hrs[hrs["model"] == "psm"]
        else:
            hrs = hrs[hrs["subgroup"] == ep.subgroup]
        hr_printed = hrs.iloc[0] if len(hrs) else None
        rows.append(
            _row(
                ep,
                "both arms",
                "Cox HR",
                hr_printed["printed"] if hr_printed is not None else "",
                float(cox.hr),
                _shape_guard(
                    ep, _in_spread(hr_printed["hr"] if hr_printed is not None else None, hr_lo, hr_hi)
                ),
                f"replicates {hr_lo:.2f}–{hr_hi:.2f}" + (" (over the unprinted censoring)" if span else ""),
            )
        )
        pv = study["pvalues"].set_index("key")
        med_keys = _rows(study, ep.name, ep.subgroup, ep.criterion)
        med_keys = med_keys.loc[med_keys["statistic"] == "median", "key"]
        p_key = next((k for k in med_keys if k in pv.index), None)
        p_printed = pv.loc[p_key, "printed"] if p_key else ""
        status = _shape_guard(ep, _p_status(p_printed, p_lo, p_hi))
        rows.append(
            _row(
                ep,
                "both arms",
                f"{weighting} p",
                p_printed,
                float(test.p),
                status,
                f"replicates {fmt_p(p_lo)}–{fmt_p(p_hi)}" + (" (over the unprinted censoring)" * span),
            )
        )
    return pd.DataFrame(rows), spread


def _row(
    ep: Endpoint, arm: str, what: str, printed: str, got: float, status: tuple[str, str], spread: str = ""
) -> dict:
    return {
        "endpoint": ep.title,
        "arm": arm,
        "quantity": what,
        "printed": printed,
        # a median the reconstructed curve never reaches reads as the papers print it: NR
        "reconstructed": "NR" if math.isinf(got) else f"{got:.3g}" if what.endswith("p") else f"{got:.2f}",
        "replicate spread": spread,
        "status": status[0],
        "reason": status[1],
    }


def _close(got: float, want: float, tol: float) -> tuple[str, str]:
    if math.isnan(got):
        return Status.NOT_RECOMPUTABLE, "not reached in the reconstruction"
    if abs(got - want) <= tol:
        return Status.REPRODUCED, ""
    return (
        Status.INCONSISTENT,
        f"differs by {abs(got - want):.2f} (tolerance {tol:.2f}): the printed summaries "
        "do not fit one survival curve",
    )


MIN_LANDMARKS = 2  # below this the curve's shape is assumed, not printed


def _shape_guard(ep: Endpoint, status: tuple[str, str]) -> tuple[str, str]:
    """Never call a printed HR or p inconsistent when the printed summaries do not pin the
    curves' shape (fewer than two landmark rates per arm): the mismatch may be the assumption's."""
    thin = [a for a, spec in ep.inputs.items() if len(spec.get("landmarks") or {}) < MIN_LANDMARKS]
    if status[0] == Status.INCONSISTENT and thin:
        return Status.NOT_RECOMPUTABLE, (
            f"{status[1]}; but fewer than {MIN_LANDMARKS} landmark rates are printed "
            "per arm, so the curves' shape is assumed and the mismatch is not evidence"
        )
    return status


def _in_spread(printed: float | None, lo: float, hi: float) -> tuple[str, str]:
    if printed is None:
        return Status.NOT_RECOMPUTABLE, "no HR printed for this comparison"
    if lo <= printed <= hi and lo < 1 < hi:
        return Status.COMPATIBLE, (
            "the printed HR lies within the replicates' 95% range, but that range spans 1: "
            "the printed summaries cannot tell a benefit from none"
        )
    if lo <= printed <= hi:
        return Status.REPRODUCED, "the printed HR lies within the replicates' 95% range"
    return Status.INCONSISTENT, (
        "the printed HR lies outside the replicates' 95% range: the printed summaries "
        "and the printed HR do not fit together under the reconstruction's assumptions"
    )


def _p_status(printed: str, lo: float, hi: float, alpha: float = 0.05) -> tuple[str, str]:
    if not printed:
        return Status.NOT_RECOMPUTABLE, "no p printed for this comparison"
    if parse_p(printed).overlaps(lo, hi) and lo < alpha <= hi:
        return Status.COMPATIBLE, (
            f"the printed p lies within the replicates' 95% range, but that range spans {alpha:g}: "
            "the printed summaries cannot tell a significant difference from none"
        )
    if parse_p(printed).overlaps(lo, hi):
        return Status.REPRODUCED, "the printed p lies within the replicates' 95% range"
    return Status.INCONSISTENT, "the printed p lies outside the replicates' 95% range"
