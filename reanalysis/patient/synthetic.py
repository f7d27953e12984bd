"""Synthetic patient-level cohorts whose marginals match a study's published aggregates.

A synthetic cohort lets the patient-level analyses (:mod:`.descriptive`, :mod:`.survival`,
:mod:`.matching`, :mod:`.subgroups`, :mod:`.models`) run end to end on a study whose authors
did not share their data. It is built from what the paper prints and nothing else, and it is
**not** the authors' data: every :class:`~reanalysis.patient.schema.PatientData` made here has
``synthetic=True`` and a ``note`` saying so, and its ``notes`` list how each variable was
generated.

What matches the paper exactly: arm sizes; each printed baseline count that maps onto the
schema (sex, hepatitis B, extrahepatic metastasis, macrovascular invasion / PVTT, BCLC,
ECOG, Child-Pugh, treatment line, prior locoregional therapy; AFP, tumour size and age
counts above / below a printed cut-off); a printed mean and SD (exactly, from rescaled normal
scores); a printed median and range (exactly for odd arm sizes); best overall response
counts per criterion (CR/PR/SD/PD, the rest NE); adverse-event counts per term and printed
grade band. Survival times come from :func:`reanalysis.reconstruct.reconstruct_arm` with the
printed medians, landmarks, events and follow-up (as :func:`reanalysis.pseudo.endpoint_inputs`
reads them), so they reproduce those summaries as closely as the reconstruction does.

What does not: the joint distribution. Within an arm, baseline variables, response and
adverse events are assigned independently of each other; the endpoints (OS, PFS, …) share
one random rank order per arm (the patient with the shortest OS also has the shortest PFS),
which keeps them concordant but does not guarantee PFS <= OS. A printed variable that does
not map onto the schema is not generated, and a schema variable the paper does not print is
left empty. Deterministic for a given seed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats as sps

from ..checks import to_frame
from ..checks.counts import percentage_checks
from ..data import Study, load_study
from ..pseudo import endpoint_inputs, endpoints
from ..reconstruct import reconstruct_arm
from .schema import FILES, META_FILE, PARAMCDS, TABLES, PatientData, validate_frame

__all__ = ["SYNTHETIC_NOTE", "synthetic_cohort", "write_patient_data"]

SYNTHETIC_NOTE = (
    "SYNTHETIC cohort generated from the published aggregates of {study} (seed {seed}). "
    "Its marginals (arm sizes, printed baseline counts and summaries, response and adverse-event "
    "counts, reconstructed survival) match what the paper prints, but it does NOT reproduce the "
    "authors' patient data: the joint distribution of variables is invented. Use it to exercise "
    "and illustrate patient-level methods, never as evidence about the study."
)

# --------------------------------------------------------------------------
# level parsers: printed level text -> schema code (None = row not used)


def _yes_no(level: str) -> str | None:
    text = level.strip().lower()
    if text in ("yes", "present", "y", "positive", "+"):
        return "Y"
    if text in ("no", "absent", "n", "negative", "-", "none"):
        return "N"
    return None


def _sex(level: str) -> str | None:
    return {"male": "M", "m": "M", "female": "F", "f": "F"}.get(level.strip().lower())


def _hbv_from_hepatitis(level: str) -> str | None:
    """'Hepatitis' with levels HBV / HCV / No: HBV is Y, every other level N."""
    return "Y" if level.strip().upper() == "HBV" else "N"


def _letter(allowed: str) -> Callable[[str], str | None]:
    def parse(level: str) -> str | None:
        text = level.strip().upper()
        return text if len(text) == 1 and text in allowed else None

    return parse


def _ecog(level: str) -> int | None:
    """'0'..'4' as is; '<k' as k-1 and '>=k' as k (the lowest value the level allows)."""
    text = level.strip().replace(" ", "")
    if re.fullmatch(r"[0-4]", text):
        return int(text)
    m = re.fullmatch(r"(<|＜)([1-4])", text)
    if m:
        return int(m.group(2)) - 1
    m = re.fullmatch(r"(≥|>=)([0-4])", text)
    return int(m.group(2)) if m else None


def _child_pugh(level: str) -> str | None:
    """Class A/B/C, or a printed score: 5-6 = A, 7-9 = B, 10-15 = C."""
    text = level.strip().upper()
    if text in ("A", "B", "C"):
        return text
    if text.isdigit():
        score = int(text)
        return "A" if 5 <= score <= 6 else "B" if 7 <= score <= 9 else "C" if 10 <= score <= 15 else None
    return None


def _line(level: str) -> int | None:
    """'1', '2', …; 'First-line' = 1; 'Second-line (and beyond)' = 2; cumulative levels ('≥ 3') unused."""
    text = level.strip().lower()
    if text.isdigit():
        return int(text)
    if text.startswith("first"):
        return 1
    if text.startswith("second"):
        return 2
    return None


def _prior_level(level: str) -> str | None:
    return "none" if _yes_no(level) == "N" else level.strip()


# (schema column, variable regex, level parser, the two codes of a binary variable or None)
CATEGORICAL_RULES: list[tuple[str, str, Callable[[str], object], tuple | None]] = [
    ("SEX", r"^(gender|sex)\b", _sex, ("M", "F")),
    ("HBV", r"^hepatitis b\b", _yes_no, ("Y", "N")),
    ("HBV", r"^hepatitis$", _hbv_from_hepatitis, ("Y", "N")),
    ("EHM", r"extra.?hepatic metasta|^ehm\b", _yes_no, ("Y", "N")),
    ("PVTT", r"macrovascular invasion|portal vein (invasion|tumou?r thrombus)|^pvtt\b", _yes_no, ("Y", "N")),
    ("BCLC", r"^bclc", _letter("ABCD"), None),
    ("ECOG", r"^ecog", _ecog, None),
    ("CHILDPUGH", r"^child.?pugh", _child_pugh, None),
    ("TRTLINE", r"treatment.?line|therapy line", _line, None),
    ("PRIORTX", r"^previous locoregional therapy", _prior_level, None),
]
PRIOR_BINARY_RULE = r"^prior therapy,\s*(.+)$"  # one yes/no variable per prior therapy (multi-select)

# (schema column, variable regex, default range when none is printed, log scale, whole numbers)
CONTINUOUS_RULES: list[tuple[str, str, tuple[float, float], bool, bool]] = [
    ("AGE", r"^age\b", (30.0, 80.0), False, False),
    ("AFP", r"\bafp\b|alpha.?fetoprotein", (1.0, 100000.0), True, False),
    ("TUMSIZE", r"tumou?r.*diameter|tumou?r size", (0.5, 25.0), False, False),
    (
        "RTDOSE",
        r"^(total prescribed dose|actual radiation dose|prescribed dose|total dose)",
        (0, 0),
        False,
        False,
    ),
    ("RTFX", r"^(radiation therapy fraction|number of fractions|fractions?)\b", (0, 0), False, True),
]
_THRESHOLD_RE = re.compile(r"^\s*(<|＜|≤|<=|≥|>=|>)\s*([\d,]+(?:\.\d+)?)")
_AGGREGATE_TERM = re.compile(r"^(all|any)\b", re.IGNORECASE)


# --------------------------------------------------------------------------
# baseline


def _baseline_rows(study: Study) -> pd.DataFrame:
    frames = [study[t].assign(table=t) for t in ("baseline", "treatment") if len(study[t])]
    if not frames:
        return pd.DataFrame(columns=["variable", "level", "arm", "stat", "n", "table"])
    return pd.concat(frames, ignore_index=True)


def _matching(rows: pd.DataFrame, pattern: str) -> pd.DataFrame:
    rx = re.compile(pattern, re.IGNORECASE)
    return rows[rows["variable"].map(lambda v: isinstance(v, str) and rx.search(v) is not None).astype(bool)]


def _categorical(
    rows: pd.DataFrame,
    sizes: dict[str, int],
    target: str,
    pattern: str,
    parse: Callable[[str], object],
    binary: tuple | None,
    rng: np.random.Generator,
    notes: list[str],
) -> dict[str, list] | None:
    """Per arm, a shuffled list of codes whose counts are the printed ones (None: not printed)."""
    hits = _matching(rows[(rows["stat"] == "count") & rows["n"].notna()], pattern)
    for variable, grp in hits.groupby("variable", sort=False):
        out: dict[str, list] = {}
        used = []
        for arm, size in sizes.items():
            counts: dict[object, int] = {}
            for _, r in grp[grp["arm"] == arm].iterrows():
                code = parse(str(r["level"])) if pd.notna(r["level"]) else None
                if code is None:
                    continue
                counts[code] = counts.get(code, 0) + int(r["n"])
                used.append(r["key"])
            if not counts:
                out[arm] = [None] * size
                continue
            total = sum(counts.values())
            if total > size:
                notes.append(
                    f"{target}: not generated for arm {arm}: the printed levels of '{variable}' "
                    f"add up to {total} > {size} (levels overlap)"
                )
                out[arm] = [None] * size
                continue
            values = [c for c, k in counts.items() for _ in range(k)]
            rest = size - total
            if rest and binary and len(counts) == 1:
                other = binary[1] if next(iter(counts)) == binary[0] else binary[0]
                values += [other] * rest
            else:
                values += [None] * rest
            out[arm] = list(rng.permutation(np.array(values, dtype=object)))
        if used:
            keys = ", ".join(dict.fromkeys(used))
            notes.append(f"{target}: from '{variable}' ({keys}); counts per arm as printed")
            return out
    return None


def _prior_binary(
    rows: pd.DataFrame, sizes: dict[str, int], rng: np.random.Generator, notes: list[str]
) -> dict[str, list] | None:
    """Multi-select 'Prior therapy, X' yes/no rows: each therapy assigned independently, joined."""
    hits = _matching(rows[(rows["stat"] == "count") & rows["n"].notna()], PRIOR_BINARY_RULE)
    if hits.empty:
        return None
    out = {}
    for arm, size in sizes.items():
        sets: list[list[str]] = [[] for _ in range(size)]
        for _, r in hits[hits["arm"] == arm].iterrows():
            if _yes_no(str(r["level"])) != "Y":
                continue
            therapy = re.match(PRIOR_BINARY_RULE, r["variable"], re.IGNORECASE).group(1).strip()
            for i in rng.choice(size, size=int(r["n"]), replace=False):
                sets[int(i)].append(therapy)
        out[arm] = [";".join(s) if s else "none" for s in sets]
    notes.append(
        "PRIORTX: from the yes/no 'Prior therapy, …' rows; each therapy's count per arm as printed, "
        "therapies assigned independently and joined with ';'"
    )
    return out


def _thresholds(grp: pd.DataFrame, size: int, notes: list[str], target: str) -> dict[float, int]:
    """Printed counts above / below cut-offs as {cut-off: number of patients below it}."""
    below: dict[float, int] = {}
    for _, r in grp[(grp["stat"] == "count") & grp["n"].notna()].iterrows():
        m = _THRESHOLD_RE.match(str(r["level"])) if pd.notna(r["level"]) else None
        if m is None:
            continue
        t = float(m.group(2).replace(",", ""))
        k = int(r["n"]) if m.group(1) in ("<", "＜", "≤", "<=") else size - int(r["n"])
        if t in below and below[t] != k:
            notes.append(f"{target}: the printed counts at cut-off {t:g} do not add up to {size}; first used")
            continue
        below.setdefault(t, k)
    ordered = dict(sorted(below.items()))
    ks = list(ordered.values())
    if any(b < a for a, b in zip(ks, ks[1:], strict=False)):
        notes.append(f"{target}: printed cut-off counts are not monotone; only the lowest cut-off used")
        first = next(iter(ordered))
        ordered = {first: ordered[first]}
    return ordered


def _quantile_values(
    n: int,
    lo: float,
    hi: float,
    below: dict[float, int],
    soft: list[tuple[float, float]],
    log: bool,
) -> np.ndarray:
    """Sorted values at evenly spaced ranks of a monotone piecewise-linear quantile function.

    Anchors: (0, lo), (1, hi), each cut-off t with k patients below it at rank (k - 0.5)/(n - 1)
    (hard: enforced exactly afterwards), and soft anchors (median at 0.5, quartiles at 0.25 /
    0.75) kept only where they are monotone with the hard ones. ``log`` interpolates log values.
    """
    for t, k in below.items():
        if k == 0:
            lo = max(lo, t)
        if k == n:
            hi = min(hi, t)
    hard = [((k - 0.5) / (n - 1), t) for t, k in below.items() if 0 < k < n] if n > 1 else []
    if hard:
        if lo >= hard[0][1]:
            lo = hard[0][1] / 2 if hard[0][1] > 0 else hard[0][1] - 1
        if hi <= hard[-1][1]:
            hi = hard[-1][1] * 1.5 if hard[-1][1] > 0 else hard[-1][1] + 1
    anchors = sorted([(0.0, lo), (1.0, hi), *hard])
    for p, v in soft:
        i = next(j for j, a in enumerate(anchors) if a[0] >= p)
        before, after = anchors[i - 1], anchors[i]
        if before[0] < p < after[0] and before[1] < v < after[1]:
            anchors.insert(i, (p, v))
    ps = np.array([a[0] for a in anchors])
    vs = np.array([a[1] for a in anchors], dtype=float)
    ranks = np.arange(n) / (n - 1) if n > 1 else np.array([0.5])
    use_log = log and bool(np.all(vs > 0))
    values = np.exp(np.interp(ranks, ps, np.log(vs))) if use_log else np.interp(ranks, ps, vs)
    median = next((v for p, v in anchors if p == 0.5), None)
    if median is not None and n % 2 == 0 and n >= 2:
        # even n: the median is the mean of the middle two values; centre them on it
        i, half = n // 2, (values[n // 2] - values[n // 2 - 1]) / 2
        low, high = median - half, median + half
        if (i < 2 or low >= values[i - 2]) and (i + 1 >= n or high <= values[i + 1]):
            values[i - 1], values[i] = low, high
    values = np.round(values, 2)
    for t, k in below.items():  # the printed counts hold exactly, whatever rounding did
        values[:k] = np.minimum(values[:k], round(t - 0.01, 2))
        values[k:] = np.maximum(values[k:], t)
    return values


def _continuous(
    rows: pd.DataFrame,
    sizes: dict[str, int],
    target: str,
    pattern: str,
    default: tuple[float, float],
    log: bool,
    whole: bool,
    rng: np.random.Generator,
    notes: list[str],
) -> dict[str, list] | None:
    hits = _matching(rows, pattern)
    if hits.empty:
        return None
    out: dict[str, list] = {}
    used: list[str] = []
    for arm, size in sizes.items():
        grp = hits[hits["arm"] == arm]
        below = _thresholds(grp, size, notes, target)
        summary = grp[grp["stat"].isin(["mean_sd", "median_iqr", "median_range"])]
        if summary.empty and not below:
            out[arm] = [None] * size
            continue
        s = summary.iloc[0] if len(summary) else None
        counted = grp[(grp["stat"] == "count") & grp["n"].notna()]
        used += list(summary["key"][:1]) + [
            k for k, lv in zip(counted["key"], counted["level"], strict=True) if _THRESHOLD_RE.match(str(lv))
        ]
        if s is not None and s["stat"] == "mean_sd" and not below:
            if size == 1:
                values = np.array([float(s["mean"])])
            else:
                z = sps.norm.ppf((np.arange(size) + 0.5) / size)
                values = float(s["mean"]) + float(s["sd"]) * (z - z.mean()) / z.std(ddof=1)
        else:
            if s is not None and s["stat"] == "mean_sd":
                notes.append(f"{target}, arm {arm}: printed cut-off counts used; mean and SD not matched")
            lo, hi = default
            soft: list[tuple[float, float]] = []
            if s is not None and s["stat"] == "median_range":
                lo, hi = float(s["lower"]), float(s["upper"])
            if s is not None and s["stat"] in ("median_range", "median_iqr"):
                soft.append((0.5, float(s["median"])))
            if s is not None and s["stat"] == "median_iqr":
                soft += [(0.25, float(s["lower"])), (0.75, float(s["upper"]))]
            if hi <= lo:
                out[arm] = [None] * size
                continue
            values = _quantile_values(size, lo, hi, below, sorted(soft), log)
        if whole:
            values = np.rint(values)
        out[arm] = list(rng.permutation(values))
    if not used:
        return None
    notes.append(f"{target}: from {', '.join(dict.fromkeys(used))}")
    return out


def _adsl(study: Study, sizes: dict[str, int], rng: np.random.Generator, notes: list[str]) -> pd.DataFrame:
    ids, arms = [], []
    for arm, size in sizes.items():
        for _ in range(size):
            ids.append(f"SYN-{study.id}-{len(ids) + 1:04d}")
            arms.append(arm)
    adsl = pd.DataFrame({"USUBJID": ids, "ARM": arms})
    rows = _baseline_rows(study)

    def place(column: str, per_arm: dict[str, list]) -> None:
        adsl[column] = pd.Series([v for arm in sizes for v in per_arm[arm]], dtype=object).values

    done: set[str] = set()
    for target, pattern, parse, binary in CATEGORICAL_RULES:
        if target in done:
            continue
        got = _categorical(rows, sizes, target, pattern, parse, binary, rng, notes)
        if got is not None:
            place(target, got)
            done.add(target)
    if "PRIORTX" not in done:
        got = _prior_binary(rows, sizes, rng, notes)
        if got is not None:
            place("PRIORTX", got)
            done.add("PRIORTX")
    for target, pattern, default, log, whole in CONTINUOUS_RULES:
        got = _continuous(rows, sizes, target, pattern, default, log, whole, rng, notes)
        if got is not None:
            place(target, got)
            done.add(target)
    empty = [c for c in TABLES["adsl"] if c not in done and c not in ("USUBJID", "ARM")]
    for c in empty:
        adsl[c] = None
    if empty:
        notes.append(f"left empty (not printed in a form that maps onto the schema): {', '.join(empty)}")
    return adsl


# --------------------------------------------------------------------------
# outcomes


def _adtte(
    study: Study, subjects: dict[str, list[str]], rng: np.random.Generator, notes: list[str]
) -> pd.DataFrame:
    """Reconstructed survival per endpoint and arm, one shared random rank order per arm."""
    checks = to_frame(percentage_checks(study))
    if checks.empty:
        checks = pd.DataFrame(columns=["check", "status", "key", "arm"])
    order = {arm: list(rng.permutation(np.array(ids, dtype=object))) for arm, ids in subjects.items()}
    frames = []
    found, _ = endpoints(study)
    for endpoint, subgroup in found:
        if subgroup is not None or endpoint not in PARAMCDS:
            continue
        ep = endpoint_inputs(study, endpoint, None, checks)
        notes.extend(f"{endpoint}: {n}" for n in ep.notes)
        parts = []
        try:
            for arm, spec in ep.inputs.items():
                ipd = reconstruct_arm(**spec, seed=int(rng.integers(2**31)), vary="none")
                parts.append(
                    pd.DataFrame(
                        {
                            "USUBJID": order[arm],
                            "PARAMCD": endpoint,
                            "AVAL": ipd["time"].to_numpy(),
                            "CNSR": 1 - ipd["event"].to_numpy(),
                        }
                    )
                )
        except ValueError as exc:
            notes.append(f"{endpoint}: not generated: the printed summaries cannot be reconstructed ({exc})")
            continue
        frames += parts
        inputs = "; ".join(
            f"{arm}: " + ", ".join(f"{k}={_fmt(v)}" for k, v in spec.items() if k != "n")
            for arm, spec in ep.inputs.items()
        )
        crit = f" ({ep.criterion})" if ep.criterion else ""
        notes.append(f"{endpoint}{crit}: reconstructed from {inputs}")
    if not frames:
        notes.append("no endpoint has printed summaries for every arm: adtte is empty")
        return pd.DataFrame(columns=["USUBJID", "PARAMCD", "AVAL", "CNSR"])
    return pd.concat(frames, ignore_index=True)


def _adrs(
    study: Study, subjects: dict[str, list[str]], rng: np.random.Generator, notes: list[str]
) -> pd.DataFrame | None:
    """Best overall response per criterion; criteria share one rank order (concordant)."""
    r = study["response"]
    r = r[
        r["category"].isin(["CR", "PR", "SD", "PD"])
        & (r["stat"] == "count")
        & r["n"].notna()
        & r["scope"].isna()
        & r["denominator"].isna()
    ]
    if r.empty:
        return None
    order = {arm: list(rng.permutation(np.array(ids, dtype=object))) for arm, ids in subjects.items()}
    rows = []
    for criterion, grp in r.groupby("criterion", sort=False):
        if criterion not in ("RECIST 1.1", "mRECIST"):
            notes.append(f"response: criterion '{criterion}' is not RECIST 1.1 or mRECIST: not generated")
            continue
        for arm, ids in order.items():
            counts = {
                c: int(grp[(grp["arm"] == arm) & (grp["category"] == c)]["n"].sum())
                for c in "CR PR SD PD".split()
            }
            if not (grp["arm"] == arm).any():
                notes.append(f"response ({criterion}): nothing printed for arm {arm}: not generated")
                continue
            if sum(counts.values()) > len(ids):
                notes.append(
                    f"response ({criterion}), arm {arm}: CR+PR+SD+PD exceeds the arm size: not generated"
                )
                continue
            cats = [c for c, k in counts.items() for _ in range(k)]
            cats += ["NE"] * (len(ids) - len(cats))
            rows += [
                {"USUBJID": s, "CRITERION": criterion, "AVALC": c} for s, c in zip(ids, cats, strict=True)
            ]
        notes.append(f"response ({criterion}): CR/PR/SD/PD counts per arm as printed, the rest NE")
    return pd.DataFrame(rows, columns=["USUBJID", "CRITERION", "AVALC"]) if rows else None


def _fmt(value: object) -> str:
    """A reconstruction input as printed (no float noise)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k:g}: {v:.4g}" for k, v in value.items()) + "}"
    if isinstance(value, tuple):
        return "(" + ", ".join("NR" if v is None else f"{v:g}" for v in value) + ")"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _grades(bands: dict[str, int], rng: np.random.Generator) -> tuple[list[int], str] | None:
    """Grades for the patients with one AE term, from its printed bands (None: inconsistent)."""
    per_grade = {int(b): k for b, k in bands.items() if b in "12345" and len(b) == 1}
    if per_grade:
        grades = [g for g, k in per_grade.items() for _ in range(k)]
        extra = ""
        if "any" in bands and bands["any"] != len(grades):
            extra = f"; printed any-grade count {bands['any']} differs from the per-grade sum {len(grades)}"
        return grades, "per-grade counts" + extra
    high_band = "3-4" if "3-4" in bands else ">=3" if ">=3" in bands else None
    high = bands.get(high_band, 0) if high_band else 0
    total = bands.get("any", high)
    if high > total:
        return None
    high_grades = [int(g) for g in rng.choice([3, 4], size=high)] if high_band == "3-4" else [3] * high
    low_grades = [int(g) for g in rng.choice([1, 2], size=total - high)]
    how = "any grade (as 1-2)" if "any" in bands else ""
    if high_band:
        how += f"{' and ' if how else ''}grade {high_band} (as {'3-4' if high_band == '3-4' else '3'})"
    if "any" in bands and not high_band:
        how += "; no grade >=3 count printed, none generated"
    return high_grades + low_grades, how


