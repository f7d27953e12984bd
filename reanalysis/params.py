"""Chapter parameters: names, types, allowed values and defaults, validated before any kernel starts.

This module is the one place defaults live: ``book/chapters.yml`` holds only the values a
chapter sets differently (its ``study_id``), and every template's ``parameters`` cell declares
the same defaults (``tests/test_params.py`` pins that). Which parameters a chapter takes is
what its template declares (:func:`reanalysis.pipeline.chapter_specs`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ParameterError
from .vocabulary import CI_METHODS, WEIGHTINGS
from .vocabulary import TEST_RULES as RULES

DEFAULT_CRITERION = "mRECIST"


@dataclass(frozen=True)
class Param:
    """One chapter parameter."""

    name: str
    type: type
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    check: Callable[[Any], str | None] | None = None  # returns a complaint or None


def _known_studies(text: str) -> str | None:
    from .data import list_studies

    known = list_studies()
    unknown = [s.strip() for s in text.split(",") if s.strip() and s.strip() not in known]
    return f"names unknown study '{unknown[0]}' (known: {', '.join(known)})" if unknown else None


def _study_id(x: str) -> str | None:
    from .data import study_id_problem

    if x == "" or study_id_problem(x) is None:
        return None
    return "must be a study id (lowercase letters, digits and '_'; never a path)"


def _patient_source(x: str) -> str | None:
    from pathlib import Path

    if x in ("synthetic", "none") or Path(x).is_dir():
        return None
    return "must be 'synthetic', 'none' or a folder of patient-level CSVs (adsl.csv, adtte.csv, …)"


def _names(x: str) -> str | None:
    """A covariate list: "" (the data's default), "none", or comma-separated column names."""
    from .patient.covariates import NONE_WORD

    names = [n.strip() for n in x.split(",")]
    if x.strip() in ("", NONE_WORD) or all(n.isidentifier() for n in names):
        return None
    return f"must be '', '{NONE_WORD}' or comma-separated column names (such as AGE,SEX)"


COVARIATE_HELP = (
    "comma-separated ADSL columns (standard: reanalysis/rules/patient_covariates.csv; others "
    "declared in patient.yml); '' = the data's default (patient.yml `analyses`, else the "
    "catalogue's), 'none' = no covariate"
)


def _open_unit(x: float) -> str | None:
    return None if 0 < x < 1 else "must lie strictly between 0 and 1"


STUDY_PARAMS: dict[str, Param] = {
    p.name: p
    for p in (
        Param("study_id", str, "", "study folder under data/ (an id, never a path)", check=_study_id),
        Param(
            "criterion",
            str,
            DEFAULT_CRITERION,
            "response criterion shown in the response and PFS sections "
            "(RECIST, RECIST 1.1 or mRECIST; one the study reports; a study that states none "
            "takes only the default)",
        ),
        Param(
            "test_rule",
            str,
            "gtsummary",
            "which test the recomputed p uses: gtsummary (Fisher when "
            "an expected count < 5, else Pearson), paper (the test the paper named), reproduce "
            "(whichever test reproduces the printed p)",
            choices=RULES,
        ),
        Param(
            "alpha", float, 0.05, "significance level; confidence intervals are 1 - alpha", check=_open_unit
        ),
        Param("ci_method", str, "wilson", "confidence interval for a proportion", choices=CI_METHODS),
        Param(
            "seed",
            int,
            0,
            "seed of the survival reconstruction (pseudo patient data)",
            check=lambda x: None if x >= 0 else "must not be negative",
        ),
        Param(
            "n_replicates",
            int,
            200,
            "reconstruction replicates for the spread of HR and p",
            check=lambda x: None if 20 <= x <= 20000 else "must lie between 20 and 20000",
        ),
        Param(
            "weighting",
            str,
            "auto",
            "test comparing reconstructed arms: auto (the paper's: "
            "Breslow/Wilcoxon if it names one, else log-rank), logrank, wilcoxon, tarone-ware",
            choices=("auto", *WEIGHTINGS),
        ),
        Param(
            "patient_data",
            str,
            "none",
            "patient-level section: 'none' (evidence chapters), a folder in the patient schema, or "
            "'synthetic' (a labelled cohort generated from the published aggregates: the worked example)",
            check=_patient_source,
        ),
        Param(
            "table1_variables", str, "", "patient-level Table 1 variables: " + COVARIATE_HELP, check=_names
        ),
        Param(
            "cox_covariates",
            str,
            "",
            "candidate covariates of the Cox models: " + COVARIATE_HELP,
            check=_names,
        ),
        Param(
            "psm_covariates", str, "", "propensity-score model covariates: " + COVARIATE_HELP, check=_names
        ),
        Param(
            "subgroup_variables",
            str,
            "",
            "subgroup variables (numeric ones split at the catalogue's cut, else the median): "
            + COVARIATE_HELP,
            check=_names,
        ),
        Param(
            "alpha_beta",
            float,
            10.0,
            "α/β ratio (Gy) of the linear-quadratic model for BED checks",
            check=lambda x: None if x > 0 else "must be positive",
        ),
    )
}


def coerce(spec: Param, value: Any, where: str) -> Any:
    """Convert a value (possibly a command-line string) to the parameter's type."""
    if isinstance(value, str) and spec.type is bool:
        if value.lower() not in ("true", "false"):
            raise ParameterError(f"{where}: parameter '{spec.name}' must be true or false, got '{value}'")
        value = value.lower() == "true"
    if isinstance(value, str) and spec.type is not str:
        try:
            value = spec.type(value)
        except ValueError:
            raise ParameterError(
                f"{where}: parameter '{spec.name}' must be a {spec.type.__name__}, got '{value}'"
            ) from None
    if spec.type is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, spec.type) or isinstance(value, bool) != (spec.type is bool):
        raise ParameterError(
            f"{where}: parameter '{spec.name}' must be a {spec.type.__name__}, "
            f"got {type(value).__name__} {value!r}"
        )
    if spec.choices and value not in spec.choices:
        raise ParameterError(
            f"{where}: parameter '{spec.name}' must be one of "
            f"{', '.join(map(str, spec.choices))}, got {value!r}"
        )
    if spec.check and (complaint := spec.check(value)):
        raise ParameterError(f"{where}: parameter '{spec.name}' {complaint}, got {value!r}")
    return value


