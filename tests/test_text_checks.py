"""Numbers in the text: spelled-out counts as restatements, and itemised lists against their totals.

Every expected value is hand arithmetic on the seed text, written beside the assertion.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reanalysis.checks import Status, check_records
from reanalysis.checks.restatements import restatement_checks
from reanalysis.checks.text import text_sum_checks
from reanalysis.data import load_study
from reanalysis.errors import DataError
from reanalysis.textnumbers import number_term, spelled_numbers, split_terms

SEEDS = Path("/work/shared/seeds")
_DASH = re.compile(r"[\u2010\u2011\u2012\u2013\u2014\u2212]")


def _normalised(text: str) -> str:
    """Whitespace runs as one space, every dash as a hyphen-minus."""
    return re.sub(r"\s+", " ", _DASH.sub("-", text)).strip()


def _row(checks, key: str, arm: str = "", location: str | None = None):
    hits = [c for c in checks if c.key == key and c.arm == arm and location in (None, c.location)]
    assert len(hits) == 1, (key, arm, location, hits)
    return hits[0]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text not found: {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# --- reading numbers written in words -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("Forty-three (39.8%) patients", [43]),  # 40 + 3
        ("Of the seven patients with extrahepatic metastases, six received RT", [7, 6]),
        ("two due to adverse events (AEs) (one related to immunotherapy), and seven due", [2, 1, 7]),
        ("one hundred and five", [105]),  # 100 + 5
        ("a hundred", [100]),
        ("seventeen, not seven", [17, 7]),
        ("twenty one", [21]),
        ("someone gone, none, first-line, both arms, no CR", []),  # not cardinals
    ],
)
def test_spelled_numbers(text, numbers):
    assert spelled_numbers(text) == numbers


def test_terms():
    assert split_terms("a.b; 2 ;N") == ("a.b", "2", "N")
    assert split_terms(float("nan")) == ()
    assert number_term("16") == 16.0 and number_term("N") is None and number_term("a.b") is None


# --- spelled-out counts as restatements -----------------------------------------------------


def test_spelled_out_counts_are_restatements():
    rt = restatement_checks(load_study("rtiot2025"))
    # "Of the seven patients with extrahepatic metastases" (RT+IO+T) vs Table 1 "Yes 10 (34.5)"
    seven = _row(
        rt, "baseline.extrahepatic_metastasis_yes", "rt_io_t", "Results: Patient baseline characteristics"
    )
    assert seven.status == Status.INCONSISTENT and seven.recomputed_value == 10
    assert seven.printed == "seven patients with extrahepatic metastases"
    # "only one patient received RT+IO+T" (BCLC B) vs Table 1 "B 1 (3.4)"
    one = _row(rt, "baseline.bclc_b", "rt_io_t", "Results: Subgroup analysis")
    assert one.status == Status.REPRODUCED and one.recomputed_value == 1
    sc = restatement_checks(load_study("singlecentre2025"))
    # "Forty-three (39.8%)" vs Table 1 "≥ 1,000: 43 | 39.8"
    forty_three = [c for c in sc if c.key == "baseline.afp_ge_1000" and c.statistic == "n"]
    assert [c.status for c in forty_three] == [Status.REPRODUCED] and forty_three[0].recomputed_value == 43
    # "One patient died of a tracheoesophageal fistula" vs Table 4 TEF grade 5 "1 | 0.9"
    assert _row(sc, "ae.tef.g5", "rt_ici").status == Status.REPRODUCED


def test_a_spelled_out_count_is_graded_like_a_digit():
    checks = check_records(load_study("rtiot2025"))
    seven = _row(
        checks, "baseline.extrahepatic_metastasis_yes", "rt_io_t", "Results: Patient baseline characteristics"
    )
    # 7 printed, 10 in Table 1: three units off, not a rounding slip → major
    assert seven.severity == "major"


def test_spelled_out_value_must_be_the_printed_word(data_copy):
    path = data_copy / "singlecentre2025" / "restatements.csv"
    _edit(path, "Forty-three (39.8%),43,", "Forty-three (39.8%),44,")
    with pytest.raises(DataError) as err:
        load_study("singlecentre2025", data_copy)
    assert err.value.column == "printed" and "restatements.csv" in err.value.file


def test_broken_table_count_makes_the_spelled_out_restatement_fail(data_copy):
    # Table 1 BCLC B for RT+IO+T changed from 1 (3.4) to 2 (3.4): "only one patient" no longer agrees
    _edit(data_copy / "rtiot2025" / "baseline.csv", "count,1 (3.4),1,", "count,2 (3.4),2,")
    one = _row(
        restatement_checks(load_study("rtiot2025", data_copy)),
        "baseline.bclc_b",
        "rt_io_t",
        "Results: Subgroup analysis",
    )
    assert one.status == Status.INCONSISTENT and one.reason == "Table 1 prints 2"


# --- itemised lists against their totals ----------------------------------------------------


def test_li2022_subsequent_therapies():
    checks = text_sum_checks(load_study("li2022"))
    # RT + PD1: 1 + 2 + 2 + 2 + 3 + 4 = 14, the printed "14 (37.8%)"
    rt = _row(checks, "sum.subsequent_therapy", "rt_pd1")
    assert rt.status == Status.REPRODUCED and rt.recomputed_value == 14
    # TACE + sorafenib: one + 1 + 1 + 1 + 1 + 1 + 2 + 10 = 18, but "16 (39.0%)" is printed
    tace = _row(checks, "sum.subsequent_therapy", "tace_sor")
    assert tace.status == Status.INCONSISTENT and tace.recomputed_value == 18
    assert tace.recomputed == "1 + 1 + 1 + 1 + 1 + 1 + 2 + 10 = 18"
    assert tace.reason.startswith("the items add up to 18, 2 more than the printed total of 16")


def test_li2022_counts_add_up_to_the_arms():
    checks = text_sum_checks(load_study("li2022"))
    # survival.csv rows: 18 alive + 18 died + 1 lost = 37; 13 + 25 + 3 = 41 (the arm sizes)
    assert _row(checks, "sum.os_status", "rt_pd1").recomputed == "18 + 18 + 1 = 37"
    assert _row(checks, "sum.os_status", "tace_sor").recomputed == "13 + 25 + 3 = 41"
    # 35 during RT + 2 after = 37; 32 camrelizumab + 3 sintilimab + 2 tislelizumab = 37
    for key in ("sum.pd1_timing", "sum.pd1_drugs", "sum.os_status"):
        assert all(c.status == Status.REPRODUCED for c in checks if c.key == key), key


def test_singlecentre2025_sums():
    checks = text_sum_checks(load_study("singlecentre2025"))
    # 40 tumour + two AE + seven other = 49 deaths (survival.os.deaths)
    assert _row(checks, "sum.deaths_by_cause", "rt_ici").recomputed == "40 + 2 + 7 = 49"
    # Table 4 grade 5: GI AE 1 + TEF 1, every other row 0 → 2 = "two due to adverse events"
    g5 = _row(checks, "sum.ae_deaths_grade_5", "rt_ici", "Results: Outcomes")
    assert g5.recomputed_value == 2 and g5.status == Status.REPRODUCED
    # 62 out-of-field + one in- and out-of-field = 63 progressions
    assert _row(checks, "sum.progressions", "rt_ici").recomputed == "62 + 1 = 63"
    # Table 2: sorafenib 29 + lenvatinib 48 + regorafenib 13 + apatinib 3 = 93 = "93 patients (86.1%)"
    assert _row(checks, "sum.targeted_therapy", "rt_ici").recomputed == "29 + 48 + 13 + 3 = 93"
    # 81 + 62 + 10 + 21 + 51 = 225 patient-sites ≤ 225 foci
    assert _row(checks, "sum.rt_foci", "rt_ici").recomputed_value == 225
    assert all(c.status == Status.REPRODUCED for c in checks)


def test_rtiot2025_sums():
    checks = text_sum_checks(load_study("rtiot2025"))
    # Table 2 sites: lymph nodes 3 + lung 1 + bone 2 = 6 ≥ "six received RT targeting metastatic sites"
    sites = _row(checks, "sum.extrahepatic_rt_sites", "rt_io_t")
    assert sites.recomputed == "3 + 1 + 2 = 6" and sites.status == Status.REPRODUCED
    # "six" ≤ "seven"; "nine patients still under follow-up" ≤ 29
    assert _row(checks, "sum.extrahepatic_rt", "rt_io_t").status == Status.REPRODUCED
    assert _row(checks, "sum.os_under_followup", "rt_io_t").quantity == "9 ≤ N of RT + IO + T"


def test_broken_copy_fails_the_sum(data_copy):
    # Table 2 sorafenib 29 → 30: 30 + 48 + 13 + 3 = 94, one more than the printed 93
    _edit(data_copy / "singlecentre2025" / "treatment.csv", "count,29 | 26.9,29,", "count,30 | 26.9,30,")
    row = _row(text_sum_checks(load_study("singlecentre2025", data_copy)), "sum.targeted_therapy", "rt_ici")
    assert row.status == Status.INCONSISTENT and row.recomputed == "30 + 48 + 13 + 3 = 94"
    assert row.reason.startswith("the items add up to 94, 1 more than the printed total of 93")


def test_part_larger_than_its_whole_is_inconsistent(data_copy):
    # "six" of "seven" read as a total of 5 (the printed "Of the … five" is invented): 6 ≤ 5 fails
    _edit(
        data_copy / "rtiot2025" / "text_sums.csv",
        'sum.extrahepatic_rt,rt_io_t,<=,7,6,"Of the seven',
        'sum.extrahepatic_rt,rt_io_t,<=,5,6,"Of the five',
    )
    row = _row(text_sum_checks(load_study("rtiot2025", data_copy)), "sum.extrahepatic_rt", "rt_io_t")
    assert row.status == Status.INCONSISTENT
    assert row.reason == "the items add up to 6, more than the 5 they are part of"
    assert (
        _row(check_records(load_study("rtiot2025", data_copy)), "sum.extrahepatic_rt", "rt_io_t").severity
        == "major"
    )


def test_a_term_without_a_count_is_not_recomputable(data_copy):
    path = data_copy / "rtiot2025" / "text_sums.csv"
    with path.open("a", encoding="utf-8") as fh:
        fh.write("sum.medians,rt_io_t,=,N,survival.pfs.median,a median,Results: Survival analysis,x.txt\n")
    row = _row(text_sum_checks(load_study("rtiot2025", data_copy)), "sum.medians", "rt_io_t")
    assert row.status == Status.NOT_RECOMPUTABLE and row.reason == "no count is printed for PFS median"


@pytest.mark.parametrize(
    ("old", "new", "column", "fragment"),
    [
        (",<=,N,9,", ",<=,N,survival.no_such_key,", "items", "is not a number, N or a key"),
        (",<=,N,9,", ",<=,N,8,", "items", "does not occur in the printed string"),  # "nine" is 9
        (",<=,N,9,", ",<,N,9,", "relation", "must be one of"),
        (",<=,N,9,", ",<=,N;9,9,", "total", "total must be one term"),
    ],
)
def test_bad_text_sum_names_file_line_and_column(data_copy, old, new, column, fragment):
    path = data_copy / "rtiot2025" / "text_sums.csv"
    _edit(path, old, new)
    line = next(i for i, t in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if new in t)
    with pytest.raises(DataError) as err:
        load_study("rtiot2025", data_copy)
    assert "text_sums.csv" in err.value.file
    assert (err.value.row, err.value.column) == (line, column)
    assert fragment in str(err.value)


def test_text_sums_run_from_the_registry():
    checks = check_records(load_study("li2022"))
    assert sum(c.check == "text sum" for c in checks) == 8  # 8 rows of data/li2022/text_sums.csv


# --- what is printed is in the source ---------------------------------------------------------


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed texts are not on this machine")
@pytest.mark.parametrize("study_id", ["li2022", "rtiot2025", "singlecentre2025"])
def test_printed_text_is_verbatim(study_id):
    """Every text sum and every restatement printed in words occurs in the source (whitespace
    and dashes normalised)."""
    study = load_study(study_id)
    source = _normalised((SEEDS / study.meta["source"]).read_text(encoding="utf-8"))
    rs = study["restatements"]
    printed = list(study["text_sums"]["printed"]) + list(
        rs.loc[rs["printed"].map(spelled_numbers).map(bool), "printed"]
    )
    assert printed
    for text in printed:
        assert _normalised(text) in source, text


def test_a_lookup_by_key_finds_the_first_row_a_filter_finds():
    """The checks' index of rows by key (built once a study, :class:`StudyIndex`) finds, for
    every key and arm (each of the study's, one it lacks, none), the row that filtering the table
    finds first: the same row, or none. Rows share keys across arms, and some have no arm."""
    import pandas as pd

    from reanalysis.checks.lookup import StudyIndex
    from reanalysis.data import list_studies

    tables = ("pvalues", "baseline", "treatment", "response", "adverse_events", "survival", "hazard_ratios")

    def same(found, hit, where):
        if hit.empty:
            assert found is None, where
        else:
            pd.testing.assert_series_equal(found, hit.iloc[0])

    looked = 0
    for sid in list_studies():
        study = load_study(sid)
        index = StudyIndex(study)
        for t in tables:
            df = study[t]
            for key in [*dict.fromkeys(df["key"].dropna()), "no-such-key"]:
                same(index.first(t, key), df[df["key"] == key], (sid, t, key))
                if "arm" not in df:
                    continue
                for arm in [*(a.id for a in study.arms), "no-such-arm", None]:
                    hit = df[(df["key"] == key) & (df["arm"] == arm)]
                    same(index.first_of_arm(t, key, arm), hit, (sid, t, key, arm))
                    looked += len(hit) > 0
    assert looked > 300


def test_the_index_serves_only_the_study_whose_checks_run():
    """Inside ``indexed(study)`` lookups about that very object share one index (and its
    labels); another study object, or any lookup outside, works it out afresh. A caller's copy
    of the labels is its own."""
    from reanalysis.checks.lookup import indexed, quantity_labels, study_index

    study, other = load_study("li2022"), load_study("li2022")
    with indexed(study) as index:
        assert study_index(study) is index and study_index(other) is not index
        labels = quantity_labels(study)
        labels.clear()
        assert quantity_labels(study) == quantity_labels(other) != {}
    assert study_index(study) is not index
