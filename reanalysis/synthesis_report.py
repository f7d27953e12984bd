"""The cross-study synthesis chapter: pooled rates and hazard ratios, forest plots, benchmarks."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
from IPython.display import HTML, Markdown

from . import downloads, plots, synthesis, tables
from . import params as P
from .data import load_study_meta
from .drawing import later
from .text import GLANCE_STUDIES, listing, md
from .vocabulary import AE_ATTRIBUTIONS


class SynthesisChapter:
    """The cross-study synthesis chapter: pooled rates and hazard ratios, forest plots, benchmarks
    (downloads on ``page``, as in :class:`Chapter`)."""

    def __init__(self, *, page: downloads.Page | None = None, **parameters: Any) -> None:
        self.params = P.validate(parameters, P.SYNTHESIS_PARAMS, where="synthesis parameters")
        self.page = page
        p = self.params
        crit = p["criterion"]
        outcomes = {f"{o} ({crit})": (o, "all-cause") for o in ("ORR", "DCR")}
        outcomes |= {f"grade ≥ 3 AE, {a}": ("AE>=3", a) for a in AE_ATTRIBUTIONS}
        studies = synthesis.select_studies(p["include"])  # once for the six pools
        self.studies = studies
        self.rates = {
            name: synthesis.pool_rates(
                o, crit, studies, p["estimator"], p["alpha"], p["continuity"], attribution=a
            )
            for name, (o, a) in outcomes.items()
        }
        self.hrs = {
            e: synthesis.pool_hrs(e, studies, p["estimator"], p["alpha"], p["pool_across_comparators"])
            for e in ("PFS", "OS")
        }

    def glue(self) -> None:
        from myst_nb import glue

        glue("estimator", Markdown(md(synthesis.estimator_text(self.params["estimator"]))), display=False)
        max_k = max(len(x.rows) for x in [*self.rates.values(), *self.hrs.values()])
        glue("precision", Markdown(md(synthesis.precision_text(max_k))), display=False)
        controls = synthesis.controls_text(self.hrs.values(), self.params["pool_across_comparators"])
        glue("controls", Markdown(md(controls)), display=False)

    def at_a_glance(self) -> HTML:
        """What was pooled (k, estimate) and what was not, and why; computed from the pools."""
        rows: list[tuple[str, str]] = []
        items = [(name, x, "logit", 100) for name, x in self.rates.items()]
        items += [(f"{e} HR", x, "log", 1) for e, x in self.hrs.items()]
        pooled, not_pooled = [], []
        for name, x, transform, scale in items:
            r = synthesis.summary_row(name, x, transform, scale)
            if x.result is None:
                not_pooled.append(f"{name}: {x.note or f'k = {len(x.rows)}'}")
            else:
                pooled.append(f"{name} {r['pooled (CI)']} (k = {r['k']}, I² {r['I²']})")
        named = synthesis.contributing([x for _, x, _, _ in items], self.studies)
        listed = listing(named, GLANCE_STUDIES, more=", each in its outcome's table below")
        rows = [
            (
                "Design",
                f"meta-analysis of study-level aggregates: "
                f"{synthesis.estimator_text(self.params['estimator'])}",
            ),
            ("Studies contributing", f"{len(named)} of {len(self.studies)}: {listed}" if named else "none"),
            ("Pooled", "; ".join(pooled) or "nothing: fewer than two studies per outcome"),
            ("Not pooled", "; ".join(not_pooled) or "none"),
        ]
        return tables.glance(rows)

    def summary(self) -> HTML:
        rows = [synthesis.summary_row(f"{name}, %", x, "logit", 100) for name, x in self.rates.items()]
        rows += [synthesis.summary_row(f"{e} HR, RT vs control", x, "log") for e, x in self.hrs.items()]
        return tables.show(pd.DataFrame(rows), "synthesis-summary", "Pooled estimates", page=self.page)

    def _section(self, items: dict, transform: str, xlabel: str, log: bool, scale: float) -> None:
        from IPython.display import display

        for name, x in items.items():
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
            display(Markdown(f"**{md(name)}**"))
            display(tables.show(x.rows, f"rows-{slug}", f"{name}: studies as printed", page=self.page))
            if len(x.excluded):
                display(
                    tables.show(x.excluded, f"excluded-{slug}", f"{name}: studies left out", page=self.page)
                )
            if x.note:
                display(Markdown(f"_{md(x.note)}_"))
            self._forest(name, slug, x, transform, xlabel, log, scale)

    def _forest(
        self, name: str, slug: str, x: synthesis.Pooled, transform: str, xlabel: str, log: bool, scale: float
    ) -> None:
        """The forest plot of one pooled outcome, its caption (method, studies left out) and alt text."""
        frame = synthesis.forest_frame(x, transform, list(x.rows["study"]))
        if frame is None or x.result is None:
            return
        if "events" in x.rows:
            n = [f"{e}/{t}" for e, t in zip(x.rows["events"], x.rows["total"], strict=True)]
            frame = frame.assign(n=[*n, f"{sum(x.rows['events'])}/{sum(x.rows['total'])}"])
        fig = later(
            plots.forest_meta,
            frame,
            name,
            xlabel,
            log=log,
            scale=scale,
            estimate_header="HR (95% CI)" if log else "% (95% CI)",
            favours=("RT arm", "control") if log else None,
            heterogeneity=synthesis.heterogeneity_text(x.result),
        )
        pi = synthesis.prediction_interval(x.result, transform)
        pooled = synthesis.summary_row(name, x, transform, scale)["pooled (CI)"]
        left = [f"{r['study']} ({r['why']})" for _, r in x.excluded.iterrows()]
        plots.show(
            fig,
            f"forest-{slug}",
            page=self.page,
            alt=f"Forest plot of {name}: {x.result.k} studies with their 95% confidence intervals and "
            f"weights, and the pooled estimate {pooled} as a diamond; prediction interval {pi.text(scale)}.",
            caption=f"{name}: {synthesis.method_text(x.result)}. "
            + ("Dotted: 95% prediction interval. " if pi.status is synthesis.PIStatus.SHOWN else "")
            + (f"Left out: {'; '.join(left)}." if left else "No study left out."),
        )

    def rates_section(self) -> None:
        self._section(self.rates, "logit", "proportion (%)", log=False, scale=100)

    def hr_section(self) -> None:
        self._section(self.hrs, "log", "hazard ratio (log scale)", log=True, scale=1)

    def cited(self) -> HTML:
        """Benchmarks as printed (the value, its limits and unit as numbers: tidy CSV only)."""
        loaded = {st.id: st.meta["short_title"] for st in self.studies}  # not loaded again, row by row

        def title(study_id: str) -> str:
            return loaded[study_id] if study_id in loaded else load_study_meta(study_id).meta["short_title"]

        full = (
            synthesis.cited_benchmarks()
            .drop(columns=["source"])
            .assign(citing_study=lambda d: d["citing_study"].map(title))
        )
        return tables.show(
            full.drop(columns=[c for c in ("value", "lower", "upper", "unit") if c in full]),
            "cited",
            "Benchmarks as cited in the seed papers",
            page=self.page,
            tidy=full,
        )
