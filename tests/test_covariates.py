"""The covariate catalogue (reanalysis/rules/patient_covariates.csv) is the one place the
standard baseline covariates and their default analyses are named: the schema, Table 1, the
models and the response features read it, and no module names an HCC covariate itself."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from reanalysis.errors import DataError
from reanalysis.patient import covariates as CV
from reanalysis.patient import descriptive as D
from reanalysis.patient import report as R
from reanalysis.patient.schema import TABLES, load_patient_data
from reanalysis.patient.tidy import analyse

PACKAGE = Path(__file__).resolve().parents[1] / "reanalysis"
# the synthetic cohort is generated from HCC papers' printed rows: it names what it generates
GENERATORS = {"synthetic.py"}


def test_no_module_names_a_catalogue_covariate():
    names = "|".join(CV.columns())
    quoted = re.compile(rf"""["']({names})["']""")
    hits = [
        f"{path.relative_to(PACKAGE)}:{i}: {line.strip()}"
        for path in PACKAGE.rglob("*.py")
        if path.name not in GENERATORS
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if quoted.search(line) and "RTDOSE" not in line  # RTDOSE: the radiotherapy flag's input
    ]
    assert not hits, hits


def test_schema_and_defaults_come_from_the_catalogue():
    table = pd.read_csv(CV.CATALOGUE_FILE, dtype=str, keep_default_na=False)
    columns = [c for c, kind in zip(table["column"], table["type"], strict=True) if kind != CV.DERIVED]
    assert [c for c in TABLES["adsl"] if c not in ("USUBJID", "ARM")] == columns
    # default lists by the positions the file gives (hand-read from the CSV)
    assert D.TABLE_ONE_VARIABLES[:3] == ("AGE", "SEX", "ECOG")
    assert CV.default_list(CV.Role.PSM) == ("AGE", "ECOG", "TUMSIZE", "EHM", "TRTLINE", "PVTT", "BCLC")
    assert CV.default_list(CV.Role.SUBGROUP) == ("AGE", "BCLC", "EHM", "PVTT")
    assert CV.catalogue()["AGE"].subgroup_cut == 60
    assert "RT" not in TABLES["adsl"] and "RT" in CV.default_list(CV.Role.RESPONSE)


def test_lists_resolve_parameter_then_patient_yml_then_catalogue():
    declared = {"OBSTRUCT": {"type": "categorical", "label": "Obstruction"}, "NODES": {"type": "numeric"}}
    default = CV.resolve_lists(declared)
    assert default.cox == (*CV.default_list(CV.Role.COX), "OBSTRUCT", "NODES")
    assert default.subgroups == (*CV.default_list(CV.Role.SUBGROUP), "OBSTRUCT")  # categorical only
    yml = CV.resolve_lists(declared, {CV.Role.COX: ("NODES",)})
    assert yml.cox == ("NODES",) and yml.psm == default.psm
    chosen = CV.resolve_lists(declared, {CV.Role.COX: ("NODES",)}, {CV.Role.COX: ("AGE",), CV.Role.PSM: ()})
    assert chosen.cox == ("AGE",) and chosen.psm == ()
    assert (
        CV.parse_names("") is None and CV.parse_names("None") == () and CV.parse_names("A, B,A") == ("A", "B")
    )


def _folder(tmp: Path, yml: str) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    rows = ["USUBJID,ARM,AGE,SEX,NODES"]
    for i in range(40):  # deterministic, two arms, both sexes, a numeric covariate
        rows.append(f"S{i},{'a' if i % 2 else 'b'},{40 + (i * 7) % 30},{'MF'[i % 3 == 0]},{i % 5}")
    (tmp / "adsl.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    tte = ["USUBJID,PARAMCD,AVAL,CNSR"] + [
        f"S{i},OS,{1 + (i * 13) % 29},{int(i % 4 == 0)}" for i in range(40)
    ]
    (tmp / "adtte.csv").write_text("\n".join(tte) + "\n", encoding="utf-8")
    (tmp / "patient.yml").write_text(yml, encoding="utf-8")
    return tmp


def test_patient_yml_analyses_choose_the_covariates(tmp_path):
    yml = (
        "covariates:\n  NODES: {type: numeric, label: Positive nodes}\n"
        "analyses:\n  cox: [NODES]\n  psm: [AGE]\n"
    )
    data = load_patient_data(_folder(tmp_path, yml))
    table, _ = analyse(data)
    multi = table[table["analysis"] == "cox_multivariable"]["term"].tolist()
    uni = table[table["analysis"] == "cox_univariable"]["term"].tolist()
    assert not any(t.startswith(("AGE", "SEX")) for t in uni + multi)  # only ARM and NODES
    assert any(t.startswith("NODES") for t in uni)
    lists = R.covariate_lists(data, {"cox_covariates": "AGE"})  # a chapter parameter wins
    assert lists.cox == ("AGE",) and lists.psm == ("AGE",)


@pytest.mark.parametrize(
    ("yml", "fragment"),
    [
        ("analyses:\n  cox: [GHOST]\n", r"column 'analyses.cox': unknown column 'GHOST'"),
        ("analyses:\n  forest: [AGE]\n", r"column 'analyses.forest': unknown analysis"),
        ("analyses:\n  cox: AGE\n", r"column 'analyses.cox': must be a list"),
    ],
)
def test_bad_analyses_name_the_field(tmp_path, yml, fragment):
    with pytest.raises(DataError, match=fragment):
        load_patient_data(_folder(tmp_path, yml))


def _study_folder(tmp: Path, extra: str) -> Path:
    folder = tmp / "survonly"
    folder.mkdir()
    fixture = Path(__file__).parent / "fixtures" / "survonly" / "study.yml"
    (folder / "study.yml").write_text(fixture.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return folder


def test_study_yml_sets_a_study_s_default_lists_below_patient_yml(tmp_path):
    from reanalysis.data import Study, load_meta

    meta, arms = load_meta(_study_folder(tmp_path, "patient_analyses:\n  cox: [AGE, SEX]\n  psm: [AGE]\n"))
    study = Study("survonly", meta, arms, {})
    data = load_patient_data(
        _folder(tmp_path / "p", "covariates:\n  NODES: {type: numeric}\nanalyses:\n  psm: [SEX]\n")
    )
    lists = R.covariate_lists(data, {}, study)
    assert lists.cox == ("AGE", "SEX")  # the study's
    assert lists.psm == ("SEX",)  # the folder's patient.yml wins over the study
    assert lists.table1 == (*D.TABLE_ONE_VARIABLES, "NODES")  # neither names it: catalogue + declared


def test_a_bad_study_yml_list_names_the_field(tmp_path):
    from reanalysis.data import load_meta

    with pytest.raises(DataError, match=r"column 'patient_analyses.cox': unknown column 'GHOST'"):
        load_meta(_study_folder(tmp_path, "patient_analyses:\n  cox: [GHOST]\n"))
