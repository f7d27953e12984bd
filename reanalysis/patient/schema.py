"""Patient-level data: CDISC ADaM-style tables, their pandera schemas and the folder loader.

A patient-data folder holds ``adsl.csv`` (one row per subject), ``adtte.csv`` (time to event),
and optionally ``adrs.csv`` (best overall response) and ``adae.csv`` (adverse events), plus an
optional ``patient.yml`` (``synthetic``, ``note``, ``source``, ``notes``; ``arms``: ids with
labels in comparison order; ``reference_arm``; ``covariates``: extra ADSL columns with their
``type``, ``levels`` and ``label``). Column names follow ADaM where a standard name exists
(USUBJID, ARM, PARAMCD, AVAL, CNSR, AVALC, AETERM, AETOXGR); the standard baseline
covariates (today the HCC ones the seed papers report) come from the catalogue
``reanalysis/rules/patient_covariates.csv`` (:mod:`.covariates`) and are all
optional. CNSR follows ADaM: 0 = event, 1 = censored.

Only USUBJID and ARM (ADSL) and the endpoints (ADTTE) are required. Every CSV is read as
text, stripped, then typed and checked by pandera; R's ``write.csv`` output works as it is
(quoted cells, a row-name column, ``NA`` for missing). Baseline covariates may be empty (not
recorded); identifiers, arms and outcomes may not. Any violation raises
:class:`~reanalysis.errors.DataError` naming file, CSV line (header = line 1) and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import yaml

from ..data import line_of, read_csv_text
from ..errors import DataError
from ..vocabulary import ENDPOINT_CODES, RESPONSE_CRITERIA
from .covariates import DERIVED, Role, catalogue, read_analyses

__all__ = [
    "CRITERIA",
    "FILES",
    "PARAMCDS",
    "RESPONSES",
    "TABLES",
    "PatientData",
    "load_patient_data",
    "patient_schema",
    "validate_frame",
]

PARAMCDS = ENDPOINT_CODES  # reanalysis.vocabulary.ENDPOINTS: one list for every table
CRITERIA = RESPONSE_CRITERIA
RESPONSES = ("CR", "PR", "SD", "PD", "NE")
FILES = {"adsl": "adsl.csv", "adtte": "adtte.csv", "adrs": "adrs.csv", "adae": "adae.csv"}
OPTIONAL_TABLES = ("adrs", "adae")
META_FILE = "patient.yml"


@dataclass(frozen=True)
class PCol:
    """One patient-level column: type, emptiness, allowed values or range, presence."""

    kind: str  # "str", "float", "int"
    nullable: bool = True
    allowed: tuple[str, ...] | None = None
    ge: float | None = None
    le: float | None = None
    optional_column: bool = False  # the column itself may be absent from the file
    unique: bool = False


TABLES: dict[str, dict[str, PCol]] = {
    "adsl": {
        "USUBJID": PCol("str", nullable=False, unique=True),
        "ARM": PCol("str", nullable=False),
        **{
            c.column: PCol(c.kind, allowed=c.levels or None, ge=c.min, le=c.max, optional_column=True)
            for c in catalogue().values()
            if c.kind != DERIVED
        },
    },
    "adtte": {
        "USUBJID": PCol("str", nullable=False),
        "ARM": PCol("str", optional_column=True),
        "PARAMCD": PCol("str", nullable=False, allowed=PARAMCDS),
        "AVAL": PCol("float", nullable=False, ge=0),
        "CNSR": PCol("int", nullable=False, ge=0, le=1),
    },
    "adrs": {
        "USUBJID": PCol("str", nullable=False),
        "ARM": PCol("str", optional_column=True),
        "CRITERION": PCol("str", nullable=False, allowed=CRITERIA),
        "AVALC": PCol("str", nullable=False, allowed=RESPONSES),
    },
    "adae": {
        "USUBJID": PCol("str", nullable=False),
        "ARM": PCol("str", optional_column=True),
        "AETERM": PCol("str", nullable=False),
        "AETOXGR": PCol("int", nullable=False, ge=1, le=5),
    },
}

UNIQUE: dict[str, list[str] | None] = {
    "adsl": None,  # USUBJID is unique by its column check
    "adtte": ["USUBJID", "PARAMCD"],
    "adrs": ["USUBJID", "CRITERION"],
    "adae": None,  # several rows per subject (and term) are allowed
}

_DTYPES = {"str": str, "float": "float64", "int": "Int64"}
_KIND_WORDS = {"str": "text", "float": "a number", "int": "a whole number"}


@dataclass
class PatientData:
    """The four patient-level tables of one cohort (adrs/adae None when absent).

    ``synthetic`` is True for a cohort generated from published aggregates; its ``note`` says
    so and must be shown wherever results from it are shown. ``notes`` records how each
    variable was generated (or why it was left empty).
    """

    adsl: pd.DataFrame
    adtte: pd.DataFrame
    adrs: pd.DataFrame | None = None
    adae: pd.DataFrame | None = None
    synthetic: bool = False
    note: str = ""
    source: str = ""
    notes: list[str] = field(default_factory=list)
    arm_labels: dict[str, str] = field(default_factory=dict)  # patient.yml `arms`, in its order
    reference_arm: str | None = None  # patient.yml `reference_arm`
    covariates: dict[str, dict] = field(default_factory=dict)  # patient.yml `covariates`
    analyses: dict[Role, tuple[str, ...]] = field(default_factory=dict)  # patient.yml `analyses`

    @property
    def arms(self) -> list[str]:
        """Arm ids in patient.yml's order, else in order of first appearance in ADSL."""
        return [a for a in self.arm_labels if a in set(self.adsl["ARM"])] or list(
            dict.fromkeys(self.adsl["ARM"])
        )

    @property
    def reference(self) -> str:
        """The reference (control) arm: patient.yml's, else the first arm in sorted order (R's
        default factor level)."""
        return self.reference_arm or sorted(self.arms)[0]

    def label(self, arm: str) -> str:
        return self.arm_labels.get(arm) or arm

    def table(self, name: str) -> pd.DataFrame | None:
        if name not in FILES:
            raise ValueError(f"unknown table '{name}' (known: {', '.join(FILES)})")
        return getattr(self, name)


