"""Pandera schemas of the extracted-data tables (see ``data/README.md``).

The schemas reject what cannot be a faithful extraction (wrong type, unknown category,
n > N, negative count, duplicate key, unknown arm, a parsed number absent from its printed
string). They never reject a printed inconsistency: that is a finding, not a load error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .textnumbers import number_term, spelled_numbers, split_terms
from .vocabulary import ENDPOINT_CODES

# pandas and pandera are imported where a schema is built: the tables' definitions (TABLES,
# TABLE_ORDER) are read by processes that never validate (reanalysis.data)
if TYPE_CHECKING:
    import pandas as pd
    import pandera.pandas as pa

LOCATION_RE = (
    r"^(Table \d+[A-Za-z]?|Figure \d+[A-Za-z]?|Abstract|Results(: .+)?|Discussion"
    r"|Methods(: .+)?|Conclusions?)$"
)
KEY_RE = r"^[a-z0-9_]+(\.[a-z0-9_]+)*$"
NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Col:
    """One column: its type, whether it may be empty, and its allowed values."""

    kind: str  # "str", "key", "arm", "int", "float", "pct", "location", "terms"
    required: bool = False
    allowed: tuple[str, ...] | None = None
    optional_column: bool = False  # the column itself may be absent from the file


DENOMINATOR = Col("int", optional_column=True)  # when a % is not of the arm N (e.g. of lesions)


STAT_KINDS = ("count", "mean_sd", "median_iqr", "median_range")
DOMAINS = (
    "baseline",
    "treatment",
    "response",
    "adverse_events",
    "survival",
    "followup",
    "interaction",
    "paired",
)
SURVIVAL_STATISTICS = (
    "median",
    "landmark",
    "events",
    "alive",
    "lost",
    "censored",
    "followup_median",
    "followup_range",
    "n",
)
INTERVALS = ("95% CI", "range", "IQR")  # lower/upper of a survival row; empty = 95% CI
NOT_REACHED_RE = r"(?i)\b(?:NR|not reached|not achieved|not yet reached)\b"
COMMON = {"printed": Col("str", True), "location": Col("location", True), "source": Col("str", True)}

TABLES: dict[str, dict[str, Col]] = {
    "baseline": {
        "key": Col("key", True),
        "variable": Col("str", True),
        "level": Col("str"),
        "arm": Col("arm", True),
        "stat": Col("str", True, STAT_KINDS),
        **COMMON,
        "n": Col("int"),
        "denominator": DENOMINATOR,
        "pct": Col("pct"),
        "mean": Col("float"),
        "sd": Col("float"),
        "median": Col("float"),
        "lower": Col("float"),
        "upper": Col("float"),
    },
    "response": {
        "key": Col("key", True),
        "criterion": Col("str", True),
        "category": Col("str", True, ("CR", "PR", "SD", "PD", "NE", "ORR", "DCR", "time_to_response")),
        "scope": Col("str", optional_column=True),  # e.g. "in-field"; empty = all lesions
        "arm": Col("arm", True),
        "stat": Col("str", True, STAT_KINDS),
        **COMMON,
        "n": Col("int"),
        "denominator": DENOMINATOR,
        "pct": Col("pct"),
        "median": Col("float"),
        "lower": Col("float"),
        "upper": Col("float"),
    },
    "adverse_events": {
        "key": Col("key", True),
        "term": Col("str", True),
        "grade_band": Col("str", True, ("any", "1", "2", "3", "4", "5", "3-4", ">=3")),
        "arm": Col("arm", True),
        **COMMON,
        "n": Col("int"),
        "denominator": DENOMINATOR,
        "pct": Col("pct"),
    },
    "survival": {
        "key": Col("key", True),
        "endpoint": Col("str", True, (*ENDPOINT_CODES, "followup")),
        "criterion": Col("str"),
        "subgroup": Col("str", optional_column=True),  # e.g. "AFP >= 400 ng/ml: yes"
        "arm": Col("arm"),  # empty only for a follow-up printed for all patients (SURVIVAL_ROWS)
        "statistic": Col("str", True, SURVIVAL_STATISTICS),
        "time": Col("float"),
        **COMMON,
        "value": Col("float"),  # empty only for a median not reached or a range (SURVIVAL_ROWS)
        "pct": Col("pct"),
        "lower": Col("float"),
        "upper": Col("float"),
        "interval": Col("str", allowed=INTERVALS, optional_column=True),  # what lower/upper are
    },
    "hazard_ratios": {
        "key": Col("key", True),
        "endpoint": Col("str", True, ENDPOINT_CODES),
        "model": Col("str", True, ("univariable", "multivariable", "psm")),
        "variable": Col("str", True),
        "subgroup": Col("str"),
        "comparison": Col("str", True),
        **COMMON,
        "hr": Col("float", True),
        "lower": Col("float"),
        "upper": Col("float"),
        "p_printed": Col("str"),
        "p": Col("float"),
    },
    "pvalues": {
        "key": Col("key", True),
        "domain": Col("str", True, DOMAINS),
        **COMMON,
        "relation": Col("str", True, ("=", "<", ">")),
        "p": Col("float", True),
        "test_named": Col("str"),
        "levels": Col("str"),
    },
    "restatements": {
        "key": Col("key", True),
        "statistic": Col("str", True, ("pct", "n", "p", "median", "hr", "lower", "upper", "value")),
        "arm": Col("arm"),
        **COMMON,
        "value": Col("float", True),
    },
    "text_sums": {  # an itemised list in the text against the total it adds up to (or bounds)
        "key": Col("key", True),
        "arm": Col("arm"),
        "relation": Col("str", True, ("=", "<=", ">=")),  # sum(items) <relation> total
        "total": Col("terms", True),  # one term: a key of a count, N (the arm's size) or a number
        "items": Col("terms", True),
        **COMMON,
    },
}

TABLES = {**TABLES, "treatment": dict(TABLES["baseline"])}
TABLE_ORDER = (
    "baseline",
    "treatment",
    "response",
    "adverse_events",
    "survival",
    "hazard_ratios",
    "pvalues",
    "restatements",
    "text_sums",
)

UNIQUE: dict[str, list[str]] = {
    "treatment": ["key", "arm"],
    "baseline": ["key", "arm"],
    "response": ["key", "arm"],
    "adverse_events": ["key", "arm"],
    "survival": ["key", "arm"],
    "hazard_ratios": ["key"],
    "pvalues": ["key"],
    "restatements": ["key", "statistic", "arm", "location"],
    "text_sums": ["key", "arm", "location"],
}

# Parsed columns whose value must appear among the numbers of the printed string.
PARSED = ("n", "pct", "mean", "sd", "median", "lower", "upper", "value", "hr", "p")


def _printed_numbers(text: str) -> list[float]:
    """The numbers of a printed string, in digits or spelled out ("seven patients")."""
    return [float(t) for t in NUMBER_RE.findall(str(text))] + [float(n) for n in spelled_numbers(text)]


def _parsed_in_printed(df: pd.DataFrame) -> pd.Series:
    """True where every parsed number of the row occurs in its printed string."""
    import pandas as pd

    cols = [c for c in PARSED if c in df.columns]
    if "printed" not in df.columns or not cols:
        return pd.Series(True, index=df.index)

    def row_ok(row: pd.Series) -> bool:
        numbers = _printed_numbers(row["printed"])
        for c in cols:
            v = row[c]
            if pd.isna(v) or (c == "p" and "p_printed" in row.index):
                continue
            candidates = [*numbers, *_printed_p(row["printed"])] if c == "p" else numbers
            if not any(abs(float(v) - x) < 1e-9 for x in candidates):
                return False
        return True

    return df.apply(row_ok, axis=1) if len(df) else pd.Series(dtype=bool)


def _printed_p(text: object) -> list[float]:
    """The p a printed string ends with, as :func:`reanalysis.printed.parse_p_text` reads it
    (``<.001`` → 0.001, ``1.2e-3`` → 0.0012), or none: the checks read it the same way."""
    from .printed import parse_p_text

    try:
        return [parse_p_text(str(text)).value]
    except ValueError:
        return []


def _is_printed_p(cell: object) -> bool:
    """An empty cell, or one :func:`reanalysis.printed.parse_p_text` reads as a p in [0, 1]."""
    from .printed import parse_p_text

    if not isinstance(cell, str):
        return True
    try:
        parse_p_text(cell)
    except ValueError:
        return False
    return True


def _terms_in_printed(df: pd.DataFrame) -> pd.Series:
    """True where every number among a text sum's total and items occurs in its printed string."""
    import pandas as pd

    def row_ok(row: pd.Series) -> bool:
        numbers = _printed_numbers(row["printed"])
        terms = split_terms(row["total"]) + split_terms(row["items"])
        values = [v for v in map(number_term, terms) if v is not None]
        return all(any(abs(v - x) < 1e-9 for x in numbers) for v in values)

    return df.apply(row_ok, axis=1) if len(df) else pd.Series(dtype=bool)


