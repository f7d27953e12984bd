"""Chapter parameters: validated by name, type and range before any kernel starts."""

from __future__ import annotations

import inspect
import time

import nbformat
import pytest

from reanalysis import params as P
from reanalysis import pipeline
from reanalysis.checks import run_checks
from reanalysis.cli import main
from reanalysis.data import load_study
from reanalysis.errors import ParameterError
from reanalysis.pipeline import resolve_parameters


def test_defaults_and_coercion():
    v = P.validate({"alpha": "0.01", "criterion": "RECIST"})
    assert v["alpha"] == 0.01 and isinstance(v["alpha"], float)
    assert v["test_rule"] == "gtsummary"


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ({"criterio": "RECIST"}, "unknown parameter 'criterio' (its parameters: study_id, criterion,"),
        ({"alpha": "lots"}, "'alpha' must be a float, got 'lots'"),
        ({"alpha": 1.5}, "'alpha' must lie strictly between 0 and 1"),
        ({"alpha": 0}, "'alpha' must lie strictly between 0 and 1"),
        ({"test_rule": "bayes"}, "'test_rule' must be one of gtsummary, paper, reproduce"),
        ({"ci_method": "exact"}, "'ci_method' must be one of wilson, clopper-pearson"),
        ({"criterion": 3}, "'criterion' must be a str"),
    ],
)
def test_bad_parameters(given, fragment):
    with pytest.raises(ParameterError, match=fragment.replace("(", r"\(")):
        P.validate(given)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("RECIST", "RECIST 1.1"),
        ("recist 1.1", "RECIST 1.1"),
        ("mRECIST", "mRECIST"),
        ("MRECIST", "mRECIST"),
    ],
)
def test_criterion_names(li2022, value, expected):
    assert li2022.resolve_criterion(value) == expected


@pytest.mark.parametrize("value", ["iRECIST", "RECIST 1.0", "", "not stated"])
def test_unknown_criterion_names_the_parameter_and_the_study_s_criteria(li2022, value):
    with pytest.raises(ParameterError) as exc:
        li2022.resolve_criterion(value)
    assert str(exc.value) == (
        f"parameter 'criterion': {value!r} is not a response criterion of study 'li2022' "
        "(it reports RECIST 1.1, mRECIST; RECIST stands for RECIST 1.1)"
    )
    assert li2022.match_criterion(value) is None


def test_a_study_stating_no_criterion_takes_only_the_default():
    """multicentre2026 prints its ORR under "not stated": the default shows it, nothing else does."""
    study = load_study("multicentre2026")
    assert study.criteria == ["not stated"]
    assert study.resolve_criterion(P.DEFAULT_CRITERION) == "not stated"
    assert study.resolve_criterion("Not Stated") == "not stated"
    assert study.match_criterion(P.DEFAULT_CRITERION) is None  # the synthesis does not pool it
    with pytest.raises(ParameterError, match="'multicentre2026' does not state its response criterion"):
        study.resolve_criterion("RECIST")
    assert resolve_parameters("multicentre2026")["criterion"] == "not stated"


def test_resolve_parameters_from_chapters_yml():
    v = resolve_parameters("li2022", {"criterion": "RECIST"})
    assert v["study_id"] == "li2022" and v["criterion"] == "RECIST 1.1"
    with pytest.raises(ParameterError, match="unknown chapter 'nope'"):
        resolve_parameters("nope")
    with pytest.raises(ParameterError, match="no study 'ghost'"):
        resolve_parameters("li2022", {"study_id": "ghost"})


