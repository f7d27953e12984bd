"""`python -m reanalysis patient FOLDER` on a real public trial exported from R reproduces R.

tests/fixtures/veteran is survival::veteran written by R's write.csv (quoted cells, a row-name
column) by tests/fixtures/veteran/export.R; the reference values below are printed by
tests/reference/veteran_patient.R (R 4.2.2, survival 3.5.3; its output is kept in
tests/reference/veteran_patient.txt). The tests do not need R.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from reanalysis.cli import main
from reanalysis.errors import DataError
from reanalysis.patient.schema import load_patient_data

FIXTURES = Path(__file__).parent / "fixtures"
VETERAN = FIXTURES / "veteran"

# tests/reference/veteran_patient.R: coxph(Surv(AVAL, E) ~ ARM), survdiff, survfit(conf.type = "log-log")
R_COX_ARM = (1.017901, 0.714376, 1.450389, 0.921766)  # HR test vs standard, 95% CI, Wald p
R_COX_AGE = (1.007528, 0.988815, 1.026595, 0.432995)  # coxph(Surv(AVAL, E) ~ AGE)
R_LOGRANK = (0.008227, 0.927727)  # chi-square, p
# cox.zph(coxph(Surv(AVAL, E) ~ ARM + CELLTYPE)) of survival >= 3.0 (transform "km"): chi-square, p
R_ZPH = {"ARM": (0.865570, 0.352185), "CELLTYPE": (9.308667, 0.025456), "GLOBAL": (10.030423, 0.039918)}
R_KM = {"standard": (3.383984, 1.774127, 4.139630), "test": (1.724846, 1.412731, 2.956879)}  # median, CI


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The command line, in this process (as ``python -m reanalysis`` runs it, minus start-up)."""
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    try:
        os.chdir(cwd or old)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    except SystemExit as exc:  # argparse: --help
        code = int(exc.code or 0)
    finally:
        os.chdir(old)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def veteran_csv() -> pd.DataFrame:
    # a relative folder, run from the fixtures' parent: relative paths work
    done = _run("patient", "fixtures/veteran", "--format", "csv", cwd=FIXTURES.parent)
    assert done.returncode == 0, done.stderr
    return pd.read_csv(io.StringIO(done.stdout), keep_default_na=False, na_values=[""])


def _one(table: pd.DataFrame, analysis: str, term: str, endpoint: str = "OS") -> pd.Series:
    hit = table[(table["analysis"] == analysis) & (table["term"] == term) & (table["endpoint"] == endpoint)]
    assert len(hit) == 1, (analysis, term)
    return hit.iloc[0]


def test_tidy_columns(veteran_csv):
    assert list(veteran_csv.columns) == ["analysis", "endpoint", "term", "estimate", "lower", "upper", "p"]
    assert {
        "table1",
        "km_median",
        "logrank",
        "cox_univariable",
        "cox_multivariable",
        "ph_test",
        "subgroup",
        "interaction",
        "psm_pairs",
        "psm_cox",
    } <= set(veteran_csv["analysis"])


def test_cox_hr_matches_r(veteran_csv):
    for term, ref in (("ARM: test vs standard", R_COX_ARM), ("AGE: per unit", R_COX_AGE)):
        row = _one(veteran_csv, "cox_univariable", term)
        assert [round(row[c], 3) for c in ("estimate", "lower", "upper", "p")] == [round(x, 3) for x in ref]


def test_logrank_matches_r(veteran_csv):
    row = _one(veteran_csv, "logrank", "ARM")
    assert round(row["estimate"], 3) == round(R_LOGRANK[0], 3) and round(row["p"], 3) == round(
        R_LOGRANK[1], 3
    )


def test_km_medians_match_r_including_the_midpoint_rule(veteran_csv):
    """The test arm's curve is exactly 0.5 from day 52 to 53: R's median is 52.5 days."""
    for arm, ref in R_KM.items():
        row = _one(veteran_csv, "km_median", arm)
        assert [round(row[c], 3) for c in ("estimate", "lower", "upper")] == [round(x, 3) for x in ref]


def test_ph_test_matches_r_survival_3(veteran_csv):
    for term, (chisq, p) in R_ZPH.items():
        row = _one(veteran_csv, "ph_test", term)
        assert round(row["estimate"], 3) == round(chisq, 3) and round(row["p"], 3) == round(p, 3)
    assert (veteran_csv["analysis"] == "ph_test_pre3").any()  # the survival < 3.0 test, labelled


def test_declared_covariate_is_used_and_markdown_shows_labels():
    done = _run("patient", str(VETERAN), "--format", "markdown")
    assert done.returncode == 0, done.stderr
    assert "Test chemotherapy (test)" in done.stdout and "reference arm standard" in done.stdout
    assert "CELLTYPE: squamous vs adeno" in done.stdout