def _column(col: PCol) -> pa.Column:
    checks: list[pa.Check] = []
    if col.allowed:
        checks.append(pa.Check.isin(col.allowed, error=f"must be one of {', '.join(col.allowed)}"))
    if col.ge is not None:
        checks.append(pa.Check.ge(col.ge, error=f"must be at least {col.ge:g}"))
    if col.le is not None:
        checks.append(pa.Check.le(col.le, error=f"must be at most {col.le:g}"))
    return pa.Column(
        _DTYPES[col.kind],
        nullable=col.nullable,
        unique=col.unique,
        checks=checks,
        coerce=True,
        required=not col.optional_column,
    )


def patient_schema(table: str, extra: dict[str, PCol] | None = None) -> pa.DataFrameSchema:
    """The pandera schema of one patient-level table (plus declared ``extra`` columns)."""
    if table not in TABLES:
        raise ValueError(f"unknown table '{table}' (known: {', '.join(TABLES)})")
    return pa.DataFrameSchema(
        {name: _column(col) for name, col in {**TABLES[table], **(extra or {})}.items()},
        unique=UNIQUE[table],
        strict=True,
        ordered=False,
        name=table,
    )


def _message(table: str, case: pd.Series, spec: dict[str, PCol]) -> tuple[str | None, str]:
    """(column, message) for one pandera failure case, in words a data manager understands."""
    check = str(case.get("check"))
    column = case.get("column")
    column = column if isinstance(column, str) and column in spec else None
    value = case.get("failure_case")
    if "uniqueness" in check:
        keys = UNIQUE[table] or [column or "USUBJID"]
        return keys[0], f"duplicate {' + '.join(keys)} (value: {value})"
    if check.startswith("coerce_dtype") or check.startswith("dtype"):
        kind = spec[column].kind if column else "str"
        return column, f"cannot be read as {_KIND_WORDS[kind]} (value: {value})"
    if check == "not_nullable":
        return column, "must not be empty"
    return column, f"{check} (value: {value})"


def _schema_error(
    name: str, table: str, exc: pa.errors.SchemaErrors, spec: dict[str, PCol], raw: pd.DataFrame
) -> DataError:
    fc = exc.failure_cases.copy()
    entries = []
    for _, case in fc.iterrows():
        row = line_of(raw, case.get("index"))  # the file's line, blank lines and multi-line cells counted
        column, msg = _message(table, case, spec)
        entries.append((row, column, msg))
    entries = list(dict.fromkeys(entries))
    # a column that failed to coerce also fails its range checks as a whole: report the cells only
    located = {c for r, c, _ in entries if r is not None}
    entries = [e for e in entries if e[0] is not None or e[1] not in located]
    return DataError.from_entries(name, entries)


