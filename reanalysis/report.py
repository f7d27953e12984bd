"""What a study chapter shows, section by section; the notebook only calls these.

A :class:`Chapter` validates its parameters (again, inside the kernel), loads the study,
runs every check once, and hands out tables, figures and glued values. Glued values are
plain Python ``int``/``float``/Markdown so ``{glue:text}`` format specs work.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
from IPython.display import HTML, Markdown

from . import audit, downloads, plots, pseudo, rates, tables
from . import params as P
from . import stats as S
from .checks import Status, quantity_labels, run_checks, status_counts
from .data import Study, load_study
from .feasibility import feasible_counts

CATEGORICAL_TESTS = (S.TEST_PEARSON, S.TEST_YATES, S.TEST_FISHER)


def _printed_medians(ep: pseudo.Endpoint) -> dict[str, str]:
    """Arm id → the printed median with its CI, for the KM legend."""
    out = {}
    for arm, spec in ep.inputs.items():
        if "median" in spec:
            ci = spec.get("median_ci")
            out[arm] = f"{spec['median']:g}" + (f" ({ci[0]:g}–{ci[1]:g})" if ci else "")
    return out


def _plural(check: str) -> str:
    """'p-value' → 'p-values', 'landmark p' → 'landmark p-values'."""
    return check[:-2] + " p-values" if check.endswith(" p") else check + "s"


def _count(checks: pd.DataFrame, check: str, status: str) -> int:
    return int(((checks["check"] == check) & (checks["status"] == status)).sum())


class Chapter:
    """One study chapter: parameters, data, checks, and its sections. Its tables and figures
    get their downloads on ``page`` (from :func:`reanalysis.downloads.start`; None: no links)."""

    def __init__(self, *, page: downloads.Page | None = None, **parameters: Any) -> None:
        values = P.validate(parameters, where="chapter parameters")
        self.params = values
        self.page = page
        self.study: Study = load_study(values["study_id"])
        self.criterion = self.study.resolve_criterion(values["criterion"])
        self.checks = run_checks(
            self.study, test_rule=values["test_rule"], alpha=values["alpha"], alpha_beta=values["alpha_beta"]
        )
        self.arm_ids = (
            list(self.study.comparison) if self.study.is_two_arm else [x.id for x in self.study.arms]
        )
        self.a = self.arm_ids[0]
        self.b = self.arm_ids[1] if len(self.arm_ids) > 1 else None
        self._reconstructions: tuple[list, list[str]] | None = None

    # ------------------------------------------------------------ glue
    def values(self) -> dict[str, Any]:
        """Every number and phrase the chapter's prose uses, computed from data and checks."""
        s, c = self.study, self.checks
        counts = c["status"].value_counts()
        known = [a.n for a in s.arms if a.n is not None]
        v: dict[str, Any] = {
            "n_total": int(s.meta.get("total_n") or sum(known)),
            "n_arms": len(s.arms),
            "criterion": Markdown(self.criterion),
            "test_rule": Markdown(self.params["test_rule"]),
            "ci_level": float(100 * (1 - self.params["alpha"])),
            "ci_method": Markdown(self.params["ci_method"]),
            "paper_categorical_test": Markdown(
                s.meta.get("tests_named", {}).get("categorical", "not stated")
            ),
            "n_checks": int(len(c)),
            "n_reproduced": int(counts.get(Status.REPRODUCED, 0)),
            "n_inconsistent": int(counts.get(Status.INCONSISTENT, 0)),
            "n_not_recomputable": int(counts.get(Status.NOT_RECOMPUTABLE, 0)),
            "n_pct_checked": int((c["check"] == "percentage").sum()),
            "n_pct_inconsistent": _count(c, "percentage", Status.INCONSISTENT),
            "n_restatements": int((c["check"] == "restatement").sum()),
            "n_restatements_inconsistent": _count(c, "restatement", Status.INCONSISTENT),
            "arm_a": Markdown(s.arm(self.a).label),
            "n_a": int(s.arm(self.a).n or 0),
        }
        per_arm = rates.arm_rates(s, self.params["ci_method"], self.params["alpha"])
        orr = per_arm[
            (per_arm["criterion"] == self.criterion)
            & (per_arm["outcome"] == "ORR")
            & (per_arm["scope"] == "")
        ].set_index("arm")
        for tag, arm in (("a", self.a), ("b", self.b)):
            if arm in orr.index:
                v |= {
                    f"orr_{tag}": float(100 * orr.loc[arm, "rate"]),
                    f"orr_{tag}_lo": float(100 * orr.loc[arm, "lo"]),
                    f"orr_{tag}_hi": float(100 * orr.loc[arm, "hi"]),
                }
        if self.b is None:
            return v
        pc = c[c["check"] == "p-value"]
        cat = pc[pc["test_chosen"].isin(CATEGORICAL_TESTS) & (pc["status"] != Status.NOT_RECOMPUTABLE)]
        by = cat["tests_reproducing"]
        v |= {
            "arm_b": Markdown(s.arm(self.b).label),
            "n_b": int(s.arm(self.b).n or 0),
            "n_cat_p": int(len(cat)),
            "n_cat_p_fisher": int(by.map(lambda t: S.TEST_FISHER in t).sum()),
            "n_cat_p_pearson": int(by.map(lambda t: S.TEST_PEARSON in t).sum()),
            "n_cat_p_fisher_only": int(by.map(lambda t: t == (S.TEST_FISHER,)).sum()),
            "n_cat_p_none": int((cat["status"] == Status.INCONSISTENT).sum()),
        }
        diff = rates.rate_table(s, self.criterion, self.params["ci_method"], self.params["alpha"])
        if "ORR" in set(diff["outcome"]):
            d = diff.set_index("outcome").loc["ORR"]
            v |= {
                "orr_diff": float(100 * d["diff"]),
                "orr_diff_lo": float(100 * d["diff_lo"]),
                "orr_diff_hi": float(100 * d["diff_hi"]),
            }
        return v

    def glue(self) -> None:
        """Glue every value (not displayed; referenced from the prose)."""
        from myst_nb import glue

        values = self.values()
        if self.study.meta.get("total_n") and any(a.n is None for a in self.study.arms):
            values |= self.feasibility_values()
        for key, value in values.items():
            glue(key, value, display=False)

    # ------------------------------------------------------------ sections
    def at_a_glance(self) -> HTML:
        """Design, N, what the printed numbers gave when recomputed, and how close the survival
        reconstruction came; every entry computed from the data and the checks."""
        s, c, m = self.study, self.checks, self.study.meta
        if all(a.n is not None for a in s.arms):
            sizes = "; ".join(f"{a.label} {a.n}" for a in s.arms)
            patients = f"{sum(a.n for a in s.arms)} ({sizes})"
        else:
            patients = f"{m.get('total_n', 'not printed')} in all; arm sizes not printed"
        reported = [
            label
            for table, label in (
                ("baseline", "baseline table"),
                ("treatment", "treatment details"),
                ("response", f"tumour response ({', '.join(s.criteria)})"),
                ("adverse_events", "adverse events"),
                ("hazard_ratios", "hazard ratios"),
            )
            if not s[table].empty
        ]
        sv = s["survival"]
        sv = sv[sv["endpoint"] != "followup"]
        if not sv.empty:
            reported.insert(
                -1 if reported and reported[-1] == "hazard ratios" else len(reported),
                "survival (" + ", ".join(dict.fromkeys(sv["endpoint"])) + ")",
            )
        checked = f"{len(c)} printed numbers checked: {audit.verdicts_text(c)}"
        by_check = c.groupby("check", sort=False)["status"]
        reproduced = "; ".join(
            f"{_plural(check)} {int((st == Status.REPRODUCED).sum())} of {len(st)}" for check, st in by_check
        )
        bad = c[c["status"] == Status.INCONSISTENT]
        inconsistent = tables.listing(
            [f"{q} ({loc})" for q, loc in dict.fromkeys(zip(bad["quantity"], bad["location"], strict=True))],
            more=" (see the reproducibility summary)",
        )
        missing = tables.listing(audit.commonest_reasons(c), limit=2)
        survival = []
        for ep, _, table in self.reconstructions()[0]:
            summaries = table[~table["arm"].eq("both arms")]
            ok = int((summaries["status"] == Status.REPRODUCED).sum())
            text = f"{ep.title}: {ok} of {len(summaries)} printed medians/rates reproduced"
            hr = table[table["quantity"] == "Cox HR"]
            if len(hr) and hr["printed"].iloc[0]:
                text += f"; printed HR {hr['status'].iloc[0]}"
            survival.append(text)
        rows = [
            ("Design", m["design"] + (f"; {m['period']}" if m.get("period") else "")),
            ("Patients", patients),
            ("Printed results", ", ".join(reported)),
            ("Checked", checked),
            ("Reproduced", reproduced),
            ("Inconsistent", inconsistent or "none"),
            ("Not recomputable, most often because", missing),
            (
                "Survival reconstructed from summaries",
                "; ".join(survival) or "not possible from what is printed",
            ),
        ]
        return tables.glance(rows, downloads.study_zip(s.id, self.page))

    def design(self) -> Markdown:
        """Design summary from study.yml."""
        m = self.study.meta
        arms = "; ".join(
            f"{a.label} (n = {a.n if a.n is not None else 'not printed'})" for a in self.study.arms
        )
        rows = [
            ("Citation", m["citation"]),
            ("DOI", m.get("doi") or "not given in the source"),
            ("Design", m["design"]),
            ("Period", m.get("period", "")),
            ("Arms", arms),
            ("Response criteria", ", ".join(self.study.criteria)),
            ("Adverse-event grading", m.get("ae_grading", "")),
            (
                "Tests named in the methods",
                "; ".join(f"{k}: {v}" for k, v in (m.get("tests_named") or {}).items()),
            ),
            ("Source", f"`shared/seeds/{m['source']}`"),
        ]
        return Markdown("| Item | Value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows if v))

    def comparison(self, table: str, uid: str, caption: str, criterion: str | None = None) -> HTML:
        df, notes = tables.comparison_table(self.study, self.checks, table, criterion)
        return tables.show(df, uid, caption, notes, page=self.page)

    def baseline(self) -> HTML:
        return self.comparison("baseline", "baseline", "Baseline characteristics: printed beside recomputed")

    def treatment(self) -> HTML | Markdown:
        if self.study["treatment"].empty:
            return Markdown("_No treatment details are extracted for this study._")
        table = self.comparison("treatment", "treatment", "Treatment details: printed beside recomputed")
        bed = self.checks[self.checks["check"] == "BED range"]
        if bed.empty:
            return table
        extra = tables.show(
            tables.checks_table(bed, ["quantity", "printed", "recomputed", "method", "status", "reason"]),
            "bed",
            "BED range against the LQ model",
            page=self.page,
        )
        return HTML(table.data + extra.data)

    def response(self) -> HTML:
        return self.comparison(
            "response",
            "response",
            f"Tumour response ({self.criterion}): printed beside recomputed",
            criterion=self.criterion,
        )

    def adverse_events(self) -> HTML:
        return self.comparison(
            "adverse_events", "adverse-events", "Adverse events: printed beside recomputed"
        )

    def rates(self) -> HTML:
        """ORR/DCR per arm with CIs (and, for two arms, the difference), from the printed counts."""
        lvl = f"{100 * (1 - self.params['alpha']):g}%"
        r = rates.arm_rates(self.study, self.params["ci_method"], self.params["alpha"])
        r = r[r["criterion"] == self.criterion]
        out = pd.DataFrame(
            {
                "Outcome": r["outcome"] + r["scope"].map(lambda x: f" ({x})" if x else ""),
                "Arm": r["arm"].map(lambda x: self.study.arm(x).label),
                f"n/N = rate ({lvl} CI, {self.params['ci_method']})": [
                    f"{n}/{N} = {100 * p:.1f}% ({100 * lo:.1f}–{100 * hi:.1f})"
                    for n, N, p, lo, hi in r[["n", "N", "rate", "lo", "hi"]].itertuples(index=False)
                ],
            }
        )
        if self.b is not None:
            d = rates.rate_table(self.study, self.criterion, self.params["ci_method"], self.params["alpha"])
            diff = {
                o: f"{100 * x:.1f} ({100 * lo:.1f} to {100 * hi:.1f})"
                for o, x, lo, hi in d[["outcome", "diff", "diff_lo", "diff_hi"]].itertuples(index=False)
            }
            out[f"Difference, first − second arm ({lvl} CI, Newcombe)"] = [
                diff.get(o, "") if arm == self.study.arm(self.a).label else ""
                for o, arm in zip(out["Outcome"], out["Arm"], strict=True)
            ]
        return tables.show(
            out.reset_index(drop=True),
            "rates",
            f"Response rates ({self.criterion}) with confidence intervals (computed from the printed counts)",
            page=self.page,
        )

    def survival(self) -> HTML:
        """Printed survival summaries (medians, landmark rates, events, follow-up)."""
        labels = quantity_labels(self.study)
        pv = self.study["pvalues"].set_index("key")
        rows = []
        sv = self.study["survival"]
        for (key, loc), grp in sv[sv["subgroup"].isna()].groupby(["key", "location"], sort=False):
            by_arm = grp.set_index("arm")["printed"]
            same_place = key in pv.index and pv.loc[key, "location"] == loc
            rows.append(
                {
                    "Quantity": labels.get(key, key),
                    "Printed in": loc,
                    **{a.label: by_arm.get(a.id, "") for a in self.study.arms},
                    "p printed": pv.loc[key, "printed"] if same_place else "",
                }
            )
        return tables.show(pd.DataFrame(rows), "survival", "Survival summaries as printed", page=self.page)

    def survival_by_factor(self) -> HTML | Markdown:
        """Median survival by prognostic factor level, as printed, with the printed p."""
        sv = self.study["survival"]
        sub = sv[sv["subgroup"].notna()]
        if sub.empty:
            return Markdown("_The paper prints no survival by prognostic factor._")
        pv = self.study["pvalues"]
        p_of = {lv: pr for pr, levels in zip(pv["printed"], pv["levels"], strict=True) for lv in levels}
        out = pd.DataFrame(
            {
                "Endpoint": sub["endpoint"],
                "Factor level": sub["subgroup"],
                "Printed": sub["printed"],
                "p printed": sub["key"].map(p_of).fillna(""),
            }
        )
        return tables.show(
            out.reset_index(drop=True),
            "survival-by-factor",
            "Survival summaries by subgroup or prognostic factor, as printed",
            page=self.page,
        )

    def factor_figure(self) -> None:
        plots.show(plots.factor_medians(self.study), "factor-medians", page=self.page)

    def subgroups(self) -> HTML | Markdown:
        """Hazard ratios as printed (univariable, multivariable, PSM, subgroups) with their checks."""
        hr = self.study["hazard_ratios"]
        if hr.empty:
            return Markdown("_The paper prints no hazard ratios._")
        c = self.checks[self.checks["check"].isin(["hazard ratio", "interaction p"])].set_index("key")
        out = pd.DataFrame(
            {
                "Endpoint": hr["endpoint"],
                "Model": hr["model"],
                "Variable": hr["variable"],
                "Subgroup": hr["subgroup"].fillna(""),
                "Printed": hr["printed"],
                "p printed": hr["p_printed"].fillna(""),
                "Wald p from CI": [
                    c.loc[k, "recomputed"] if k in c.index and c.loc[k, "check"] == "hazard ratio" else ""
                    for k in hr["key"]
                ],
            }
        )
        return tables.show(
            out.reset_index(drop=True), "hazard-ratios", "Hazard ratios as printed", page=self.page
        )

    def forest_figure(self) -> None:
        plots.show(plots.forest(self.study), "forest", page=self.page)

    @property
    def weighting(self) -> str:
        if self.params["weighting"] != "auto":
            return self.params["weighting"]
        named = str((self.study.meta.get("tests_named") or {}).get("survival", "")).lower()
        return "wilcoxon" if ("breslow" in named or "wilcoxon" in named) else "logrank"

    def reconstructions(self) -> tuple[list[tuple[pseudo.Endpoint, pd.DataFrame, pd.DataFrame]], list[str]]:
        """Every reconstructable endpoint as (inputs, pseudo-IPD, printed vs reconstructed), and
        notes on those too thin to reconstruct; computed once per chapter."""
        if self._reconstructions is None:
            eps, skipped = pseudo.endpoints(self.study, self.criterion)
            done = []
            for name, subgroup in eps:
                ep = pseudo.endpoint_inputs(self.study, name, self.criterion, self.checks, subgroup)
                ipd = pseudo.reconstruct_endpoint(ep, seed=self.params["seed"])
                table, _ = pseudo.compare(
                    self.study,
                    ep,
                    ipd,
                    n_rep=self.params["n_replicates"],
                    seed=self.params["seed"],
                    weighting=self.weighting,
                )
                done.append((ep, ipd, table))
            self._reconstructions = (done, skipped)
        return self._reconstructions

    def reconstructed_survival(self) -> None:
        """Per printed endpoint: KM curves of reconstructed pseudo-IPD and printed vs reconstructed."""
        from IPython.display import display

        done, skipped = self.reconstructions()
        if not done:
            display(Markdown("_The paper prints too little to reconstruct any survival curve._"))
        for ep, ipd, table in done:
            display(Markdown(f"**{ep.title}**"))
            fig = plots.km_reconstructed(
                ipd,
                self.study,
                ep.name,
                ep.landmarks,
                f"{ep.title}: reconstructed from printed summaries, not patient data",
                medians=_printed_medians(ep),
            )
            slug = re.sub(r"[^a-z0-9]+", "-", ep.title.lower()).strip("-")
            plots.show(fig, f"km-{slug}", page=self.page)
            if ep.notes:
                display(Markdown("\n".join(f"- {n}" for n in ep.notes)))
            table = table.assign(status=table["status"].map(tables.MARK))
            display(
                tables.show(
                    table.drop(columns=["endpoint"]),
                    f"recon-{slug}",
                    f"{ep.title}: printed vs reconstructed (seed {self.params['seed']}, "
                    f"{self.params['n_replicates']} replicates, {self.weighting} test)",
                    page=self.page,
                )
            )
        if skipped:
            display(Markdown("\n".join(f"- {n}" for n in skipped)))

    def survival_checks(self) -> HTML:
        c = self.checks[
            self.checks["check"].isin(["hazard ratio", "landmark p", "interaction p"])
            | (
                self.checks["check"].eq("p-value")
                & self.checks["key"].str.startswith(("survival", "followup"))
            )
        ]
        return tables.show(
            tables.checks_table(
                c, ["location", "quantity", "printed", "recomputed", "method", "status", "reason"]
            ),
            "survival-checks",
            "Survival p-values and hazard ratios: what the printed summaries allow",
            page=self.page,
        )

    def restatements(self, only_inconsistent: bool = True) -> HTML:
        c = self.checks[self.checks["check"] == "restatement"]
        if only_inconsistent:
            c = c[c["status"] != Status.REPRODUCED]
        return tables.show(
            tables.checks_table(c), "restatements", "Numbers printed twice that disagree", page=self.page
        )

    def summary(self) -> HTML:
        counts = status_counts(self.checks).reset_index().rename(columns={"check": "Check"})
        return tables.show(counts, "status-counts", "Checks by status", page=self.page)

    def all_checks(self) -> HTML:
        return tables.show(
            tables.checks_table(
                self.checks,
                ["check", "location", "quantity", "arm", "printed", "recomputed", "status", "reason"],
            ),
            "all-checks",
            "Every check",
            page=self.page,
        )

    def inconsistencies(self) -> HTML:
        c = self.checks[self.checks["status"] == Status.INCONSISTENT]
        return tables.show(
            tables.checks_table(
                c, ["check", "location", "quantity", "arm", "printed", "recomputed", "reason"]
            ),
            "inconsistencies",
            "Every inconsistency found",
            page=self.page,
        )

    def test_usage(self) -> HTML:
        """Which test reproduces each printed categorical p, against the test the paper named."""
        pc = self.checks[
            (self.checks["check"] == "p-value") & (self.checks["status"] != Status.NOT_RECOMPUTABLE)
        ]
        tab = (
            pc.assign(reproduced_by=pc["tests_reproducing"].map(lambda t: "; ".join(t) or "none"))
            .groupby(["test_named", "reproduced_by"], dropna=False)
            .size()
            .rename("p-values")
            .reset_index()
        )
        tab["test_named"] = tab["test_named"].replace("", "not named")
        return tables.show(
            tab.rename(
                columns={
                    "test_named": "Test the paper named",
                    "reproduced_by": "Tests that reproduce the printed p",
                }
            ),
            "test-usage",
            "Which test did the paper really use?",
            page=self.page,
        )

    # ------------------------------------------------------------ patient-level mode
    def patient_level(self) -> None:
        """Every patient-level analysis on ``patient_data`` (aggregates only), or why there is none."""
        from IPython.display import display

        from .patient import report as patient_report

        data, why = patient_report.load(self.params["patient_data"], self.study, seed=self.params["seed"])
        if data is None:
            display(Markdown(f"_No patient-level analyses: {why}._"))
            return
        part = patient_report.PatientSection(data, self.study, seed=self.params["seed"], page=self.page)
        display(part.banner())
        display(Markdown("**Baseline characteristics**"))
        display(part.table_one())
        display(Markdown("**Tumour response**"))
        display(part.response(self.criterion))
        display(Markdown("**Adverse events**"))
        display(part.adverse_events())
        display(Markdown("**Survival: Kaplan–Meier and Cox models**"))
        part.survival()
        display(Markdown("**Propensity-score matching**"))
        part.matching()
        display(Markdown("**Subgroups**"))
        part.subgroups()
        display(Markdown("**Response models**"))
        part.response_models(self.criterion)

    # ------------------------------------------------------------ abstract-only studies
    def claims(self) -> HTML | Markdown:
        """Statements printed without data (verbatim from study.yml's printed_claims)."""
        claims = self.study.meta.get("printed_claims") or []
        if not claims:
            return Markdown("_No other claims are recorded for this study._")
        out = pd.DataFrame([{"Printed": c.get("text", ""), "Where": c.get("location", "")} for c in claims])
        return tables.show(out, "claims", "Claims printed without the data behind them", page=self.page)

    def _orr_inputs(self) -> tuple[str, str, str | None] | None:
        r = self.study["response"]
        r = r[(r["category"] == "ORR") & r["pct"].notna()].set_index("arm")
        if self.b is None or not {self.a, self.b} <= set(r.index):
            return None
        key = r.loc[self.a, "key"]
        pv = self.study["pvalues"].set_index("key")
        return r.loc[self.a, "pct"], r.loc[self.b, "pct"], pv.loc[key, "printed"] if key in pv.index else None

    def feasible(self, matched: bool) -> pd.DataFrame:
        """Counts and arm sizes consistent with the printed ORRs (cached per scenario)."""
        cache = self.__dict__.setdefault("_feasible", {})
        if matched not in cache:
            inputs = self._orr_inputs()
            total = int(self.study.meta.get("total_n") or 0)
            if inputs is None or not total:
                cache[matched] = pd.DataFrame()
            else:
                pct_a, pct_b, p = inputs
                cache[matched] = feasible_counts(
                    pct_a, pct_b, total=total, matched=matched, min_n=10, printed_p=p
                )
        return cache[matched]

    def feasibility_values(self) -> dict[str, Any]:
        v: dict[str, Any] = {}
        for tag, matched in (("split", False), ("matched", True)):
            df = self.feasible(matched)
            ok = df[df["reproduces printed p"] != ""] if len(df) else df
            v[f"n_feasible_{tag}"] = int(len(df))
            v[f"n_feasible_{tag}_p"] = int(len(ok))
            v[f"min_n_{tag}_p"] = int(ok["N_a"].min()) if len(ok) else 0
            v[f"max_n_{tag}_p"] = int(ok["N_a"].max()) if len(ok) else 0
        return v

    def feasibility(self) -> HTML:
        """Per design and test: how many count tables fit the printed ORRs and reproduce the printed p."""
        rows = []
        for label, matched in (("whole cohort split in two arms", False), ("1:1 matched pairs", True)):
            df = self.feasible(matched)
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
        return tables.show(
            pd.DataFrame(rows),
            "feasibility",
            "Which designs could have printed these numbers?",
            page=self.page,
        )

    def feasibility_figure(self) -> None:
        fig = plots.feasibility_scatter(self.feasible(False), self.feasible(True), self._orr_inputs())
        plots.show(fig, "feasibility", page=self.page)

    # ------------------------------------------------------------ figures
    def response_figure(self) -> None:
        plots.show(plots.response_bars(self.study), "response", page=self.page)

    def ae_claims(self) -> HTML | Markdown:
        """Claims about adverse events (overall grade >= 3 rate, 'most common') against the graded counts."""
        c = self.checks[self.checks["check"] == "AE claim"]
        if c.empty:
            return Markdown("_No claims about adverse events to check against graded counts._")
        return tables.show(
            tables.checks_table(c, ["location", "quantity", "printed", "recomputed", "status", "reason"]),
            "ae-claims",
            "Claims about adverse events",
            page=self.page,
        )

    def ae_figure(self) -> None:
        fig = plots.ae_grades(self.study, self.a) if self.b is None else plots.ae_diverging(self.study)
        plots.show(fig, "adverse-events", page=self.page)

    def status_figure(self) -> None:
        plots.show(plots.status_bars(status_counts(self.checks)), "status", page=self.page)


def overview(test_rule: str = "gtsummary", alpha: float = 0.05, alpha_beta: float = 10.0) -> pd.DataFrame:
    """One row per study in data/: design, arms, criteria, headline ORR as printed, check counts
    (the checks run with the given parameters, as in the audit chapter)."""
    from .data import list_studies

    rows = []
    for sid in list_studies():
        st = load_study(sid)
        checks = run_checks(st, test_rule=test_rule, alpha=alpha, alpha_beta=alpha_beta)
        counts = checks["status"].value_counts()
        resp = st["response"]
        orr = resp[(resp["category"] == "ORR") & resp["scope"].isna()]
        headline = "; ".join(
            f"{crit}: " + " vs ".join(f"{st.arm(r['arm']).label} {r['printed']}" for _, r in grp.iterrows())
            for crit, grp in orr.groupby("criterion", sort=False)
        )
        rows.append(
            {
                "Study": st.meta["short_title"],
                "Design": st.meta["design"],
                "Arms (N)": "; ".join(
                    f"{a.label} ({a.n if a.n is not None else 'not printed'})" for a in st.arms
                ),
                "Response criteria": ", ".join(st.criteria),
                "ORR as printed": headline,
                "Checks": len(checks),
                "✓ reproduced": int(counts.get(Status.REPRODUCED, 0)),
                "✗ inconsistent": int(counts.get(Status.INCONSISTENT, 0)),
                "– not recomputable": int(counts.get(Status.NOT_RECOMPUTABLE, 0)),
            }
        )
    return pd.DataFrame(rows)


class SynthesisChapter:
    """The cross-study synthesis chapter: pooled rates and hazard ratios, forest plots, benchmarks
    (downloads on ``page``, as in :class:`Chapter`)."""

    def __init__(self, *, page: downloads.Page | None = None, **parameters: Any) -> None:
        from . import synthesis

        self.params = P.validate(parameters, P.SYNTHESIS_PARAMS, where="synthesis parameters")
        self.page = page
        p = self.params
        self.rates = {
            o: synthesis.pool_rates(
                o, p["criterion"], p["include"], p["estimator"], p["alpha"], p["continuity"]
            )
            for o in ("ORR", "DCR", "AE>=3")
        }
        self.hrs = {
            e: synthesis.pool_hrs(e, p["include"], p["estimator"], p["alpha"], p["pool_across_comparators"])
            for e in ("PFS", "OS")
        }

    def glue(self) -> None:
        from myst_nb import glue

        glue("estimator", Markdown(self.params["estimator"]), display=False)
        glue("max_k", max(len(x.rows) for x in [*self.rates.values(), *self.hrs.values()]), display=False)

    def at_a_glance(self) -> HTML:
        """What was pooled (k, estimate) and what was not, and why; computed from the pools."""
        from . import synthesis

        crit, rows = self.params["criterion"], []
        items = [
            (f"{o} ({crit})" if o != "AE>=3" else "grade ≥ 3 AE", x, "logit", 100)
            for o, x in self.rates.items()
        ]
        items += [(f"{e} HR", x, "log", 1) for e, x in self.hrs.items()]
        pooled, not_pooled = [], []
        for name, x, transform, scale in items:
            r = synthesis.summary_row(name, x, transform, scale)
            if x.result is None:
                not_pooled.append(f"{name}: {x.note or f'k = {len(x.rows)}'}")
            else:
                pooled.append(f"{name} {r['pooled (CI)']} (k = {r['k']}, I² {r['I² %']:g}%)")
        studies = sorted({st for _, x, _, _ in items for st in x.rows.get("study", [])})
        rows = [
            (
                "Design",
                f"random-effects meta-analysis ({self.params['estimator']}) of study-level aggregates",
            ),
            ("Studies contributing", ", ".join(studies) or "none"),
            ("Pooled", "; ".join(pooled) or "nothing: fewer than two studies per outcome"),
            ("Not pooled", "; ".join(not_pooled) or "none"),
        ]
        return tables.glance(rows)

    def summary(self) -> HTML:
        from . import synthesis

        crit = self.params["criterion"]
        rows = [
            synthesis.summary_row(f"{o} ({crit}), %" if o != "AE>=3" else "grade ≥ 3 AE, %", x, "logit", 100)
            for o, x in self.rates.items()
        ]
        rows += [synthesis.summary_row(f"{e} HR, RT vs control", x, "log") for e, x in self.hrs.items()]
        return tables.show(pd.DataFrame(rows), "synthesis-summary", "Pooled estimates", page=self.page)

    def _section(self, items: dict, transform: str, xlabel: str, log: bool, scale: float) -> None:
        from IPython.display import display

        from . import synthesis

        for name, x in items.items():
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
            display(Markdown(f"**{name}**"))
            display(tables.show(x.rows, f"rows-{slug}", f"{name}: studies as printed", page=self.page))
            if len(x.excluded):
                display(
                    tables.show(x.excluded, f"excluded-{slug}", f"{name}: studies left out", page=self.page)
                )
            if x.note:
                display(Markdown(f"_{x.note}_"))
            frame = synthesis.forest_frame(x, transform, list(x.rows["study"]))
            fig = plots.forest_meta(
                frame, f"{name}: {self.params['estimator']}", xlabel, log=log, scale=scale
            )
            plots.show(fig, f"forest-{slug}", page=self.page)

    def rates_section(self) -> None:
        self._section(self.rates, "logit", "proportion (%)", log=False, scale=100)

    def hr_section(self) -> None:
        self._section(self.hrs, "log", "hazard ratio (log scale)", log=True, scale=1)

    def cited(self) -> HTML:
        from . import synthesis

        return tables.show(
            synthesis.cited_benchmarks().drop(columns=["source"]),
            "cited",
            "Benchmarks as cited in the seed papers",
            page=self.page,
        )
