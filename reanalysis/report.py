"""What a study chapter shows, section by section; the notebook only calls these.

A :class:`Chapter` validates its parameters (again, inside the kernel), loads the study,
runs every check once, and hands out tables, figures and glued values. Glued values are
plain Python ``int``/``float``/Markdown so ``{glue:text}`` format specs work.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from html import escape
from typing import Any

import pandas as pd
from IPython.display import HTML, Markdown

from . import audit, downloads, findings, glossary, outputs, plots, pseudo, rates, recon_checks, tables
from . import params as P
from . import stats as S
from .checks import SEVERITIES, Status, status_counts, to_frame
from .data import Study, load_study
from .drawing import later
from .feasibility import feasible_counts
from .text import listing, md

CATEGORICAL_TESTS = (S.TEST_PEARSON, S.TEST_YATES, S.TEST_FISHER)


class SectionFailed(RuntimeError):
    """A chapter section failed: the message names the section, the cause keeps its traceback."""


def _named_section(name: str, method: Callable) -> Callable:
    """``method`` raising :class:`SectionFailed` naming ``name`` (chained to the original error),
    so a failed chapter says which section broke, not only which cell."""

    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except SectionFailed:
            raise
        except Exception as exc:
            raise SectionFailed(f"section '{name}' failed: {type(exc).__name__}: {exc}") from exc

    return run


def _printed_medians(ep: pseudo.Endpoint) -> dict[str, str]:
    """Arm id → the printed median with its CI, for the KM legend."""
    out = {}
    for arm, spec in ep.inputs.items():
        if "median" in spec:
            ci = spec.get("median_ci")
            med = spec["median"] if isinstance(spec["median"], str) else f"{spec['median']:g}"  # "NR"
            hi = "NR" if ci and ci[1] is None else (f"{ci[1]:g}" if ci else "")
            out[arm] = med + (f" ({ci[0]:g}–{hi})" if ci else "")
    return out


# how the survival test a reconstruction was compared with reads on a figure
TEST_NAMES = {"logrank": "log-rank", "wilcoxon": "Breslow (Wilcoxon)", "tarone-ware": "Tarone–Ware"}


def _km_effect(table: pd.DataFrame) -> str:
    """HR and p for a KM figure: as printed (verbatim) and recomputed from the reconstruction."""
    both = table[table["arm"] == "both arms"].set_index("quantity")
    if both.empty:
        return ""
    hr = both.loc["Cox HR"] if "Cox HR" in both.index else None
    p_rows = both[both.index.str.endswith(" p")]
    test = TEST_NAMES.get(p_rows.index[0][:-2], p_rows.index[0][:-2]) if len(p_rows) else ""
    printed = [str(hr["printed"])] if hr is not None and hr["printed"] else []
    if len(p_rows) and p_rows["printed"].iloc[0]:
        p = str(p_rows["printed"].iloc[0])
        printed.append(p if p.lower().startswith("p") else f"p = {p}")
    recon = [f"HR {hr['reconstructed']}"] if hr is not None else []
    if len(p_rows):
        recon.append(f"{test} p = {p_rows['reconstructed'].iloc[0]}")
    lines = [f"As printed: {' · '.join(printed)}"] if printed else ["HR and p not printed"]
    return "\n".join([*lines, f"Reconstructed: {' · '.join(recon)}"])


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
        self.options = recon_checks.StudyOptions.from_params({**values, "criterion": self.criterion})
        self.arm_ids = (
            list(self.study.comparison) if self.study.is_two_arm else [x.id for x in self.study.arms]
        )
        self.a = self.arm_ids[0]
        self.b = self.arm_ids[1] if len(self.arm_ids) > 1 else None
        self._findings: list[findings.Finding] | None = None
        # one set of footnote letters for the chapter: a letter means the same text in every table
        self.notes = tables.Footnotes()
        self.arm_labels = {a.id: a.label for a in self.study.arms}
        # abbreviations spelled out where the chapter's generated prose first uses them
        self.first_use = glossary.FirstUse()

    @functools.cached_property
    def result(self) -> recon_checks.StudyResult:
        """Every check and the survival reconstruction's verdicts, computed once (on first use:
        the worked example needs neither): the same records the audit and the overview count."""
        from .results import study_result  # the workflow's artefact of the study when current

        return study_result(self.study.id, self.options)

    @functools.cached_property
    def checks(self) -> pd.DataFrame:
        """The study's records as one table (:func:`reanalysis.checks.to_frame`)."""
        return to_frame(self.result.records)

    # ------------------------------------------------------------ glue
    def values(self) -> dict[str, Any]:
        """Every number and phrase the chapter's prose uses, computed from data and checks."""
        s, c = self.study, self.checks
        counts = c["status"].value_counts()
        known = [a.n for a in s.arms if a.n is not None]
        v: dict[str, Any] = {
            "n_total": int(s.meta.get("total_n") or sum(known)),
            "n_arms": len(s.arms),
            "criterion": Markdown(md(self.criterion)),
            "test_rule": Markdown(md(self.params["test_rule"])),
            "ci_level": float(100 * (1 - self.params["alpha"])),
            "ci_method": Markdown(md(self.params["ci_method"])),
            "paper_categorical_test": Markdown(
                md((s.meta.get("tests_named") or {}).get("categorical", "not stated"))
            ),
            "n_checks": int(len(c)),
            "n_reproduced": int(counts.get(Status.REPRODUCED, 0)),
            "n_compatible": int(counts.get(Status.COMPATIBLE, 0)),
            "n_inconsistent": int(counts.get(Status.INCONSISTENT, 0)),
            **{
                f"n_{sev}": int(((c["status"] == Status.INCONSISTENT) & (c["severity"] == sev)).sum())
                for sev in SEVERITIES
            },
            "n_not_recomputable": int(counts.get(Status.NOT_RECOMPUTABLE, 0)),
            "n_pct_checked": int((c["check"] == "percentage").sum()),
            "n_pct_inconsistent": _count(c, "percentage", Status.INCONSISTENT),
            "n_restatements": int((c["check"] == "restatement").sum()),
            "n_restatements_inconsistent": _count(c, "restatement", Status.INCONSISTENT),
            "arm_a": Markdown(md(s.arm(self.a).label)),
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
            "arm_b": Markdown(md(s.arm(self.b).label)),
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
        bad = audit.by_severity(c)
        inconsistent = listing(
            list(
                dict.fromkeys(
                    f"{sev}: {q} ({loc})"
                    for sev, q, loc in bad[["severity", "quantity", "location"]].itertuples(index=False)
                )
            ),
            more=" (see the reproducibility summary)",
        )
        missing = listing(audit.commonest_reasons(c), limit=2)
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
            ("Inconsistent, worst first", inconsistent or "none"),
            ("Not recomputable, most often because", missing),
            (
                "Survival reconstructed from summaries",
                "; ".join(survival) or "not possible from what is printed",
            ),
        ]
        rows = [(k, self.first_use.expand(v)) for k, v in rows]
        return tables.glance(rows, downloads.study_zip(s.id, self.page))

    def main_findings(self) -> list[findings.Finding]:
        """The main outcomes with their combined verdicts (computed once per chapter)."""
        if self._findings is None:
            p = self.params
            self._findings = findings.findings(
                self.study, self.checks, self.criterion, p["ci_method"], p["alpha"]
            )
        return self._findings

    def summary_of_findings(self) -> HTML:
        """The chapter's first screen: each main outcome as printed, its effect, whether it holds
        up and why, then the bottom line computed from those verdicts."""
        items = self.main_findings()
        table = tables.render(findings.summary_table(self.study, items, self.notes.scope()), page=self.page)
        line = (
            '<div class="admonition important reanalysis-bottom-line"><p class="admonition-title">'
            f"Bottom line</p><p>{escape(self.first_use.expand(findings.bottom_line(items)))}</p></div>"
        )
        return HTML(line + table.data)

    def design(self) -> HTML:
        """Design summary from study.yml (as escaped HTML: text from data is never markup)."""
        m = self.study.meta
        arms = "; ".join(
            f"{a.label} (n = {a.n if a.n is not None else 'not printed'})" for a in self.study.arms
        )
        rows = [
            ("Citation", m["citation"]),
            ("Source", self.study.source_kind),
            ("DOI", m.get("doi") or "not given in the source"),
            ("Design", m["design"]),
            ("Period", m.get("period", "")),
            ("Arms", arms),
            ("Response criteria", ", ".join(self.study.criteria)),
            ("Adverse-event grading", m.get("ae_grading", "")),
            (
                "Tests named in the methods",
                "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in (m.get("tests_named") or {}).items()),
            ),
        ]
        doi = self.study.doi_url
        return tables.key_values([(k, str(v)) for k, v in rows], links={"DOI": doi} if doi else None)

    def _render(self, spec: tables.TableSpec | None, none: str = "") -> HTML | Markdown:
        """A built table on this chapter's page, or one line saying the paper prints none."""
        return tables.render(spec, page=self.page) if spec is not None else Markdown(f"_{none}_")

    def comparison(self, table: str, uid: str, caption: str, criterion: str | None = None) -> HTML:
        return self._render(
            outputs.comparison(self.study, self.checks, table, uid, caption, criterion, self.notes.scope())
        )

    def _prints_no(self, table: str, what: str) -> Markdown | None:
        """One line saying the paper prints no ``what`` when ``table`` is empty, else None."""
        return Markdown(f"_The paper prints no {what}._") if self.study[table].empty else None

    def baseline(self) -> HTML | Markdown:
        return self._prints_no("baseline", "baseline characteristics") or self.comparison(
            "baseline", "baseline", "Baseline characteristics: printed beside recomputed"
        )

    def treatment(self) -> HTML | Markdown:
        if self.study["treatment"].empty:
            return Markdown("_No treatment details are extracted for this study._")
        table = self.comparison("treatment", "treatment", "Treatment details: printed beside recomputed")
        bed = outputs.bed_ranges(self.checks, self.notes.scope(), self.arm_labels)
        return table if bed is None else HTML(table.data + self._render(bed).data)

    def response_text(self) -> Markdown:
        """The response section's opening: ORR per arm and their difference, or why there is none."""
        if self.study["response"].empty:
            return Markdown("_The paper prints no tumour response._")
        v, s = self.values(), self.study
        crit = md(self.criterion)  # text from data is text: escaped for Markdown/MyST
        if "orr_a" not in v or (self.b is not None and "orr_diff" not in v):
            return Markdown(f"Tumour response by {crit}, as printed and recomputed below.")
        a = f"{v['orr_a']:.1f}% with {md(s.arm(self.a).label)}"
        if self.b is None:
            lo, hi = v["orr_a_lo"], v["orr_a_hi"]
            ci = f"{v['ci_level']:.0f}% CI {lo:.1f}–{hi:.1f}, {md(self.params['ci_method'])}"
            return Markdown(f"By {crit}, the printed counts give an objective response rate of {a} ({ci}).")
        return Markdown(
            f"By {crit}, the printed counts give an objective response rate of {a} and "
            f"{v['orr_b']:.1f}% with {md(s.arm(self.b).label)}: a difference of {v['orr_diff']:.1f} "
            f"percentage points ({v['ci_level']:.0f}% CI {v['orr_diff_lo']:.1f} to "
            f"{v['orr_diff_hi']:.1f}, Newcombe)."
        )

    def response(self) -> HTML | None:
        if self.study["response"].empty:
            return None  # response_text says so, once
        return self.comparison(
            "response",
            "response",
            f"Tumour response ({self.criterion}): printed beside recomputed",
            criterion=self.criterion,
        )

    def adverse_events(self) -> HTML | Markdown:
        return self._prints_no("adverse_events", "adverse events") or self.comparison(
            "adverse_events", "adverse-events", "Adverse events: printed beside recomputed"
        )

    def rates(self) -> HTML | None:
        """ORR/DCR per arm with CIs (and, for two arms, the difference), from the printed counts."""
        if self.study["response"].empty:
            return None
        p = self.params
        return self._render(outputs.response_rates(self.study, self.criterion, p["ci_method"], p["alpha"]))

    def survival(self) -> HTML:
        """Printed survival summaries (medians, landmark rates, events, follow-up)."""
        return self._render(outputs.survival_summaries(self.study))

    def survival_by_factor(self) -> HTML | Markdown:
        """Median survival by prognostic factor level, as printed, with the printed p."""
        return self._render(
            outputs.survival_by_factor(self.study), "The paper prints no survival by prognostic factor."
        )

    def factor_figure(self) -> None:
        plots.show(
            later(plots.factor_medians, self.study),
            "factor-medians",
            page=self.page,
            alt="Dot plot of median survival, as printed, per level of each prognostic factor, "
            "with the printed confidence intervals as lines; one panel per endpoint.",
            caption="Median survival by prognostic-factor level, as printed.",
        )

    def subgroups(self) -> HTML | Markdown:
        """Hazard ratios as printed (univariable, multivariable, PSM, subgroups) with their checks."""
        return self._render(
            outputs.hazard_ratios(self.study, self.checks), "The paper prints no hazard ratios."
        )

    def forest_figure(self) -> None:
        rows, excluded = plots.forest_rows(self.study)
        endpoints = ", ".join(rows.loc[rows["kind"] == "header", "label"])
        left_out = f" Not shown: {'; '.join(excluded)}." if excluded else ""
        plots.show(
            later(plots.hr_forest, rows, plots.forest_favours(self.study)),
            "forest",
            page=self.page,
            alt=f"Forest plot of {int((rows['kind'] == 'row').sum())} hazard ratios as printed, with "
            f"their 95% confidence intervals on a log scale, one panel per endpoint ({endpoints}).",
            caption="Hazard ratios as printed (log scale; the dashed line is no difference)." + left_out,
        )

    @property
    def weighting(self) -> str:
        return recon_checks.weighting(self.study, self.params["weighting"])

    def reconstructions(self) -> tuple[list[tuple[pseudo.Endpoint, pd.DataFrame, pd.DataFrame]], list[str]]:
        """Every reconstructable endpoint as (inputs, pseudo-IPD, printed vs reconstructed), and
        notes on those too thin to reconstruct (computed once, with the chapter's checks)."""
        done = [(r.endpoint, r.ipd, r.table) for r in self.result.reconstructions]
        return done, list(self.result.skipped)

    def reconstructed_survival(self) -> None:
        """Per printed endpoint: KM curves of reconstructed pseudo-IPD and printed vs reconstructed."""
        from IPython.display import display

        done, skipped = self.reconstructions()
        if not done:
            display(Markdown("_The paper prints too little to reconstruct any survival curve._"))
        for ep, ipd, table in done:
            display(Markdown(f"**{md(ep.title)}**"))
            effect = _km_effect(table)
            fig = later(
                plots.km_reconstructed,
                ipd,
                self.study,
                ep.name,
                ep.landmarks,
                f"{ep.title}: reconstructed from printed summaries, not patient data",
                medians=_printed_medians(ep),
                effect=effect,
            )
            slug = re.sub(r"[^a-z0-9]+", "-", ep.title.lower()).strip("-")
            plots.show(
                fig,
                f"km-{slug}",
                page=self.page,
                alt=plots.km_alt(ipd, self.study, ep.title, effect),
                caption=f"{ep.title}: Kaplan–Meier curves of the central reconstruction from the "
                "printed summaries (shaded: 95% CI; ticks: censored; diamonds: printed rates; dotted: "
                "medians of the reconstruction), with the number at risk under the time axis.",
            )
            if ep.notes:
                display(Markdown("\n".join(f"- {md(self.first_use.expand(n))}" for n in ep.notes)))
            table = table.assign(status=table["status"].map(tables.MARK))
            display(
                tables.show(
                    table.drop(columns=["endpoint"]),
                    f"recon-{slug}",
                    f"{ep.title}: printed vs reconstructed (central reconstruction; "
                    f"{self.params['n_replicates']} replicates, seed {self.params['seed']}, "
                    f"{self.weighting} test)",
                    page=self.page,
                )
            )
        if skipped:
            display(Markdown("\n".join(f"- {md(n)}" for n in skipped)))

    def survival_checks(self) -> HTML:
        return self._render(outputs.survival_checks(self.checks, self.notes.scope(), self.arm_labels))

    def restatements(self, only_inconsistent: bool = True) -> HTML:
        return self._render(
            outputs.restatements(self.checks, only_inconsistent, self.notes.scope(), self.arm_labels)
        )

    def summary(self) -> HTML:
        return self._render(outputs.status_summary(self.checks))

    def all_checks(self) -> HTML:
        return self._render(outputs.all_checks(self.checks, self.notes.scope(), self.arm_labels))

    def inconsistencies(self) -> HTML:
        return self._render(outputs.inconsistencies(self.checks, self.notes.scope(), self.arm_labels))

    def test_usage(self) -> HTML:
        """Which test reproduces each printed categorical p, against the test the paper named."""
        return self._render(outputs.test_usage(self.checks))

    # ------------------------------------------------------------ patient-level mode
    def patient_level(self) -> None:
        """Every patient-level analysis on ``patient_data`` (aggregates only), or why there is none."""
        from IPython.display import display

        from .patient import report as patient_report

        data, why = patient_report.load(self.params["patient_data"], self.study, seed=self.params["seed"])
        if data is None:
            display(
                Markdown(
                    f"_No patient-level analyses: {md(why)}. The methods are shown on a synthetic cohort "
                    "in [Patient-level analyses: a worked example](patient_demo.ipynb)._"
                )
            )
            return
        lists = patient_report.covariate_lists(data, self.params, self.study)
        part = patient_report.PatientSection(
            data, self.study, seed=self.params["seed"], page=self.page, lists=lists
        )
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
        return self._render(
            outputs.printed_claims(self.study), "No other claims are recorded for this study."
        )

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
        return self._render(
            outputs.feasibility(
                {
                    "whole cohort split in two arms": self.feasible(False),
                    "1:1 matched pairs": self.feasible(True),
                }
            )
        )

    def feasibility_figure(self) -> None:
        fig = later(plots.feasibility_scatter, self.feasible(False), self.feasible(True), self._orr_inputs())
        plots.show(
            fig,
            "feasibility",
            page=self.page,
            alt="Scatter plot of the p-value of each test against the size of the first arm, for every "
            "split of the counts consistent with the printed percentages; the printed p is a band.",
            caption="p-values of the count tables consistent with the printed percentages (log scale).",
        )

    # ------------------------------------------------------------ figures
    def response_figure(self) -> None:
        if self.study["response"].empty:
            return
        arms = " and ".join(a.label for a in self.study.arms)
        plots.show(
            later(plots.response_bars, self.study),
            "response",
            page=self.page,
            alt=f"Bar chart of best overall response (CR, PR, SD, PD, ORR, DCR) as % of each arm, "
            f"for {arms}, one panel per response criterion.",
            caption="Best overall response as printed, % of each arm.",
        )

    def ae_claims(self) -> HTML | Markdown:
        """Claims about adverse events (overall grade >= 3 rate, 'most common') against the graded counts."""
        return self._render(
            outputs.ae_claims(self.checks), "No claims about adverse events to check against graded counts."
        )

    def ae_figure(self) -> None:
        if self.study["adverse_events"].empty:
            return
        one_arm = self.b is None
        fig = later(plots.ae_grades, self.study, self.a) if one_arm else later(plots.ae_diverging, self.study)
        arms = " and ".join(a.label for a in self.study.arms)
        plots.show(
            fig,
            "adverse-events",
            page=self.page,
            alt=f"Horizontal bar chart of adverse events as % of each arm ({arms}), any grade and "
            "grade 3 or higher, one bar per event term.",
            caption="Adverse events as printed, % of the arm.",
        )

    def status_figure(self) -> None:
        counts = status_counts(self.checks)
        total = counts.loc["total"] if "total" in counts.index else counts.sum()
        parts = ", ".join(f"{int(total[st])} {st}" for st in total.index if int(total[st]))
        plots.show(
            later(plots.status_bars, counts),
            "status",
            page=self.page,
            alt=f"Stacked bar chart of the checks of this study by kind of check and verdict: {parts}.",
            caption="Every check of this study by kind and verdict.",
        )


# every section names itself when it fails (helpers starting with "_" and properties excepted)
for _name, _method in list(vars(Chapter).items()):
    if not _name.startswith("_") and callable(_method) and not isinstance(_method, property):
        setattr(Chapter, _name, _named_section(_name.replace("_", " "), _method))
