"""The standard baseline covariates of patient-level data, and which analyses use them by default.

The catalogue is data, not code: ``reanalysis/rules/patient_covariates.csv``, one row per
standard ADSL column with its type, allowed levels or range, a reader's label, and its
position in each default list (Table 1, Cox candidates, propensity-score model, subgroups,
response-model features; blank = not in that list). Today it holds the HCC baseline variables
the seed papers report; a trial of another disease declares its own columns in ``patient.yml``
(``covariates``) and, if it wants, its own lists (``analyses``), and a chapter takes the lists
as parameters (``table1_variables``, ``cox_covariates``, ``psm_covariates``,
``subgroup_variables``), so no analysis depends on a name written here.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

__all__ = [
    "CATALOGUE_FILE",
    "Covariate",
    "CovariateLists",
    "Role",
    "catalogue",
    "columns",
    "default_list",
    "parse_names",
    "read_analyses",
    "resolve_lists",
]

CATALOGUE_FILE = Path(__file__).resolve().parent.parent / "rules" / "patient_covariates.csv"
DERIVED = "derived"  # a catalogue type: computed from other columns (RT from ARM/RTDOSE), not one
NONE_WORD = "none"  # a list parameter set to this word: the analysis uses no covariate


class Role(StrEnum):
    """An analysis that takes a list of covariates (the catalogue's column of default positions)."""

    TABLE1 = "table1"
    COX = "cox"
    PSM = "psm"
    SUBGROUP = "subgroup"
    RESPONSE = "response"


# the chapter parameter naming each role's list (params.py defines them; "" = the data's defaults)
ROLE_PARAMS: dict[Role, str] = {
    Role.TABLE1: "table1_variables",
    Role.COX: "cox_covariates",
    Role.PSM: "psm_covariates",
    Role.SUBGROUP: "subgroup_variables",
}
# patient.yml `analyses` keys naming the same lists
ANALYSES_KEYS: dict[str, Role] = {
    "table1": Role.TABLE1,
    "cox": Role.COX,
    "psm": Role.PSM,
    "subgroups": Role.SUBGROUP,
}


@dataclass(frozen=True)
class Covariate:
    """One standard ADSL covariate of the catalogue."""

    column: str
    kind: str  # schema type: "str", "float" or "int"; DERIVED: not an ADSL column
    levels: tuple[str, ...]  # allowed values in their order (ordinal: low to high); () = any
    min: float | None
    max: float | None
    label: str  # what a reader sees
    positions: Mapping[Role, int]  # position in each default list it belongs to
    subgroup_cut: float | None  # numeric subgroup split (None: at the median)
    nonnormal: bool  # Table 1: median (IQR) and a rank test
    categorical: bool  # an integer coded category (Table 1 counts its levels)
    encoding: str  # response models: numeric, log10, ordinal, binary ("" = by its values)


@dataclass(frozen=True)
class CovariateLists:
    """The covariates each patient-level analysis uses, in order."""

    table1: tuple[str, ...]
    cox: tuple[str, ...]
    psm: tuple[str, ...]
    subgroups: tuple[str, ...]


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


@cache
def catalogue() -> dict[str, Covariate]:
    """The catalogue, by column name, in file order."""
    out: dict[str, Covariate] = {}
    with CATALOGUE_FILE.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out[row["column"]] = Covariate(
                column=row["column"],
                kind=row["type"],
                levels=tuple(x for x in row["levels"].split("|") if x),
                min=_number(row["min"]),
                max=_number(row["max"]),
                label=row["label"],
                positions={r: int(row[r.value]) for r in Role if row[r.value].strip()},
                subgroup_cut=_number(row["subgroup_cut"]),
                nonnormal=row["nonnormal"] == "Y",
                categorical=row["categorical"] == "Y",
                encoding=row["encoding"],
            )
    return out


def default_list(role: Role) -> tuple[str, ...]:
    """The catalogue's default list for ``role``, by position."""
    members = [(c.positions[role], c.column) for c in catalogue().values() if role in c.positions]
    return tuple(name for _, name in sorted(members))


def parse_names(text: str) -> tuple[str, ...] | None:
    """A list parameter's value: None for "" (the data's defaults), () for "none", else the names."""
    if not text.strip():
        return None
    if text.strip().lower() == NONE_WORD:
        return ()
    return tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))


def columns() -> tuple[str, ...]:
    """The catalogue's ADSL columns (its derived features left out)."""
    return tuple(c.column for c in catalogue().values() if c.kind != DERIVED)


def unknown_names(names: Iterable[str], declared: Iterable[str] = ()) -> list[str]:
    """Names neither a catalogue column nor declared (patient.yml ``covariates``)."""
    known = {*columns(), *declared}
    return [n for n in names if n not in known]


def read_analyses(analyses: object, declared: Iterable[str] = ()) -> dict[Role, tuple[str, ...]]:
    """An ``analyses`` mapping (patient.yml ``analyses``, study.yml ``patient_analyses``): each
    analysis (table1, cox, psm, subgroups) to a list of known columns. Raises ValueError
    ``(field, message)`` naming the field at fault."""
    if analyses is None:
        return {}
    keys = ", ".join(ANALYSES_KEYS)
    if not isinstance(analyses, dict):
        raise ValueError("", f"must map analyses ({keys}) to lists of columns")
    out: dict[Role, tuple[str, ...]] = {}
    for key, names in analyses.items():
        if key not in ANALYSES_KEYS:
            raise ValueError(f".{key}", f"unknown analysis (known: {keys})")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError(f".{key}", "must be a list of column names")
        unknown = unknown_names(names, declared)
        if unknown:
            raise ValueError(
                f".{key}",
                f"unknown column '{unknown[0]}' (standard: {', '.join(columns())}; "
                "declare others under covariates in patient.yml)",
            )
        out[ANALYSES_KEYS[key]] = tuple(names)
    return out


def resolve_lists(
    declared: Mapping[str, Mapping],
    analyses: Mapping[Role, tuple[str, ...]] | None = None,
    chosen: Mapping[Role, tuple[str, ...] | None] | None = None,
    study: Mapping[Role, tuple[str, ...]] | None = None,
) -> CovariateLists:
    """Each analysis's list: the chapter parameter when set, else patient.yml's ``analyses``,
    else the study's (study.yml ``patient_analyses``), else the catalogue's default followed by
    every covariate patient.yml declares (categorical ones only as subgroups)."""

    def one(role: Role) -> tuple[str, ...]:
        if chosen and chosen.get(role) is not None:
            return tuple(chosen[role])
        if analyses and role in analyses:
            return tuple(analyses[role])
        if study and role in study:
            return tuple(study[role])
        extra = [c for c, spec in declared.items() if role != Role.SUBGROUP or spec["type"] == "categorical"]
        return (*default_list(role), *extra)

    return CovariateLists(one(Role.TABLE1), one(Role.COX), one(Role.PSM), one(Role.SUBGROUP))


def label(column: str, declared: Mapping[str, Mapping]) -> str:
    """A reader's name for a covariate: patient.yml's label, else the catalogue's, else the column."""
    if column in declared:
        return str(declared[column].get("label") or column)
    return catalogue()[column].label if column in catalogue() else column
