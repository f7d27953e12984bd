"""Each study's results artefact (``reanalysis.results``): the same records as computing them,
byte-identical on every write, and read only when its key (data, package, options) is current."""

from __future__ import annotations

import json
import os
import shutil

import pandas as pd
import pytest

from reanalysis import data as data_module
from reanalysis import results
from reanalysis.audit import audit_all
from reanalysis.checks import CheckOptions, to_frame
from reanalysis.errors import DataError
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
    # written whole, as any new file: 0666 less the umask (not a fixed 0644, which ignored it)
    old = os.umask(0o027)
    try:
        results.write_results(STUDY, options)
    finally:
        os.umask(old)
    assert [p.stat().st_mode & 0o777 for p in (path, results.kept_path(STUDY))] == [0o640, 0o640]
    assert results.kept_path(STUDY).read_bytes() == first
    assert sorted(p.name for p in path.parent.iterdir()) == ["checks.json", "kept.json"]  # no temporary file
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


def test_no_artefact_is_current_for_a_study_file_that_became_a_link(shelf, tmp_path, monkeypatch):
    """A link to the very bytes an artefact was written from has the same key: the key refuses
    it, as loading the study does (what is read must be what the zip publishes)."""
    data = tmp_path / "data"
    shutil.copytree(results.DATA_DIR, data)
    monkeypatch.setattr(results, "DATA_DIR", data)
    monkeypatch.setattr(data_module, "DATA_DIR", data)
    results.write_results(STUDY)
    assert results.cached_records(STUDY, StudyOptions()) is not None
    table = data / STUDY / "baseline.csv"
    (tmp_path / "baseline.csv").write_bytes(table.read_bytes())
    table.unlink()
    table.symlink_to(tmp_path / "baseline.csv")
    with pytest.raises(DataError, match="baseline.csv: is a symbolic link"):
        results.cached_records(STUDY, StudyOptions())


def _doctored_artefact() -> int:
    """Write STUDY's artefact with every record marked inconsistent; return how many records."""
    path = results.write_results(STUDY)
    payload = json.loads(path.read_text())
    for row in payload["records"]:
        row["status"] = "inconsistent"
        row["severity"] = "minor"
    path.write_text(json.dumps(payload))
    return len(payload["records"])


def test_an_edit_that_changes_no_value_writes_the_previous_result_again(shelf, tmp_path, monkeypatch):
    """A comment and a quoted field change the files' bytes (the key) but not what the study
    says: the result is not computed again, and the bytes written are those computing gives.
    A changed value, other options or other code compute it again."""
    data = tmp_path / "data"
    shutil.copytree(results.DATA_DIR, data)
    monkeypatch.setattr(results, "DATA_DIR", data)
    monkeypatch.setattr(data_module, "DATA_DIR", data)
    path = results.write_results(STUDY)
    before = json.loads(path.read_text())
    with (data / STUDY / "study.yml").open("a") as fh:
        fh.write("# a comment\n")
    table = data / STUDY / "response.csv"
    table.write_text(table.read_text().replace(",Table 3,", ',"Table 3",'))
    computing = results._study_result

    def refuse(*args, **kwargs):
        raise AssertionError("computed again")

    monkeypatch.setattr(results, "_study_result", refuse)
    path.unlink()  # as the workflow does before it runs the study's results job
    kept = results.write_results(STUDY).read_bytes()
    assert json.loads(kept)["key"] != before["key"]  # other bytes: readers see the new key
    assert results.cached_records(STUDY, StudyOptions()) is not None
    monkeypatch.setattr(results, "_study_result", computing)
    path.unlink()
    results.kept_path(STUDY).unlink()
    assert results.write_results(STUDY).read_bytes() == kept
    assert results.kept_path(STUDY).read_bytes() == kept
    assert sorted(p.name for p in path.parent.iterdir()) == ["checks.json", "kept.json"]  # no temporary left
    monkeypatch.setattr(results, "_study_result", refuse)
    with pytest.raises(AssertionError, match="computed again"):  # other options
        results.write_results(STUDY, StudyOptions(CheckOptions(test_rule="paper")))
    with monkeypatch.context() as m, pytest.raises(AssertionError, match="computed again"):
        m.setattr(results, "code_digest", lambda: "other code")
        results.write_results(STUDY)
    table.write_text(table.read_text().replace('"Table 3"', "Table 3a", 1))  # a value a record shows
    with pytest.raises(AssertionError, match="computed again"):
        results.write_results(STUDY)


def test_cross_study_readers_use_the_current_artefact(shelf):
    """A doctored artefact under the current key shows through the audit and the overview:
    proof that they read the artefact instead of re-checking the study."""
    n = _doctored_artefact()
    audit = audit_all([STUDY])
    assert (audit["status"] == "inconsistent").sum() == n
    row = overview().set_index("Study").filter(like="Single", axis=0)
    assert row["✗ inconsistent"].iat[0] == n


def test_the_overview_reads_each_studys_findings_from_its_artefact(shelf):
    """The findings kept in the artefact are those worked out from the study (the same rows,
    verdicts and reasons, the arms in order), and a doctored one shows through the overview's
    outcome table: it reads them instead of working them out for every study again."""
    from reanalysis.outputs import overview_findings

    path = results.write_results(STUDY)
    kept = results.study_findings(STUDY)
    worked_out = results.overview_findings(
        results.load_study(STUDY), results.study_records(STUDY, StudyOptions()), StudyOptions()
    )
    assert kept == worked_out and len(kept) >= 3
    assert [list(f.printed) for f in kept] == [list(f.printed) for f in worked_out]
    payload = json.loads(path.read_text())
    payload["findings"][0]["reason"] = "doctored reason"
    path.write_text(json.dumps(payload))
    table = overview_findings().frame
    assert "doctored reason" in set(table["Why"])
    path.write_text(json.dumps({**payload, "key": "another"}))  # stale: worked out again
    assert "doctored reason" not in set(overview_findings().frame["Why"])


