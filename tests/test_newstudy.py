"""Adding a study: `new-study` scaffolds or registers it, and a survival-only study builds a chapter."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from reanalysis import pipeline
from reanalysis.data import REPO_ROOT, list_studies, load_study
from reanalysis.errors import DataError, ParameterError
from reanalysis.newstudy import TEMPLATE_TWO_ARM, check_id, new_study

FIXTURE = Path(__file__).parent / "fixtures" / "survonly"  # made up: two arms, OS and RFS only


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A private copy of what new-study edits (chapters.yml, _toc.yml) and an empty data folder."""
    (tmp_path / "book").mkdir()
    shutil.copy(REPO_ROOT / "book" / "chapters.yml", tmp_path / "book" / "chapters.yml")
    shutil.copy(REPO_ROOT / "_toc.yml", tmp_path / "_toc.yml")
    (tmp_path / "data").mkdir()
    return tmp_path


def _add_fixture(book: Path) -> None:
    shutil.copytree(FIXTURE, book / "data" / "survonly", ignore=shutil.ignore_patterns("*.txt"))


@pytest.mark.parametrize("bad", ["", "Li2022", "li-2022", "../x", "a b", "é"])
def test_study_id_must_be_lower_snake(bad):
    with pytest.raises(ParameterError, match=r"must match \^\[a-z0-9_\]\+\$"):
        check_id(bad)


def test_scaffold_then_validate_names_what_to_fill(book):
    lines = new_study("my_trial", book / "data", book)
    folder = book / "data" / "my_trial"
    assert "created" in lines[0] and "data/README.md" in lines[1]
    text = (folder / "study.yml").read_text()
    assert "data/README.md" in text and text.count("# ") > 5  # commented
    assert (folder / "survival.csv").read_text().startswith("key,endpoint,")
    study = load_study("my_trial", book / "data")  # a scaffold loads: every table empty
    assert all(t.empty for t in study.tables.values())
    # the scaffold is not registered: it holds nothing yet; a second run registers it
    assert "my_trial" not in (book / "book" / "chapters.yml").read_text()


def test_register_is_harmless_to_repeat(book):
    _add_fixture(book)
    first = new_study("survonly", book / "data", book)
    assert any("chapters.yml" in x for x in first) and any("_toc.yml" in x for x in first)
    chapters = yaml.safe_load((book / "book" / "chapters.yml").read_text())["chapters"]
    assert chapters["survonly"] == {"template": TEMPLATE_TWO_ARM, "parameters": {"study_id": "survonly"}}
    toc = (book / "_toc.yml").read_text()
    assert toc.count("book/chapters/survonly") == 1
    # placed after the last study's chapter, in the Studies part: not after the patient-level
    # worked example (under About), which borrows Li 2022's aggregates
    parts = {p["caption"]: [c["file"] for c in p["chapters"]] for p in yaml.safe_load(toc)["parts"]}
    studies = parts["Studies"]
    assert studies[-2:] == ["book/chapters/multicentre2026", "book/chapters/survonly"], studies
    assert "book/chapters/survonly" not in parts["About"]
    before = ((book / "book" / "chapters.yml").read_bytes(), toc)
    again = new_study("survonly", book / "data", book)
    assert "already registered" in again[0]
    assert before == ((book / "book" / "chapters.yml").read_bytes(), (book / "_toc.yml").read_text())


def test_register_refuses_bad_data(book):
    _add_fixture(book)
    path = book / "data" / "survonly" / "survival.csv"
    path.write_text(path.read_text().replace("OS,,arm_x,median", "OS,,arm_z,median", 1))
    with pytest.raises(DataError, match=r"survival.csv, line 2, column 'arm'"):
        new_study("survonly", book / "data", book)
    assert "survonly" not in (book / "book" / "chapters.yml").read_text()


def test_an_entry_changes_only_its_own_file(tmp_path, monkeypatch):
    """The workflow depends on each chapter's entry, so registering one re-runs that one only."""
    monkeypatch.setattr(pipeline, "ENTRIES", tmp_path)
    chapters = {"a": {"template": "t.ipynb"}, "b": {"template": "t.ipynb"}}
    a = pipeline.write_entry("a", chapters)
    stamp = a.stat().st_mtime_ns
    os.utime(a, ns=(stamp - 10**9, stamp - 10**9))
    pipeline.write_entry("a", {**chapters, "new": {"template": "u.ipynb"}})
    assert a.stat().st_mtime_ns == stamp - 10**9  # untouched by another chapter's entry
    pipeline.write_entry("a", {"a": {"template": "u.ipynb"}})
    assert a.stat().st_mtime_ns != stamp - 10**9 and "u.ipynb" in a.read_text()
    snakefile = (REPO_ROOT / "Snakefile").read_text()
    assert "ENTRY[wildcards.chapter]" in snakefile and '"book/chapters.yml"' not in snakefile


