"""How the patient-level tables read on a page: arms by label, covariates by label, every column
by a display name.

The analysis modules return frames with short machine names (``hr``, ``p_variable``, ``AGE``,
``rt_pd1 vs tace_sor``); those stay as they are for the tidy output and the tests. This module
turns a frame into what a reader sees. Covariate labels are data (the covariate catalogue,
``reanalysis/rules/patient_covariates.csv``, overridden by a folder's ``patient.yml``), level
labels and the labels of columns that are not covariates too
(``reanalysis/rules/patient_labels.csv``), arm labels
come from the study or the folder. Nothing here knows a study.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pandas as pd

from . import covariates as CV

LABELS_FILE = Path(__file__).resolve().parent.parent / "rules" / "patient_labels.csv"
NOT_REACHED = "NR"  # a Kaplan–Meier median or limit the curve never reaches (the book's display rule)
NOT_REACHED_COLUMNS = ("median", "lower", "upper")  # where an infinite value means "not reached"

# Display names of the analysis frames' columns (descriptive, survival, matching, subgroups).
# "{treat}" and "{control}" are filled with the arms' labels.
COLUMNS: dict[str, str] = {
    "variable": "Variable",
    "level": "Level",
    "test": "Test",
    "p": "p",
    "smd": "SMD",
    "arm": "Arm",
    "n": "Patients",
    "events": "Events",
    "median": "Median, months",
    "lower": "95% CI, lower",
    "upper": "95% CI, upper",
    "contrast": "Comparison",
    "hr": "HR",
    "coef": "log HR",
    "se": "SE of log HR",
    "p_variable": "p, whole variable",
    "statistic": "χ²",
    "df": "Degrees of freedom",
    "pairs": "Matched pairs",
    "item": "Item",
    "value": "Value",
    "mean_treated_before": "Mean, {treat}, before",
    "mean_control_before": "Mean, {control}, before",
    "smd_before": "SMD before",
    "mean_treated_after": "Mean, {treat}, after",
    "mean_control_after": "Mean, {control}, after",
    "smd_after": "SMD after",
    "subgroup": "Subgroup",
    "n_treated": "Patients, {treat}",
    "n_control": "Patients, {control}",
    "p_interaction": "Interaction p",
    "note": "Note",
    "feature": "Feature",
    "best": "Best model",
    "model": "Model",
}

# Model internals a reader does not need beside HR, CI and p: kept in the tidy CSV only
TIDY_ONLY = ("coef", "se")

# Items of the propensity-score matching summary, in the words of a Methods section.
MATCH_ITEMS: dict[str, str] = {
    "treated": "Patients, {treat}",
    "controls": "Patients, {control}",
    "left_out_incomplete": "Left out (a matching covariate not recorded)",
    "pairs": "Matched pairs",
    "treated_unmatched": "{treat} patients left without a match",
    "caliper": "Caliper, in SD of the logit propensity score",
    "sd_logit_ps": "SD of the logit propensity score",
    "caliper_width": "Caliper width on the logit scale",
    "order": "Order in which patients are matched",
}
MATCH_ORDERS: dict[str, str] = {
    "largest": "largest propensity score first",
    "smallest": "smallest propensity score first",
    "data": "as the patients are listed",
    "random": "random",
}
# Rows of Table 1 that are not covariates
ROW_LABELS: dict[str, str] = {"N": "Patients"}


@cache
def _rules() -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """Covariate labels and level labels from ``patient_labels.csv``."""
    variables: dict[str, str] = {}
    levels: dict[tuple[str, str], str] = {}
    with LABELS_FILE.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["level"]:
                levels[(row["column"], row["level"])] = row["label"]
            else:
                variables[row["column"]] = row["label"]
    return variables, levels


@dataclass
class Labeller:
    """Labels for one cohort: its arms (id → label, treated arm first) and any covariates a
    folder's ``patient.yml`` declares (``{column: {"label": …}}``)."""

    arms: dict[str, str]
    declared: dict[str, dict] = field(default_factory=dict)
    subgroup_columns: dict[str, str] = field(default_factory=dict)  # subgroup label → column

    @property
    def treat(self) -> str:
        return next(iter(self.arms.values()), "")

    @property
    def control(self) -> str:
        return list(self.arms.values())[1] if len(self.arms) > 1 else ""

    def variable(self, code: str) -> str:
        """A covariate code → its label: patient.yml's, else the covariate catalogue's
        (``rules/patient_covariates.csv``), else this module's rules (columns that are not
        covariates), else unchanged."""
        if code in self.declared or code in CV.catalogue():
            return CV.label(code, self.declared)
        return _rules()[0].get(code) or ROW_LABELS.get(code) or code

    def level(self, code: str, level: str) -> str:
        return _rules()[1].get((code, level), level)

    def contrasts(self, frame: pd.DataFrame) -> dict[tuple[str, str], str]:
        """(variable, contrast as the models write it) → the same contrast in labels, built
        forward from the arms and the levels each variable takes (not parsed back)."""
        out = {
            ("ARM", f"{a} vs {b}"): f"{la} vs {lb}"
            for a, la in self.arms.items()
            for b, lb in self.arms.items()
        }
        for var in dict.fromkeys(frame.get("variable", [])):
            levels = self._levels_of(var)
            for a in levels:
                for b in levels:
                    out[(var, f"{a} vs {b}")] = f"{self.level(var, a)} vs {self.level(var, b)}"
        return out

    def _levels_of(self, var: str) -> list[str]:
        known = [lv for (col, lv) in _rules()[1] if col == var]
        declared = self.declared.get(var, {}).get("levels") or []
        return [*known, *(str(x) for x in declared)]

    def values(self, frame: pd.DataFrame, levels: Iterable[str] = ()) -> pd.DataFrame:
        """The frame with arm ids, covariate codes, level codes and contrasts replaced by their
        labels (column names unchanged, so plotting functions take it as before). ``levels``:
        extra level values to relabel by the row's variable (Table 1's levels)."""
        out = frame.copy()
        if "contrast" in out and "variable" in out:
            table = self.contrasts(out)
            out["contrast"] = [
                table.get((v, c), c) for v, c in zip(out["variable"], out["contrast"], strict=True)
            ]
        if "level" in out and "variable" in out:
            out["level"] = [self.level(v, lv) for v, lv in zip(out["variable"], out["level"], strict=True)]
        if "level" in out and "subgroup" in out:
            out["level"] = [
                self.level(self.subgroup_columns.get(s, s), lv)
                for s, lv in zip(out["subgroup"], out["level"], strict=True)
            ]
        for col in ("variable", "feature"):
            if col in out:
                out[col] = out[col].map(self.variable)
        if "arm" in out:
            out["arm"] = out["arm"].map(lambda a: self.arms.get(a, a))
        return out

    def columns(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The frame with every known column under its display name (arm labels filled in),
        without the columns only the tidy CSV needs."""
        frame = frame.drop(columns=[c for c in TIDY_ONLY if c in frame])
        names = {c: COLUMNS[c].format(treat=self.treat, control=self.control) for c in frame if c in COLUMNS}
        return frame.rename(columns=names)

    def for_display(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.columns(self.values(frame))

    def match_summary(self, summary: dict) -> pd.DataFrame:
        """The matching summary as Item / Value rows in words."""
        rows = []
        for key, value in summary.items():
            item = MATCH_ITEMS.get(key, key).format(treat=self.treat, control=self.control)
            rows.append({"Item": item, "Value": MATCH_ORDERS.get(value, value) if key == "order" else value})
        return pd.DataFrame(rows)


def not_reached(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Infinite medians and limits read NR (the curve never reaches them)."""
    out = frame.copy()
    for c in columns:
        if c in out:
            out[c] = [NOT_REACHED if isinstance(x, float) and math.isinf(x) else x for x in out[c]]
    return out


def arm_labeller(
    arm_ids: Iterable[str], label: Callable[[str], str], declared: dict | None = None
) -> Labeller:
    return Labeller({a: label(a) for a in arm_ids}, dict(declared or {}))
