"""Loading and validating extracted data: the real study loads; bad input fails clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from reanalysis.data import list_studies, load_study
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


def test_unknown_study(data_copy):
    with pytest.raises(DataError, match=r"unknown study 'nope' \(known: li2022"):
        load_study("nope", data_copy)


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