def _value_where_needed(df: pd.DataFrame) -> pd.Series:
    """A survival row needs its value unless it is a median printed as not reached (NR) or a
    range of follow-up (lower/upper only)."""
    nr = (df["statistic"] == "median") & df["printed"].astype(str).str.contains(NOT_REACHED_RE)
    ranged = (df["statistic"] == "followup_range") & df["lower"].notna() & df["upper"].notna()
    return df["value"].notna() | nr | ranged


def _column(name: str, col: Col, arms: dict[str, int | None]) -> pa.Column:
    import pandas as pd
    import pandera.pandas as pa

    checks: list[pa.Check] = []
    if col.allowed:
        checks.append(pa.Check.isin(col.allowed, error=f"must be one of {', '.join(col.allowed)}"))
    if col.kind == "key":
        checks.append(pa.Check.str_matches(KEY_RE, error="must be a snake_case dotted key"))
    if col.kind == "location":
        checks.append(
            pa.Check.str_matches(
                LOCATION_RE, error="must be 'Table N', 'Abstract', 'Results: …', 'Discussion', …"
            )
        )
    if col.kind == "arm":
        checks.append(
            pa.Check.isin(sorted(arms), error=f"unknown arm (study.yml declares {', '.join(sorted(arms))})")
        )
    if col.kind == "pct":
        checks.append(
            pa.Check.str_matches(r"^\d+(\.\d+)?$", error="must be the printed digits of a percentage")
        )
        checks.append(
            pa.Check(
                lambda s: pd.to_numeric(s, errors="coerce").fillna(0) <= 100,
                error="a percentage above 100",
            )
        )
    if col.kind in ("int", "float"):
        checks.append(pa.Check.ge(0, error="must not be negative"))
    dtype = {"int": "Int64", "float": "float64"}.get(col.kind, str)
    return pa.Column(
        dtype, nullable=not col.required, checks=checks, coerce=True, required=not col.optional_column
    )


