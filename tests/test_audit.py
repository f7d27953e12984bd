"""Printed-vs-recomputed checks on Li 2022, against values worked out independently.

Reference p-values are R 4.2.2 output recorded in tests/reference/r_reference.md
(``fisher.test``/``chisq.test`` on the printed counts); percentages are plain arithmetic
shown beside each fixture.
"""

from __future__ import annotations

import pandas as pd
import pytest

from reanalysis import audit, printed, rates
from reanalysis import checks as C
from reanalysis.checks import Status
from reanalysis.checks.survival import smallest_landmark_p
from reanalysis.checks.treatment import bed_checks
from reanalysis.data import load_study


@pytest.fixture(scope="module")
def checks(li2022):
    return C.run_checks(li2022)


def one(checks, check, key, arm=None, location=None):
    sel = checks[(checks["check"] == check) & (checks["key"] == key)]
    if arm is not None:
        sel = sel[sel["arm"] == arm]
    if location is not None:
        sel = sel[sel["location"] == location]
    assert len(sel) == 1, sel
    return sel.iloc[0]


def test_statuses_are_the_three_allowed(checks):
    assert set(checks["status"]) <= set(C.STATUSES)
    assert list(checks.columns[: len(C.CHECK_COLUMNS)]) == C.CHECK_COLUMNS


def test_grim_flags_impossible_percentages(checks):
    # 35/37 = 94.5946% -> "94.59", never "94.60" (Table 1, gender)
    r = one(checks, "percentage", "baseline.gender_male", "rt_pd1")
    assert r["status"] == Status.INCONSISTENT and r["recomputed"] == "94.59%"
    # 38/41 = 92.68% -> 92.7, printed 93.7 (Table 1, ALBI grade)
    assert one(checks, "percentage", "baseline.albi_le_2", "tace_sor")["status"] == Status.INCONSISTENT
    # 20/37 = 54.054% -> "54.05" (Table 2, RECIST ORR)
    assert one(checks, "percentage", "response.recist.orr", "rt_pd1")["status"] == Status.REPRODUCED


def test_grim_infers_n_when_only_a_percentage_is_printed(checks):
    # grade >= 3 TRAEs: 29.7% of 37 -> only n = 11 (11/37 = 29.73%)
    r = one(checks, "percentage", "ae.any_trae.g3plus", "rt_pd1")
    assert r["status"] == Status.REPRODUCED and r["recomputed"] == "n ∈ 11"


def test_gender_p_reproduced_by_fisher_only(checks):
    # R: fisher.test(matrix(c(35,37,2,4),2))$p.value = 0.6775; chisq.test(correct=FALSE) 0.4715
    r = one(checks, "p-value", "baseline.gender_male")
    assert r["status"] == Status.REPRODUCED
    assert r["tests_reproducing"] == ("Fisher exact",)


def test_albumin_rule_choice_is_footnoted(li2022):
    # expected counts all >= 5 -> gtsummary picks Pearson: R chisq.test(correct=FALSE) p = 0.00717
    g = C.run_checks(li2022, test_rule="gtsummary")
    r = one(g, "p-value", "baseline.albumin_lt_35")
    assert r["recomputed"] == "0.007" and "Pearson" in r["method"]
    assert r["status"] == Status.REPRODUCED and "not by the Pearson" in r["reason"]
    # 'reproduce' picks Fisher: R fisher.test p = 0.01027 -> "0.010"
    rep = one(C.run_checks(li2022, test_rule="reproduce"), "p-value", "baseline.albumin_lt_35")
    assert rep["recomputed"] == "0.010" and rep["method"].startswith("Fisher exact")


def test_mrecist_sd_p_is_reproduced_by_no_test(checks):
    # 5/37 vs 6/41 printed 0.774; R: chisq 0.887, Yates 1.000, Fisher 1.000
    r = one(checks, "p-value", "response.mrecist.sd")
    assert r["status"] == Status.INCONSISTENT and r["tests_reproducing"] == ()


def test_t_test_within_rounding(checks):
    # Student t from 54.16±10.68 (37) vs 51.71±9.571 (41): R gives 0.28865 -> 0.289, printed 0.288;
    # the rounding of the printed summaries allows 0.2866-0.2907, so it is reproduced.
    r = one(checks, "p-value", "baseline.age")
    assert r["status"] == Status.REPRODUCED and "Student t-test" in r["tests_reproducing"]


