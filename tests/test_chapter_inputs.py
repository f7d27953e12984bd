"""A chapter is kept, not executed again, only when what it reads says the same
(``reanalysis.chapter_inputs``): a comment in another study it reads changes nothing; a value, its
own study's files, a data file of no study's, its parameters or the code do."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reanalysis import chapter_inputs
from reanalysis import data as data_module
from reanalysis.pipeline import load_chapters, resolve_parameters

STUDIES = ("multicentre2026", "singlecentre2025")


@pytest.fixture
def book(tmp_path, monkeypatch):
    """Two studies and data/'s own files in a private data folder."""
    data = tmp_path / "data"
    data.mkdir()
    for entry in data_module.DATA_DIR.iterdir():
        if entry.is_file():
            shutil.copy(entry, data / entry.name)
    for study in STUDIES:
        shutil.copytree(data_module.DATA_DIR / study, data / study)
    monkeypatch.setattr(data_module, "DATA_DIR", data)
    monkeypatch.setattr(data_module, "VALIDATED", tmp_path / "validated")  # none kept from elsewhere
    return data


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)


def test_what_a_chapter_reads_follows_what_the_other_studies_say(book, monkeypatch):
    names = ("overview", "synthesis", "singlecentre2025")  # their results; their files; its own files
    values = {name: resolve_parameters(name) for name in names}

    def digests() -> dict[str, str]:
        return {name: chapter_inputs.digest(name, values[name]) for name in names}

    first = digests()
    for study in STUDIES:  # a comment: the same values
        _append(book / study / "study.yml", "# a comment\n")
    commented = digests()
    assert commented["overview"] == first["overview"] and commented["synthesis"] == first["synthesis"]
    assert commented["singlecentre2025"] != first["singlecentre2025"]  # its own files: it publishes them

    table = book / "multicentre2026" / "response.csv"  # a value a study shows
    text = table.read_text(encoding="utf-8")
    assert ",Abstract," in text
    table.write_text(text.replace(",Abstract,", ",Discussion,", 1), encoding="utf-8")
    changed = digests()
    assert changed["overview"] != first["overview"] and changed["synthesis"] != first["synthesis"]
    assert changed["singlecentre2025"] == commented["singlecentre2025"]  # not a study it reads

    _append(book / "README.md", "\nedited\n")  # a data file of no study's
    again = chapter_inputs.digest("overview", values["overview"])
    assert again != changed["overview"]
    assert chapter_inputs.digest("overview", {**values["overview"], "alpha": 0.01}) != again
    monkeypatch.setattr(data_module, "code_digest", lambda: "other code")
    assert chapter_inputs.digest("overview", values["overview"]) != again


def test_a_studys_meaning_is_kept_and_a_damaged_record_is_worked_out_again(book):
    said = data_module.study_meaning("singlecentre2025")
    kept = list((book.parent / "validated").glob("*.meaning"))
    assert len(kept) == 1 and kept[0].read_text().strip() == said
    kept[0].write_text("not a digest\n")
    assert data_module.study_meaning("singlecentre2025") == said
    assert kept[0].read_text().strip() == said


def test_the_workflow_lists_no_file_of_a_study_whose_results_the_chapter_renders(book):
    chapters = {"a": {"template": "t"}, "b": {"template": "t", "reads_data": False}}
    listed = chapter_inputs.data_files("a", {}, ["singlecentre2025"], chapters, book)
    assert "multicentre2026" in {Path(p).parent.name for p in listed}
    assert str(book / "README.md") in listed
    assert not [p for p in listed if "singlecentre2025" in p]
    # a study's chapter: its study's files come through its results job; the format notes, which
    # its zip carries, are its own input (an edit of them left every study's zip stale)
    assert chapter_inputs.data_files(
        "a", {"study_id": "singlecentre2025"}, ["singlecentre2025"], chapters, book
    ) == [str(book / "README.md")]
    assert chapter_inputs.data_files("b", {}, [], chapters, book) == []


