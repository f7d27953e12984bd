"""The standard outputs of a study chapter, built apart from their rendering.

One pure builder per output (the gtsummary / TLG Catalog pattern): each takes the study and its
checks and returns a :class:`~reanalysis.tables.TableSpec` (tidy frame, id, caption, footnotes)
or None when the paper prints nothing of the kind; :func:`reanalysis.tables.render` is the one
renderer. Builders neither display nor write anything, so they can be tested, reused in other
pages, or exported as they are.
"""

from __future__ import annotations

import pandas as pd

from . import rates as R
from .audit import by_severity, severity_text
from .checks import CheckOptions, Status, quantity_labels, rows_frame, status_counts
from .data import Study, list_studies, load_study_meta
from .recon_checks import StudyOptions
from .tables import Footnotes, TableSpec, checks_table, comparison_table, tidy_checks, tidy_comparison
from .vocabulary import SOURCE_KINDS

# Columns of the check listings, by purpose.
_CHECK_COLUMNS = ["check", "location", "quantity", "arm", "printed", "recomputed", "status", "reason"]
_SURVIVAL_CHECK_COLUMNS = ["location", "quantity", "printed", "recomputed", "method", "status", "reason"]


def comparison(
    study: Study,
    checks: pd.DataFrame,
    table: str,
    uid: str,
    caption: str,
    criterion: str | None = None,
    notes: Footnotes | None = None,
) -> TableSpec:
    """A printed table (baseline, treatment, response, adverse events) beside its checks."""
    frame, notes = comparison_table(study, checks, table, criterion, notes)
    return TableSpec(frame, uid, caption, notes, tidy=tidy_comparison(study, checks, table, criterion))


def _checks_spec(
    rows: pd.DataFrame,
    columns: list[str] | None,
    uid: str,
    caption: str,
    notes: Footnotes | None,
    arms: dict[str, str] | None,
) -> TableSpec:
    """A listing of check rows: repeated long methods and reasons as footnotes (the chapter's
    letters when ``notes`` is the chapter's), arms by label, and its tidy rows."""
    notes = notes if notes is not None else Footnotes()
    frame = checks_table(rows, columns, notes=notes, arms=arms)
    return TableSpec(frame, uid, caption, notes, tidy=tidy_checks(rows, arms))


def bed_ranges(
    checks: pd.DataFrame, notes: Footnotes | None = None, arms: dict[str, str] | None = None
) -> TableSpec | None:
    """Printed BED ranges against the LQ model."""
    bed = checks[checks["check"] == "BED range"]
    if bed.empty:
        return None
    columns = ["quantity", "printed", "recomputed", "method", "status", "reason"]
    return _checks_spec(bed, columns, "bed", "BED range against the LQ model", notes, arms)


def response_rates(study: Study, criterion: str, ci_method: str, alpha: float) -> TableSpec:
    """ORR/DCR per arm with CIs (and, for two arms, the difference), from the printed counts."""
    lvl = f"{100 * (1 - alpha):g}%"
    r = R.arm_rates(study, ci_method, alpha)
    r = r[r["criterion"] == criterion]
    out = pd.DataFrame(
        {
            "Outcome": r["outcome"] + r["scope"].map(lambda x: f" ({x})" if x else ""),
            "Arm": r["arm"].map(lambda x: study.arm(x).label),
            f"n/N = rate ({lvl} CI, {ci_method})": [
                f"{n}/{N} = {100 * p:.1f}% ({100 * lo:.1f}–{100 * hi:.1f})"
                for n, N, p, lo, hi in r[["n", "N", "rate", "lo", "hi"]].itertuples(index=False)
            ],
        }
    )
    if study.is_two_arm:
        first = study.arm(study.comparison[0]).label
        d = R.rate_table(study, criterion, ci_method, alpha)
        diff = {
            o: f"{100 * x:.1f} ({100 * lo:.1f} to {100 * hi:.1f})"
            for o, x, lo, hi in d[["outcome", "diff", "diff_lo", "diff_hi"]].itertuples(index=False)
        }
        out[f"Difference, first − second arm ({lvl} CI, Newcombe)"] = [
            diff.get(o, "") if arm == first else "" for o, arm in zip(out["Outcome"], out["Arm"], strict=True)
        ]
    return TableSpec(
        out.reset_index(drop=True),
        "rates",
        f"Response rates ({criterion}) with confidence intervals (computed from the printed counts)",
    )