@pytest.mark.parametrize(
    "argv",
    [
        ["execute", "li2022", "-p", "alpha=2"],
        ["execute", "li2022", "-p", "colour=blue"],
        ["execute", "li2022", "-p", "criterion"],
        ["execute", "nope"],
        ["build", "-p", "li2022.alpha=x"],
        ["build", "-p", "alpha=0.1"],
        ["validate", "ghost"],
        ["execute", "audit", "-p", "criterion=RECIST"],
        ["execute", "li2022", "-p", "criterion=iRECIST"],
        ["execute", "synthesis", "-p", "criterion=iRECIST"],
        ["checks", "li2022", "-p", "ci_method=clopper-pearson"],
        ["replicates", "li2022", "PFS", "--criterion", "iRECIST"],
        ["execute", "li2022", "-p", "cox_covariates=AGE,NOTACOLUMN"],
        ["execute", "patient_demo", "-p", "subgroup_variables=AGE;SEX"],
        ["execute", "li2022", "-p", "table1_variables=RT"],  # a derived feature, not a column
    ],
)
def test_cli_rejects_bad_input_quickly(argv, capsys):
    start = time.perf_counter()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.splitlines()) <= 3
    assert time.perf_counter() - start < 5, "must fail before any kernel or workflow starts"


# --------------------------------------------------------------------------
# one contract per chapter: what its template declares, with params.py's defaults


def declared(template: str) -> dict:
    """The template's papermill ``parameters`` cell, run on its own: name -> default."""
    nb = nbformat.read(pipeline.TEMPLATES / template, as_version=4)
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    namespace: dict = {}
    exec(cell.source, {}, namespace)  # noqa: S102  (our own template)
    return {k: v for k, v in namespace.items() if k not in pipeline.SET_BY_PIPELINE}


CHAPTERS = pipeline.load_chapters()


@pytest.mark.parametrize("chapter", list(CHAPTERS))
def test_template_defaults_are_the_params_py_defaults(chapter):
    spec = CHAPTERS[chapter]
    pool = P.PARAM_SETS[spec.get("parameter_set", "study")]
    defaults = declared(spec["template"])
    assert defaults, "a template declares its parameters"
    assert set(defaults) <= set(pool), f"{spec['template']} declares what params.py does not define"
    for name, value in defaults.items():
        assert value == pool[name].default and type(value) is type(pool[name].default), (
            f"{spec['template']}: {name} = {value!r}, params.py says {pool[name].default!r}"
        )
    # chapters.yml holds only what differs from the defaults, and only what the template takes
    own = spec.get("parameters") or {}
    assert set(own) <= set(defaults), f"chapters.yml sets a parameter {spec['template']} does not take"
    assert all(own[k] != pool[k].default for k in own), f"chapters.yml repeats a default for '{chapter}'"
    assert list(pipeline.chapter_specs(chapter)) == [n for n in pool if n in defaults]


def test_every_template_is_a_chapter():
    used = {ch["template"] for ch in CHAPTERS.values()}
    assert used == {p.name for p in pipeline.TEMPLATES.glob("*.ipynb")}


@pytest.mark.parametrize(
    ("chapter", "name", "value"),
    [
        ("audit", "criterion", "RECIST"),
        ("overview", "ci_method", "clopper-pearson"),
        ("validation", "alpha", "0.1"),
        ("singlecentre2025", "test_rule", "paper"),  # a single-arm study has no arms to compare
        ("synthesis", "seed", "3"),
    ],
)
def test_a_parameter_the_template_does_not_declare_is_refused(chapter, name, value):
    spec = CHAPTERS[chapter]
    pool = P.PARAM_SETS[spec.get("parameter_set", "study")]
    takes = ", ".join(n for n in pool if n in declared(spec["template"]))  # in params.py's order
    with pytest.raises(ParameterError) as exc:
        resolve_parameters(chapter, {name: value})
    assert str(exc.value) == (
        f"chapter '{chapter}': parameter '{name}' does not apply here (its parameters: {takes})"
    )


def test_page_is_set_by_the_pipeline():
    with pytest.raises(ParameterError, match="'page' is set by the pipeline"):
        resolve_parameters("li2022", {"page": "elsewhere"})


def test_params_lists_only_the_chapter_s_parameters(capsys):
    assert main(["params", "audit"]) == 0
    names = [line.split(" = ")[0] for line in capsys.readouterr().out.splitlines()]
    assert names == ["test_rule", "alpha", "alpha_beta"]
    assert main(["params", "multicentre2026"]) == 0
    assert "criterion = 'not stated'" in capsys.readouterr().out