@pytest.mark.parametrize("renders_results", [True, False])
def test_a_chapter_built_on_a_study_counts_its_bytes_only_when_it_publishes_them(book, renders_results):
    """The worked example is built on a study (without rendering its results) but links no zip
    of its files: a comment in that study, or in the data folder's format notes, leaves it as it
    is; a value does not. A chapter that publishes the files counts their bytes and the notes (in
    its zip), whether it renders the study's results (a study's chapter) or not."""
    chapters = load_chapters()
    chapters["c"] = {**chapters["singlecentre2025"], "reads_results": renders_results}
    values = resolve_parameters("singlecentre2025")

    def now() -> chapter_inputs.Inputs:
        return chapter_inputs.current("c", values, chapters=chapters)

    before = now()
    assert before.published != before.loaded
    _append(book / "singlecentre2025" / "study.yml", "# a comment\n")
    commented = now()
    assert commented.loaded == before.loaded, "read as loaded: a comment says nothing new"
    assert commented.published != before.published, "published: the zip holds the comment"
    _append(book / "README.md", "\nedited\n")
    notes = now()
    assert notes.published != commented.published, "the zip holds the format notes"
    assert notes.loaded == commented.loaded, "without a zip it reads no notes"
    table = book / "singlecentre2025" / "baseline.csv"
    lines = table.read_text(encoding="utf-8").splitlines(keepends=True)
    table.write_text("".join(lines[:-1]), encoding="utf-8")  # a row fewer: another value
    assert now().loaded != notes.loaded
    overview = chapter_inputs.current("overview", resolve_parameters("overview"))
    assert overview.published == overview.loaded, "no study of its own: the same either way"


def test_a_chapter_that_links_no_zip_of_its_study_is_kept_after_a_comment_in_it(book, tmp_path):
    """The decision the chapter's job makes (:func:`unchanged` after :func:`remember`), for a
    notebook that links its study's zip and for one that does not."""
    values = resolve_parameters("singlecentre2025")
    notebooks = {}
    for linked, name in ((True, "singlecentre2025-data.zip"), (False, "t.csv")):
        notebook = tmp_path / f"{linked}" / "c.ipynb"
        (notebook.parent / "downloads" / "c").mkdir(parents=True)
        (notebook.parent / "downloads" / "c" / name).write_text("x\n", encoding="utf-8")
        notebook.write_text(f'{{"x": "<a href=\\"downloads/c/{name}\\" download>f</a>"}}', encoding="utf-8")
        chapter_inputs.remember(
            notebook.parent / "c.done", chapter_inputs.current("singlecentre2025", values), notebook
        )
        notebooks[linked] = notebook
    _append(book / "singlecentre2025" / "study.yml", "# a comment\n")
    now = chapter_inputs.current("singlecentre2025", values)
    assert chapter_inputs.unchanged(notebooks[False].parent / "c.done", now, notebooks[False])
    assert not chapter_inputs.unchanged(notebooks[True].parent / "c.done", now, notebooks[True])


def test_a_chapter_publishes_its_studys_files_when_its_notebook_links_their_zip(tmp_path):
    notebook = tmp_path / "s.ipynb"
    assert chapter_inputs.publishes("s1", notebook), "not executed yet: counts as publishing"
    notebook.write_text('{"x": "<a href=\\"downloads/s/s1-data.zip\\" download>zip</a>"}', encoding="utf-8")
    assert chapter_inputs.publishes("s1", notebook)
    assert not chapter_inputs.publishes("s", notebook), "another study's zip"
    notebook.write_text('{"x": "<a href=\\"downloads/s/t.csv\\" download>CSV</a>"}', encoding="utf-8")
    assert not chapter_inputs.publishes("s1", notebook)
    assert not chapter_inputs.publishes(None, notebook), "no study of its own"


def test_a_notebook_is_kept_only_as_recorded_and_with_its_downloads(tmp_path):
    notebook = tmp_path / "a.ipynb"
    notebook.write_text('{"x": "<a href=\\"downloads/a/t.csv\\" download>CSV</a>"}', encoding="utf-8")
    download = tmp_path / "downloads" / "a" / "t.csv"
    download.parent.mkdir(parents=True)
    download.write_text("x\n1\n", encoding="utf-8")
    stamp = tmp_path / "stamps" / "a.done"
    stamp.parent.mkdir()
    inputs = chapter_inputs.Inputs(None, "inputs", "inputs")
    chapter_inputs.remember(stamp, inputs, notebook)
    assert chapter_inputs.unchanged(stamp, inputs, notebook)
    assert not chapter_inputs.unchanged(stamp, chapter_inputs.Inputs(None, "other", "other"), notebook)
    text = notebook.read_text(encoding="utf-8")
    notebook.write_text(text + " ", encoding="utf-8")  # another notebook than the one recorded
    assert not chapter_inputs.unchanged(stamp, inputs, notebook)
    notebook.write_text(text, encoding="utf-8")
    download.unlink()
    assert not chapter_inputs.unchanged(stamp, inputs, notebook)
    download.write_text("x\n1\n", encoding="utf-8")
    assert chapter_inputs.unchanged(stamp, inputs, notebook)
    chapter_inputs.record_path(stamp).write_text("{not json")
    assert not chapter_inputs.unchanged(stamp, inputs, notebook)
