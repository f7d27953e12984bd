"""Bad input from the command line: one clear message naming file/line/column (or the
parameter), a non-zero exit, the executed notebooks (and their downloads) and the site
untouched, data/ untouched.

Each case runs the real command in a subprocess (as a user would), against a broken copy of
the data given through REANALYSIS_DATA, so the repository's data/ is never edited.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reanalysis.data import DATA_DIR, REPO_ROOT

CHAPTERS = REPO_ROOT / "book" / "chapters"
SITE = REPO_ROOT / "_build" / "html"


def tree_hash(*roots: Path) -> str:
    h = hashlib.sha256()
    for root in roots:
        for p in sorted(root.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(root)).encode())
                h.update(p.read_bytes())
    return h.hexdigest()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text not found in {path.name}: {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# name: (how to break the data copy or None, argv, fragments the message must contain)
CASES = {
    "missing data file": (
        lambda d: (d / "li2022" / "study.yml").unlink(),
        ["validate", "li2022"],
        ["li2022/study.yml", "missing metadata file"],
    ),
    "missing column": (
        lambda d: edit(d / "li2022" / "survival.csv", "key,endpoint,", "key,endpt,"),
        ["validate", "li2022"],
        ["survival.csv", "column 'endpoint'", "missing column"],
    ),
    "wrong type": (
        lambda d: edit(d / "li2022" / "baseline.csv", "count,35(94.60%),35,", "count,35(94.60%),x35,"),
        ["validate", "li2022"],
        ["baseline.csv", "line 2", "column 'n'"],
    ),
    "n > N": (
        lambda d: edit(d / "li2022" / "baseline.csv", "count,35(94.60%),35,", "count,35(94.60%),38,"),
        ["execute", "li2022", "-o", "{tmp}/out.ipynb"],
        ["baseline.csv", "line 2", "column 'n'", "larger than its denominator"],
    ),
    "negative count": (
        lambda d: edit(d / "li2022" / "response.csv", ",count,20 (54.05%),20,", ",count,20 (54.05%),-20,"),
        ["validate", "li2022"],
        ["response.csv", "line 2", "column 'n'", "negative"],
    ),
    "duplicate key": (
        lambda d: (d / "li2022" / "hazard_ratios.csv").write_text(
            (d / "li2022" / "hazard_ratios.csv").read_text(encoding="utf-8")
            + (d / "li2022" / "hazard_ratios.csv").read_text(encoding="utf-8").splitlines()[1]
            + "\n",
            encoding="utf-8",
        ),
        ["validate", "li2022"],
        ["hazard_ratios.csv", "column 'key'", "duplicate"],
    ),
    "unknown arm": (
        lambda d: edit(d / "li2022" / "adverse_events.csv", "any,rt_pd1,", "any,rt_pd2,"),
        ["validate", "li2022"],
        ["adverse_events.csv", "line 2", "column 'arm'", "unknown arm"],
    ),
    "unknown study": (
        None,
        ["execute", "li2022", "-p", "study_id=nosuch"],
        ["study_id", "no study 'nosuch'"],
    ),
    "unknown parameter": (
        None,
        ["execute", "li2022", "-p", "critrion=RECIST"],
        ["unknown parameter 'critrion'"],
    ),
    "ill-typed parameter": (
        None,
        ["execute", "li2022", "-p", "n_replicates=many"],
        ["'n_replicates' must be a int"],
    ),
    "alpha outside (0,1)": (
        None,
        ["build", "-p", "li2022.alpha=1.5"],
        ["'alpha'", "strictly between 0 and 1"],
    ),
    "non-monotone landmarks": (
        None,
        ["reconstruct", "--n", "37", "--landmark", "3:0.9", "--landmark", "6:0.95"],
        ["landmarks are not monotone"],
    ),
    "malformed landmark": (None, ["reconstruct", "--n", "37", "--landmark", "3-0.9"], ["--landmark"]),
    "empty CSV": (
        lambda d: (d / "li2022" / "pvalues.csv").write_text("", encoding="utf-8"),
        ["validate", "li2022"],
        ["pvalues.csv", "empty file"],
    ),
    "wrong encoding": (
        lambda d: (d / "li2022" / "baseline.csv").write_bytes(
            (d / "li2022" / "baseline.csv").read_text(encoding="utf-8").encode("utf-16")
        ),
        ["validate", "li2022"],
        ["baseline.csv", "not UTF-8"],
    ),
    "unknown criterion": (
        None,
        ["execute", "li2022", "-p", "criterion=iRECIST"],
        ["'iRECIST' is not a response criterion of study 'li2022'", "RECIST 1.1, mRECIST"],
    ),
    "criterion for a chapter that takes none": (
        None,
        ["execute", "audit", "-p", "criterion=RECIST", "-o", "{tmp}/out.ipynb"],
        ["chapter 'audit': parameter 'criterion' does not apply here", "test_rule, alpha, alpha_beta"],
    ),
    "criterion of a study that states none": (
        None,
        ["execute", "multicentre2026", "-p", "criterion=RECIST", "-o", "{tmp}/out.ipynb"],
        ["'multicentre2026' does not state its response criterion", "default, mRECIST"],
    ),
    "criterion no included study reports": (
        None,
        ["execute", "synthesis", "-p", "criterion=iRECIST", "-o", "{tmp}/out.ipynb"],
        ["chapter 'synthesis'", "no included study reports 'iRECIST'", "RECIST 1.1, mRECIST"],
    ),
    "unknown criterion of replicates": (
        None,
        ["replicates", "li2022", "PFS", "--criterion", "iRECIST"],
        ["--criterion", "'iRECIST' is not a response criterion of study 'li2022'", "RECIST 1.1, mRECIST"],
    ),
    "parameter the checks do not use": (
        None,
        ["checks", "li2022", "-p", "ci_method=clopper-pearson"],
        ["checks: parameter 'ci_method' does not apply here", "test_rule, alpha, alpha_beta"],
    ),
    "malformed patient-level file": (
        lambda d: bad_cohort(d.parent / "cohort"),
        ["execute", "li2022", "-p", "patient_data={tmp}/cohort", "-o", "{tmp}/out.ipynb"],
        ["adsl.csv", "line 4", "column 'AGE'"],
    ),
    "study id that is a path (execute)": (
        None,
        ["execute", "li2022", "-p", "study_id=../data/li2022", "-o", "{tmp}/out.ipynb"],
        ["chapter 'li2022': parameter 'study_id' must be a study id", "never a path", "'../data/li2022'"],
    ),
    "study id that is a path (build)": (
        None,
        ["build", "-p", "li2022.study_id=/etc"],
        ["parameter 'study_id' must be a study id", "'/etc'"],
    ),
    "study id that is a path (validate)": (
        None,
        ["validate", "../li2022"],
        ["validate: study: '../li2022' is not a study id", "never a path"],
    ),
    "study id that is a path (checks)": (
        None,
        ["checks", "li2022/../li2022"],
        ["checks: study: 'li2022/../li2022' is not a study id"],
    ),
    "study id that is a path (replicates)": (
        None,
        ["replicates", "../li2022", "OS"],
        ["'../li2022' is not a study id"],
    ),
    "symlinked study file": (
        lambda d: symlink_into(d / "li2022", "pvalues.csv"),
        ["execute", "li2022", "-o", "{tmp}/out.ipynb"],
        ["li2022/pvalues.csv", "is a symbolic link"],
    ),
    "events > N": (
        lambda d: edit(d / "li2022" / "survival.csv", "events,,18 have died,18,", "events,,58 have died,58,"),
        ["validate", "li2022"],
        ["survival.csv", "line 18", "column 'value'", "more events (or patients) than the arm's N"],
    ),
    "landmark > 100%": (
        lambda d: edit(
            d / "li2022" / "survival.csv", "landmark,3,97.30%,97.30,", "landmark,3,107.30%,107.30,"
        ),
        ["validate", "li2022"],
        ["survival.csv", "line 6", "column 'value'", "landmark rate above 100%"],
    ),
    "hazard-ratio p that is not a p": (
        lambda d: edit(d / "li2022" / "hazard_ratios.csv", "P = 0.017,0.017,", "NS,,"),
        ["execute", "li2022", "-o", "{tmp}/out.ipynb"],
        ["hazard_ratios.csv", "line 2", "column 'p_printed'", "not a printed p-value"],
    ),
    "percentage above 100": (
        lambda d: edit(
            d / "li2022" / "baseline.csv", "count,35(94.60%),35,94.60,", "count,35(194.60%),35,194.60,"
        ),
        ["validate", "li2022"],
        ["baseline.csv", "line 2", "column 'pct'", "percentage above 100"],
    ),
    "UTF-8 byte-order mark": (
        lambda d: (d / "li2022" / "pvalues.csv").write_bytes(
            b"\xef\xbb\xbf" + (d / "li2022" / "pvalues.csv").read_bytes()
        ),
        ["validate", "li2022"],
        ["pvalues.csv, line 1", "byte-order mark", "without BOM"],
    ),
    "spaces after commas in the header": (
        lambda d: edit(d / "li2022" / "survival.csv", "key,endpoint,criterion,", "key, endpoint, criterion,"),
        ["validate", "li2022"],
        ["survival.csv, line 1, column 'endpoint'", "space around the column name ' endpoint'"],
    ),
    "semicolon-delimited file": (
        lambda d: (d / "li2022" / "hazard_ratios.csv").write_text(
            "key;endpoint;model\nhr.pfs.arm;PFS;univariable\n", encoding="utf-8"
        ),
        ["validate", "li2022"],
        ["hazard_ratios.csv, line 1", "separated by ';'", "uses ','"],
    ),
    "unquoted decimal comma": (
        lambda d: edit(
            d / "li2022" / "baseline.csv", "count,35(94.60%),35,94.60,", "count,35(94.60%),35,94,60,"
        ),
        ["validate", "li2022"],
        ["baseline.csv, line 2", "16 fields but the header has 15", "decimal comma"],
    ),
    "line numbers after a blank line": (
        lambda d: edit(
            d / "li2022" / "baseline.csv",
            "source\nbaseline.gender_male,Gender,male,rt_pd1,count,35(94.60%),35,",
            "source\n\nbaseline.gender_male,Gender,male,rt_pd1,count,35(94.60%),38,",
        ),
        ["validate", "li2022"],
        ["baseline.csv", "line 3", "column 'n'", "larger than its denominator"],
    ),
    "line numbers after a multi-line quoted cell": (
        lambda d: edit(
            d / "li2022" / "baseline.csv",
            "baseline.gender_male,Gender,male,rt_pd1,count,35(94.60%),35,94.60,,,,,,Table 1,"
            "004_2a574011e3c7481b.txt\nbaseline.gender_male,Gender,male,tace_sor,count,37(90.24%),37,",
            'baseline.gender_male,"Gen\nder",male,rt_pd1,count,35(94.60%),35,94.60,,,,,,Table 1,'
            "004_2a574011e3c7481b.txt\nbaseline.gender_male,Gender,male,tace_sor,count,37(90.24%),-37,",
        ),
        ["validate", "li2022"],
        ["baseline.csv", "line 4", "column 'n'", "negative"],
    ),
    "unknown test named, paper rule (execute)": (
        lambda d: edit(
            d / "li2022" / "pvalues.csv", "0.678,=,0.678,Pearson chi-square,", "0.678,=,0.678,Kruskal-Wallis,"
        ),
        ["execute", "li2022", "-p", "test_rule=paper", "-o", "{tmp}/out.ipynb"],
        ["pvalues.csv", "line 2", "column 'test_named'", "unknown test name 'Kruskal-Wallis'"],
    ),
    "patient-data line numbers after a blank line": (
        lambda d: bad_cohort(d.parent / "cohort", blank_before=True),
        ["patient", "{tmp}/cohort"],
        ["adsl.csv", "line 5", "column 'AGE'"],
    ),
    "patient-data line numbers after a multi-line quoted cell": (
        lambda d: bad_cohort(d.parent / "cohort", multiline_before=True),
        ["patient", "{tmp}/cohort"],
        ["adsl.csv", "line 5", "column 'AGE'"],
    ),
    "-o names a folder": (
        None,
        ["execute", "li2022", "-o", "{tmp}"],
        ["-o ", "is a folder; give a notebook file"],
    ),
    "-o inside a file": (
        lambda d: (d.parent / "file.txt").write_text("x", encoding="utf-8"),
        ["execute", "li2022", "-o", "{tmp}/file.txt/out.ipynb"],
        ["file.txt is a file, not a folder"],
    ),
}


def symlink_into(folder: Path, name: str) -> None:
    """Replace ``folder/name`` by a symlink to the same content kept outside the folder."""
    target = folder.parent.parent / f"outside-{name}"
    (folder / name).rename(target)
    (folder / name).symlink_to(target)


def bad_cohort(folder: Path, blank_before: bool = False, multiline_before: bool = False) -> None:
    """A synthetic cohort in the patient schema with one age that is not a number (file line
    4; line 5 after a blank line, or after a cell quoted across two lines, above it)."""
    from reanalysis.patient.synthetic import synthetic_cohort, write_patient_data

    write_patient_data(synthetic_cohort("li2022", seed=1), folder)
    lines = (folder / "adsl.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    cols = lines[0].rstrip("\n").split(",")
    row = lines[3].rstrip("\n").split(",")
    row[cols.index("AGE")] = "sixty"
    lines[3] = ",".join(row) + "\n"
    if blank_before:
        lines.insert(2, "\n")
    if multiline_before:
        first = lines[1].rstrip("\n").split(",")
        first[cols.index("SEX")] = f'"{first[cols.index("SEX")]}\n"'
        lines[1] = ",".join(first) + "\n"
    (folder / "adsl.csv").write_text("".join(lines), encoding="utf-8")


def unknown_subject(folder: Path) -> None:
    """adtte.csv with a subject adsl.csv does not have, on file line 4 after a blank line."""
    from reanalysis.patient.synthetic import synthetic_cohort, write_patient_data

    write_patient_data(synthetic_cohort("li2022", seed=1), folder)
    lines = (folder / "adtte.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    cols = lines[0].rstrip("\n").split(",")
    row = lines[2].rstrip("\n").split(",")
    row[cols.index("USUBJID")] = "NOBODY"
    lines[2] = ",".join(row) + "\n"
    lines.insert(2, "\n")
    (folder / "adtte.csv").write_text("".join(lines), encoding="utf-8")


@pytest.fixture(scope="module")
def before():
    return tree_hash(DATA_DIR), tree_hash(CHAPTERS), tree_hash(SITE)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name, before, tmp_path):
    breaker, argv, fragments = CASES[name]
    env = dict(os.environ)
    if breaker is not None:
        copy = tmp_path / "data"
        shutil.copytree(DATA_DIR, copy)
        breaker(copy)
        env["REANALYSIS_DATA"] = str(copy)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "reanalysis", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
    )
    elapsed = time.perf_counter() - start
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stdout == "", "nothing is computed or printed before the error"
    assert elapsed < 20, f"took {elapsed:.0f} s: the error must come before any kernel starts"
    err = proc.stderr.strip()
    assert err.startswith("error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert not (tmp_path / "out.ipynb").exists()
    assert (tree_hash(DATA_DIR), tree_hash(CHAPTERS), tree_hash(SITE)) == before, (
        "data/, the executed notebooks (with their downloads) or the site changed"
    )


@pytest.mark.parametrize(
    ("printed", "relation", "p", "status"),
    [
        (".288", "=", "0.288", "reproduced"),  # as 0.288: Student t from the printed summaries gives 0.289
        ("2.88e-1", "=", "0.288", "reproduced"),
        ("<.001", "<", "0.001", "inconsistent"),  # a bound the same t-test (0.289) contradicts
    ],
)
def test_a_printed_p_is_accepted_as_printed(printed, relation, p, status, tmp_path):
    """APA (no leading zero) and scientific notation are p-values as printed: the study loads
    (``validate`` used to reject them: "a parsed number does not occur"), and the checks read
    the p the cell states (the verdict of the same p printed ``0.288``)."""
    from reanalysis.checks import flat, run_checks
    from reanalysis.data import load_study

    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    edit(
        copy / "li2022" / "pvalues.csv",
        "baseline.age,baseline,0.288,=,0.288,",
        f"baseline.age,baseline,{printed},{relation},{p},",
    )
    table = flat(run_checks(load_study("li2022", copy)))
    row = table[(table["check"] == "p-value") & (table["key"] == "baseline.age")]
    assert row["printed"].tolist() == [printed] and row["status"].tolist() == [status]


def test_paper_rule_names_the_line_of_an_unknown_test(tmp_path):
    """The checks themselves (``checks -p test_rule=paper``, the audit) stop the same way as
    ``execute`` does before its kernel: file, line and column of the test name."""
    from reanalysis.checks import run_checks
    from reanalysis.data import load_study
    from reanalysis.errors import DataError

    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    edit(
        copy / "li2022" / "pvalues.csv",
        "source\nbaseline.gender_male,baseline,0.678,=,0.678,Pearson chi-square,",
        "source\n\nbaseline.gender_male,baseline,0.678,=,0.678,Kruskal-Wallis,",
    )
    with pytest.raises(
        DataError, match=r"pvalues.csv, line 3, column 'test_named': unknown test name 'Kruskal"
    ):
        run_checks(load_study("li2022", copy), test_rule="paper")


def test_patient_link_errors_name_the_file_line(tmp_path):
    """A subject of adtte.csv missing from adsl.csv, after a blank line: its real line (4)."""
    from reanalysis.errors import DataError
    from reanalysis.patient.schema import load_patient_data

    unknown_subject(tmp_path / "cohort")
    with pytest.raises(DataError, match=r"adtte.csv, line 4, column 'USUBJID': subject 'NOBODY' is not"):
        load_patient_data(tmp_path / "cohort")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("doi", "see the journal <b>site</b>", "doi 'see the journal <b>site</b>' is not a DOI"),
        ("doi", "https://doi.org/10.1/x", "is not a DOI (10.<registrant>/<suffix>) or null"),
        ("source_kind", "preprint", "source_kind 'preprint' is not one of full text, abstract"),
    ],
)
def test_doi_and_source_kind_are_checked_at_load(field, value, message, tmp_path):
    """A DOI becomes a link and the source kind a badge: only values of their form are taken
    (DOI Handbook 2.2: 10.<registrant>/<suffix>), named by file and field otherwise."""
    import yaml

    from reanalysis.data import load_study
    from reanalysis.errors import DataError

    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    path = copy / "li2022" / "study.yml"
    meta = yaml.safe_load(path.read_text(encoding="utf-8"))
    meta[field] = value
    path.write_text(yaml.safe_dump(meta, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(message)) as err:
        load_study("li2022", copy)
    assert "study.yml" in str(err.value) and field in str(err.value)


def test_a_doi_is_a_link_and_the_source_kind_is_shown(tmp_path):
    """singlecentre2025 prints its DOI (10.3389/fimmu.2025.1594577): the design table links it;
    the multicentre study is a summary of an abstract, and its design table and the overview say so."""
    from reanalysis.data import load_study
    from reanalysis.report import Chapter

    design = Chapter(study_id="singlecentre2025").design().data
    assert '<a href="https://doi.org/10.3389/fimmu.2025.1594577">10.3389/fimmu.2025.1594577</a>' in design
    assert "<td>Source</td><td>full text</td>" in design
    assert load_study("multicentre2026").source_kind == "summary of an abstract"


def test_the_overview_badges_a_source_that_is_not_a_full_text():
    from reanalysis.outputs import overview

    studies = list(overview()["Study"])
    assert "Multicentre 2026 (summary of an abstract)" in studies
    assert "Li 2022" in studies  # a full text carries no badge
