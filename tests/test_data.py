"""Loading and validating extracted data: the real study loads; bad input fails clearly."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pytest

from reanalysis import data
from reanalysis.data import DATA_DIR, list_studies, load_study
from reanalysis.errors import DataError


def test_li2022_loads_with_every_table(li2022):
    assert li2022.arm_sizes == {"rt_pd1": 37, "tace_sor": 41}
    assert li2022.comparison == ("rt_pd1", "tace_sor")
    for table in (
        "baseline",
        "response",
        "adverse_events",
        "survival",
        "hazard_ratios",
        "pvalues",
        "restatements",
    ):
        assert len(li2022[table]) > 0, table


def test_printed_digits_survive_loading(li2022):
    """pct keeps its printed precision: 94.60 must not become 94.6."""
    b = li2022["baseline"]
    row = b[(b["key"] == "baseline.gender_male") & (b["arm"] == "rt_pd1")].iloc[0]
    assert row["pct"] == "94.60" and row["n"] == 35 and row["printed"] == "35(94.60%)"


def test_every_table_of_li2022_is_extracted(li2022):
    """Spot checks against the seed text (Tables 1-3 and the results text)."""
    r = li2022["response"]
    orr = r[(r["key"] == "response.recist.orr")].set_index("arm")["n"]
    assert orr.to_dict() == {"rt_pd1": 20, "tace_sor": 5}
    ae = li2022["adverse_events"]
    assert set(ae["term"]) >= {"Increased AST", "Increased ALT", "Decreased platelet count"}
    hr = li2022["hazard_ratios"].set_index("key")
    assert (hr.loc["hr.pfs.arm", ["hr", "lower", "upper"]].tolist()) == [0.51, 0.30, 0.86]
    assert (hr.loc["hr.os.arm", ["hr", "lower", "upper"]].tolist()) == [0.70, 0.38, 1.30]
    assert len(li2022["pvalues"]) >= 55


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text not found: {old!r}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(needle)


@pytest.mark.parametrize(
    ("file", "old", "new", "column", "fragment"),
    [
        (
            "baseline.csv",
            "Gender,male,rt_pd1,count,35(94.60%),35,",
            "Gender,male,rt_pd1,count,35(94.60%),38,",
            "n",
            "n is larger than its denominator",
        ),
        (
            "baseline.csv",
            "Gender,male,rt_pd1,count,35(94.60%),35,",
            "Gender,male,rt_pd1,count,35(94.60%),-35,",
            "n",
            "negative",
        ),
        (
            "baseline.csv",
            "Gender,male,rt_pd1,count,35(94.60%),35,",
            "Gender,male,rt_pd1,count,35(94.60%),many,",
            "n",
            "Int64",
        ),
        ("baseline.csv", "Gender,male,rt_pd1,", "Gender,male,rt_pd9,", "arm", "unknown arm"),
        ("baseline.csv", "Gender,male,rt_pd1,count,", "Gender,male,rt_pd1,tally,", "stat", "must be one of"),
        (
            "baseline.csv",
            "Gender,male,rt_pd1,count,35(94.60%),35,94.60",
            "Gender,male,rt_pd1,count,35(94.60%),35,94.50",
            "printed",
            "does not occur in the printed string",
        ),
        (
            "pvalues.csv",
            "baseline.age,baseline,0.288,=,",
            "baseline.age,baseline,0.288,<,",
            "relation",
            "relation does not match",
        ),
    ],
    ids=["n>N", "negative", "wrong type", "unknown arm", "unknown category", "parsed != printed", "relation"],
)
def test_bad_cell_names_file_line_and_column(data_copy, file, old, new, column, fragment):
    path = data_copy / "li2022" / file
    _edit(path, old, new)
    line = _line_of(path, new)
    with pytest.raises(DataError) as err:
        load_study("li2022", data_copy)
    msg = str(err.value)
    assert f"data/li2022/{file}" in msg or file in msg
    assert f"line {line}" in msg, msg
    assert f"column '{column}'" in msg, msg
    assert fragment in msg, msg
    assert err.value.row == line and err.value.column == column


def test_duplicate_key(data_copy):
    path = data_copy / "li2022" / "hazard_ratios.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"hazard_ratios.csv.*line \d+.*key"):
        load_study("li2022", data_copy)


def test_missing_column(data_copy):
    path = data_copy / "li2022" / "survival.csv"
    _edit(path, "key,endpoint,", "key,endpt,")
    with pytest.raises(DataError, match=r"survival.csv.*column 'endpoint': missing column"):
        load_study("li2022", data_copy)


def test_missing_metadata_file(data_copy):
    (data_copy / "li2022" / "study.yml").unlink()
    with pytest.raises(DataError, match="study.yml: missing metadata file"):
        load_study("li2022", data_copy)


def test_metadata_is_read_anew_when_it_changes_and_each_caller_owns_its_copy(data_copy):
    """``study.yml`` is parsed once per content (a build asks for it hundreds of times): an edit
    is seen at once, an edit that breaks it is reported every time, and what one caller changes
    in its metadata no other caller sees."""
    from reanalysis.data import load_study_meta

    first = load_study_meta("li2022", data_copy)
    first.meta["short_title"] = "changed by a caller"
    first.meta["arms"].clear()
    again = load_study_meta("li2022", data_copy)
    assert again.meta["short_title"] != "changed by a caller" and again.meta["arms"]
    path = data_copy / "li2022" / "study.yml"
    _edit(path, f"short_title: {again.meta['short_title']}", "short_title: Edited title")
    assert load_study_meta("li2022", data_copy).meta["short_title"] == "Edited title"
    _edit(path, "id: li2022", "id: other")
    for _ in range(2):
        with pytest.raises(DataError, match="id 'other' does not match its folder 'li2022'"):
            load_study_meta("li2022", data_copy)


def test_unknown_study(tmp_path):
    """The message lists the studies that exist, whichever they are (here: two made-up ones)."""
    for sid in ("zz_second", "aa_first"):
        (tmp_path / sid).mkdir()
        (tmp_path / sid / "study.yml").write_text(f"id: {sid}\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"unknown study 'nope' \(known: aa_first, zz_second\)"):
        load_study("nope", tmp_path)
    with pytest.raises(DataError, match=r"unknown study 'nope' \(known: none\)"):
        load_study("nope", tmp_path / "aa_first")


def test_empty_csv(data_copy):
    (data_copy / "li2022" / "response.csv").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="response.csv: empty file"):
        load_study("li2022", data_copy)


def test_wrong_encoding(data_copy):
    path = data_copy / "li2022" / "baseline.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    with pytest.raises(DataError, match="baseline.csv: not UTF-8"):
        load_study("li2022", data_copy)


def test_dangling_reference(data_copy):
    path = data_copy / "li2022" / "restatements.csv"
    _edit(path, "response.recist.orr,pct,rt_pd1", "response.recist.xyz,pct,rt_pd1")
    line = _line_of(path, "response.recist.xyz")
    with pytest.raises(DataError, match=rf"restatements.csv, line {line}, column 'key'.*names no quantity"):
        load_study("li2022", data_copy)


def test_arm_size_must_be_positive(data_copy):
    _edit(data_copy / "li2022" / "study.yml", "n: 37", "n: -37")
    with pytest.raises(DataError, match="study.yml, column 'arms'"):
        load_study("li2022", data_copy)


def test_list_studies(data_copy):
    assert "li2022" in list_studies(data_copy)


def test_every_study_in_data_loads():
    """Every folder in data/ must validate: a broken extraction fails CI, not the reader."""
    studies = list_studies()
    assert "li2022" in studies
    for sid in studies:
        study = load_study(sid)
        assert study.arms, sid


def test_optional_denominator_allows_n_above_arm_size(data_copy):
    """A percentage of lesions may count more lesions than patients when its N is printed."""
    path = data_copy / "li2022" / "treatment.csv"
    path.write_text(
        "key,variable,level,arm,stat,printed,n,denominator,pct,mean,sd,median,lower,upper,location,source\n"
        "treatment.site_liver,RT site,liver,rt_pd1,count,40 (66.7%),40,60,66.7,,,,,,Table 2,x.txt\n",
        encoding="utf-8",
    )
    study = load_study("li2022", data_copy)
    assert int(study["treatment"]["denominator"].iloc[0]) == 60
    path.write_text(path.read_text(encoding="utf-8").replace(",40,60,", ",40,30,"), encoding="utf-8")
    with pytest.raises(DataError, match="line 2, column 'n': n is larger than its denominator"):
        load_study("li2022", data_copy)


# ---------------------------------------------------------------- memoised loading

ORR_ROW = "response.recist.orr,RECIST 1.1,ORR,rt_pd1,count,20 (54.05%),20,54.05,"


@pytest.fixture()
def li2022_copy(tmp_path: Path) -> Path:
    """A copy of li2022 alone, in a folder no other test has loaded."""
    shutil.copytree(Path(DATA_DIR) / "li2022", tmp_path / "li2022")
    return tmp_path


def _orr_n(study) -> int:
    r = study["response"]
    return int(r.loc[(r["key"] == "response.recist.orr") & (r["arm"] == "rt_pd1"), "n"].iloc[0])


def test_repeated_loads_validate_once(li2022_copy, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "VALIDATED", tmp_path / "validated")  # none kept from other tests
    reads = []
    real = data._load_study
    monkeypatch.setattr(data, "_load_study", lambda *a: reads.append(a) or real(*a))
    first = load_study("li2022", data_dir=li2022_copy)
    second = load_study("li2022", data_dir=li2022_copy)
    assert len(reads) == 1
    assert first is not second
    for table in first.tables:
        pd.testing.assert_frame_equal(first[table], second[table])


def test_an_edited_file_is_read_again(li2022_copy):
    """Even an edit that keeps the file's size (20 -> 21 responders, 54.05 -> 56.76 %)."""
    assert _orr_n(load_study("li2022", data_dir=li2022_copy)) == 20
    path = li2022_copy / "li2022" / "response.csv"
    text = path.read_text(encoding="utf-8")
    assert ORR_ROW in text
    edited = text.replace(ORR_ROW, ORR_ROW.replace("20 (54.05%),20,54.05", "21 (56.76%),21,56.76"))
    assert len(edited) == len(text)
    path.write_text(edited, encoding="utf-8")
    assert _orr_n(load_study("li2022", data_dir=li2022_copy)) == 21
    path.write_text("key\n", encoding="utf-8")  # and a broken file is reported, not served from memory
    with pytest.raises(DataError, match="response.csv"):
        load_study("li2022", data_dir=li2022_copy)


