"""Every printed string occurs in its study's source text (a typo would be blamed on the authors)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pandas as pd
import pytest

from reanalysis.data import DATA_DIR, list_studies, load_study
from reanalysis.errors import DataError
from reanalysis.sourcecheck import SOURCES_DIR, cells, check_printed, missing_printed, normalise


def test_normalise_ignores_whitespace_and_dash_kind():
    assert normalise("5.86(3.19–8.53)") == normalise("5.86 (3.19 - 8.53)")
    assert normalise("−1.2") == normalise("-1.2") == normalise("\u2011" + "1.2")
    assert normalise("5.86") != normalise("5.68")


def test_cells_are_split_on_the_separator():
    assert cells("91 | 84.3") == ["91", "84.3"]
    assert cells("35(94.60%)") == ["35(94.60%)"]


@pytest.mark.skipif(not SOURCES_DIR.is_dir(), reason=f"source texts not at hand ({SOURCES_DIR} absent)")
@pytest.mark.parametrize("study_id", list_studies())
def test_every_printed_string_occurs_in_the_source(study_id):
    study = load_study(study_id)
    missing, checked, absent = missing_printed(study, SOURCES_DIR)
    if absent:
        pytest.skip(f"{study_id}: source {', '.join(absent)} not in {SOURCES_DIR}")
    printed = sum(int(t["printed"].notna().sum()) for t in study.tables.values() if "printed" in t)
    assert checked == printed > 0
    assert missing == []


def _typo_study(tmp_path):
    """A copy of a study with one printed string changed, and a source text holding every
    printed string as it was (made here, so the test needs no seed file)."""
    study = list_studies()[0]
    shutil.copytree(DATA_DIR / study, tmp_path / "data" / study)
    loaded = load_study(study, tmp_path / "data")
    text = "\n".join(s for t in loaded.tables.values() if "printed" in t for s in t["printed"].dropna())
    table = next(t for t in ("survival", "baseline", "response", "pvalues") if not loaded[t].empty)
    path = tmp_path / "data" / study / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[0, "printed"] = frame.loc[0, "printed"] + " 987.654 typo"
    frame.to_csv(path, index=False, lineterminator="\n")
    sources = tmp_path / "seeds"
    sources.mkdir()
    name = loaded.meta["source"]
    (sources / name).write_text(text, encoding="utf-8")
    return study, table, sources


def test_a_typo_names_file_line_and_column(tmp_path):
    study, table, sources = _typo_study(tmp_path)
    with pytest.raises(DataError) as err:
        check_printed(load_study(study, tmp_path / "data"), sources)
    assert err.value.row == 2 and err.value.column == "printed"
    assert f"{study}/{table}.csv, line 2, column 'printed'" in str(err.value)
    assert "does not occur in the source text" in str(err.value)


def test_validate_exits_2_on_a_typo_and_says_when_no_source_is_at_hand(tmp_path):
    study, table, sources = _typo_study(tmp_path)
    run = [sys.executable, "-m", "reanalysis", "validate", study]
    env = {"REANALYSIS_DATA": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    bad = subprocess.run([*run, "--sources", str(sources)], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert f"{table}.csv, line 2, column 'printed'" in bad.stderr
    none = subprocess.run([*run, "--sources", str(tmp_path / "no")], capture_output=True, text=True, env=env)
    assert none.returncode == 0 and "source text not at hand" in none.stdout