def test_median_rows_not_recomputable(checks):
    r = one(checks, "p-value", "baseline.max_tumor_diameter")
    assert r["status"] == Status.NOT_RECOMPUTABLE and "patient data" in r["reason"]


def test_restatements(checks):
    # Abstract DCR 46.37% vs Table 2 46.34% (19/41 = 46.34%)
    r = one(checks, "restatement", "response.recist.dcr", "tace_sor", "Abstract")
    assert r["status"] == Status.INCONSISTENT
    # Results 59.5% restates Table 1 59.46% at one decimal
    assert (
        one(checks, "restatement", "baseline.extrahepatic_metastasis", "rt_pd1", "Results: Patients")[
            "status"
        ]
        == Status.REPRODUCED
    )


@pytest.mark.parametrize(
    ("a", "da", "b", "db", "same"),
    [
        (59.5, 1, 59.46, 2, True),
        (46.0, 1, 45.95, 2, True),
        (97.3, 1, 97.30, 2, True),
        (91.89, 2, 91.90, 2, False),
        (46.37, 2, 46.34, 2, False),
        (1.0, 0, 0.4, 1, False),
    ],
)
def test_same_number_at_coarser_precision(a, da, b, db, same):
    assert printed.same_number(a, da, b, db) is same


def test_landmark_p_below_attainable_bound(checks):
    # 3-month OS 97.3% (N 37) vs 92.3% (N 41), printed P < 0.001. Linear z with binomial
    # variance: se = sqrt(.973*.027/37 + .923*.077/41) = 0.049431, z = 1.0115, p = 0.3118.
    assert smallest_landmark_p(0.973, 37, 0.923, 41) <= 0.3118 + 1e-4
    assert smallest_landmark_p(0.973, 37, 0.923, 41) > 0.25
    r = one(checks, "landmark p", "survival.os.landmark_3")
    assert r["status"] == Status.INCONSISTENT


def test_landmark_p_attainable_is_not_flagged():
    # 90% vs 50% with 200 per arm: z far beyond 3.3, so p < 0.001 is attainable
    assert smallest_landmark_p(0.9, 200, 0.5, 200) < 1e-6


def test_hazard_ratio_p(checks):
    # PFS HR 0.51 (0.30-0.86): se = (ln .86 - ln .30)/(2*1.959964) = 0.26869,
    # z = ln(.51)/se = -2.5060, Wald p = 0.0122 (printed 0.017 is the Breslow/Table 2 p)
    r = one(checks, "hazard ratio", "hr.pfs.arm")
    assert r["recomputed"].startswith("0.012") and r["status"] == Status.NOT_RECOMPUTABLE


def test_hazard_ratio_contradiction_is_inconsistent(data_copy):
    path = data_copy / "li2022" / "hazard_ratios.csv"
    path.write_text(
        path.read_text(encoding="utf-8").replace("P = 0.146,0.146", "P = 0.010,0.010"), encoding="utf-8"
    )
    r = one(C.run_checks(load_study("li2022", data_copy)), "hazard ratio", "hr.os.arm")
    assert r["status"] == Status.INCONSISTENT and "includes 1" in r["reason"]


def test_sum_checks(checks, data_copy):
    assert (checks.loc[checks["check"] == "sum", "status"] == Status.REPRODUCED).all()
    path = data_copy / "li2022" / "response.csv"
    text = path.read_text(encoding="utf-8")
    old = "response.recist.orr,RECIST 1.1,ORR,rt_pd1,count,20 (54.05%),20,54.05"
    assert old in text
    path.write_text(
        text.replace(old, "response.recist.orr,RECIST 1.1,ORR,rt_pd1,count,21 (54.05%),21,54.05"),
        encoding="utf-8",
    )
    c = C.run_checks(load_study("li2022", data_copy))
    bad = c[(c["check"] == "sum") & (c["status"] == Status.INCONSISTENT)]
    assert len(bad) == 1 and bad.iloc[0]["arm"] == "rt_pd1" and "0 + 20 = 20" in bad.iloc[0]["reason"]


