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
from enum import StrEnum

import numpy as np
import pandas as pd

from .checks import Status, fmt_p
from .data import Study
from .printed import PrintedNumber, parse_p
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


class ReconKind(StrEnum):
    """What a printed-vs-reconstructed row compares."""

    MEDIAN = "median"
    LANDMARK = "landmark"
    HR = "hazard ratio"
    P = "p"


@dataclass(frozen=True)
class ReconRow:
    """One printed survival figure against its reconstruction, with the numbers that decided it.

    ``central`` is the central (deterministic) reconstruction's value; ``lower``/``upper`` the
    replicates' 2.5-97.5% range (HR and p only; over the unprinted censoring when ``spanned``);
    ``printed_lower``/``printed_upper`` the values the print stands for (its rounding, or the
    side of a bound). ``key`` is the printed value's key in the study's data ("" when the paper
    prints none); ``arm`` an arm id, "" for a comparison of both arms.
    """

    endpoint: str  # the endpoint's title: "PFS (mRECIST), PSM-matched cohort"
    kind: ReconKind
    quantity: str  # as shown: "median", "S(6)", "Cox HR", "logrank p"
    arm: str
    arm_label: str
    key: str
    printed: str
    central: float
    status: Status
    reason: str
    printed_lower: float | None = None
    printed_upper: float | None = None
    lower: float | None = None
    upper: float | None = None
    spanned: bool = False
    printed_significant: bool | None = None  # the printed HR's CI excludes 1 (HR rows only)

    @property
    def spread(self) -> str:
        """The replicates' range as shown: "replicates 0.38–0.95 (over the unprinted censoring)"."""
        if self.lower is None or self.upper is None:
            return ""
        if self.kind == ReconKind.P:
            text = f"replicates {fmt_p(self.lower)}–{fmt_p(self.upper)}"
        else:
            text = f"replicates {self.lower:.2f}–{self.upper:.2f}"
        return text + (" (over the unprinted censoring)" if self.spanned else "")


RECON_COLUMNS = [
    "endpoint",
    "arm",
    "quantity",
    "printed",
    "reconstructed",
    "replicate spread",
    "status",
    "reason",
]


def rows_frame(rows: list[ReconRow]) -> pd.DataFrame:
    """The printed-vs-reconstructed table a chapter shows (one row per :class:`ReconRow`)."""
    return pd.DataFrame(
        [
            {
                "endpoint": r.endpoint,
                "arm": r.arm_label,
                "quantity": r.quantity,
                "printed": r.printed,
                # a median the reconstructed curve never reaches reads as the papers print it: NR
                "reconstructed": "NR"
                if math.isinf(r.central)
                else f"{r.central:.3g}"
                if r.kind == ReconKind.P
                else f"{r.central:.2f}",
                "replicate spread": r.spread,
                "status": r.status.value,
                "reason": r.reason,
            }
            for r in rows
        ],
        columns=RECON_COLUMNS,
    )