def test_the_artefact_holds_the_whole_result_exactly(shelf):
    """Records, reconstructions (printed inputs with their tuples and numeric keys, the central
    pseudo patient-level data with its dtypes, the printed-vs-reconstructed rows) and skipped
    notes come back equal and of the same types as computed."""

    def same(a, b, where):
        assert type(a) is type(b), where
        if isinstance(a, dict):
            assert list(a) == list(b), where
            for k in a:
                same(a[k], b[k], f"{where}/{k}")
        elif isinstance(a, (list, tuple)):
            assert len(a) == len(b), where
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                same(x, y, f"{where}[{i}]")
        elif isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b)
        elif isinstance(a, float) and a != a:
            assert b != b, where
        else:
            assert a == b, where

    for study in ("li2022", "rtiot2025"):  # a printed "alive" count, landmarks, subgroups
        computed = results.compute(study, StudyOptions())
        results.write_results(study)
        cached = results.cached_result(study, StudyOptions())
        assert cached is not None
        same(computed.records, cached.records, "records")
        same(computed.skipped, cached.skipped, "skipped")
        assert len(computed.reconstructions) == len(cached.reconstructions) > 0
        for r, c in zip(computed.reconstructions, cached.reconstructions, strict=True):
            for field in ("name", "criterion", "subgroup", "inputs", "notes", "landmarks"):
                same(getattr(r.endpoint, field), getattr(c.endpoint, field), field)
            same(r.ipd, c.ipd, "ipd")
            same(r.rows, c.rows, "rows")
            for x, y in zip(r.rows, c.rows, strict=True):
                for field in x.__dataclass_fields__:
                    same(getattr(x, field), getattr(y, field), field)


def test_a_study_chapter_renders_its_current_artefact(shelf):
    """A doctored artefact under the current key shows through the study's chapter (its glance
    counts), and a chapter whose parameters change a verdict computes its own."""
    from reanalysis.report import Chapter

    n = _doctored_artefact()
    assert Chapter(study_id=STUDY).values()["n_inconsistent"] == n
    own = Chapter(study_id=STUDY, test_rule="paper").values()
    assert own["n_inconsistent"] < n


def test_texts_that_spell_non_finite_numbers_stay_texts():
    """Arm ids are identifiers, so "nan" and "inf" are possible ones: the artefact must not read
    them back as numbers (only a number field or a tagged number is one)."""
    import math

    from reanalysis.checks import Status
    from reanalysis.pseudo import ReconKind, ReconRow

    inputs = {"nan": {"n": 3, "landmarks": {6.0: math.nan}, "median_ci": (1.0, math.inf)}, "inf": {"n": 2}}
    back = results._untagged(json.loads(json.dumps(results._tagged(inputs))))
    assert list(back) == ["nan", "inf"] and back["nan"]["median_ci"] == (1.0, math.inf)
    assert math.isnan(back["nan"]["landmarks"][6.0])
    ipd = pd.DataFrame({"arm": ["nan", "inf"], "time": [1.0, math.inf], "event": [1, 0]})
    pd.testing.assert_frame_equal(results._frame(json.loads(json.dumps(results._frame_json(ipd)))), ipd)
    row = ReconRow(
        "OS",
        ReconKind.HR,
        "Cox HR",
        "inf",
        "nan",
        "",
        "nan",
        math.nan,
        Status.REPRODUCED,
        "",
        None,
        None,
        math.inf,
        None,
        False,
        None,
    )
    again = results._row(json.loads(json.dumps(results._row_json(row))))
    assert (again.arm, again.arm_label, again.printed) == ("inf", "nan", "nan")
    assert math.isnan(again.central) and again.lower == math.inf


def test_check_tables_read_from_the_artefacts_are_those_of_the_records(shelf):
    """The cross-study chapters build their tables from the artefacts' rows without making a
    record of each (:func:`reanalysis.results.study_rows`): the same table, value for value and
    type for type, as the records' own (each study, and all of them together as the audit)."""
    import math

    from reanalysis.checks import Check, Severity, Status, frame_row, rows_frame
    from reanalysis.data import list_studies

    options = StudyOptions()
    every, rows = [], []
    for sid in list_studies():
        results.write_results(sid, options)
        records = results.study_records(sid, options)
        pd.testing.assert_frame_equal(
            rows_frame(results.study_rows(sid, options)), to_frame(records), check_exact=True
        )
        every += records
        rows += results.study_rows(sid, options)
    pd.testing.assert_frame_equal(rows_frame(rows), to_frame(every), check_exact=True)
    pd.testing.assert_frame_equal(audit_all(test_rule="gtsummary"), to_frame(every), check_exact=True)
    odd = Check(  # what the four studies may lack: non-finite numbers, a severity, tuples, an arm "nan"
        study="s", check="c", key="k", location="p. 1", quantity="q", arm="nan", printed="inf",
        recomputed="nan", method="m", status=Status.INCONSISTENT, reason="r", tests_tried=("a", "b"),
        tests_reproducing=("b",), printed_lower=-math.inf, recomputed_value=math.nan,
        severity=Severity("major"), informative=False,
    )  # fmt: skip
    back = results._row_from_json(json.loads(json.dumps(results._to_json(odd))))
    pd.testing.assert_frame_equal(rows_frame([back]), to_frame([odd]), check_exact=True)
    assert back["tests_tried"] == ("a", "b") and back["arm"] == "nan" and back["printed"] == "inf"
    assert frame_row(results._from_json(json.loads(json.dumps(results._to_json(odd))))).keys() == back.keys()
