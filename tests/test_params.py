"""Chapter parameters: validated by name, type and range before any kernel starts."""

from __future__ import annotations

import time

import pytest

from reanalysis import params as P
from reanalysis.cli import main
from reanalysis.errors import ParameterError
from reanalysis.pipeline import resolve_parameters


def test_defaults_and_coercion():
    v = P.validate({"alpha": "0.01", "criterion": "RECIST"})
    assert v["alpha"] == 0.01 and isinstance(v["alpha"], float)
    assert v["test_rule"] == "gtsummary"


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ({"criterio": "RECIST"}, "unknown parameter 'criterio'"),
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
def test_criterion_names(value, expected):
    assert P.normalise_criterion(value, ["RECIST 1.1", "mRECIST"]) == expected


def test_unknown_criterion():
    with pytest.raises(ParameterError, match="'iRECIST' is not a criterion of this study"):
        P.normalise_criterion("iRECIST", ["RECIST 1.1", "mRECIST"])


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
    ],
)
def test_cli_rejects_bad_input_quickly(argv, capsys):
    start = time.perf_counter()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.splitlines()) <= 3
    assert time.perf_counter() - start < 5, "must fail before any kernel or workflow starts"
