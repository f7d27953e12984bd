"""Verdicts a reader can act on: severity, informative checks, and the defects an R cross-check
found. Expected values are hand arithmetic (shown beside each) or R output."""

from __future__ import annotations

import dataclasses

import pytest

from reanalysis import checks as C
from reanalysis.checks import Check, Severity, Status, severity
from reanalysis.data import load_study


@pytest.fixture(scope="module")
def li():
    return C.run_checks(load_study("li2022"))


@pytest.fixture(scope="module")
def rtiot():
    return C.run_checks(load_study("rtiot2025"))


def row(frame, check, key, location=None, arm=None):
    sel = frame[(frame["check"] == check) & (frame["key"] == key)]
    if location is not None:
        sel = sel[sel["location"] == location]
    if arm is not None:
        sel = sel[sel["arm"] == arm]
    assert len(sel) == 1, sel[["check", "key", "location", "arm"]]
    return sel.iloc[0]


def test_every_inconsistency_has_a_severity_and_nothing_else_does(li, rtiot):
    for frame in (li, rtiot):
        bad = frame["status"] == Status.INCONSISTENT
        assert frame.loc[bad, "severity"].isin(C.SEVERITIES).all()
        assert (frame.loc[~bad, "severity"] == "").all()


def test_rounding_slip_is_minor_and_impossible_p_is_critical(li):
    # 35/37 = 94.5946% prints as 94.59, not 94.60: one unit of the last digit -> minor
    assert row(li, "percentage", "baseline.gender_male", arm="rt_pd1")["severity"] == "minor"
    # 38/41 = 92.68% printed 93.7: a whole unit off -> major
    assert row(li, "percentage", "baseline.albi_le_2", arm="tace_sor")["severity"] == "major"
    # OS 3-month 97.3% vs 92.3%, printed P < 0.001; smallest attainable p 0.306 >= 0.05 -> critical
    assert row(li, "landmark p", "survival.os.landmark_3")["severity"] == "critical"
    # OS 12-month printed 0.061, smallest attainable 0.678: both above 0.05 -> major
    assert row(li, "landmark p", "survival.os.landmark_12")["severity"] == "major"


def test_landmark_reason_names_the_papers_whole_curve_p(li):
    # Li 2022 Table 2 prints the OS whole-curve (Breslow) p as 0.146: it cannot explain P < 0.001
    reason = row(li, "landmark p", "survival.os.landmark_3")["reason"]
    assert "whole-curve OS p is 0.146, so that does not explain it either" in reason


def test_restatement_keeps_the_printed_trailing_zero(li):
    # Table 2 prints the 6-month OS rate as 91.90%; the abstract, results and discussion print 91.89%.
    # At two decimals 91.89 != 91.90 (the table value used to be read as 91.9)
    for location in ("Abstract", "Results: Overall survival", "Discussion"):
        r = row(li, "restatement", "survival.os.landmark_6", location, "rt_pd1")
        assert r["status"] == Status.INCONSISTENT and r["recomputed"] == "91.90 (Table 2)"
        assert r["severity"] == "minor"  # one unit of the last digit


def test_restatement_more_precise_than_its_source_is_checked_against_the_count(rtiot):
    # Table 4: grade 3-4 lymphopenia 8 (19) of 42 in the IO+T arm; 8/42 = 19.048%.
    # The Discussion's 18.6% rounds to the table's 19 but not from 8/42 (19.0 at one decimal)
    r = row(rtiot, "restatement", "ae.lymphopenia.g3_4", "Discussion", "io_t")
    assert r["status"] == Status.INCONSISTENT and r["recomputed_value"] == pytest.approx(100 * 8 / 42)
    # the Abstract's 19.0% is 8/42 at one decimal
    assert row(rtiot, "restatement", "ae.lymphopenia.g3_4", "Abstract", "io_t")["status"] == Status.REPRODUCED


