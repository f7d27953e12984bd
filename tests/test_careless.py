"""Careless use and the build machine (issue 16, medium items): published files are readable by
anyone, pages carry no date, a chapter notebook changed outside the build is noticed, a user's
patient-data folder is never stored, ``-o`` is checked.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from reanalysis import pipeline
from reanalysis.data import REPO_ROOT
from reanalysis.errors import ParameterError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_published_folders_are_world_readable_whatever_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        root = tmp_path / "site"
        (root / "downloads" / "li2022").mkdir(parents=True)
        (root / "downloads" / "li2022" / "t.csv").write_text("x\n", encoding="utf-8")
        (root / "index.html").write_text("<p>", encoding="utf-8")
    finally:
        os.umask(old)
    assert _mode(root / "index.html") == 0o600, "the test starts from private files"
    pipeline.publishable(root)
    assert {_mode(p) for p in [root, *root.rglob("*")] if p.is_dir()} == {0o755}
    assert {_mode(p) for p in root.rglob("*") if p.is_file()} == {0o644}


def test_pages_carry_no_date():
    """``html_last_updated_fmt`` (even "") puts "Last updated on <date>" on every page."""
    config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert "html_last_updated_fmt" not in (config.get("sphinx", {}).get("config") or {})


def test_a_notebook_changed_outside_the_build_is_re_executed(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "EXECUTED", tmp_path / "chapters")
    monkeypatch.setattr(pipeline, "BUILD", tmp_path / "_build")
    monkeypatch.setattr(pipeline, "load_chapters", lambda: {"a": {}, "b": {}, "c": {}})
    (tmp_path / "chapters").mkdir()
    for chapter in ("a", "b"):
        nb = tmp_path / "chapters" / f"{chapter}.ipynb"
        nb.write_text(f"{chapter} as the workflow wrote it", encoding="utf-8")
        pipeline.write_stamp(tmp_path / "_build" / ".stamps" / f"{chapter}.done", nb)
    assert pipeline.edited_chapters() == []
    (tmp_path / "chapters" / "b.ipynb").write_text("b with criterion=RECIST", encoding="utf-8")
    assert pipeline.edited_chapters() == ["b"]  # c has no stamp: Snakemake runs it anyway


def test_a_stamp_from_the_workflow_is_written_by_execute():
    snakefile = (REPO_ROOT / "Snakefile").read_text(encoding="utf-8")
    assert "--stamp {output}" in snakefile


def test_the_patient_folder_is_replaced_by_a_label():
    folder = "/home/alice/cohorts/hospital-x"
    stored = (
        '{"source": ["patient_data = \\"/home/alice/cohorts/hospital-x\\"\\n"], '
        '"x": "in /home/alice/cohorts/hospital-x/adsl.csv"}'
    )
    out = pipeline._neutral_patient_folder(stored, folder)
    assert "alice" not in out and out.count(pipeline.PATIENT_FOLDER_LABEL) == 2


def test_a_relative_patient_folder_is_replaced_only_in_its_parameter():
    stored = '{"source": ["patient_data = \\"cohort\\"\\n"], "x": "the cohort data"}'
    out = pipeline._neutral_patient_folder(stored, "cohort")
    assert out == stored.replace('\\"cohort\\"', f'\\"{pipeline.PATIENT_FOLDER_LABEL}\\"')


@pytest.mark.parametrize(
    ("given", "message"), [(".", "is a folder"), ("out.txt", "must be a notebook file ending in .ipynb")]
)
def test_output_is_checked(given, message):
    with pytest.raises(ParameterError, match=message):
        pipeline._output_path(given)


def test_a_relative_output_is_taken_from_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert pipeline._output_path("myout/x.ipynb") == tmp_path / "myout" / "x.ipynb"


def test_an_unwritable_build_folder_is_a_clear_error(monkeypatch, capsys):
    """A read-only ``_build`` (or a full disk): one line naming the path, exit 2, no traceback.
    (Tests run as root here, where chmod cannot make a folder read-only: the error is raised.)"""
    from reanalysis import cli

    def refuse() -> None:
        raise PermissionError(13, "Permission denied", str(REPO_ROOT / "_build" / ".work"))

    monkeypatch.setattr(pipeline, "build_site", refuse)
    assert cli.main(["site"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {REPO_ROOT / '_build' / '.work'}: Permission denied\n"


def test_an_executed_notebook_does_not_store_the_patient_folder(tmp_path):
    """The real run, on a user's folder: the path (user and folder names) is stored nowhere,
    and the downloads are published world-readable."""
    from reanalysis.patient.synthetic import synthetic_cohort, write_patient_data

    folder = tmp_path / "alice-private" / "cohort"
    write_patient_data(synthetic_cohort("li2022", seed=1), folder)
    out = pipeline.execute_chapter(
        "li2022", {"patient_data": str(folder), "n_replicates": 20}, output=tmp_path / "out" / "li.ipynb"
    )
    stored = out.read_text(encoding="utf-8")
    assert "alice-private" not in stored
    assert f'patient_data = \\"{pipeline.PATIENT_FOLDER_LABEL}\\"' in stored
    # and its downloads are readable by anyone, though mkdtemp made their folder 0700
    shelf = out.parent / "downloads" / "li"
    assert _mode(shelf) == 0o755
    files = list(shelf.iterdir())
    assert files and {_mode(p) for p in files} == {0o644}
