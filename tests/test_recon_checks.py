"""The survival reconstruction's verdicts as rows of the audit, graded by the severity rules.

Expected values are hand arithmetic on the printed numbers (shown beside each) or the rule text
of reanalysis/rules/severity.csv; replicate ranges are the project's own (seed 0, 200
replicates, as the chapters), so the tests pin the verdict logic around them, not the ranges.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from reanalysis import audit, findings, pseudo, recon_checks
from reanalysis.checks import Check, Severity, Status, severity, to_frame
from reanalysis.data import load_study


@pytest.fixture(scope="module")
def li() -> pd.DataFrame:
    return audit.audit_all(["li2022"])


def recon_row(frame: pd.DataFrame, family: str, quantity_start: str) -> pd.Series:
    sel = frame[(frame["check"] == family) & frame["quantity"].str.startswith(quantity_start)]
    assert len(sel) == 1, sel[["check", "quantity"]]
    return sel.iloc[0]


def test_audit_has_the_reconstruction_rows_of_li2022(li):
    # Li 2022, Results: "HR: 0.70, 95% CI, 0.38–1.30" (prints as 0.695–0.705). The replicates
    # contain it; since the smooth-curve draws of issue 13 (event count, tail hazard) their range
    # reaches past 1, so the check could not have told a harmful arm apart: compatible, not
    # reproduced (the printed CI itself spans 1, so nothing stronger is owed to it)
    hr = recon_row(li, "reconstructed HR", "OS Cox HR")
    assert hr["status"] == Status.COMPATIBLE and hr["severity"] == ""
    assert hr["key"] == "hr.os.arm" and hr["location"] == "Results: Overall survival"
    assert hr["recomputed_lower"] <= 0.705 and hr["recomputed_upper"] >= 0.695
    assert hr["recomputed_lower"] < 1 <= hr["recomputed_upper"]
    assert (hr["printed_lower"], hr["printed_upper"]) == pytest.approx((0.695, 0.705))
    # Table 2 PFS (mRECIST) Breslow p 0.019 (issue 12): the replicates span 0.05 -> uninformative
    p = recon_row(li, "reconstructed p", "PFS (mRECIST) wilcoxon p")
    assert p["status"] == Status.COMPATIBLE
    assert p["recomputed_lower"] < 0.05 <= p["recomputed_upper"]
    # one verdict per printed number: the "not recomputable" rows of 0.019 and 0.146 are gone
    uncovered = li[
        (li["check"] == "p-value") & li["key"].isin(["survival.pfs.mrecist.median", "survival.os.median"])
    ]
    assert uncovered.empty
    # medians at their printed precision (Table 2: 17.40, 3.70), landmarks keyed to their rows
    med = li[(li["check"] == "reconstructed median") & (li["key"] == "survival.os.median")]
    assert list(med["printed"]) == ["17.40", "11.90"]
    s12 = li[(li["check"] == "reconstructed landmark") & (li["key"] == "survival.os.landmark_12")]
    assert list(s12["printed"]) == ["52.20%", "47.5%"]  # Table 2 prints 52.20% and 47.5%


def test_audit_csv_lists_them_with_the_compatible_distinction(li):
    view = audit.audit_table(li)
    recon = view[view["quantity"].str.contains("reconstructed")]
    # li2022 mRECIST PFS: 2 medians + HR + p; OS: 2 medians + 8 landmark rates + HR + p = 16
    assert len(recon) == 16
    assert set(recon["status"]) == {"consistent", "compatible (uninformative)"}
    assert (recon["severity"] == "").all()


def test_psm_hr_whose_replicates_span_1_is_compatible():
    # rtiot2025 Table 6: PSM PFS HR 0.43 (0.21~0.88), 18 per arm, medians only: the replicates
    # (over the unprinted censoring and curve shape) run from below to above 1
    rt = audit.audit_all(["rtiot2025"])
    hr = recon_row(rt, "reconstructed HR", "PFS, PSM-matched cohort Cox HR")
    assert hr["recomputed_lower"] < 1 < hr["recomputed_upper"]
    assert hr["status"] == Status.COMPATIBLE


def _with_os_hr(data: Path, printed: str, hr: str, lower: str, upper: str) -> None:
    path = data / "li2022" / "hazard_ratios.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    row = frame["key"] == "hr.os.arm"
    frame.loc[row, ["printed", "hr", "lower", "upper"]] = [printed, hr, lower, upper]
    frame.to_csv(path, index=False, lineterminator="\n")


def _with_tace_os_lowered(data: Path) -> None:
    path = data / "li2022" / "survival.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    lowered = {"landmark_3": "80.0", "landmark_6": "60.0", "landmark_9": "45.0", "landmark_12": "30.0"}
    for name, value in lowered.items():
        row = (frame["key"] == f"survival.os.{name}") & (frame["arm"] == "tace_sor")
        frame.loc[row, ["printed", "value"]] = [f"{value}%", value]
    row = (frame["key"] == "survival.os.median") & (frame["arm"] == "tace_sor")
    frame.loc[row, ["printed", "value", "lower", "upper"]] = ["8.00 (6.00–10.00)", "8.00", "6.00", "10.00"]
    frame.to_csv(path, index=False, lineterminator="\n")


def _rule_meaning(family: str, condition: str) -> str:
    return next(r.meaning for r in severity.rules() if (r.check, r.condition) == (family, condition))


def test_printed_hr_outside_the_replicates_is_inconsistent_and_graded(data_copy):
    # The OS reconstruction of Li 2022 gives replicate HRs of about 0.52–1.01.
    # (a) OS printed 0.30 (0.15–0.60): below the range, same side of 1 -> inconsistent, major
    _with_os_hr(data_copy, "HR: 0.30, 95% CI, 0.15–0.60", "0.30", "0.15", "0.60")
    rows = to_frame(recon_checks.study_records(load_study("li2022", data_copy)))
    hr = recon_row(rows, "reconstructed HR", "OS Cox HR")
    assert hr["recomputed_lower"] > 0.305  # 0.30 prints from 0.295 to 0.305
    assert hr["status"] == Status.INCONSISTENT and hr["severity"] == Severity.MAJOR
    # (b) a claimed harm, 2.50 (1.30–4.80), against curves made to separate clearly: the TACE +
    # sorafenib OS rates lowered (3/6/9/12 months 80/60/45/30%, median 8.00) so that every
    # replicate HR is < 1 -> the claimed direction flips -> critical, by `reconstructed HR, effect_flips`
    _with_tace_os_lowered(data_copy)
    _with_os_hr(data_copy, "HR: 2.50, 95% CI, 1.30–4.80", "2.50", "1.30", "4.80")
    study = load_study("li2022", data_copy)
    records = recon_checks.study_records(study)
    rows = to_frame(records)
    hr = recon_row(rows, "reconstructed HR", "OS Cox HR")
    assert hr["recomputed_upper"] < 1 and hr["status"] == Status.INCONSISTENT, hr["reason"]
    assert hr["severity"] == Severity.CRITICAL
    rec = next(c for c in records if c.check == "reconstructed HR" and c.quantity.startswith("OS"))
    assert severity.severity_of(rec)[1] == _rule_meaning("reconstructed HR", "effect_flips")
    # the summary of findings takes that severity from the same record
    items = findings.findings(study, rows, "mRECIST")
    os_hr = next(f for f in items if f.outcome.startswith("OS hazard ratio"))
    assert os_hr.verdict.status == Status.INCONSISTENT and os_hr.verdict.severity == "critical"


def test_printed_p_on_the_other_side_of_alpha_is_critical(data_copy):
    # Table 2 OS Breslow p 0.146 -> "< 0.001": the replicates' Breslow p (about 0.056–0.277)
    # are all >= 0.05 while the print claims p < 0.05 -> crosses alpha -> critical
    path = data_copy / "li2022" / "pvalues.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[frame["key"] == "survival.os.median", ["printed", "relation", "p"]] = ["< 0.001", "<", "0.001"]
    frame.to_csv(path, index=False, lineterminator="\n")
    rows = to_frame(recon_checks.study_records(load_study("li2022", data_copy)))
    p = recon_row(rows, "reconstructed p", "OS wilcoxon p")
    assert p["recomputed_lower"] >= 0.05
    assert p["status"] == Status.INCONSISTENT and p["severity"] == Severity.CRITICAL


BASE = Check(
    study="x",
    check="reconstructed HR",
    key="k",
    location="l",
    quantity="q",
    status=Status.INCONSISTENT,
    printed_lower=0.425,
    printed_upper=0.435,  # printed 0.43
)


@pytest.mark.parametrize(
    ("claims", "lower", "upper", "expected"),
    [
        (True, 1.05, 1.60, Severity.CRITICAL),  # claimed benefit (CI < 1), every replicate > 1
        (False, 1.05, 1.60, Severity.MAJOR),  # its CI spans 1: no significance claim to flip
        (True, 0.60, 0.90, Severity.MAJOR),  # outside the range but on the same side of 1
        (True, 0.90, 1.30, Severity.MAJOR),  # the replicates span 1: nothing flips everywhere
    ],
)
def test_reconstructed_hr_severity_rule(claims, lower, upper, expected):
    c = dataclasses.replace(
        BASE, printed_claims_effect=claims, recomputed_lower=lower, recomputed_upper=upper
    )
    assert severity.severity_of(c)[0] == expected


def test_reconstructed_summaries_are_major_and_spanning_ranges_compatible():
    median = dataclasses.replace(
        BASE, check="reconstructed median", printed_lower=17.395, printed_upper=17.405
    )
    # printed 17.40 (17.395–17.405) vs 17.41: within one unit of the last digit (0.01), "minor"
    # by the rule for a recomputed number; a reconstruction's mismatch has its own rule: major
    assert severity.severity_of(dataclasses.replace(median, recomputed_value=17.41))[0] == Severity.MAJOR
    # a reproduced HR whose replicates span 1 (0.8–1.2) could not have failed: compatible
    ok = dataclasses.replace(BASE, status=Status.REPRODUCED, recomputed_lower=0.8, recomputed_upper=1.2)
    assert severity.grade([ok])[0].status == Status.COMPATIBLE
    assert pseudo._in_spread((0.425, 0.435), 0.3, 1.2)[0] == Status.COMPATIBLE
    assert pseudo._in_spread((0.425, 0.435), 0.3, 0.8)[0] == Status.REPRODUCED
    # 0.43 prints from 0.425: a range ending at 0.428 still holds it (the HR's own rounding)
    assert pseudo._in_spread((0.425, 0.435), 0.2, 0.428)[0] == Status.REPRODUCED
    assert pseudo._in_spread((0.425, 0.435), 0.2, 0.42)[0] == Status.INCONSISTENT


def test_study_records_are_deterministic():
    study = load_study("singlecentre2025")
    assert recon_checks.study_records(study) == recon_checks.study_records(study)