def test_survival_only_study_builds_a_chapter(tmp_path):
    """Dropped into data/ and registered with new-study, a two-arm study that prints survival
    only executes into a chapter (in a private copy of the repository)."""
    repo = tmp_path / "repo"
    for part in ("reanalysis", "book/templates"):
        shutil.copytree(REPO_ROOT / part, repo / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("book/chapters.yml", "_toc.yml"):
        shutil.copy(REPO_ROOT / part, repo / part)
    (repo / "book" / "chapters").mkdir()  # where papermill runs the kernel
    shutil.copytree(FIXTURE, repo / "data" / "survonly", ignore=shutil.ignore_patterns("*.txt"))
    env = {**os.environ, "REANALYSIS_DATA": str(repo / "data"), "PYTHONPATH": str(repo), "MPLBACKEND": "Agg"}
    run = [sys.executable, "-m", "reanalysis"]
    reg = subprocess.run([*run, "new-study", "survonly"], cwd=repo, env=env, capture_output=True, text=True)
    assert reg.returncode == 0, reg.stderr
    out = tmp_path / "survonly.ipynb"
    done = subprocess.run(
        [*run, "execute", "survonly", "-p", "n_replicates=20", "-o", str(out)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    text = "\n".join(
        o.get("data", {}).get("text/markdown", "") + o.get("data", {}).get("text/html", "")
        for c in nbformat.read(out, as_version=4).cells
        for o in c.get("outputs", [])
    )
    for line in ("The paper prints no tumour response.", "The paper prints no adverse events."):
        assert text.count(line) == 1
    assert "Recurrence-free" in text or "RFS" in text


def test_a_failing_section_names_itself(tmp_path, monkeypatch):
    from reanalysis import plots, report

    _add_fixture(tmp_path)
    monkeypatch.setattr(report, "load_study", lambda sid: load_study(sid, tmp_path / "data"))
    ch = report.Chapter(study_id="survonly", patient_data="none", n_replicates=20)

    def broken(*args, **kwargs):
        raise ValueError("Number of columns must be a positive integer, not 0")

    monkeypatch.setattr(plots, "hr_forest", broken)  # what the section draws with
    with pytest.raises(
        report.SectionFailed, match=r"section 'forest figure' failed: ValueError: Number"
    ) as err:
        ch.forest_figure()
    assert isinstance(err.value.__cause__, ValueError)  # the original traceback is kept


def _dry_run_chapters(repo: Path, env: dict) -> set[str]:
    """The chapters Snakemake would execute (dry run in the private copy)."""
    import re

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            "Snakefile",
            "--directory",
            ".",
            "-n",
            "--cores",
            "1",
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return set(re.findall(r"wildcards: chapter=(\w+)", done.stdout + done.stderr))


def test_registering_a_study_reruns_only_its_chapter_and_the_cross_study_ones(tmp_path):
    repo = tmp_path / "repo"
    for part in ("reanalysis", "book/templates", "data"):
        shutil.copytree(REPO_ROOT / part, repo / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("book/chapters.yml", "_toc.yml", "Snakefile", "_config.yml"):
        shutil.copy(REPO_ROOT / part, repo / part)
    env = {**os.environ, "REANALYSIS_DATA": str(repo / "data"), "PYTHONPATH": str(repo)}
    chapters = set(yaml.safe_load((repo / "book" / "chapters.yml").read_text())["chapters"])
    assert _dry_run_chapters(repo, env) == chapters  # nothing built yet; entries are written
    stamps = repo / "_build" / ".stamps"
    for study in list_studies(repo / "data"):  # a finished build: every study's results artefact,
        artefact = repo / "_build" / "results" / study / "checks.json"
        artefact.parent.mkdir(parents=True)
        artefact.touch()
    for chapter in [*chapters, "site"]:
        (stamps / f"{chapter}.done").touch()  # then every chapter, newer than every input
    assert _dry_run_chapters(repo, env) == set()
    (repo / "book" / "chapters.yml").touch()  # an edit elsewhere in chapters.yml re-runs nothing
    assert _dry_run_chapters(repo, env) == set()
    shutil.copytree(FIXTURE, repo / "data" / "survonly", ignore=shutil.ignore_patterns("*.txt"))
    for path in (repo / "data" / "survonly").iterdir():
        path.touch()  # written now, after the last build
    new_study("survonly", repo / "data", repo)
    cross_study = {
        c
        for c in chapters
        if not (
            yaml.safe_load((repo / "book" / "chapters.yml").read_text())["chapters"][c].get("parameters")
            or {}
        ).get("study_id")
    }
    cross_study = {c for c in cross_study if c != "validation"}  # reads_data: false
    assert _dry_run_chapters(repo, env) == {"survonly", *cross_study}