def compare(
    study: Study,
    ep: Endpoint,
    ipd: pd.DataFrame,
    n_rep: int = 200,
    seed: int = 0,
    weighting: str = "wilcoxon",
    alpha: float = 0.05,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Printed vs reconstructed for one endpoint: a check table and the replicate summary
    (:func:`compare_rows` as the table a chapter shows)."""
    rows, spread = compare_rows(study, ep, ipd, n_rep, seed, weighting, alpha)
    return rows_frame(rows), spread


def _printed_keys(study: Study, ep: Endpoint, statistic: str) -> pd.DataFrame:
    rows = _rows(study, ep.name, ep.subgroup, ep.criterion)
    return rows[rows["statistic"] == statistic]


def _printed_row(rows: pd.DataFrame, arm: str, time: float | None = None) -> tuple[str, str]:
    """Key and printed text of an arm's printed median (or landmark rate at ``time``)."""
    r = rows[rows["arm"] == arm]
    if time is not None:
        r = r[r["time"].astype(float) == time]
    return (str(r["key"].iloc[0]), str(r["printed"].iloc[0])) if len(r) else ("", "")


def compare_rows(
    study: Study,
    ep: Endpoint,
    ipd: pd.DataFrame,
    n_rep: int = 200,
    seed: int = 0,
    weighting: str = "wilcoxon",
    alpha: float = 0.05,
) -> tuple[list[ReconRow], pd.DataFrame | None]:
    """Printed vs reconstructed for one endpoint, as typed rows, and the replicate summary.

    Medians and landmark rates of each arm against the central reconstruction; with two arms,
    the printed HR and test p against the replicates' 95% range (``n_rep`` replicates from
    ``seed``: deterministic).
    """
    rows: list[ReconRow] = []
    medians, landmarks = _printed_keys(study, ep, "median"), _printed_keys(study, ep, "landmark")
    for arm, spec in ep.inputs.items():
        df = ipd[ipd["arm"] == arm]
        label = study.arm(arm).label
        common = {"endpoint": ep.title, "arm": arm, "arm_label": label}
        if "median" in spec:
            got = median_survival(df)
            key, text = _printed_row(medians, arm)
            if spec["median"] == "NR":
                printed, lo, hi = "NR", None, None
                status = (
                    (Status.REPRODUCED, "not reached in the reconstruction either")
                    if math.isinf(got)
                    else (
                        Status.INCONSISTENT,
                        "reached in the reconstruction: the printed summaries do not fit",
                    )
                )
            else:
                want = spec["median"]
                number = PrintedNumber.find(text, want)  # at its printed precision: 17.40 stays 17.40
                printed, (lo, hi) = f"{want:.{number.decimals}f}", number.interval()
                status = _close(got, want, 0.05 * want + 0.05)
            rows.append(
                ReconRow(
                    **common,
                    kind=ReconKind.MEDIAN,
                    quantity="median",
                    key=key,
                    printed=printed,
                    central=got,
                    status=status[0],
                    reason=status[1],
                    printed_lower=lo,
                    printed_upper=hi,
                )
            )
        for t, s in (spec.get("landmarks") or {}).items():
            got = 100 * float(km_table(df, [t])["survival"].iloc[0])
            at_risk = max(int((df["time"] >= t).sum()), 1)
            status = _close(got, 100 * s, 100 / at_risk + 0.05)
            key, text = _printed_row(landmarks, arm, t)
            number = PrintedNumber.find(text, round(100 * s, 8))
            printed, (lo, hi) = f"{number.value:.{number.decimals}f}%", number.interval()
            rows.append(
                ReconRow(
                    **common,
                    kind=ReconKind.LANDMARK,
                    quantity=f"S({t:g})",
                    key=key,
                    printed=printed,
                    central=got,
                    status=status[0],
                    reason=status[1],
                    printed_lower=lo,
                    printed_upper=hi,
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
        both = {"endpoint": ep.title, "arm": "", "arm_label": "both arms", "spanned": span}
        hr = _printed_hr(study, ep, a, b)
        hr_interval = (
            PrintedNumber.find(hr["printed"], float(hr["hr"])).interval() if hr is not None else (None, None)
        )
        status = _shape_guard(ep, _in_spread(hr_interval, hr_lo, hr_hi))
        rows.append(
            ReconRow(
                **both,
                kind=ReconKind.HR,
                quantity="Cox HR",
                key=str(hr["key"]) if hr is not None else "",
                printed=str(hr["printed"]) if hr is not None else "",
                central=float(cox.hr),
                status=status[0],
                reason=status[1],
                printed_lower=hr_interval[0],
                printed_upper=hr_interval[1],
                lower=hr_lo,
                upper=hr_hi,
                printed_significant=_significant(hr),
            )
        )
        pv = study["pvalues"].set_index("key")
        p_key = next((k for k in medians["key"] if k in pv.index), "")
        p_printed = str(pv.loc[p_key, "printed"]) if p_key else ""
        status = _shape_guard(ep, _p_status(p_printed, p_lo, p_hi, alpha))
        p_interval = parse_p(p_printed).interval() if p_printed else (None, None)
        rows.append(
            ReconRow(
                **both,
                kind=ReconKind.P,
                quantity=f"{weighting} p",
                key=p_key,
                printed=p_printed,
                central=float(test.p),
                status=status[0],
                reason=status[1],
                printed_lower=p_interval[0],
                printed_upper=p_interval[1],
                lower=p_lo,
                upper=p_hi,
            )
        )
    return rows, spread


def _printed_hr(study: Study, ep: Endpoint, a: str, b: str) -> pd.Series | None:
    """The printed HR of this comparison: the univariable one of the whole cohort, the PSM
    model's for a matched cohort, else the subgroup's."""
    hrs = study["hazard_ratios"]
    hrs = hrs[(hrs["endpoint"] == ep.name) & (hrs["comparison"] == f"{a} vs {b}")]
    if ep.subgroup is None:
        hrs = hrs[hrs["subgroup"].isna() & (hrs["model"] == "univariable")]
    elif "psm" in ep.subgroup.lower():
        hrs = hrs[hrs["model"] == "psm"]
    else:
        hrs = hrs[hrs["subgroup"] == ep.subgroup]
    return hrs.iloc[0] if len(hrs) else None


def _significant(hr: pd.Series | None) -> bool | None:
    """Does the printed HR claim an effect (its printed CI excludes 1)? None without a CI."""
    if hr is None or pd.isna(hr["lower"]) or pd.isna(hr["upper"]):
        return None
    return bool(float(hr["upper"]) < 1 or float(hr["lower"]) > 1)


def _close(got: float, want: float, tol: float) -> tuple[Status, str]:
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


def _shape_guard(ep: Endpoint, status: tuple[Status, str]) -> tuple[Status, str]:
    """Never call a printed HR or p inconsistent when the printed summaries do not pin the
    curves' shape (fewer than two landmark rates per arm): the mismatch may be the assumption's."""
    thin = [a for a, spec in ep.inputs.items() if len(spec.get("landmarks") or {}) < MIN_LANDMARKS]
    if status[0] == Status.INCONSISTENT and thin:
        return Status.NOT_RECOMPUTABLE, (
            f"{status[1]}; but fewer than {MIN_LANDMARKS} landmark rates are printed "
            "per arm, so the curves' shape is assumed and the mismatch is not evidence"
        )
    return status


def _in_spread(printed: tuple[float | None, float | None], lo: float, hi: float) -> tuple[Status, str]:
    """The printed HR (the values its print stands for) against the replicates' range."""
    p_lo, p_hi = printed
    if p_lo is None or p_hi is None:
        return Status.NOT_RECOMPUTABLE, "no HR printed for this comparison"
    inside = p_lo <= hi and p_hi >= lo
    if inside and lo < 1 < hi:
        return Status.COMPATIBLE, (
            "the printed HR lies within the replicates' 95% range, but that range spans 1: "
            "the printed summaries cannot tell a benefit from none"
        )
    if inside:
        return Status.REPRODUCED, "the printed HR lies within the replicates' 95% range"
    return Status.INCONSISTENT, (
        "the printed HR lies outside the replicates' 95% range: the printed summaries "
        "and the printed HR do not fit together under the reconstruction's assumptions"
    )


def _p_status(printed: str, lo: float, hi: float, alpha: float = 0.05) -> tuple[Status, str]:
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