def _minimal(tmp_path: Path, adsl: str, yml: str | None = None) -> Path:
    (tmp_path / "adsl.csv").write_text(adsl, encoding="utf-8")
    (tmp_path / "adtte.csv").write_text(
        '"","USUBJID","PARAMCD","AVAL","CNSR"\n"1","S1","OS",3,0\n"2","S2","OS",5,1\n"3","S3","DFS",2,0\n',
        encoding="utf-8",
    )
    if yml is not None:
        (tmp_path / "patient.yml").write_text(yml, encoding="utf-8")
    return tmp_path


def test_r_files_with_na_load(tmp_path):
    folder = _minimal(
        tmp_path,
        '"","USUBJID","ARM","AGE","SEX"\n"1","S1","a",NA,"M"\n"2","S2","b",60,NA\n"3","S3","a",71,"F"\n',
    )
    data = load_patient_data(folder)
    assert data.adsl["AGE"].isna().tolist() == [True, False, False]
    assert data.adsl["SEX"].isna().tolist() == [False, True, False]
    assert data.reference == "a" and set(data.adtte["PARAMCD"]) == {"OS", "DFS"}


def test_a_real_problem_still_names_line_and_column(tmp_path):
    folder = _minimal(
        tmp_path, '"","USUBJID","ARM","AGE"\n"1","S1","a",NA\n"2","S2","b",old\n"3","S3","a",7\n'
    )
    with pytest.raises(DataError, match=r"adsl.csv, line 3, column 'AGE': cannot be read as a number"):
        load_patient_data(folder)


def test_undeclared_column_is_refused_and_declared_one_accepted(tmp_path):
    adsl = "USUBJID,ARM,OBSTRUCT\nS1,a,1\nS2,b,0\nS3,a,0\n"
    with pytest.raises(DataError, match=r"column 'OBSTRUCT': unknown column .*declare other covariates"):
        load_patient_data(_minimal(tmp_path, adsl))
    yml = "covariates:\n  OBSTRUCT: {type: categorical, levels: ['0', '1'], label: Colon obstruction}\n"
    data = load_patient_data(_minimal(tmp_path, adsl, yml))
    assert data.adsl["OBSTRUCT"].tolist() == ["1", "0", "0"]


def test_unknown_arm_is_an_error_with_exit_2(tmp_path):
    folder = _minimal(tmp_path, "USUBJID,ARM\nS1,a\nS2,b\nS3,c\n", "arms: [a, b]\n")
    done = _run("patient", str(folder))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "adsl.csv, line 4, column 'ARM': unknown arm 'c'" in done.stderr
    bad_ref = _minimal(tmp_path, "USUBJID,ARM\nS1,a\nS2,b\nS3,a\n", "arms: [a, b]\nreference_arm: z\n")
    done = _run("patient", str(bad_ref))
    assert done.returncode == 2 and "column 'reference_arm'" in done.stderr


def test_help_lists_every_subcommand():
    done = _run("--help")
    listed = done.stdout.split("positional arguments:")[1]
    for command in (
        "build",
        "execute",
        "site",
        "validate",
        "checks",
        "audit",
        "reconstruct",
        "replicates",
        "params",
        "new-study",
        "patient",
    ):
        assert f"    {command} " in listed or f"    {command}\n" in listed, command


def test_chapter_refuses_a_cohort_whose_arms_are_not_the_studys(tmp_path):
    """Unknown arm names stop the run (exit 2) before any kernel, not 'not estimable' everywhere."""
    from reanalysis import pipeline
    from reanalysis.data import list_studies, load_study_meta
    from reanalysis.errors import ParameterError

    chapters = pipeline.load_chapters()
    chapter = next(c for c, ch in chapters.items() if (ch.get("parameters") or {}).get("study_id"))
    study = chapters[chapter]["parameters"]["study_id"]
    assert study in list_studies()
    arms = [a.id for a in load_study_meta(study).arms]
    folder = _minimal(tmp_path, f"USUBJID,ARM\nS1,{arms[0]}\nS2,not_an_arm\nS3,{arms[0]}\n")
    with pytest.raises(ParameterError, match=r"arm 'not_an_arm' of its adsl.csv is not an arm of study"):
        pipeline.execute_chapter(chapter, {"patient_data": str(folder)}, output=tmp_path / "x.ipynb")
    assert not (tmp_path / "x.ipynb").exists()


def test_relative_patient_data_is_made_absolute(tmp_path, monkeypatch):
    from reanalysis.cli import _absolute_paths, _chapter_overrides

    monkeypatch.chdir(tmp_path)
    assert _absolute_paths({"patient_data": "cohort"}) == {"patient_data": str(tmp_path / "cohort")}
    assert _absolute_paths({"patient_data": "synthetic"}) == {"patient_data": "synthetic"}
    assert _chapter_overrides(["li2022.patient_data=my/cohort"]) == {
        "li2022": {"patient_data": str(tmp_path / "my" / "cohort")}
    }


