"""The no-change check (``reanalysis.manifest``): a content hash of everything a build reads,
with each file's hash remembered beside its size and modification time so that an unchanged
file is not read again (as git's index does), except when it changed too close to that moment."""

from __future__ import annotations

import json
import os
import time

import pytest

from reanalysis import manifest


@pytest.fixture
def book(tmp_path, monkeypatch):
    (tmp_path / "data" / "s").mkdir(parents=True)
    (tmp_path / "data" / "s" / "a.csv").write_text("key,n\nx,1\n")
    (tmp_path / "_config.yml").write_text("title: t\n")
    monkeypatch.setattr(manifest, "ROOT", tmp_path)
    monkeypatch.setattr(manifest, "FILES", tmp_path / "_build" / ".stamps" / "manifest-files")
    monkeypatch.setattr(manifest, "STAMP", tmp_path / "_build" / ".stamps" / "manifest")
    return tmp_path


def _age(path, seconds):
    t = time.time_ns() - int(seconds * 1e9)
    os.utime(path, ns=(t, t))


def test_an_edit_changes_the_digest_even_at_the_same_size(book):
    csv = book / "data" / "s" / "a.csv"
    _age(csv, 60)
    first = manifest.digest()
    assert manifest.digest() == first and manifest.FILES.is_file()
    csv.write_text("key,n\nx,2\n")  # same size, new time
    assert manifest.digest() != first
    assert manifest.digest({"li2022": {"alpha": 0.1}}) != manifest.digest()


def test_an_unchanged_file_is_not_read_again_unless_it_changed_near_the_remembering(book):
    csv = book / "data" / "s" / "a.csv"
    _age(csv, 60)
    manifest.digest()
    saved = json.loads(manifest.FILES.read_text())
    saved["files"]["data/s/a.csv"][2] = "0" * 64  # what a re-read would never give
    manifest.FILES.write_text(json.dumps(saved))
    with_remembered = manifest.digest()  # same size and time, older than the remembering: trusted
    saved["at"] = os.stat(csv).st_mtime_ns + int(manifest.RACY_SECONDS * 1e9 / 2)
    manifest.FILES.write_text(json.dumps(saved))
    assert manifest.digest() != with_remembered  # modified just before the remembering: read again
    manifest.FILES.write_text("{not json")
    assert manifest.digest() != with_remembered  # an unreadable record: every file read


def test_every_file_the_patterns_name_is_an_input_hidden_and_nested_ones_too(book):
    """The inputs are listed with strings and ``glob`` (faster than pathlib at ~3,300 files):
    the same files ``Path.glob`` gave, hidden files and any depth under ``**`` included; a
    folder is no input."""
    (book / "data" / "s" / ".notes.txt").write_text("n")
    (book / "data" / "s" / "deep" / "er").mkdir(parents=True)
    (book / "data" / "s" / "deep" / "er" / "b.csv").write_text("b")
    expected = sorted(
        p.relative_to(book).as_posix()
        for pattern in manifest.INPUTS
        for p in book.glob(pattern)
        if p.is_file()
    )
    assert [f for f in manifest._inputs() if (book / f).is_file()] == expected
    assert "data/s/.notes.txt" in expected and "data/s/deep/er/b.csv" in expected
    assert set(manifest.hashes()) == set(expected)


def test_a_source_edited_or_added_while_a_build_ran_is_not_recorded_as_built(book):
    """A build records what it wrote (the executed chapters, their downloads) as they are when
    it ends, and what it read as it was when it started: data edited or added while it ran
    (after its chapter had run) is not taken for built, and the next build sees it."""
    chapter = book / "book" / "chapters" / "s.ipynb"
    chapter.parent.mkdir(parents=True)
    chapter.write_text("{}")
    (book / "_build" / "html").mkdir(parents=True)
    (book / "_build" / "html" / "index.html").write_text("site")

    started = manifest.hashes()
    chapter.write_text('{"cells": []}')  # the build writes its chapter ...
    (book / "data" / "s" / "a.csv").write_text("key,n\nx,2\n")  # ... while the data are edited
    (book / "data" / "t").mkdir()
    (book / "data" / "t" / "b.csv").write_text("key\n")  # and a study added
    manifest.record(None, started)
    assert not manifest.unchanged(), "the next build runs: its sources changed after this one read them"

    started = manifest.hashes()  # that next build, during which nothing else is edited
    chapter.write_text('{"cells": [], "metadata": {}}')
    manifest.record(None, started)
    assert manifest.unchanged(), "what it wrote is recorded as it is now"


def test_build_records_the_sources_as_it_found_them(book, monkeypatch, capsys):
    """``python -m reanalysis build`` takes the inputs' hashes once, before the workflow, and
    records its sources with them: a data file edited while the workflow runs re-runs the next
    build instead of reading as built."""
    from reanalysis import cli, pipeline

    (book / "_build" / "html").mkdir(parents=True)
    (book / "_build" / "html" / "index.html").write_text("site")

    def workflow(*args, **kwargs):  # the chapters run; meanwhile the data are edited
        (book / "data" / "s" / "a.csv").write_text("key,n\nx,3\n")

    monkeypatch.setattr(pipeline, "run_workflow", workflow)
    monkeypatch.setattr(pipeline, "BUILD", book / "_build")
    monkeypatch.setattr(pipeline, "load_chapters", lambda: {"s": {}})
    stamp = book / "_build" / ".stamps" / "s.done"
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text("written after the chapter read the data\n")
    assert cli.main(["build", "--cold-start", "--force"]) == 0
    said = capsys.readouterr().out
    assert "data/s/a.csv changed while this build ran: the next build checks every chapter" in said
    assert said.rstrip().endswith("built _build/html/index.html")
    assert not manifest.unchanged()
    assert not stamp.exists(), "its time says nothing of what the chapter read: the next build checks it"
    monkeypatch.setattr(pipeline, "run_workflow", lambda *args, **kwargs: None)
    assert cli.main(["build", "--cold-start"]) == 0  # it runs, and then records them as built
    assert manifest.unchanged()