def _adae(
    study: Study, subjects: dict[str, list[str]], rng: np.random.Generator, notes: list[str]
) -> pd.DataFrame | None:
    """One row per patient and term (highest grade), counts per printed grade band."""
    ae = study["adverse_events"]
    ae = ae[ae["n"].notna() & ae["denominator"].isna()]
    ae = ae[~ae["term"].str.match(_AGGREGATE_TERM)]
    if ae.empty:
        return None
    rows = []
    skipped, no_high = [], []
    for term, grp in ae.groupby("term", sort=False):
        for arm, ids in subjects.items():
            g = grp[grp["arm"] == arm]
            if g.empty:
                continue
            bands = {b: int(k) for b, k in zip(g["grade_band"], g["n"], strict=True)}
            got = _grades(bands, rng)
            if got is None or len(got[0]) > len(ids):
                skipped.append(f"{term} ({arm})")
                continue
            grades, how = got
            if "none generated" in how:
                no_high.append(f"{term} ({arm})")
            who = rng.choice(np.array(ids, dtype=object), size=len(grades), replace=False)
            grades = list(rng.permutation(np.array(grades)))
            rows += [
                {"USUBJID": s, "AETERM": term, "AETOXGR": int(x)} for s, x in zip(who, grades, strict=True)
            ]
    notes.append(
        "adverse events: one row per patient and term; printed counts per term, arm and grade band "
        "(any grade generated as grade 1-2, grade 3-4 as 3 or 4, grade >=3 as 3); aggregate rows "
        "('All adverse events', 'Any TRAE') not generated"
    )
    if skipped:
        notes.append(f"adverse events not generated (printed bands inconsistent): {', '.join(skipped)}")
    if no_high:
        notes.append(
            "adverse events with no grade >=3 count printed (all generated as grade 1-2): "
            + ", ".join(no_high)
        )
    return pd.DataFrame(rows, columns=["USUBJID", "AETERM", "AETOXGR"]) if rows else None