def survival_summaries(study: Study) -> TableSpec:
    """Printed survival summaries (medians, landmark rates, events, follow-up)."""
    labels = quantity_labels(study)
    pv = study["pvalues"].set_index("key")
    rows = []
    sv = study["survival"]
    for (key, loc), grp in sv[sv["subgroup"].isna()].groupby(["key", "location"], sort=False):
        by_arm = grp[grp["arm"].notna()].set_index("arm")["printed"]
        overall = grp.loc[grp["arm"].isna(), "printed"]  # printed for all patients (follow-up)
        every = f"{overall.iloc[0]} (all patients)" if len(overall) else ""
        same_place = key in pv.index and pv.loc[key, "location"] == loc
        rows.append(
            {
                "Quantity": labels.get(key, key),
                "Printed in": loc,
                **{a.label: by_arm.get(a.id, every) for a in study.arms},
                "p printed": pv.loc[key, "printed"] if same_place else "",
            }
        )
    return TableSpec(pd.DataFrame(rows), "survival", "Survival summaries as printed")


def survival_by_factor(study: Study) -> TableSpec | None:
    """Median survival by prognostic factor level, as printed, with the printed p."""
    sv = study["survival"]
    sub = sv[sv["subgroup"].notna()]
    if sub.empty:
        return None
    pv = study["pvalues"]
    p_of = {lv: pr for pr, levels in zip(pv["printed"], pv["levels"], strict=True) for lv in levels}
    out = pd.DataFrame(
        {
            "Endpoint": sub["endpoint"],
            "Factor level": sub["subgroup"],
            "Printed": sub["printed"],
            "p printed": sub["key"].map(p_of).fillna(""),
        }
    )
    return TableSpec(
        out.reset_index(drop=True),
        "survival-by-factor",
        "Survival summaries by subgroup or prognostic factor, as printed",
    )


def hazard_ratios(study: Study, checks: pd.DataFrame) -> TableSpec | None:
    """Hazard ratios as printed (univariable, multivariable, PSM, subgroups) with the Wald p."""
    hr = study["hazard_ratios"]
    if hr.empty:
        return None
    wald = checks[checks["check"] == "hazard ratio"].set_index("key")["recomputed"]
    out = pd.DataFrame(
        {
            "Endpoint": hr["endpoint"],
            "Model": hr["model"],
            "Variable": hr["variable"],
            "Subgroup": hr["subgroup"].fillna(""),
            "Printed": hr["printed"],
            "p printed": hr["p_printed"].fillna(""),
            "Wald p from CI": hr["key"].map(wald).fillna(""),
        }
    )
    return TableSpec(out.reset_index(drop=True), "hazard-ratios", "Hazard ratios as printed")


def survival_checks(
    checks: pd.DataFrame, notes: Footnotes | None = None, arms: dict[str, str] | None = None
) -> TableSpec:
    """Survival p-values and hazard ratios against what the printed summaries allow."""
    c = checks[
        checks["check"].isin(["hazard ratio", "landmark p", "interaction p"])
        | (checks["check"].eq("p-value") & checks["key"].str.startswith(("survival", "followup")))
    ]
    return _checks_spec(
        c,
        _SURVIVAL_CHECK_COLUMNS,
        "survival-checks",
        "Survival p-values and hazard ratios: what the printed summaries allow",
        notes,
        arms,
    )