def test_synthesis_criterion_must_be_reported_by_an_included_study():
    with pytest.raises(ParameterError, match="chapter 'synthesis': parameter 'criterion': no included study"):
        resolve_parameters("synthesis", {"criterion": "iRECIST"})
    with pytest.raises(ParameterError, match=r"no included study reports 'RECIST' \(they report: mRECIST;"):
        resolve_parameters("synthesis", {"criterion": "RECIST", "include": "rtiot2025"})
    assert resolve_parameters("synthesis", {"criterion": "RECIST"})["criterion"] == "RECIST"


# --------------------------------------------------------------------------
# the checks command takes only what the checks use


def test_checks_parameters_are_the_ones_run_checks_uses():
    assert list(P.CHECKS_PARAMS) == ["test_rule", "alpha", "alpha_beta"]
    assert set(P.CHECKS_PARAMS) <= set(inspect.signature(run_checks).parameters)


def test_checks_refuse_ci_method_and_apply_alpha_beta(capsys):
    assert main(["checks", "li2022", "-p", "ci_method=clopper-pearson"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "error: checks: parameter 'ci_method' does not apply here "
        "(its parameters: test_rule, alpha, alpha_beta)\n"
    )
    bed = {}
    for ab in ("10", "3"):
        assert main(["checks", "rtiot2025", "-p", f"alpha_beta={ab}"]) == 0
        bed[ab] = [x for x in capsys.readouterr().out.splitlines() if x.startswith("rtiot2025,BED range,")]
    # the paper prints BED10: checked at alpha/beta 10 (against the printed dose ranges and each
    # schedule the Methods state); at 3 there is no printed BED3 to check
    assert len(bed["10"]) == 2 and all("α/β = 10 Gy" in b for b in bed["10"]) and bed["3"] == []


# --------------------------------------------------------------------------
# every place a criterion is chosen uses the study's resolver


def test_reconstruction_never_falls_back_to_another_criterion(li2022):
    from reanalysis import pseudo

    checks = run_checks(li2022)
    assert pseudo.endpoint_inputs(li2022, "PFS", "RECIST", checks).criterion == "RECIST 1.1"
    assert pseudo.endpoint_inputs(li2022, "PFS", "mRECIST", checks).criterion == "mRECIST"
    message = "'iRECIST' is not a response criterion of study 'li2022'"
    with pytest.raises(ParameterError, match=message):
        pseudo.endpoints(li2022, "iRECIST")
    with pytest.raises(ParameterError, match=message):
        pseudo.endpoint_inputs(li2022, "PFS", "iRECIST", checks)


def test_a_study_chapter_refuses_an_unknown_criterion_in_the_kernel_too():
    from reanalysis.report import Chapter

    with pytest.raises(ParameterError, match="'iRECIST' is not a response criterion of study 'rtiot2025'"):
        Chapter(study_id="rtiot2025", criterion="iRECIST")


# --------------------------------------------------------------------------
# covariate lists of the patient-level analyses: chapter parameters, names checked


def test_covariate_lists_name_known_columns_only():
    v = P.validate({"cox_covariates": "AGE, SEX", "subgroup_variables": "none"})
    assert v["cox_covariates"] == "AGE, SEX" and v["table1_variables"] == ""
    with pytest.raises(
        ParameterError, match=r"'psm_covariates' names unknown column 'OBSTRUCT' \(known: AGE"
    ):
        P.validate({"psm_covariates": "AGE,OBSTRUCT"})


def test_a_column_declared_in_the_folder_s_patient_yml_is_known(tmp_path):
    (tmp_path / "patient.yml").write_text("covariates:\n  OBSTRUCT: {type: categorical}\n", encoding="utf-8")
    v = P.validate({"patient_data": str(tmp_path), "psm_covariates": "AGE,OBSTRUCT"})
    assert v["psm_covariates"] == "AGE,OBSTRUCT"


def test_the_cli_names_the_parameter_and_the_column(capsys):
    assert main(["execute", "li2022", "-p", "cox_covariates=AGE,NOTACOLUMN", "-o", "/dev/null"]) == 2
    assert "parameter 'cox_covariates' names unknown column 'NOTACOLUMN'" in capsys.readouterr().err