# --------------------------------------------------------------------------
# entry points


def synthetic_cohort(study_id: str, seed: int = 0, data_dir: Path | str | None = None) -> PatientData:
    """A synthetic cohort matching the published aggregates of ``data/<study_id>/``.

    Deterministic for a given ``seed``. Raises ValueError for a study whose arm sizes are not
    printed (nothing to build the cohort on).
    """
    study = load_study(study_id, data_dir)
    unsized = [a.id for a in study.arms if a.n is None]
    if unsized:
        raise ValueError(
            f"study '{study_id}': arm sizes are not printed for {', '.join(unsized)}; "
            "a synthetic cohort needs every arm's N"
        )
    sizes = {a.id: int(a.n) for a in study.arms}
    rng = np.random.default_rng(seed)
    notes: list[str] = []
    adsl = _adsl(study, sizes, rng, notes)
    subjects = {arm: list(adsl.loc[adsl["ARM"] == arm, "USUBJID"]) for arm in sizes}
    adtte = _adtte(study, subjects, rng, notes)
    adrs = _adrs(study, subjects, rng, notes)
    adae = _adae(study, subjects, rng, notes)
    where = f"synthetic cohort of {study_id}"
    return PatientData(
        adsl=validate_frame(adsl, "adsl", f"{where}: adsl"),
        adtte=validate_frame(adtte, "adtte", f"{where}: adtte"),
        adrs=None if adrs is None else validate_frame(adrs, "adrs", f"{where}: adrs"),
        adae=None if adae is None else validate_frame(adae, "adae", f"{where}: adae"),
        synthetic=True,
        note=SYNTHETIC_NOTE.format(study=study.meta.get("short_title") or study_id, seed=seed),
        source=study_id,
        notes=notes,
    )


def write_patient_data(data: PatientData, folder: Path | str) -> Path:
    """Write the tables as CSVs (empty cells for missing values) plus ``patient.yml``.

    Optional columns that are entirely empty are left out. Reading the folder back with
    :func:`~reanalysis.patient.schema.load_patient_data` gives the same frames.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for table, fname in FILES.items():
        frame = data.table(table)
        path = folder / fname
        if frame is None:
            if path.exists():
                path.unlink()
            continue
        optional = [c for c, col in TABLES[table].items() if col.optional_column and frame[c].isna().all()]
        frame.drop(columns=optional).to_csv(path, index=False, lineterminator="\n")
    meta = {
        "synthetic": bool(data.synthetic),
        "note": data.note,
        "source": data.source,
        "notes": list(data.notes),
    }
    (folder / META_FILE).write_text(
        yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8"
    )
    return folder