def test_hr_check_includes_the_rounding_of_the_hr_itself(rtiot):
    # Table 5, OS by gender: HR 1.1 (0.49–2.48), p 0.814. SE = (ln 2.48 - ln 0.49)/3.92 = 0.41368;
    # at HR 1.1 z = 0.2304, p = 0.818 (outside 0.8135–0.8145); HR 1.1 stands for 1.05–1.15, whose
    # Wald p run from 0.906 to 0.736 and include 0.814.
    r = row(rtiot, "hazard ratio", "hr.os.uni.gender")
    assert r["status"] == Status.REPRODUCED
    assert r["recomputed_lower"] < 0.74 and r["recomputed_upper"] > 0.90
    # 12 more of Table 5's rows become reproducible (the R cross-check's count): 14 before, 26 now
    assert (
        rtiot["check"].eq("hazard ratio") & rtiot["status"].isin([Status.REPRODUCED, Status.COMPATIBLE])
    ).sum() == 26


def test_ci_including_1_with_a_significant_p_is_not_an_error(rtiot):
    # Table 5: 2.38 (0.99–5.71) p = 0.032 and 1.89 (0.97–3.66) p = 0.045: Wald p 0.052 and 0.060;
    # the log-rank (score) p of the same univariable model can be below 0.05 while the Wald CI
    # crosses 1 -> not recomputable, and the reason names that test, once
    for key in ("hr.os.uni.bclc", "hr.pfs.uni.ecog"):
        r = row(rtiot, "hazard ratio", key)
        assert r["status"] == Status.NOT_RECOMPUTABLE
        assert "log-rank test's p" in r["reason"] and "test test" not in r["reason"]


def test_multivariable_hr_is_not_blamed_on_a_log_rank_test(rtiot):
    reasons = rtiot.loc[rtiot["key"].str.contains(".multi.") & rtiot["check"].eq("hazard ratio"), "reason"]
    assert not reasons.str.contains("log-rank").any()


def test_percentage_of_the_whole_cohort_is_a_mislabelled_count(li):
    # Results: "37 of the patients (47.4%)" in the 37-patient arm: 37/78 = 47.44% -> 47.4
    r = row(li, "percentage", "survival.pfs.events", arm="rt_pd1")
    assert r["status"] == Status.INCONSISTENT and r["severity"] == "minor"
    assert "37 of all 78 patients gives 47.4%" in r["reason"]
    # "41 (52.8%)": 41/78 = 52.56% -> 52.6, not 52.8: no denominator explains it
    assert row(li, "percentage", "survival.pfs.events", arm="tace_sor")["severity"] == "major"


def test_uninformative_reproductions_are_compatible_not_reproduced(rtiot):
    # singlecentre2025: AFP >= 400 printed as 50% of 108 with no n; 100/108 = 0.93 points per
    # patient is finer than the printed unit (1 point): any printed integer % is attainable
    single = C.run_checks(load_study("singlecentre2025"))
    afp = single[single["quantity"].str.startswith("AFP") & single["printed"].eq("50%")]
    assert (afp["status"] == Status.COMPATIBLE).all() and len(afp) == 1
    # Table 5 PFS by age: 0.62 (0.38–1.01), p 0.055; the Wald p over the rounding runs 0.047–0.064,
    # on both sides of 0.05: the check cannot tell significant from not
    assert row(rtiot, "hazard ratio", "hr.pfs.uni.age")["status"] == Status.COMPATIBLE


def test_exact_2x3_test_gives_a_verdict(rtiot):
    # Table 1, previous locoregional therapy (2×3): R fisher.test p = 0.144 (see tests/test_stats.py);
    # Pearson 0.117; printed 0.149: no standard test gives it, significance unchanged -> major
    r = row(rtiot, "p-value", "baseline.prior_lrt")
    assert r["recomputed"] == "0.144" and r["status"] == Status.INCONSISTENT and r["severity"] == "major"


