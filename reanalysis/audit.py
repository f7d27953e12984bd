"""The audit across studies: every check of every study (the survival reconstruction's verdicts
included), and the cross-study summaries of it (test usage, the Carlisle-style baseline view,
verdict counts and commonest reasons)."""

from __future__ import annotations

import pandas as pd
from scipy import stats as sps

from .checks import SEVERITIES, CheckOptions, Status, rows_frame, status_counts
from .data import list_studies, load_study_meta
from .printed import parse_p_text
from .recon_checks import StudyOptions
from .text import GLANCE_STUDIES, listing

# the audit CSV: its original columns, then severity (inconsistent rows only)
# the audit page lists at most this many inconsistent numbers (critical first): a reader scans
# the worst; a book of 64 studies had over 5,000, which no one reads on a page (the CSV has all)
SHOWN_ROWS = 200
AUDIT_COLUMNS = [
    "study",
    "location",
    "quantity",
    "printed",
    "recomputed",
    "method",
    "status",
    "reason",
    "severity",
]
AUDIT_STATUS = {
    Status.REPRODUCED: "consistent",
    Status.COMPATIBLE: "compatible (uninformative)",
    Status.INCONSISTENT: "inconsistent",
    Status.NOT_RECOMPUTABLE: "not recomputable",
}


def audit_all(
    studies: list[str] | None = None,
    test_rule: str = "gtsummary",
    alpha: float = 0.05,
    alpha_beta: float = 10.0,
) -> pd.DataFrame:
    """Every check of every study (or of ``studies``) as one table, study by study: the checks of
    the printed data and the survival reconstruction's verdicts (:func:`study_records`, with the
    chapters' replicates and seed, so the numbers agree with each chapter's summary of findings).

    Keeps the chapter columns (check, key, arm, test_named, tests_reproducing) beside the audit
    columns; :func:`audit_table` gives the audit's own view. Each study's records come from its
    workflow artefact when current (:func:`reanalysis.results.study_rows`).
    """
    from .results import study_rows

    options = StudyOptions(CheckOptions(test_rule, alpha, alpha_beta))
    return rows_frame(r for s in (studies or list_studies()) for r in study_rows(s, options))


def study_names(frame: pd.DataFrame) -> pd.DataFrame:
    """A page's copy of an audit frame: studies by short title (the ``study`` column, and the
    arm ids a check names in ``arm``) instead of their ids."""
    out = frame.copy()
    if "study" not in out:
        return out
    studies = {sid: load_study_meta(sid) for sid in dict.fromkeys(out["study"])}  # names: no tables
    if "arm" in out:
        out["arm"] = [
            studies[s].arm(a).label if a and a in {x.id for x in studies[s].arms} else a
            for s, a in zip(out["study"], out["arm"], strict=True)
        ]
    out["study"] = out["study"].map(lambda s: studies[s].meta.get("short_title") or s)
    return out


def audit_table(checks: pd.DataFrame, readable: bool = False) -> pd.DataFrame:
    """The audit's view: ``study, location, quantity, printed, recomputed, method, status, reason,
    severity`` with status ``consistent`` / ``compatible (uninformative)`` / ``inconsistent`` /
    ``not recomputable``, and severity on inconsistent rows only. ``readable``: for a page,
    studies and arms by name (:func:`study_names`); the CLI keeps the ids."""
    if readable:
        checks = study_names(checks)
    out = checks.assign(quantity=checks["quantity"] + checks["arm"].map(lambda a: f" [{a}]" if a else ""))
    out = out.assign(status=out["status"].map(AUDIT_STATUS))
    return out[AUDIT_COLUMNS].reset_index(drop=True)


def test_usage(checks: pd.DataFrame) -> pd.DataFrame:
    """Per study: how many printed p-values each test reproduces, beside the test the paper named."""
    pc = checks[checks["check"].eq("p-value") & checks["status"].ne(Status.NOT_RECOMPUTABLE)]
    rows = []
    for sid, grp in pc.groupby("study", sort=False):
        named = "; ".join(sorted({t for t in grp["test_named"] if t})) or "not named"
        reproducing = grp["tests_reproducing"]
        tests = sorted({t for ts in reproducing for t in ts})
        row = {
            "study": sid,
            "test named in the paper": named,
            "p-values checked": len(grp),
            "reproduced by none": int((reproducing.map(len) == 0).sum()),
        }
        for t in tests:
            row[f"reproduced by {t}"] = int(reproducing.map(lambda ts, t=t: t in ts).sum())
        only = pd.Series([ts[0] for ts in reproducing if len(ts) == 1], dtype=object)
        row["most often the only test that reproduces"] = only.mode().iat[0] if only.size else ""
        rows.append(row)
    return pd.DataFrame(rows).fillna(0)


