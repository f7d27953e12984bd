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
from . import covariates as CV
from . import descriptive as D
from . import labels as L
from . import matching as PSM
from . import subgroups as SG
from . import survival as SV

TABLE_ONE_COLUMNS = ("variable", "level", "test", "p", "smd")


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


def covariate_lists(
    data, chosen: dict[str, str] | None = None, study: Study | None = None
) -> CV.CovariateLists:
    """The lists each analysis uses: the chapter's parameters (``table1_variables``, …; "" =
    the data's default), else patient.yml's ``analyses``, else the study's ``patient_analyses``
    (study.yml), else the catalogue's defaults plus the covariates patient.yml declares."""
    picked = {role: CV.parse_names((chosen or {}).get(name, "")) for role, name in CV.ROLE_PARAMS.items()}
    of_study = CV.read_analyses(study.meta.get("patient_analyses")) if study is not None else {}
    return CV.resolve_lists(getattr(data, "covariates", {}), getattr(data, "analyses", {}), picked, of_study)


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

    def __init__(
        self,
        data,
        study: Study,
        seed: int = 0,
        page: downloads.Page | None = None,
        lists: CV.CovariateLists | None = None,
    ) -> None:
        self.data, self.study, self.seed, self.page = data, study, seed, page
        self.lists = lists or covariate_lists(data)
        self._defaults = CV.resolve_lists(getattr(data, "covariates", {}))  # to tell a chosen list
        self.arms = list(study.comparison) if study.is_two_arm else [a.id for a in study.arms]
        self.treat = self.arms[0]
        self.paramcds = sorted(set(data.adtte["PARAMCD"]))
        self.labels = L.arm_labeller(
            dict.fromkeys([*self.arms, *data.adsl["ARM"]]), self._label, getattr(data, "covariates", {})
        )

    @property
    def synthetic(self) -> bool:
        return bool(getattr(self.data, "synthetic", False))

    def _name(self, name: str) -> str:
        """A download's name: results of a synthetic cohort say so wherever the file travels."""
        return f"{downloads.SYNTHETIC}-{name}" if self.synthetic else name

    def _table(self, raw: pd.DataFrame, uid: str, caption: str) -> HTML:
        """A table of this section: arms and covariates by label, columns by display name (the
        tidy CSV keeps the machine names and full precision), synthetic results named so."""
        labelled = self.labels.values(raw)
        shown = self.labels.columns(L.not_reached(labelled, L.NOT_REACHED_COLUMNS))
        return tables.show(
            shown, self._name(uid), caption, page=self.page, tidy=labelled, synthetic=self.synthetic
        )

    def _usable(self, names: tuple[str, ...], default: tuple[str, ...], analysis: str) -> list[str]:
        """The covariates of ``names`` a model can use (recorded for every patient, not constant);
        when the list was chosen (not the default candidates), says which were left out."""
        usable = _complete(self.data.adsl, names)
        left = [n for n in names if n not in usable]
        if left and names != default:
            what = ", ".join(CV.label(n, self.data.covariates) for n in left)
            display(
                Markdown(
                    f"_{md(analysis)}: left out (not recorded for every patient, or constant): {md(what)}._"
                )
            )
        return usable

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

    def _show(self, fig, name: str, alt: str, caption: str = "") -> None:
        """Show a figure of these patients; one from a synthetic cohort carries the watermark."""
        if self.synthetic:
            alt, caption = f"Synthetic data. {alt}", f"Synthetic data (invented patients). {caption}".strip()
        plots.show(fig, self._name(name), page=self.page, alt=alt, caption=caption, synthetic=self.synthetic)

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
        variables = [v for v in self.lists.table1 if v in adsl and adsl[v].notna().any()]
        categorical = (
            *D.CATEGORICAL_INTEGERS,
            *(c for c, v in declared.items() if v["type"] == "categorical"),
        )
        t = D.table_one(adsl.assign(ARM=adsl["ARM"].map(names)), variables=variables, categorical=categorical)
        return self._table(
            t,
            "patient-table-one",
            "Baseline characteristics from patient data (SMD: standardised mean difference)",
        )

    def _count_table(self, long: pd.DataFrame, uid: str, caption: str) -> HTML:
        """Rows × arms counts n/N (%) with the p of the gtsummary rule (two arms)."""
        from .. import stats as S

        sizes = self.data.adsl["ARM"].value_counts()
        out = []
        for row, grp in long.groupby("row", sort=False):
            r = {"Outcome": row}
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
                r["Test"] = test
            out.append(r)
        return self._table(pd.DataFrame(out), uid, caption)

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
        covs = self._usable(self.lists.cox, self._defaults.cox, "Cox models")
        for paramcd in self.paramcds:
            km = SV.km_by_arm(self._ordered(self.data.adsl), self.data.adtte, paramcd)
            display(
                self._table(
                    km.table,
                    f"patient-km-{paramcd.lower()}",
                    f"{paramcd}: Kaplan–Meier medians; log-rank p = {tables.display_value(km.p, 4) or 'n/a'}",
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
                self._table(
                    cm.univariable, f"patient-cox-uni-{paramcd.lower()}", f"{paramcd}: univariable Cox models"
                )
            )
            display(
                self._table(
                    cm.multivariable,
                    f"patient-cox-multi-{paramcd.lower()}",
                    f"{paramcd}: multivariable Cox model (arm + covariates with p < {cm.p_enter:g})",
                )
            )
            display(
                self._table(
                    cm.ph,
                    f"patient-ph-{paramcd.lower()}",
                    f"{paramcd}: proportional-hazards check (rank-transformed time)",
                )
            )
            if cm.zph is not None:
                display(
                    self._table(
                        cm.zph,
                        f"patient-zph-{paramcd.lower()}",
                        f"{paramcd}: proportional-hazards test as R survival ≥ 3.0 cox.zph "
                        "(Kaplan–Meier time transform; the table above is the survival < 3.0 test)",
                    )
                )

    def matching(self) -> None:
        if len(self.arms) < 2:
            display(Markdown("_Propensity-score matching needs two arms._"))
            return
        covs = self._usable(self.lists.psm, self._defaults.psm, "Propensity-score model")
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
        summary = self.labels.match_summary(m.summary)
        display(
            self._table(
                summary,
                "patient-psm-summary",
                "1:1 nearest-neighbour matching on the logit propensity score, caliper 0.2 SD",
            )
        )
        display(self._table(m.balance, "patient-psm-balance", "Balance before and after matching"))
        self._show(
            plots.styled(PSM.love_plot)(self.labels.values(m.balance)),
            "patient-psm-love",
            "Love plot: absolute standardised mean difference of each covariate before and after "
            "propensity-score matching, against the 0.1 balance line.",
            "Covariate balance before and after matching.",
        )
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
                self._table(
                    cox,
                    f"patient-psm-cox-{paramcd.lower()}",
                    f"{paramcd} in the matched cohort: Cox with robust SE by pair",
                )
            )

    def subgroups(self) -> None:
        if len(self.arms) < 2:
            return
        subs: dict[str, str | tuple[str, float]] = {}
        adsl, declared = self.data.adsl, getattr(self.data, "covariates", {})
        for col in self._usable(self.lists.subgroups, self._defaults.subgroups, "Subgroups"):
            name = CV.label(col, declared)
            if pd.api.types.is_numeric_dtype(adsl[col]) and col not in D.CATEGORICAL_INTEGERS:
                known = CV.catalogue().get(col)
                cut = known.subgroup_cut if known and known.subgroup_cut is not None else None
                subs[name] = (col, float(adsl[col].median()) if cut is None else cut)
            else:
                subs[name] = col
        if not subs:
            display(Markdown("_Subgroups: no subgroup variable is recorded for every patient._"))
            return
        self.labels.subgroup_columns = {k: v[0] if isinstance(v, tuple) else v for k, v in subs.items()}
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
                self._table(
                    df,
                    f"patient-subgroups-{paramcd.lower()}",
                    f"{paramcd}: treatment hazard ratio by subgroup, interaction p",
                )
            )
            self._show(
                plots.styled(SG.forest_plot)(self.labels.values(df), f"{paramcd}: subgroups"),
                f"patient-subgroups-{paramcd.lower()}",
                f"Forest plot of the treatment hazard ratio for {paramcd} within each subgroup level, "
                "with 95% confidence intervals on a log scale and the interaction p per subgroup.",
                f"{paramcd}: treatment hazard ratio by subgroup.",
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
            self._table(
                res.table,
                "patient-models",
                f"Objective response ({criterion}): eight "
                "model families, validation AUC with DeLong 95% CI, Brier score",
            )
        )
        self._show(
            plots.styled(M.roc_plot)(res),
            "patient-models-roc",
            f"ROC curves of the response models on the validation split; best model {res.best_model}.",
            "ROC curves, validation split.",
        )
        self._show(
            plots.styled(M.calibration_plot)(res),
            "patient-models-calibration",
            "Calibration plot: predicted against observed response probability per model.",
            "Calibration, validation split.",
        )
        shap = E.shap_summary(res, X, seed=self.seed, max_samples=E.EXPLAIN_ROWS)
        display(self._table(shap, "patient-shap", f"Mean |SHAP| per feature ({res.best_model})"))
        self._show(
            plots.styled(E.shap_plot)(self.labels.values(shap)),
            "patient-shap",
            f"Bar chart of mean absolute SHAP value per feature for {res.best_model}.",
            "Feature importance (mean |SHAP|).",
        )
