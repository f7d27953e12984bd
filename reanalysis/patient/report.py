"""The patient-level section of a study chapter: the analyses the seed papers ran, on patient data.

``patient_data`` (a chapter parameter) is ``"synthetic"`` (a cohort generated from the study's
published aggregates, labelled as such everywhere), ``"none"``, or a folder in the documented
schema (``reanalysis.patient.schema``). Everything shown is aggregate: no per-patient row,
identifier or value ever reaches the notebook output.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from IPython.display import HTML, Markdown, display

from .. import downloads, plots, tables
from ..data import Study
from ..text import md
from . import descriptive as D
from . import matching as PSM
from . import subgroups as SG
from . import survival as SV

TABLE_ONE_COLUMNS = ("variable", "level", "test", "p", "smd")
PS_CANDIDATES = ("AGE", "ECOG", "TUMSIZE", "EHM", "TRTLINE", "PVTT", "BCLC")
COX_CANDIDATES = ("AGE", "SEX", "ECOG", "BCLC", "TUMSIZE", "EHM", "PVTT", "HBV", "AFP", "TRTLINE")
SUBGROUPS = {"Age": ("AGE", 60.0), "BCLC stage": "BCLC", "Extrahepatic metastasis": "EHM", "PVTT": "PVTT"}


def load(patient_data: str, study: Study, seed: int = 0):
    """The patient data a chapter analyses, or None with the reason."""
    from .schema import load_patient_data
    from .synthetic import synthetic_cohort

    if patient_data in ("", "none"):
        return None, "patient-level mode is off (patient_data = none)"
    if patient_data == "synthetic":
        try:
            return synthetic_cohort(study.id, seed=seed), ""
        except ValueError as exc:
            return None, f"no synthetic cohort can be generated for this study: {exc}"
    return load_patient_data(Path(patient_data)), ""


def inverted_cnsr(data, study: Study) -> list[str]:
    """Warnings where an arm's patient-level events are closer to the number of events the study
    printed once CNSR is read the other way round (ADaM: 0 = event, 1 = censored)."""
    printed = study["survival"]
    printed = printed[(printed["statistic"] == "events") & printed["criterion"].isna()]
    if "subgroup" in printed:
        printed = printed[printed["subgroup"].isna()]
    out = []
    tte = data.adtte.merge(data.adsl[["USUBJID", "ARM"]], on="USUBJID", suffixes=("_tte", ""))
    for row in printed.itertuples():
        g = tte[(tte["PARAMCD"] == row.endpoint) & (tte["ARM"] == row.arm)]
        if g.empty:
            continue
        events, censored = int((g["CNSR"] == 0).sum()), int((g["CNSR"] == 1).sum())
        if abs(censored - row.value) < abs(events - row.value):
            out.append(
                f"adtte.csv: {row.endpoint} in arm {row.arm} has {events} events (CNSR = 0) where the "
                f"paper printed {row.value:g}: is CNSR inverted? (ADaM: 0 = event, 1 = censored)"
            )
    return out


def _complete(adsl: pd.DataFrame, candidates: tuple[str, ...]) -> list[str]:
    """Covariates recorded for every patient and not constant (usable in a model)."""
    return [c for c in candidates if c in adsl and adsl[c].notna().all() and adsl[c].nunique() > 1]


def _attempt(what: str, fit, *args, **kwargs):
    """Fit a model, or say plainly that it cannot be fitted on these data (not an error of ours)."""
    try:
        return fit(*args, **kwargs)
    except (ValueError, ArithmeticError) as exc:
        display(Markdown(f"_{md(what)}: not estimable on these data ({md(exc)})._"))
        return None


class PatientSection:
    """Table 1, Kaplan–Meier, Cox, PSM, subgroups and response models on patient data;
    tables and figures get their downloads on ``page`` (the chapter's)."""

    def __init__(self, data, study: Study, seed: int = 0, page: downloads.Page | None = None) -> None:
        self.data, self.study, self.seed, self.page = data, study, seed, page
        self.arms = list(study.comparison) if study.is_two_arm else [a.id for a in study.arms]
        self.treat = self.arms[0]
        self.paramcds = sorted(set(data.adtte["PARAMCD"]))

    def _candidates(self, standard: tuple[str, ...]) -> tuple[str, ...]:
        """Standard candidates plus the covariates the folder's patient.yml declares."""
        return (*standard, *getattr(self.data, "covariates", {}))

    def banner(self) -> Markdown:
        if getattr(self.data, "synthetic", False):
            return Markdown(f"**Synthetic data.** {md(self.data.note)}")
        from .tidy import warnings_for

        warnings = [*warnings_for(self.data), *inverted_cnsr(self.data, self.study)]
        return Markdown(
            f"**Patient-level data** from {md(self.data.source or 'a folder of the user')} "
            f"({len(self.data.adsl)} patients); only aggregates are shown."
            + "".join(f"\n\n**Check the data:** {md(w)}" for w in warnings)
        )

    def _ordered(self, adsl: pd.DataFrame) -> pd.DataFrame:
        """ADSL rows in the study's comparison order of arms (the tables' column order)."""
        rank = {a: i for i, a in enumerate(self.arms)}
        order = adsl["ARM"].map(rank).fillna(len(rank))
        return adsl.assign(_order=order).sort_values("_order", kind="stable").drop(columns="_order")

    def _label(self, arm: str) -> str:
        return self.study.arm(arm).label if arm in self.arms else arm

    def table_one(self) -> HTML:
        adsl = self._ordered(self.data.adsl)
        # columns named by arm label; an arm called like a column of the table ("test", "p") is
        # told apart, never merged with it
        names = {a: self._label(a) for a in dict.fromkeys(adsl["ARM"])}
        names = {a: f"{n} (arm)" if n in TABLE_ONE_COLUMNS else n for a, n in names.items()}
        declared = getattr(self.data, "covariates", {})
        variables = [v for v in (*D.TABLE_ONE_VARIABLES, *declared) if v in adsl and adsl[v].notna().any()]
        categorical = (
            *D.CATEGORICAL_INTEGERS,
            *(c for c, v in declared.items() if v["type"] == "categorical"),
        )
        t = D.table_one(adsl.assign(ARM=adsl["ARM"].map(names)), variables=variables, categorical=categorical)
        return tables.show(
            t,
            "patient-table-one",
            "Baseline characteristics from patient data (SMD: standardised mean difference)",
            page=self.page,
        )

    def _count_table(self, long: pd.DataFrame, uid: str, caption: str) -> HTML:
        """Rows × arms counts n/N (%) with the p of the gtsummary rule (two arms)."""
        from .. import stats as S

        sizes = self.data.adsl["ARM"].value_counts()
        out = []
        for row, grp in long.groupby("row", sort=False):
            r = {"": row}
            counts = {a: int(grp.loc[grp["ARM"] == a, "USUBJID"].nunique()) for a in self.arms}
            for a in self.arms:
                n, N = counts[a], int(sizes.get(a, 0))
                r[self.study.arm(a).label] = f"{n}/{N} ({100 * n / N:.1f}%)" if N else ""
            if len(self.arms) == 2 and all(sizes.get(a, 0) for a in self.arms):
                a, b = self.arms
                table = S.two_by_two(counts[a], int(sizes[a]), counts[b], int(sizes[b]))
                test = S.choose_test(table, "gtsummary").test
                res = S.categorical_tests(table)[test]
                r["p"] = "n/a" if pd.isna(res.p) else f"{res.p:.3f}"
                r["test"] = test
            out.append(r)
        return tables.show(pd.DataFrame(out), uid, caption, page=self.page)

    def response(self, criterion: str) -> HTML | Markdown:
        adrs = self.data.adrs
        if adrs is None or not (adrs["CRITERION"] == criterion).any():
            return Markdown(f"_No {md(criterion)} responses in the patient data._")
        r = adrs[adrs["CRITERION"] == criterion].merge(
            self.data.adsl[["USUBJID", "ARM"]], on="USUBJID", suffixes=("_rs", "")
        )
        long = pd.concat(
            [
                r.assign(row=r["AVALC"]),
                r[r["AVALC"].isin(["CR", "PR"])].assign(row="ORR (CR + PR)"),
                r[r["AVALC"].isin(["CR", "PR", "SD"])].assign(row="DCR (CR + PR + SD)"),
            ]
        )
        order = ["CR", "PR", "SD", "PD", "NE", "ORR (CR + PR)", "DCR (CR + PR + SD)"]
        long["row"] = pd.Categorical(long["row"], categories=order, ordered=True)
        long = long.sort_values("row")
        long["row"] = long["row"].astype(str)
        return self._count_table(
            long, "patient-response", f"Best overall response ({criterion}) from patient data"
        )

    def adverse_events(self) -> HTML | Markdown:
        adae = self.data.adae
        if adae is None or adae.empty:
            return Markdown("_No adverse events in the patient data._")
        ae = adae.merge(self.data.adsl[["USUBJID", "ARM"]], on="USUBJID", suffixes=("_ae", ""))
        long = pd.concat(
            [
                ae.assign(row=ae["AETERM"] + ": any grade"),
                ae[ae["AETOXGR"] >= 3].assign(row=ae["AETERM"] + ": grade ≥ 3"),
            ]
        )
        long = long.sort_values("row", kind="stable")
        return self._count_table(
            long, "patient-ae", "Patients with each adverse event (worst grade) from patient data"
        )

    def survival(self) -> None:
        covs = _complete(self.data.adsl, self._candidates(COX_CANDIDATES))
        for paramcd in self.paramcds:
            km = SV.km_by_arm(self._ordered(self.data.adsl), self.data.adtte, paramcd)
            display(
                tables.show(
                    km.table.assign(arm=km.table["arm"].map(self._label)),
                    f"patient-km-{paramcd.lower()}",
                    f"{paramcd}: Kaplan–Meier medians; log-rank p = {tables.display_value(km.p, 4) or 'n/a'}",
                    page=self.page,
                )
            )
            if len(self.arms) < 2:
                continue
            cm = _attempt(
                f"{paramcd} Cox models",
                SV.cox_models,
                self.data.adsl,
                self.data.adtte,
                paramcd,
                self.treat,
                covs,
            )
            if cm is None:
                continue
            display(
                tables.show(
                    cm.univariable.round(4),
                    f"patient-cox-uni-{paramcd.lower()}",
                    f"{paramcd}: univariable Cox models",
                    page=self.page,
                )
            )
            display(
                tables.show(
                    cm.multivariable.round(4),
                    f"patient-cox-multi-{paramcd.lower()}",
                    f"{paramcd}: multivariable Cox model (arm + covariates with p < {cm.p_enter:g})",
                    page=self.page,
                )
            )
            display(
                tables.show(
                    cm.ph.round(4),
                    f"patient-ph-{paramcd.lower()}",
                    f"{paramcd}: proportional-hazards check (rank-transformed time)",
                    page=self.page,
                )
            )
            if cm.zph is not None:
                display(
                    tables.show(
                        cm.zph.round(4),
                        f"patient-zph-{paramcd.lower()}",
                        f"{paramcd}: proportional-hazards test as R survival ≥ 3.0 cox.zph "
                        "(Kaplan–Meier time transform; the table above is the survival < 3.0 test)",
                        page=self.page,
                    )
                )

    def matching(self) -> None:
        if len(self.arms) < 2:
            display(Markdown("_Propensity-score matching needs two arms._"))
            return
        covs = _complete(self.data.adsl, self._candidates(PS_CANDIDATES))
        m = _attempt(
            "Propensity-score matching",
            PSM.propensity_match,
            self.data.adsl,
            self.treat,
            covariates=covs,
            caliper=0.2,
            seed=self.seed,
        )
        if m is None:
            return
        summary = pd.DataFrame([{"item": k, "value": v} for k, v in m.summary.items()])
        display(
            tables.show(
                summary,
                "patient-psm-summary",
                "1:1 nearest-neighbour matching on the logit propensity score, caliper 0.2 SD",
                page=self.page,
            )
        )
        display(
            tables.show(
                m.balance.round(3), "patient-psm-balance", "Balance before and after matching", page=self.page
            )
        )
        plots.show(plots.styled(PSM.love_plot)(m.balance), "patient-psm-love", page=self.page)
        for paramcd in self.paramcds:
            cox = _attempt(
                f"{paramcd} Cox model in the matched cohort",
                SV.cox_matched,
                m.matched,
                self.data.adtte,
                paramcd,
                self.treat,
            )
            if cox is None:
                continue
            display(
                tables.show(
                    cox.round(4),
                    f"patient-psm-cox-{paramcd.lower()}",
                    f"{paramcd} in the matched cohort: Cox with robust SE by pair",
                    page=self.page,
                )
            )

    def subgroups(self) -> None:
        if len(self.arms) < 2:
            return
        subs = {
            k: v
            for k, v in SUBGROUPS.items()
            if (v[0] if isinstance(v, tuple) else v) in _complete(self.data.adsl, COX_CANDIDATES)
        }
        for col, spec in getattr(self.data, "covariates", {}).items():  # declared in patient.yml
            if spec["type"] == "categorical" and col in _complete(self.data.adsl, (col,)):
                subs[spec["label"]] = col
        if not subs:
            display(Markdown("_Subgroups: no subgroup variable is recorded for every patient._"))
            return
        for paramcd in self.paramcds:
            df = _attempt(
                f"{paramcd} subgroup hazard ratios",
                SG.subgroup_hrs,
                self.data.adsl,
                self.data.adtte,
                paramcd,
                self.treat,
                subs,
            )
            if df is None:
                continue
            display(
                tables.show(
                    df.round(4),
                    f"patient-subgroups-{paramcd.lower()}",
                    f"{paramcd}: treatment hazard ratio by subgroup, interaction p",
                    page=self.page,
                )
            )
            plots.show(
                plots.styled(SG.forest_plot)(df, f"{paramcd}: subgroups"),
                f"patient-subgroups-{paramcd.lower()}",
                page=self.page,
            )

    def response_models(self, criterion: str) -> None:
        from . import explain as E
        from . import models as M
        from . import response_data as RD

        if self.data.adrs is None:
            display(Markdown("_No response data (adrs.csv)._"))
            return
        feats = tuple(
            f
            for f in RD.DEFAULT_FEATURES
            if f == "RT" and len(self.arms) > 1 or f in _complete(self.data.adsl, tuple(RD.DEFAULT_FEATURES))
        )
        try:
            X, y = RD.response_dataset(self.data.adsl, self.data.adrs, criterion=criterion, features=feats)
            res = M.fit_models(X, y, seed=self.seed)
        except ValueError as exc:
            display(Markdown(f"_Response models not fitted: {md(exc)}_"))
            return
        display(
            tables.show(
                res.table.round(3),
                "patient-models",
                f"Objective response ({criterion}): eight "
                "model families, validation AUC with DeLong 95% CI, Brier score",
                page=self.page,
            )
        )
        plots.show(plots.styled(M.roc_plot)(res), "patient-models-roc", page=self.page)
        plots.show(plots.styled(M.calibration_plot)(res), "patient-models-calibration", page=self.page)
        shap = E.shap_summary(res, X, seed=self.seed, max_samples=E.EXPLAIN_ROWS)
        display(
            tables.show(
                shap.round(4), "patient-shap", f"Mean |SHAP| per feature ({res.best_model})", page=self.page
            )
        )
        plots.show(plots.styled(E.shap_plot)(shap), "patient-shap", page=self.page)