def restatements(
    checks: pd.DataFrame,
    only_inconsistent: bool = True,
    notes: Footnotes | None = None,
    arms: dict[str, str] | None = None,
) -> TableSpec:
    """Numbers printed twice (abstract, text, tables) that disagree (or all of them)."""
    c = checks[checks["check"] == "restatement"]
    if only_inconsistent:
        c = c[c["status"] != Status.REPRODUCED]
    return _checks_spec(c, None, "restatements", "Numbers printed twice that disagree", notes, arms)


def status_summary(checks: pd.DataFrame) -> TableSpec:
    """Checks by family and status."""
    counts = status_counts(checks).reset_index().rename(columns={"check": "Check"})
    return TableSpec(counts, "status-counts", "Checks by status")


def all_checks(
    checks: pd.DataFrame, notes: Footnotes | None = None, arms: dict[str, str] | None = None
) -> TableSpec:
    return _checks_spec(checks, _CHECK_COLUMNS, "all-checks", "Every check", notes, arms)


def inconsistencies(
    checks: pd.DataFrame, notes: Footnotes | None = None, arms: dict[str, str] | None = None
) -> TableSpec:
    """Every inconsistency, critical first, with its severity."""
    c = by_severity(checks)
    columns = ["severity", *(x for x in _CHECK_COLUMNS if x != "status")]
    return _checks_spec(
        c,
        columns,
        "inconsistencies",
        "Every inconsistency found, worst first (severity rules: Methods)",
        notes,
        arms,
    )


def test_usage(checks: pd.DataFrame) -> TableSpec:
    """Which test reproduces each printed categorical p, against the test the paper named."""
    pc = checks[(checks["check"] == "p-value") & (checks["status"] != Status.NOT_RECOMPUTABLE)]
    tab = (
        pc.assign(reproduced_by=pc["tests_reproducing"].map(lambda t: "; ".join(t) or "none"))
        .groupby(["test_named", "reproduced_by"], dropna=False)
        .size()
        .rename("p-values")
        .reset_index()
    )
    tab["test_named"] = tab["test_named"].replace("", "not named")
    tab = tab.rename(
        columns={"test_named": "Test the paper named", "reproduced_by": "Tests that reproduce the printed p"}
    )
    return TableSpec(tab, "test-usage", "Which test did the paper really use?")


test_usage.__test__ = False  # a builder, not a pytest test


def printed_claims(study: Study) -> TableSpec | None:
    """Statements printed without data (verbatim from study.yml's printed_claims)."""
    claims = study.meta.get("printed_claims") or []
    if not claims:
        return None
    out = pd.DataFrame([{"Printed": c.get("text", ""), "Where": c.get("location", "")} for c in claims])
    return TableSpec(out, "claims", "Claims printed without the data behind them")


def ae_claims(checks: pd.DataFrame) -> TableSpec | None:
    """Claims about adverse events (overall grade >= 3 rate, 'most common') against the graded counts."""
    c = checks[checks["check"] == "AE claim"]
    if c.empty:
        return None
    columns = ["location", "quantity", "printed", "recomputed", "status", "reason"]
    return TableSpec(checks_table(c, columns), "ae-claims", "Claims about adverse events")


def feasibility(scenarios: dict[str, pd.DataFrame]) -> TableSpec:
    """Per design and test: how many count tables fit the printed ORRs and reproduce the printed p
    (``scenarios``: design label → :func:`reanalysis.feasibility.feasible_counts` frame)."""
    rows = []
    for label, df in scenarios.items():
        for col in [c for c in df.columns if c.startswith("p ")]:
            test = col[2:]
            ok = df[df["reproduces printed p"].str.contains(test, regex=False)]
            rows.append(
                {
                    "Design": label,
                    "Test": test,
                    "Count tables consistent with both %": len(df),
                    "…that reproduce the printed p": len(ok),
                    "Arm sizes (first arm) that do": f"{ok['N_a'].min()}–{ok['N_a'].max()}"
                    if len(ok)
                    else "none",
                }
            )
    return TableSpec(pd.DataFrame(rows), "feasibility", "Which designs could have printed these numbers?")