def validate_frame(
    raw: pd.DataFrame, table: str, name: str | None = None, extra: dict[str, PCol] | None = None
) -> pd.DataFrame:
    """Check columns, then type and validate one table (a frame of text, empty cells as NaN).

    ``name`` is the file named in errors (default ``<table>.csv``); ``extra`` are the columns
    patient.yml declares. Returns the typed frame with the table's columns in schema order
    (optional columns that are absent are added empty), then the declared ones.
    """
    name = name or FILES[table]
    spec = {**TABLES[table], **(extra or {})}
    missing = [c for c, col in spec.items() if c not in raw.columns and not col.optional_column]
    if missing:
        raise DataError(
            name, f"missing required column (required: {', '.join(_required(table))})", column=missing[0]
        )
    unknown = [c for c in raw.columns if c not in spec]
    if unknown:
        raise DataError(
            name,
            f"unknown column (known: {', '.join(spec)}; declare other covariates in {META_FILE})",
            column=str(unknown[0]),
        )
    lines = raw.attrs.get("lines")  # the file line of each row (read_csv_text), for messages
    raw = raw.reset_index(drop=True)
    raw.attrs["lines"] = lines
    try:
        out = patient_schema(table, {c: spec[c] for c in spec if c not in TABLES[table]}).validate(
            raw, lazy=True
        )
    except pa.errors.SchemaErrors as exc:
        raise _schema_error(name, table, exc, spec, raw) from None
    for c, col in spec.items():
        if c in out.columns and col.kind == "str":
            out[c] = out[c].where(out[c].notna(), np.nan)  # one missing marker (None and NaN alike)
        if c not in out.columns:
            out[c] = pd.Series(
                np.nan, index=out.index, dtype=_DTYPES[col.kind] if col.kind != "str" else object
            )
    out = out[list(spec)]
    out.attrs["lines"] = lines
    return out


def _required(table: str) -> list[str]:
    return [c for c, col in TABLES[table].items() if not col.optional_column]


MISSING = ("NA",)  # R's write.csv marks a missing value NA (an empty cell is missing too)


def _read_csv(path: Path, name: str) -> pd.DataFrame:
    """A CSV as text; R's row-name column (unnamed, 1..n) is dropped and ``NA`` is missing."""
    raw = read_csv_text(path, name)
    first = str(raw.columns[0]) if len(raw.columns) else ""
    if first == "" or first.startswith("Unnamed: 0"):
        rows = [str(i) for i in range(1, len(raw) + 1)]
        if raw.iloc[:, 0].astype(str).tolist() == rows or raw.iloc[:, 0].isna().all():
            raw = raw.iloc[:, 1:]
    return raw.mask(raw.isin(MISSING))


def _check_links(data: PatientData, names: dict[str, str]) -> None:
    """Subjects of the other tables must exist in ADSL; an ARM they carry must agree with it."""
    arm_of = dict(zip(data.adsl["USUBJID"], data.adsl["ARM"], strict=True))
    arms = sorted(set(arm_of.values()))
    for table in ("adtte", "adrs", "adae"):
        frame = data.table(table)
        if frame is None:
            continue
        for idx, sid in frame["USUBJID"].items():
            if sid not in arm_of:
                raise DataError(
                    names[table],
                    f"subject '{sid}' is not in adsl.csv",
                    row=line_of(frame, idx),
                    column="USUBJID",
                )
        for idx, (sid, arm) in frame[["USUBJID", "ARM"]].iterrows():
            if pd.isna(arm):
                continue
            if arm not in arms:
                raise DataError(
                    names[table],
                    f"unknown arm '{arm}' (adsl.csv has {', '.join(arms)})",
                    row=line_of(frame, idx),
                    column="ARM",
                )
            if arm != arm_of[sid]:
                raise DataError(
                    names[table],
                    f"arm '{arm}' of subject '{sid}' differs from adsl.csv ('{arm_of[sid]}')",
                    row=line_of(frame, idx),
                    column="ARM",
                )


COVARIATE_TYPES = ("numeric", "categorical")