def test_report_shows_every_section_without_identifiers(monkeypatch):
    """--report's sections, run in this process (the executed notebook holds the same outputs)."""
    import IPython.display

    from reanalysis.patient import folder_report, report

    shown: list[str] = []

    def collect(*objs, **kwargs):
        shown.extend(str(getattr(o, "data", o)) for o in objs)

    monkeypatch.setattr(IPython.display, "display", collect)
    monkeypatch.setattr(report, "display", collect)
    folder_report.show(str(VETERAN))
    text = "\n".join(shown)
    for title in ("Baseline characteristics", "Kaplan–Meier", "Propensity-score matching", "Subgroups"):
        assert title in text
    assert "Test chemotherapy" in text and "cox.zph" in text  # labels; both PH tests
    table_one = text[text.index("## Baseline characteristics") : text.index("## Survival")]
    # the declared covariate by its patient.yml label, in Table 1 and the subgroups; never its code
    assert "Cell type" in table_one and "CELLTYPE" not in text
    assert "VET-" not in text  # aggregates only


def test_report_must_be_a_notebook_and_bad_data_fails_before_a_kernel(tmp_path):
    from reanalysis.errors import ParameterError
    from reanalysis.patient.folder_report import write_report

    with pytest.raises(ParameterError, match=r"--report: write a .ipynb or .html file \(got 'out.pdf'\)"):
        write_report(VETERAN, tmp_path / "out.pdf")
    bad = _minimal(tmp_path, "USUBJID,ARM,AGE\nS1,a,old\nS2,b,1\nS3,a,2\n")
    with pytest.raises(DataError, match=r"line 2, column 'AGE'"):
        write_report(bad, tmp_path / "out.ipynb")
    assert not (tmp_path / "out.ipynb").exists()


def test_arms_named_like_table_columns_stay_apart(tmp_path):
    from reanalysis.patient.folder_report import study_for
    from reanalysis.patient.report import PatientSection

    folder = _minimal(tmp_path, "USUBJID,ARM,AGE\nS1,test,50\nS2,p,60\nS3,test,70\nS4,p,65\n")
    data = load_patient_data(folder)
    html = PatientSection(data, study_for(data, "x")).table_one().data
    assert ">test (arm)<" in html and ">p (arm)<" in html


def _small_cohort(folder: Path) -> Path:
    """24 patients, two arms, AGE and SEX, OS; patient.yml text that must stay text."""
    folder.mkdir(parents=True)
    adsl = ["USUBJID,ARM,AGE,SEX"] + [
        f"P{i:02d},{'x' if i % 2 else 'y'},{45 + (i * 7) % 25},{'MF'[i % 3 == 0]}" for i in range(24)
    ]
    tte = ["USUBJID,PARAMCD,AVAL,CNSR"] + [
        f"P{i:02d},OS,{1 + (i * 11) % 23},{int(i % 5 == 0)}" for i in range(24)
    ]
    (folder / "adsl.csv").write_text("\n".join(adsl) + "\n", encoding="utf-8")
    (folder / "adtte.csv").write_text("\n".join(tte) + "\n", encoding="utf-8")
    (folder / "patient.yml").write_text(
        'source: "<script>alert(1)</script> **trial**"\n'
        'arms: [{id: x, label: "<b>New</b>"}, {id: y, label: Old}]\nreference_arm: y\n',
        encoding="utf-8",
    )
    return folder


def test_html_report_is_standalone_deterministic_and_escaped(tmp_path):
    folder = _small_cohort(tmp_path / "my cohort")
    first = _run("patient", "my cohort", "--report", "out/report.html", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<title>Patient-level analyses: my cohort</title>" in html
    assert "Baseline characteristics" in html and "Kaplan–Meier medians" in html
    assert "data:image/svg+xml;base64" in html  # figures inline
    assert "<script" not in html  # nothing fetched from the network, nothing run
    assert "<script>alert" not in html and "&lt;script&gt;" in html  # data text is text
    assert "<b>New</b>" not in html
    assert str(tmp_path) not in html and "P01" not in html  # no user path, no patient id
    assert 'data-mime-type="application/vnd.jupyter.stderr"' not in html  # no warning printed as is
    assert "site-packages" not in html  # ... naming this machine's files
    assert "ConvergenceWarning: Newton-Raphson convergence completed" in html  # said once, as a note
    again = _run("patient", str(folder), "--report", str(tmp_path / "again.html"))
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again.html").read_text(encoding="utf-8") == html  # same bytes, any cwd


def test_notebook_report_names_no_user_path(tmp_path):
    folder = _small_cohort(tmp_path / "cohort")
    done = _run("patient", str(folder), "--report", str(tmp_path / "r.ipynb"))
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "r.ipynb").read_text(encoding="utf-8")
    assert str(tmp_path) not in text and '"papermill"' not in text and '"execution"' not in text
    assert "show('cohort', seed=0)" in text