def study_checks(
    test_rule: str = "gtsummary", alpha: float = 0.05, alpha_beta: float = 10.0
) -> dict[str, pd.DataFrame]:
    """Study id → its records as a table (every check and the survival reconstruction's, as in
    the audit chapter and each study's chapter), for every study in data/."""
    from .results import study_rows  # each study's workflow artefact when current

    options = StudyOptions(CheckOptions(test_rule, alpha, alpha_beta))
    return {sid: rows_frame(study_rows(sid, options)) for sid in list_studies()}


def overview(
    test_rule: str = "gtsummary",
    alpha: float = 0.05,
    alpha_beta: float = 10.0,
    checks_by_study: dict[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """One row per study in data/: design, arms, criteria, check counts (the checks run with the
    given parameters, as in the audit chapter; ``checks_by_study``: :func:`study_checks` computed
    once for this and the page's counts). The outcomes, ORR among them, are in
    :func:`overview_findings`."""
    per_study = checks_by_study if checks_by_study is not None else study_checks(test_rule, alpha, alpha_beta)
    rows = []
    for sid in list_studies():
        st = load_study_meta(sid)  # its metadata is all this reads (a study's tables: ~12 ms each)
        checks = per_study[sid]
        counts = checks["status"].value_counts()
        rows.append(
            {
                # a source that is not a full text is badged beside the study's name
                "Study": st.meta["short_title"]
                + ("" if st.source_kind == SOURCE_KINDS[0] else f" ({st.source_kind})"),
                "Design": st.meta["design"],
                "Arms (N)": "; ".join(
                    f"{a.label} ({a.n if a.n is not None else 'not printed'})" for a in st.arms
                ),
                "Response criteria": ", ".join(st.criteria),
                "Checks": len(checks),
                "✓ reproduced": int(counts.get(Status.REPRODUCED, 0)),
                "≈ compatible": int(counts.get(Status.COMPATIBLE, 0)),
                "✗ inconsistent": int(counts.get(Status.INCONSISTENT, 0)),
                "– not recomputable": int(counts.get(Status.NOT_RECOMPUTABLE, 0)),
                "Inconsistencies by severity": severity_text(checks),
            }
        )
    return pd.DataFrame(rows)


def overview_findings(
    test_rule: str = "gtsummary",
    alpha: float = 0.05,
    alpha_beta: float = 10.0,
) -> TableSpec:
    """The main outcomes of every study side by side (response, median survival and hazard
    ratios, grade >= 3 harms), each as printed with its effect and whether it holds up on the
    checks of the printed numbers and the survival reconstruction (as in each chapter)."""
    from .results import study_findings  # each study's workflow artefact when current

    options = StudyOptions(CheckOptions(test_rule, alpha, alpha_beta))  # the criterion as the audit's
    rows = []
    for sid in list_studies():
        st = load_study_meta(sid)
        for f in study_findings(sid, options):
            rows.append(
                {
                    "Study": st.meta["short_title"],
                    "Outcome": f.outcome,
                    "As printed": "; ".join(f"{arm}: {p}" for arm, p in f.printed.items()),
                    "Effect": f.effect,
                    "Holds up?": f.verdict.text,
                    "Why": f.verdict.reason,
                }
            )
    notes = Footnotes()
    notes.mark(
        "Holds up?: the worst verdict among the checks of the printed numbers behind the row, the "
        "survival reconstruction's included (severity rules: Methods)."
    )
    return TableSpec(
        pd.DataFrame(rows, columns=["Study", "Outcome", "As printed", "Effect", "Holds up?", "Why"]),
        "overview-findings",
        "Main outcomes, study by study: as printed, and whether they hold up",
        notes,
    )