def baseline_pvalues(checks: pd.DataFrame) -> pd.DataFrame:
    """Printed baseline p-values per study (Carlisle-style view), with the recomputed p where any."""
    base = checks[checks["check"].eq("p-value") & checks["key"].str.startswith("baseline.")]
    out = base[["study", "key", "quantity", "printed", "recomputed"]].copy()
    out["p printed"] = out["printed"].map(lambda x: parse_p_text(x).value)
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


def severity_text(checks: pd.DataFrame) -> str:
    """'2 critical, 3 major, 12 minor' (inconsistent rows, worst first; 'none' without any)."""
    counts = checks.loc[checks["status"] == Status.INCONSISTENT, "severity"].value_counts()
    return ", ".join(f"{counts[s]} {s}" for s in reversed(SEVERITIES) if counts.get(s)) or "none"


def verdicts_text(checks: pd.DataFrame) -> str:
    """'240 reproduced, 4 compatible but uninformative, 17 inconsistent (2 critical, 3 major,
    12 minor), 9 not recomputable from published data' (no compatible part when there are none)."""
    counts = checks["status"].value_counts()
    n_bad, n_compatible = counts.get(Status.INCONSISTENT, 0), counts.get(Status.COMPATIBLE, 0)
    return (
        f"{counts.get(Status.REPRODUCED, 0)} reproduced, "
        + (f"{n_compatible} compatible but uninformative, " if n_compatible else "")
        + f"{n_bad} inconsistent"
        + (f" ({severity_text(checks)})" if n_bad else "")
        + f", {counts.get(Status.NOT_RECOMPUTABLE, 0)} not recomputable from published data"
    )


def by_severity(checks: pd.DataFrame) -> pd.DataFrame:
    """Inconsistent rows, critical first (then major, minor), in table order within each."""
    bad = checks[checks["status"] == Status.INCONSISTENT]
    rank = bad["severity"].map({s: i for i, s in enumerate(reversed(SEVERITIES))})
    return bad.assign(_rank=rank).sort_values("_rank", kind="stable").drop(columns="_rank")


def commonest_reasons(checks: pd.DataFrame) -> list[str]:
    """Why printed numbers cannot be recomputed, commonest first: ['3× a median …', …]."""
    nr = checks.loc[checks["status"] == Status.NOT_RECOMPUTABLE, "reason"].value_counts()
    return [f"{n}× {reason}" for reason, n in nr.items()]


def counts_by_study(checks: pd.DataFrame) -> pd.DataFrame:
    """Checks per study and status (a Study column, a total row), the studies in the checks'
    order (their ids', as ``data/`` lists them), not the alphabet of their names: 'copy 12' before
    'copy 4' read as a shuffle."""
    counts = status_counts(checks.assign(check=checks["study"]))
    order = [*dict.fromkeys(checks["study"]), "total"]
    return counts.reindex(order).reset_index().rename(columns={"check": "Study"})


def glance_rows(checks: pd.DataFrame) -> list[tuple[str, str]]:
    """The audit's 'at a glance' rows: scale, verdicts, where the inconsistencies are (the
    studies with the most critical ones first), and the commonest reason a printed number cannot
    be recomputed. Studies in the order of the checks (the studies' ids), at most
    :data:`GLANCE_STUDIES` named per row."""
    studies = list(dict.fromkeys(checks["study"]))
    bad = checks[checks["status"] == Status.INCONSISTENT]
    groups = list(bad.groupby("study", sort=False))
    worst_first = sorted(
        groups, key=lambda sg: [-int((sg[1]["severity"] == s).sum()) for s in reversed(SEVERITIES)]
    )
    per_study = [f"{s}: {severity_text(g)}" for s, g in worst_first]
    named = listing(studies, GLANCE_STUDIES, more=", each in “Checks per study”")
    return [
        ("Studies", f"{len(studies)} ({named})"),
        ("Checked", f"{len(checks)} printed numbers: {verdicts_text(checks)}"),
        (
            "Inconsistent, by study",
            listing(per_study, GLANCE_STUDIES, more=", each in “Every inconsistency”") or "none",
        ),
        ("Not recomputable, most often because", (commonest_reasons(checks) or [""])[0]),
    ]