def table_schema(table: str, arms: dict[str, int | None]) -> pa.DataFrameSchema:
    """The schema of one table for a study with the given arm sizes."""
    import pandera.pandas as pa

    cols = TABLES[table]
    df_checks: list[pa.Check] = []
    if "n" in cols:

        def n_le_arm(df: pd.DataFrame) -> pd.Series:
            size = df["arm"].map(arms).astype("Float64")
            if "denominator" in df:
                size = df["denominator"].astype("Float64").fillna(size)
            return (df["n"].isna() | size.isna() | (df["n"] <= size)).fillna(True).astype(bool)

        df_checks.append(pa.Check(n_le_arm, name="n", error="n is larger than its denominator (the arm's N)"))
    df_checks.append(
        pa.Check(
            _parsed_in_printed, name="printed", error="a parsed number does not occur in the printed string"
        )
    )
    if table == "survival":
        df_checks.append(
            pa.Check(
                _value_where_needed,
                name="value",
                error="value is empty: only a median printed as not reached (NR) or a followup_range may "
                "leave it empty",
            )
        )
        df_checks.append(
            pa.Check(
                lambda df: df["arm"].notna() | (df["endpoint"] == "followup"),
                name="arm",
                error="arm is empty: only a follow-up row (printed for all patients) may leave it empty",
            )
        )

        def events_le_arm(df: pd.DataFrame) -> pd.Series:
            size = df["arm"].map(arms).astype("Float64")
            counted = df["statistic"].isin(("events", "alive", "lost", "censored"))
            return (~counted | size.isna() | (df["value"] <= size)).fillna(True).astype(bool)

        def landmark_le_100(df: pd.DataFrame) -> pd.Series:
            return ((df["statistic"] != "landmark") | (df["value"] <= 100)).fillna(True).astype(bool)

        df_checks.append(
            pa.Check(events_le_arm, name="value", error="more events (or patients) than the arm's N")
        )
        df_checks.append(pa.Check(landmark_le_100, name="value", error="a landmark rate above 100%"))
    if table == "hazard_ratios":

        def p_is_a_p(df: pd.DataFrame) -> pd.Series:
            return df["p_printed"].map(_is_printed_p).astype(bool)

        df_checks.append(
            pa.Check(
                p_is_a_p,
                name="p_printed",
                error="not a printed p-value (e.g. 'P = 0.017', '< 0.001'; leave empty when none is printed)",
            )
        )
    if table == "pvalues":

        def relation_printed(df: pd.DataFrame) -> pd.Series:
            has_lt = df["printed"].str.contains("<")
            has_gt = df["printed"].str.contains(">")
            return ((df["relation"] == "<") == has_lt) & ((df["relation"] == ">") == has_gt)

        df_checks.append(
            pa.Check(relation_printed, name="relation", error="relation does not match the printed string")
        )
    if table == "text_sums":
        df_checks.append(
            pa.Check(
                _terms_in_printed,
                name="items",
                error="a number among total/items does not occur in the printed string",
            )
        )
    return pa.DataFrameSchema(
        {name: _column(name, col, arms) for name, col in cols.items()},
        checks=df_checks,
        unique=UNIQUE[table],
        strict=True,
        ordered=False,
        name=table,
    )


KIND_DOC = {
    "str": "text",
    "key": f"text matching {KEY_RE}",
    "arm": "an arm id declared in study.yml",
    "int": "whole number >= 0",
    "float": "number >= 0",
    "pct": "the printed digits of a percentage, e.g. 94.60",
    "location": "where it was printed: 'Table N', 'Figure N', 'Abstract', 'Results: …', 'Discussion', …",
    "terms": "';'-separated terms: keys of counts, N (the arm's size) or numbers that occur in printed",
}


def describe() -> dict[str, dict]:
    """Every table's columns as plain data (type, required, allowed values, unique key), for
    people and programs that read the extracted data without this package."""
    return {
        table: {
            "unique": UNIQUE[table],
            "columns": {
                name: {
                    "type": col.kind,
                    "meaning": KIND_DOC[col.kind],
                    "required": col.required,
                    "column_optional": col.optional_column,
                    **({"allowed": list(col.allowed)} if col.allowed else {}),
                }
                for name, col in TABLES[table].items()
            },
        }
        for table in TABLE_ORDER
    }