def test_severity_rules_are_data_and_complete():
    rules = severity.rules()
    assert rules[-1].check == "*" and rules[-1].condition == "*"  # a catch-all closes the list
    assert {r.severity for r in rules} == set(Severity)
    base = Check(study="x", check="p-value", key="k", location="l", quantity="q", status=Status.INCONSISTENT)
    # a printed p < 0.001 whose recomputed value is 0.2: crosses 0.05 -> critical
    crossing = dataclasses.replace(base, printed_lower=0.0, printed_upper=0.001, recomputed_value=0.2)
    assert severity.severity_of(crossing)[0] == Severity.CRITICAL
    # printed 0.774 vs 0.887: same side -> major
    same_side = dataclasses.replace(base, printed_lower=0.7735, printed_upper=0.7745, recomputed_value=0.887)
    assert severity.severity_of(same_side)[0] == Severity.MAJOR


def test_identical_summaries_under_two_criteria_are_flagged(li):
    # Li 2022 Table 2 prints PFS 5.86 (3.19–8.53) and 3.70 (2.60–4.80) under both RECIST 1.1 and
    # mRECIST: identical medians and CIs under two criteria, flagged for review
    dup = li[li["check"] == "duplicate"]
    assert set(dup["arm"]) == {"rt_pd1", "tace_sor"} and (dup["status"] == Status.INCONSISTENT).all()
    assert dup["reason"].str.contains("identical under RECIST 1.1 and mRECIST").all()


def test_percentages_of_another_denominator_are_flagged(rtiot):
    # Table 2: RT sites in the 29-patient RT+IO+T arm: liver 18 (51.4) = 18/35 sites, not /29 (62.1%)
    r = row(rtiot, "denominator", "treatment.rt_site_liver", arm="rt_io_t")
    assert (
        r["status"] == Status.INCONSISTENT
        and r["severity"] == "minor"
        and "of 35, not of the 29" in r["reason"]
    )
    # its GRIM check still uses the printed denominator: 18/35 = 51.43% -> 51.4 reproduced
    assert row(rtiot, "percentage", "treatment.rt_site_liver", arm="rt_io_t")["status"] == Status.REPRODUCED


def test_bed_against_each_stated_schedule(rtiot):
    # Methods: SBRT 36–60 Gy in 3–10 fractions, IMRT 50–60 Gy in 20–30. BED10 = D(1 + D/n/10):
    # SBRT lowest 36 Gy in 10 = 36 × 1.36 = 48.96; IMRT lowest 50 Gy in 30 = 58.33. Table 2's lowest
    # BED10 43.2 (36 Gy in 18 fractions) fits the pooled extremes (40.3) but no stated schedule.
    bed = rtiot[(rtiot["check"] == "BED range") & rtiot["method"].str.contains("schedule")].iloc[0]
    assert bed["status"] == Status.INCONSISTENT
    assert bed["recomputed_lower"] == pytest.approx(48.96) and "IMRT 58.3–78.0" in bed["recomputed"]
    pooled = rtiot[(rtiot["check"] == "BED range") & rtiot["method"].str.contains("extremes")].iloc[0]
    assert pooled["status"] == Status.REPRODUCED


def test_printed_bed_and_eqd2_agree_at_the_stated_alpha_beta(data_copy):
    # singlecentre2025: BED 71 (38–100), EQD2 60 (31–83) at α/β = 10: EQD2 = BED/1.2.
    # 71 stands for 70.5–71.5 -> 58.75–59.58, which meets 60's 59.5–60.5; 38 -> 31.25–32.08 meets
    # 31 (30.5–31.5); 100 -> 82.92–83.75 meets 83.
    single = C.run_checks(load_study("singlecentre2025"))
    assert row(single, "BED range", "treatment.rt_eqd2")["status"] == Status.REPRODUCED
    path = data_copy / "singlecentre2025" / "treatment.csv"
    text = path.read_text(encoding="utf-8")
    assert "60 Gy (31–83 Gy),,,,,,60,31,83" in text
    path.write_text(
        text.replace("60 Gy (31–83 Gy),,,,,,60,31,83", "62 Gy (31–83 Gy),,,,,,62,31,83"), encoding="utf-8"
    )
    bad = row(C.run_checks(load_study("singlecentre2025", data_copy)), "BED range", "treatment.rt_eqd2")
    assert (
        bad["status"] == Status.INCONSISTENT and "median: BED 71 gives EQD2 59.2, printed 62" in bad["reason"]
    )