def test_a_caller_cannot_change_another_caller_s_study(li2022_copy):
    mine = load_study("li2022", data_dir=li2022_copy)
    mine["response"].loc[:, "n"] = 0
    mine.tables["baseline"] = mine["baseline"].iloc[:0]
    mine.meta["short_title"] = "changed"
    mine.meta["arms"].clear()
    mine.arms.clear()
    again = load_study("li2022", data_dir=li2022_copy)
    assert _orr_n(again) == 20 and len(again["baseline"]) > 0
    assert again.meta["short_title"] != "changed" and len(again.meta["arms"]) == 2
    assert again.arm_sizes == {"rt_pd1": 37, "tace_sor": 41}


def test_bytes_that_passed_validation_are_not_checked_again(li2022_copy, tmp_path, monkeypatch):
    """Another process (memory cleared) reading the same bytes under the same code skips the
    checks (the study kept in ``_build/validated``) and gets the same typed tables; one changed
    byte of the study means full validation again, with its message."""
    monkeypatch.setattr(data, "VALIDATED", tmp_path / "validated")
    first = load_study("li2022", data_dir=li2022_copy)
    assert len(list((tmp_path / "validated").iterdir())) == 1
    data._LOADED.clear()  # as a new process would start

    def no_checks(*args, **kwargs):
        raise AssertionError("validated again")

    monkeypatch.setattr(pa.DataFrameSchema, "validate", no_checks)
    again = load_study("li2022", data_dir=li2022_copy)
    for table in first.tables:
        pd.testing.assert_frame_equal(first[table], again[table])
        assert first[table].attrs == again[table].attrs  # file lines, for messages
    monkeypatch.undo()
    monkeypatch.setattr(data, "VALIDATED", tmp_path / "validated")
    path = li2022_copy / "li2022" / "response.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",20,54.05", ",99,54.05", 1), encoding="utf-8")
    data._LOADED.clear()
    with pytest.raises(DataError, match="response.csv"):
        load_study("li2022", data_dir=li2022_copy)


