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
    assert set(manifest._hashes()) == set(expected)
