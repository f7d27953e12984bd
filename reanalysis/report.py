"""What a study chapter shows, section by section; the notebook only calls these.

A :class:`Chapter` validates its parameters (again, inside the kernel), loads the study,
runs every check once, and hands out tables, figures and glued values. Glued values are
plain Python ``int``/``float``/Markdown so ``{glue:text}`` format specs work.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from IPython.display import HTML, Markdown

from . import audit, plots, tables
from . import params as P
from .data import Study, load_study


class Chapter:
    """One study chapter: parameters, data, checks, and its sections."""

    def __init__(self, **parameters: Any) -> None:
        values = P.validate(parameters, where="chapter parameters")
        self.params = values
        self.study: Study = load_study(values["study_id"])
        self.criterion = P.normalise_criterion(values["criterion"], self.study.criteria)
        self.checks = audit.run_checks(
            self.study, test_rule=values["test_rule"], ci_method=values["ci_method"], alpha=values["alpha"]
        )
        self.a, self.b = self.study.comparison

    # ------------------------------------------------------------ glue
    def values(self) -> dict[str, Any]:
        """Every number and phrase the chapter's prose uses, computed from data and checks."""
        s, c = self.study, self.checks
        counts = c["status"].value_counts()
        pc = c[c["check"] == "p-value"]
        cat = pc[
            pc["tests_reproducing"].str.contains("Fisher|Pearson", na=False)
            | (pc["status"] == audit.INCONSISTENT) & ~pc["method"].str.contains("t-test")
        ]
        fisher_only = cat["tests_reproducing"].eq("Fisher exact")
        named = s.meta.get("tests_named", {})
        rates = audit.rate_table(s, self.criterion, self.params["ci_method"], self.params["alpha"])
        orr = rates.set_index("outcome").loc["ORR"] if "ORR" in set(rates["outcome"]) else None
        v: dict[str, Any] = {
            "n_total": int(sum(a.n for a in s.arms)),
            "n_a": int(s.arm(self.a).n),
            "n_b": int(s.arm(self.b).n),
            "arm_a": Markdown(s.arm(self.a).label),
            "arm_b": Markdown(s.arm(self.b).label),
            "criterion": Markdown(self.criterion),
            "test_rule": Markdown(self.params["test_rule"]),
            "ci_level": float(100 * (1 - self.params["alpha"])),
            "ci_method": Markdown(self.params["ci_method"]),
            "paper_categorical_test": Markdown(named.get("categorical", "not stated")),
            "n_checks": int(len(c)),
            "n_reproduced": int(counts.get(audit.REPRODUCED, 0)),
            "n_inconsistent": int(counts.get(audit.INCONSISTENT, 0)),
            "n_not_recomputable": int(counts.get(audit.NOT_RECOMPUTABLE, 0)),
            "n_pct_checked": int((c["check"] == "percentage").sum()),
            "n_pct_inconsistent": int(
                ((c["check"] == "percentage") & (c["status"] == audit.INCONSISTENT)).sum()
            ),
            "n_cat_p": int(len(cat)),
            "n_cat_p_fisher": int(cat["tests_reproducing"].str.contains("Fisher", na=False).sum()),
            "n_cat_p_pearson": int(
                cat["tests_reproducing"]
                .str.contains(r"Pearson chi-square(?!\s*with)", na=False, regex=True)
                .sum()
            ),
            "n_cat_p_fisher_only": int(fisher_only.sum()),
            "n_cat_p_none": int((cat["status"] == audit.INCONSISTENT).sum()),
            "n_restatements": int((c["check"] == "restatement").sum()),
            "n_restatements_inconsistent": int(
                ((c["check"] == "restatement") & (c["status"] == audit.INCONSISTENT)).sum()
            ),
        }
        if orr is not None:
            v |= {
                "orr_a": float(100 * orr["arm_a_rate"]),
                "orr_b": float(100 * orr["arm_b_rate"]),
                "orr_diff": float(100 * orr["diff"]),
                "orr_diff_lo": float(100 * orr["diff_lo"]),
                "orr_diff_hi": float(100 * orr["diff_hi"]),
            }
        return v

    def glue(self) -> None:
        """Glue every value (not displayed; referenced from the prose)."""
        from myst_nb import glue

        for key, value in self.values().items():
            glue(key, value, display=False)

    # ------------------------------------------------------------ sections
    def design(self) -> Markdown:
        """Design summary from study.yml."""
        m = self.study.meta
        arms = "; ".join(f"{a.label} (n = {a.n})" for a in self.study.arms)
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
        return tables.show(df, uid, caption, notes)

    def baseline(self) -> HTML:
        return self.comparison("baseline", "baseline", "Baseline characteristics: printed beside recomputed")

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
        """ORR/DCR with CIs and the risk difference, computed from the printed counts."""
        r = audit.rate_table(self.study, self.criterion, self.params["ci_method"], self.params["alpha"])
        lvl = f"{100 * (1 - self.params['alpha']):g}%"

        def ci(n: int, N: int, p: float, lo: float, hi: float) -> str:
            return f"{n}/{N} = {100 * p:.1f}% ({100 * lo:.1f}–{100 * hi:.1f})"

        out = pd.DataFrame(
            {
                "Outcome": r["outcome"],
                f"{self.study.arm(self.a).label} ({lvl} CI, {self.params['ci_method']})": [
                    ci(*x)
                    for x in r[["arm_a_n", "arm_a_N", "arm_a_rate", "arm_a_lo", "arm_a_hi"]].itertuples(
                        index=False
                    )
                ],
                f"{self.study.arm(self.b).label} ({lvl} CI, {self.params['ci_method']})": [
                    ci(*x)
                    for x in r[["arm_b_n", "arm_b_N", "arm_b_rate", "arm_b_lo", "arm_b_hi"]].itertuples(
                        index=False
                    )
                ],
                f"Difference ({lvl} CI, Newcombe)": [
                    f"{100 * d:.1f} ({100 * lo:.1f} to {100 * hi:.1f})"
                    for d, lo, hi in r[["diff", "diff_lo", "diff_hi"]].itertuples(index=False)
                ],
            }
        )
        return tables.show(
            out,
            "rates",
            f"Response rates ({self.criterion}) with confidence intervals (computed; the paper prints none)",
        )

    def survival(self) -> HTML:
        """Printed survival summaries (medians, landmark rates, events, follow-up)."""
        labels = audit.quantity_labels(self.study)
        pv = self.study["pvalues"].set_index("key")
        rows = []
        for (key, loc), grp in self.study["survival"].groupby(["key", "location"], sort=False):
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
        return tables.show(pd.DataFrame(rows), "survival", "Survival summaries as printed")

    def survival_checks(self) -> HTML:
        c = self.checks[
            self.checks["check"].isin(["hazard ratio", "landmark p"])
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
        )

    def restatements(self, only_inconsistent: bool = True) -> HTML:
        c = self.checks[self.checks["check"] == "restatement"]
        if only_inconsistent:
            c = c[c["status"] != audit.REPRODUCED]
        return tables.show(tables.checks_table(c), "restatements", "Numbers printed twice that disagree")

    def summary(self) -> HTML:
        counts = audit.status_counts(self.checks).reset_index().rename(columns={"check": "Check"})
        return tables.show(counts, "status-counts", "Checks by status")

    def inconsistencies(self) -> HTML:
        c = self.checks[self.checks["status"] == audit.INCONSISTENT]
        return tables.show(
            tables.checks_table(
                c, ["check", "location", "quantity", "arm", "printed", "recomputed", "reason"]
            ),
            "inconsistencies",
            "Every inconsistency found",
        )

    def test_usage(self) -> HTML:
        """Which test reproduces each printed categorical p, against the test the paper named."""
        pc = self.checks[
            (self.checks["check"] == "p-value") & (self.checks["status"] != audit.NOT_RECOMPUTABLE)
        ]
        tab = (
            pc.assign(reproduced_by=pc["tests_reproducing"].replace("", "none"))
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
        )

    # ------------------------------------------------------------ figures
    def response_figure(self):
        return plots.response_bars(self.study)

    def ae_figure(self):
        return plots.ae_diverging(self.study)

    def status_figure(self):
        return plots.status_bars(audit.status_counts(self.checks))
