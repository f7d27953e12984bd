"""Summary of findings: the main outcomes, their combined verdicts and the bottom line."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from reanalysis import findings
from reanalysis.checks import Status
from reanalysis.report import Chapter


@pytest.fixture(scope="module")
def li():
    ch = Chapter(study_id="li2022", criterion="mRECIST", n_replicates=50)
    return ch, {f.outcome: f for f in ch.main_findings()}


def test_main_outcomes_are_what_the_study_printed(li):
    ch, items = li
    assert list(items) == [
        "ORR (mRECIST)",
        "DCR (mRECIST)",
        "median PFS (mRECIST), months",
        "PFS hazard ratio (univariable)",
        "median OS, months",
        "OS hazard ratio (univariable)",
        "grade ≥ 3 adverse events (treatment-related)",
    ]
    # Table 2: mRECIST ORR 21/37 vs 13/41; Newcombe difference +25.0 (3.0 to 44.0), see test_outputs
    assert items["ORR (mRECIST)"].effect == "difference +25.0 points (95% CI 3.0 to 44.0)"
    assert items["PFS hazard ratio (univariable)"].effect == "HR 0.51 (0.30–0.86), p = 0.017"


def test_a_row_takes_the_worst_verdict_behind_it(li):
    _, items = li
    # DCR: Table 2 prints 19/41 = 46.34%; the abstract restates it as 46.37% -> major
    dcr = items["DCR (mRECIST)"].verdict
    assert (dcr.status, dcr.severity) == (Status.INCONSISTENT, "major")
    assert dcr.reason.startswith("Abstract: 46.37% — ")
    # the PFS medians are printed identically under RECIST 1.1 and mRECIST
    assert "identical under RECIST 1.1 and mRECIST" in items["median PFS (mRECIST), months"].verdict.reason
    assert items["ORR (mRECIST)"].verdict.status == Status.REPRODUCED


def test_combine_orders_verdicts():
    rows = pd.DataFrame(
        {
            "status": [Status.REPRODUCED, Status.NOT_RECOMPUTABLE, Status.INCONSISTENT, Status.INCONSISTENT],
            "severity": ["", "", "minor", "critical"],
            "reason": ["", "not printed", "slip", "impossible"],
        }
    )
    v = findings.combine(rows)
    assert (v.status, v.severity, v.reason) == (Status.INCONSISTENT, "critical", "impossible")
    # reproduced beats not recomputable: something could be checked and held
    v = findings.combine(rows.iloc[:2])
    assert v.status == Status.REPRODUCED and "1 of 2 checks" in v.reason
    assert findings.combine(rows.iloc[0:0]).status == Status.NOT_RECOMPUTABLE


def test_bottom_line_counts_the_verdicts(li):
    ch, items = li
    line = findings.bottom_line(list(items.values()))
    n = {s: sum(f.verdict.status == s for f in items.values()) for s in Status}
    assert line.startswith(f"Of 7 main outcomes, {n[Status.REPRODUCED]} hold up as printed")
    assert re.search(rf"{n[Status.INCONSISTENT]} do not: DCR \(mRECIST\) \(major\)", line)


def test_first_screen_is_the_bottom_line_and_the_table(li):
    ch, _ = li
    html = ch.summary_of_findings().data
    assert html.index("Bottom line") < html.index('id="T_summary-of-findings"')
    assert "Holds up?" in html and "nan" not in html