def validate(
    params: Mapping[str, Any], specs: Mapping[str, Param] = STUDY_PARAMS, where: str = "parameters"
) -> dict[str, Any]:
    """Defaults overlaid with ``params``, each checked by name, type and range.

    A name outside ``specs`` is refused, saying whether it is a parameter at all or one that
    does not apply here (e.g. ``criterion`` for the audit chapter), and listing ``specs``.
    """
    unknown = sorted(set(params) - set(specs))
    if unknown:
        name, takes = unknown[0], ", ".join(specs) or "none"
        if any(name in s for s in PARAM_SETS.values()):
            raise ParameterError(f"{where}: parameter '{name}' does not apply here (its parameters: {takes})")
        raise ParameterError(f"{where}: unknown parameter '{name}' (its parameters: {takes})")
    out = {name: spec.default for name, spec in specs.items()}
    for name, value in params.items():
        out[name] = coerce(specs[name], value, where)
    _check_covariate_names(out, where)
    return out


def _check_covariate_names(values: Mapping[str, Any], where: str) -> None:
    """Every name in a covariate list is a standard column or one the patient folder's
    patient.yml declares (a typo stops here, before any kernel starts)."""
    from pathlib import Path

    from .patient.covariates import ROLE_PARAMS, columns, parse_names, unknown_names

    lists = {n: parse_names(values[n]) for n in ROLE_PARAMS.values() if values.get(n)}
    if not any(lists.values()):
        return
    declared: dict = {}
    folder = values.get("patient_data", "")
    if folder not in ("", "none", "synthetic") and (Path(folder) / "patient.yml").is_file():
        from .patient.schema import load_patient_meta

        declared = load_patient_meta(Path(folder))["covariates"]
    for name, names in lists.items():
        unknown = unknown_names(names or (), declared)
        if unknown:
            known = ", ".join([*columns(), *declared])
            raise ParameterError(
                f"{where}: parameter '{name}' names unknown column '{unknown[0]}' (known: {known})"
            )


def subset(specs: Mapping[str, Param], names: Iterable[str]) -> dict[str, Param]:
    """The specs named in ``names``, in the order of ``specs``."""
    wanted = set(names)
    return {n: spec for n, spec in specs.items() if n in wanted}


def parse_assignments(items: list[str], where: str = "command line") -> dict[str, str]:
    """``["criterion=RECIST", "alpha=0.01"]`` → dict, with a clear error on bad syntax."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"{where}: expected NAME=VALUE, got '{item}'")
        out[name.strip()] = value.strip()
    return out


SYNTHESIS_PARAMS: dict[str, Param] = {
    p.name: p
    for p in (
        Param(
            "estimator",
            str,
            "auto",
            "between-study variance: auto (REML, with the Hartung-Knapp-Sidik-Jonkman CI below 5 "
            "studies), DL (DerSimonian-Laird), PM (Paule-Mandel), REML, FE (fixed effect)",
            choices=("auto", "DL", "PM", "REML", "FE"),
        ),
        Param(
            "criterion",
            str,
            DEFAULT_CRITERION,
            "response criterion pooled (RECIST 1.1 or mRECIST; at least one included study must report it)",
        ),
        Param(
            "include",
            str,
            "",
            "comma-separated study ids to include (empty: every study)",
            check=_known_studies,
        ),
        Param(
            "continuity",
            float,
            0.5,
            "continuity correction for 0 or n events (proportions)",
            check=lambda x: None if 0 <= x <= 1 else "must lie between 0 and 1",
        ),
        Param("alpha", float, 0.05, "1 - confidence level of pooled intervals", check=_open_unit),
        Param(
            "pool_across_comparators",
            bool,
            False,
            "pool hazard ratios against different control arms (off: only comparable controls are pooled)",
        ),
    )
}
PARAM_SETS = {"study": STUDY_PARAMS, "synthesis": SYNTHESIS_PARAMS}
# what `python -m reanalysis checks` takes: the parameters checks.run_checks uses (its
# ci_method is unused: the checks compute no confidence interval of a proportion)
CHECKS_PARAMS = subset(STUDY_PARAMS, ("test_rule", "alpha", "alpha_beta"))
