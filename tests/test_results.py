"""Each study's results artefact (``reanalysis.results``): the same records as computing them,
byte-identical on every write, and read only when its key (data, package, options) is current."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from reanalysis import results
from reanalysis.audit import audit_all
from reanalysis.checks import CheckOptions, to_frame
from reanalysis.outputs import overview
from reanalysis.recon_checks import StudyOptions

STUDY = "singlecentre2025"


@pytest.fixture
def shelf(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "RESULTS", tmp_path / "results")
    return tmp_path / "results"


def test_artefact_round_trips_the_records_and_is_deterministic(shelf):
    options = StudyOptions()
    path = results.write_results(STUDY, options)
    first = path.read_bytes()
    assert results.write_results(STUDY, options).read_bytes() == first  # same inputs, same bytes
    assert path.stat().st_mode & 0o777 == 0o644
    text = first.decode()
    assert str(results.REPO_ROOT) not in text and "NaN" not in text and "Infinity" not in text
    cached = results.cached_records(STUDY, options)
    assert cached is not None
    pd.testing.assert_frame_equal(to_frame(cached), to_frame(results.study_records(STUDY, options)))


def test_a_stale_or_foreign_artefact_is_not_read(shelf, tmp_path, monkeypatch):
    results.write_results(STUDY)
    other = StudyOptions(CheckOptions(test_rule="paper"))
    assert results.cached_records(STUDY, other) is None  # other options
    # other data: a copy of the study with one byte more
    data = tmp_path / "data"
    shutil.copytree(results.DATA_DIR, data)
    with (data / STUDY / "study.yml").open("a") as fh:
        fh.write("# edited\n")
    monkeypatch.setattr(results, "DATA_DIR", data)
    assert results.cached_records(STUDY, StudyOptions()) is None
    monkeypatch.undo()
    monkeypatch.setattr(results, "RESULTS", shelf)
    path = results.artefact_path(STUDY)
    payload = json.loads(path.read_text())
    path.write_text(json.dumps({**payload, "format": 0}))  # a layout this reader does not know
    assert results.cached_records(STUDY, StudyOptions()) is None
    path.write_text("{not json")
    assert results.cached_records(STUDY, StudyOptions()) is None
    assert len(results.study_checks(STUDY)) == len(results.study_records(STUDY, StudyOptions()))


def test_cross_study_readers_use_the_current_artefact(shelf):
    """A doctored artefact under the current key shows through the audit and the overview:
    proof that they read the artefact instead of re-checking the study."""
    path = results.write_results(STUDY)
    payload = json.loads(path.read_text())
    for row in payload["records"]:
        row["status"] = "inconsistent"
        row["severity"] = "minor"
    path.write_text(json.dumps(payload))
    n = len(payload["records"])
    audit = audit_all([STUDY])
    assert (audit["status"] == "inconsistent").sum() == n
    row = overview().set_index("Study").filter(like="Single", axis=0)
    assert row["✗ inconsistent"].iat[0] == n