def test_every_printed_p_and_percentage_is_covered(li2022, checks):
    """Done-when of the spine: each printed p and percentage of Tables 1-3 has a check row."""
    for key in li2022["pvalues"]["key"]:
        assert key in set(checks["key"]), key
    for table in ("baseline", "response", "adverse_events"):
        df = li2022[table]
        for _, r in df[df["pct"].notna()].iterrows():
            hit = checks[
                (checks["check"] == "percentage") & (checks["key"] == r["key"]) & (checks["arm"] == r["arm"])
            ]
            assert len(hit) == 1, (r["key"], r["arm"])


def test_rate_table_newcombe(li2022):
    # RECIST ORR 20/37 vs 5/41; Newcombe method 10 computed in R by formula (r_reference.md):
    # 0.418589321028345 (0.212738084259021, 0.582739039013417)
    r = rates.rate_table(li2022, "RECIST 1.1").set_index("outcome").loc["ORR"]
    assert r["diff"] == pytest.approx(0.418589321028345, rel=1e-12)
    assert r["diff_lo"] == pytest.approx(0.212738084259021, rel=1e-9)
    assert r["diff_hi"] == pytest.approx(0.582739039013417, rel=1e-9)


@pytest.mark.parametrize(
    ("restated", "rv", "primary", "pv", "agree"),
    [
        ("P = 0.017", 0.017, "0.017", 0.017, True),
        # Li 2022 ALT grade 3-4: text < 0.001, Table 3 0.001; Fisher gives 0.00087, which is both
        ("P < 0.001", 0.001, "0.001", 0.001, True),
        ("P < 0.001", 0.001, "0.007", 0.007, False),  # rtiot2025 thrombocytopenia: Discussion vs Table 4
        ("all p>0.2", 0.2, "0.146", 0.146, False),
        ("all p>0.2", 0.2, "0.563", 0.563, True),
        ("p < 0.0001", 0.0001, "<0.001", 0.001, True),
        ("p > 0.05", 0.05, "< 0.001", 0.001, False),
    ],
)
def test_printed_p_bounds_agree(restated, rv, primary, pv, agree):
    assert printed.p_agree(printed.find_p(restated, rv), printed.find_p(primary, pv)) is agree


def test_interaction_and_bed_checks_on_rtiot2025():
    study = load_study("rtiot2025")
    c = C.run_checks(study)
    inter = c[c["check"] == "interaction p"].set_index("key")
    # OS by ECOG: ratio-of-HRs test 0.047 (see tests/test_stats.py); printed 0.013: both < 0.05
    assert inter.loc["hr.os.sub.ecog_0", "recomputed"].startswith("0.047")
    assert inter.loc["hr.os.sub.ecog_0", "status"] == Status.NOT_RECOMPUTABLE
    # BED10 60.0 (43.2, 96) from 36-60 Gy in 6-30 fractions: attainable 40.32-120 Gy
    bed = c[c["check"] == "BED range"].iloc[0]
    assert bed["status"] == Status.REPRODUCED and bed["recomputed"] == "attainable 40.3–120.0"
    # the paper prints BED10 only: with alpha/beta = 3 there is no printed BED3 to check
    assert bed_checks(study, alpha_beta=3.0) == []


def test_bed_range_not_attainable(data_copy):
    path = data_copy / "rtiot2025" / "treatment.csv"
    text = path.read_text(encoding="utf-8")
    assert '"60.0 (43.2, 96)",,,,,,60.0,43.2,96' in text
    path.write_text(
        text.replace('"60.0 (43.2, 96)",,,,,,60.0,43.2,96', '"60.0 (43.2, 196)",,,,,,60.0,43.2,196'),
        encoding="utf-8",
    )
    bed = bed_checks(load_study("rtiot2025", data_copy))[0]
    assert bed.status == Status.INCONSISTENT and "40.3–120.0" in bed.reason


def test_ae_claims_against_graded_counts(data_copy):
    # 003 Table 4: grade >= 3 totals per term -- thrombocytopenia 16 + 3 = 19 is the largest;
    # the abstract's 30.6% of 108 is n = 33, attainable between 19 (largest term) and 47 (sum)
    c = C.run_checks(load_study("singlecentre2025"))
    claims = c[c["check"] == "AE claim"]
    assert (claims["status"] == Status.REPRODUCED).all() and len(claims) == 4
    assert claims.iloc[0]["recomputed"] == "n = 33; attainable 19–47"
    path = data_copy / "singlecentre2025" / "study.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('term: "Leucopenia"', 'term: "Anemia"'), encoding="utf-8")
    c = C.run_checks(load_study("singlecentre2025", data_copy))
    bad = c[(c["check"] == "AE claim") & (c["status"] == Status.INCONSISTENT)]
    assert len(bad) == 1 and "Anemia is not ranked 2" in bad.iloc[0]["reason"]