@pytest.mark.parametrize("study_id", list_studies())
def test_a_study_read_back_equals_the_validated_one(study_id, tmp_path, monkeypatch):
    """What another process reads back from ``_build/validated`` is the study validation gave:
    metadata, arms, every frame (values, dtypes, column order) and its file lines; its folder is
    where it was read from now."""
    monkeypatch.setattr(data, "VALIDATED", tmp_path / "validated")
    folder = Path(DATA_DIR) / study_id
    checked = data._load_study(study_id, folder)
    mark = data._mark(study_id, data._digest(folder))
    data._remember(mark, checked)
    again = data._remembered(mark, folder)
    assert again is not checked and again.folder == folder
    assert (again.id, again.meta, again.arms) == (checked.id, checked.meta, checked.arms)
    assert list(checked.tables) == list(again.tables)
    for table in checked.tables:
        pd.testing.assert_frame_equal(checked.tables[table], again.tables[table])
        assert checked.tables[table].attrs == again.tables[table].attrs


def test_an_unreadable_kept_study_is_validated_again(li2022_copy, tmp_path, monkeypatch):
    """A kept study cut short (or not a study at all) counts as absent: the bytes are validated
    again, and the kept copy is written anew and whole."""
    monkeypatch.setattr(data, "VALIDATED", tmp_path / "validated")
    load_study("li2022", data_dir=li2022_copy)
    (mark,) = (tmp_path / "validated").iterdir()
    whole = mark.read_bytes()
    calls = []
    real = data._load_study
    monkeypatch.setattr(data, "_load_study", lambda *a: calls.append(a) or real(*a))
    for i, broken in enumerate((whole[: len(whole) // 2], b"", pickle.dumps({"not": "a study"}))):
        mark.write_bytes(broken)
        data._LOADED.clear()
        assert load_study("li2022", data_dir=li2022_copy).arm_sizes == {"rt_pd1": 37, "tace_sor": 41}
        assert len(calls) == i + 1  # validated again
        assert data._remembered(mark, li2022_copy / "li2022") is not None
        assert [p.name for p in (tmp_path / "validated").iterdir()] == [mark.name]  # nothing left aside


@pytest.mark.parametrize("study", list_studies())
def test_study_yml_reads_as_pyyaml_safe_load(study):
    """``data.safe_yaml`` (libyaml's parser when PyYAML has it) gives what ``yaml.safe_load``
    gives, value for value, on every study's metadata."""
    import yaml

    text = (DATA_DIR / study / "study.yml").read_text(encoding="utf-8")
    assert data.safe_yaml(text) == yaml.safe_load(text)


def test_a_broken_study_yml_is_named_as_the_pure_python_parser_names_it(tmp_path):
    """On an error the message is PyYAML's pure-Python one (line and column of the problem)."""
    import yaml

    bad = "id: x\narms: [{id: a, label: A\ntitle: t\n"
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "study.yml").write_text(bad, encoding="utf-8")
    with pytest.raises(yaml.YAMLError) as python_error:
        yaml.safe_load(bad)
    with pytest.raises(DataError) as err:
        data.load_meta(folder)
    assert str(python_error.value) in str(err.value)
    assert "line 3, column 6" in str(err.value)