def _read_meta(path: Path, name: str) -> dict:
    """patient.yml, checked: every problem names the field."""
    try:
        meta = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DataError(name, f"not readable as UTF-8 YAML ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(meta, dict):
        raise DataError(name, "must be a mapping")
    known = {"synthetic", "note", "source", "notes", "arms", "reference_arm", "covariates", "analyses"}
    extra = sorted(set(meta) - known)
    if extra:
        raise DataError(name, f"unknown field (known: {', '.join(sorted(known))})", column=extra[0])
    if not isinstance(meta.get("synthetic", False), bool):
        raise DataError(name, "must be true or false", column="synthetic")
    if not isinstance(meta.get("notes", []), list):
        raise DataError(name, "must be a list of strings", column="notes")
    meta["arms"] = _meta_arms(meta.get("arms"), name)
    ref = meta.get("reference_arm")
    if ref is not None and (not isinstance(ref, str) or (meta["arms"] and ref not in meta["arms"])):
        raise DataError(name, f"must be one of the arms ({', '.join(meta['arms'])})", column="reference_arm")
    meta["covariates"] = _meta_covariates(meta.get("covariates"), name)
    meta["analyses"] = _meta_analyses(meta.get("analyses"), meta["covariates"], name)
    return meta


def _meta_analyses(analyses: object, declared: dict[str, dict], name: str) -> dict[Role, tuple[str, ...]]:
    """``analyses``: the covariate list of each analysis (``table1``, ``cox``, ``psm``,
    ``subgroups``), each a list of standard or declared columns; an analysis not named keeps
    its default."""
    try:
        return read_analyses(analyses, declared)
    except ValueError as exc:
        field, message = exc.args
        raise DataError(name, message, column=f"analyses{field}") from None


def _meta_arms(arms: object, name: str) -> dict[str, str]:
    """``arms``: a list of ids, of ``{id, label}``, or a mapping id → label; in comparison order."""
    out: dict[str, str] = {}
    items = list(arms.items()) if isinstance(arms, dict) else arms
    if items is None:
        return out
    if not isinstance(items, list):
        raise DataError(name, "must be a list of {id, label} or a mapping id: label", column="arms")
    for item in items:
        if isinstance(item, tuple):
            arm, label = item
        elif isinstance(item, dict) and "id" in item:
            arm, label = item["id"], item.get("label", item["id"])
        elif isinstance(item, str | int):
            arm, label = item, item
        else:
            raise DataError(name, f"cannot read arm {item!r}: expected {{id, label}}", column="arms")
        out[str(arm)] = str(label)
    return out


def _meta_covariates(covariates: object, name: str) -> dict[str, dict]:
    """``covariates``: extra ADSL columns, each ``{type: numeric|categorical, levels, label}``."""
    if covariates is None:
        return {}
    if not isinstance(covariates, dict):
        raise DataError(name, "must map a column name to {type, levels, label}", column="covariates")
    out = {}
    for col, spec in covariates.items():
        spec = spec or {}
        where = f"covariates.{col}"
        if str(col) in TABLES["adsl"]:
            raise DataError(name, f"'{col}' is a standard ADSL column: it needs no declaration", column=where)
        if not isinstance(spec, dict) or spec.get("type") not in COVARIATE_TYPES:
            raise DataError(name, f"needs type: {' or '.join(COVARIATE_TYPES)}", column=where)
        levels = spec.get("levels")
        if levels is not None and (spec["type"] != "categorical" or not isinstance(levels, list)):
            raise DataError(name, "levels: a list, for a categorical covariate only", column=where)
        out[str(col)] = {
            "type": spec["type"],
            "levels": [str(x) for x in levels] if levels else None,
            "label": str(spec.get("label") or col),
        }
    return out


def _declared_columns(covariates: dict[str, dict]) -> dict[str, PCol]:
    """The schema columns of the covariates patient.yml declares."""
    return {
        col: PCol("float")
        if spec["type"] == "numeric"
        else PCol("str", allowed=tuple(spec["levels"] or ()) or None)
        for col, spec in covariates.items()
    }


def load_patient_meta(folder: Path) -> dict:
    """The folder's patient.yml, checked (empty lists when there is none)."""
    if (folder / META_FILE).is_file():
        return _read_meta(folder / META_FILE, str(folder / META_FILE))
    return {"arms": {}, "covariates": {}, "analyses": {}}


def load_patient_data(folder: Path | str) -> PatientData:
    """Load and validate a patient-data folder (adsl.csv and adtte.csv required)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(str(folder), "patient-data folder not found")
    meta = load_patient_meta(folder)
    declared = _declared_columns(meta["covariates"])
    frames: dict[str, pd.DataFrame | None] = {}
    names = {t: str(folder / f) for t, f in FILES.items()}
    for table, fname in FILES.items():
        path = folder / fname
        if not path.is_file():
            if table in OPTIONAL_TABLES:
                frames[table] = None
                continue
            raise DataError(
                names[table], f"missing file (a patient-data folder needs {', '.join(_needed())})"
            )
        extra = declared if table == "adsl" else None
        frames[table] = validate_frame(_read_csv(path, names[table]), table, names[table], extra)
    data = PatientData(
        adsl=frames["adsl"],
        adtte=frames["adtte"],
        adrs=frames["adrs"],
        adae=frames["adae"],
        synthetic=bool(meta.get("synthetic", False)),
        note=str(meta.get("note", "")),
        source=str(meta.get("source", "") or folder.name),
        notes=[str(x) for x in meta.get("notes", [])],
        arm_labels=meta["arms"],
        reference_arm=meta.get("reference_arm"),
        covariates=meta["covariates"],
        analyses=meta["analyses"],
    )
    if data.adsl.empty:
        raise DataError(names["adsl"], "no subjects: expected one row per subject")
    if meta["arms"]:
        for idx, arm in data.adsl["ARM"].items():
            if arm not in meta["arms"]:
                raise DataError(
                    names["adsl"],
                    f"unknown arm '{arm}' ({META_FILE} lists {', '.join(meta['arms'])})",
                    row=line_of(data.adsl, idx),
                    column="ARM",
                )
    _check_links(data, names)
    return data


def _needed() -> list[str]:
    return [f for t, f in FILES.items() if t not in OPTIONAL_TABLES]