@pytest.mark.parametrize("sid", ["li2022", "rtiot2025", "singlecentre2025", "multicentre2026"])
def test_every_printed_p_and_percentage_has_a_verdict(sid):
    """Done-when of issue 3: each printed p and percentage shows a recomputed value or an
    explicit 'not recomputable' with its reason."""
    study = load_study(sid)
    c = C.run_checks(study)
    for key in study["pvalues"]["key"]:
        rows = c[c["key"] == key]
        assert len(rows), key
        assert ((rows["recomputed"] != "") | (rows["reason"] != "")).all(), key
    for table in ("baseline", "treatment", "response", "adverse_events"):
        df = study[table]
        for _, r in df[df["pct"].notna()].iterrows():
            hit = c[(c["check"] == "percentage") & (c["key"] == r["key"]) & (c["arm"] == r["arm"])]
            assert len(hit) == 1, (sid, r["key"], r["arm"])
            assert hit.iloc[0]["status"] in C.STATUSES


def test_reconstruction_does_not_flag_hr_when_only_medians_are_printed():
    # rtiot2025 PSM cohort: medians 9.1 vs 5.0 with 18 per arm, nothing else: the curve shape is
    # assumed (exponential), so a printed HR outside the replicates' range is not evidence.
    from reanalysis import pseudo

    study = load_study("rtiot2025")
    ep = pseudo.endpoint_inputs(study, "PFS", None, C.run_checks(study), "PSM-matched cohort")
    assert ep.inputs["rt_io_t"]["n"] == 18 and ep.inputs["io_t"]["n"] == 18
    table, _ = pseudo.compare(study, ep, pseudo.reconstruct_endpoint(ep), n_rep=40)
    hr = table[table["quantity"] == "Cox HR"].iloc[0]
    # the replicates now span the unprinted censoring and curve shape, so the printed 0.43 lies
    # inside their range; were it outside, the guard would say why that is no evidence
    assert hr["status"] != Status.INCONSISTENT
    guarded = pseudo._shape_guard(ep, (Status.INCONSISTENT, "outside"))
    assert guarded[0] == Status.NOT_RECOMPUTABLE and "shape is assumed" in guarded[1]


def test_audit_across_studies_and_cli(capsys):
    from reanalysis.cli import main

    c = audit.audit_all(["li2022", "rtiot2025"])
    assert set(c["study"]) == {"li2022", "rtiot2025"}
    view = audit.audit_table(c)
    assert list(view.columns) == audit.AUDIT_COLUMNS
    assert set(view["status"]) <= {
        "consistent",
        "compatible (uninformative)",
        "inconsistent",
        "not recomputable",
    }
    assert (view["severity"] != "").eq(view["status"] == "inconsistent").all()
    assert main(["audit", "--study", "li2022"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ",".join(audit.AUDIT_COLUMNS) and len(out) == 1 + (c["study"] == "li2022").sum()
    assert main(["audit", "--study", "nope"]) == 2


def test_carlisle_against_scipy_reference():
    # Uniform p-values 0.1, 0.3, 0.5, 0.7, 0.9: KS distance 0.1 (scipy.stats.kstest), Stouffer z = 0
    r = audit.carlisle(pd.Series([0.1, 0.3, 0.5, 0.7, 0.9]))
    assert r["ks"] == pytest.approx(0.1) and r["stouffer_z"] == pytest.approx(0.0, abs=1e-12)
    # li2022 Table 1 prints 21 baseline p-values; none is below 0.01
    base = audit.baseline_pvalues(audit.audit_all(["li2022"]))
    assert len(base) == 21 and base["p printed"].min() >= 0.01


def test_test_usage_li2022():
    usage = audit.test_usage(audit.audit_all(["li2022"])).iloc[0]
    assert usage["most often the only test that reproduces"] == "Fisher exact"
    assert usage["reproduced by none"] == 1  # mRECIST SD 0.774
