"""The 'at a glance' box each chapter opens with: every entry computed from data and checks."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter

import pytest

from reanalysis.cli import main
from reanalysis.report import Chapter


def rows(html: str) -> dict[str, str]:
    return dict(re.findall(r'<th scope="row">(.*?)</th><td>(.*?)</td>', html))


@pytest.fixture(scope="module")
def li2022():
    ch = Chapter(study_id="li2022", criterion="mRECIST")  # the audit's replicates and seed
    return ch, rows(ch.at_a_glance().data)


def test_patients_are_the_printed_arm_sizes(li2022):
    # Li 2022, Table 1 header: RT + anti-PD1 n = 37, TACE + sorafenib n = 41
    _, box = li2022
    assert box["Patients"] == "78 (RT + anti-PD1 37; TACE + sorafenib 41)"
    assert box["Design"].startswith("retrospective, single centre, two arms")


# Li 2022's records, counted from `python -m reanalysis audit --study li2022` (its CSV read with
# the csv module, rows counted by status and severity): 294 rows, 263 consistent, 1 compatible
# (uninformative), 23 inconsistent (2 critical, 16 major, 5 minor), 7 not recomputable. If the
# checks change on purpose, recount with that command and update these numbers. The 8 text sums
# (data/li2022/text_sums.csv) added 7 reproduced and 1 major: the TACE + sorafenib subsequent
# therapies add up to 18, not 16. The survival reconstruction (mRECIST PFS: 2 medians, HR, p;
# OS: 2 medians, 8 landmark rates, HR, p) adds 16 rows: 15 reproduced and the PFS Breslow p
# 0.019 compatible (its replicates run 0.010-0.497, across 0.05); they replace the 2 "not
# recomputable" rows of the whole-curve p-values 0.019 and 0.146: 280 + 16 - 2 = 294.
# OS HR 0.70 went from reproduced to compatible when the replicates learnt to vary the event count
# and the tail (issue 13): their range, 0.52–1.01, now spans 1
LI2022_VERDICTS = {
    "consistent": 262,
    "compatible (uninformative)": 2,
    "inconsistent": 23,
    "not recomputable": 7,
}
LI2022_SEVERITIES = {"critical": 2, "major": 16, "minor": 5}


def checks_csv_counts(capsys) -> tuple[Counter, Counter]:
    """Statuses and severities of `reanalysis audit --study li2022`, counted from its CSV output."""
    assert main(["audit", "--study", "li2022"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    return Counter(r["status"] for r in rows), Counter(r["severity"] for r in rows if r["severity"])


def test_verdict_counts_are_the_checks(li2022, capsys):
    _, box = li2022
    counted, severities = checks_csv_counts(capsys)
    expected = (
        f"{sum(counted.values())} printed numbers checked: {counted['consistent']} reproduced, "
        f"{counted['compatible (uninformative)']} compatible but uninformative, "
        f"{counted['inconsistent']} inconsistent ({severities['critical']} critical, "
        f"{severities['major']} major, {severities['minor']} minor), "
        f"{counted['not recomputable']} not recomputable from published data"
    )
    assert box["Checked"] == expected, "the box does not count the checks the command lists"
    assert dict(counted) == LI2022_VERDICTS, "li2022's checks changed: recount and update"
    assert dict(severities) == LI2022_SEVERITIES
    assert box["Checked"] == (
        "294 printed numbers checked: 262 reproduced, 2 compatible but uninformative, 23 inconsistent "
        "(2 critical, 16 major, 5 minor), 7 not recomputable from published data"
    )


def test_known_findings_are_named(li2022):
    _, box = li2022
    # worst first: Table 2 prints OS 3-month rates 97.3% (N 37) vs 92.3% (N 41) with P < 0.001,
    # while no pointwise test of those rates can go below 0.306 (see test_audit): critical
    assert box["Inconsistent, worst first"].startswith("critical: OS 3-month rate (Table 2); critical: ")
    assert "and 18 more" in box["Inconsistent, worst first"]  # 23 rows, 22 distinct items
    # Table 1's subtotals all add up to the arm sizes
    assert "sums 14 of 14" in box["Reproduced"]
    assert "OS: " in box["Survival reconstructed from summaries"]


def test_unprinted_arm_sizes_are_said():
    box = rows(Chapter(study_id="multicentre2026", criterion="not stated").at_a_glance().data)
    assert box["Patients"] == "238 in all; arm sizes not printed"
    assert box["Survival reconstructed from summaries"] == "not possible from what is printed"
    assert box["Inconsistent, worst first"] == "none"


def test_the_audits_box_names_a_few_studies_and_the_worst_first():
    """At 64 studies the audit's box named every study twice (Studies; Inconsistent, by study)
    and filled the first screen. It names six, in the book's order, then how many more and where
    they are; inconsistencies are listed worst first (critical, then major, then minor)."""
    import pandas as pd

    from reanalysis.audit import glance_rows
    from reanalysis.checks import Status

    names = [f"Study {i}" for i in range(1, 9)]  # the book's order, not the alphabet's
    severities = {"Study 2": ["minor"], "Study 5": ["major", "major"], "Study 8": ["critical", "minor"]}
    rows_ = [{"study": s, "status": Status.REPRODUCED, "severity": None} for s in names]
    rows_ += [
        {"study": s, "status": Status.INCONSISTENT, "severity": sev}
        for s, sevs in severities.items()
        for sev in sevs
    ]
    checks = pd.DataFrame(rows_).assign(reason="")
    box = dict(glance_rows(checks))
    assert box["Studies"] == (
        "8 (Study 1; Study 2; Study 3; Study 4; Study 5; Study 6; and 2 more, each in “Checks per study”)"
    )
    assert box["Inconsistent, by study"] == (
        "Study 8: 1 critical, 1 minor; Study 5: 2 major; Study 2: 1 minor"
    )


def test_the_synthesis_names_the_studies_that_contributed_once_each():
    """'Studies contributing' named a study and each of its arms as if they were studies
    ('Li 2022, Li 2022: RT + anti-PD1, …'). Of the four studies, Multicentre 2026 prints for its
    RT arm no mRECIST ORR or DCR and no grade ≥ 3 total, and no hazard ratio against a non-RT arm
    (the synthesis's tables of studies left out): it is not named."""
    from reanalysis.synthesis_report import SynthesisChapter

    box = rows(SynthesisChapter().at_a_glance().data)
    assert box["Studies contributing"] == "3 of 4: Li 2022; RT+IO+T cohort 2025; Single-centre RT + ICI 2025"


def test_checks_per_study_follow_the_book_not_the_alphabet():
    """At 64 studies the table read 'copy 0, copy 12, copy 16, …, copy 4': the alphabet's order."""
    import pandas as pd

    from reanalysis.audit import counts_by_study
    from reanalysis.checks import Status

    statuses = [Status.REPRODUCED, Status.INCONSISTENT, Status.REPRODUCED, Status.NOT_RECOMPUTABLE]
    checks = pd.DataFrame({"study": ["copy 4", "copy 12", "copy 12", "copy 0"], "status": statuses})
    counts = counts_by_study(checks)
    assert list(counts["Study"]) == ["copy 4", "copy 12", "copy 0", "total"]
    assert list(counts["reproduced"]) == [1, 1, 0, 2] and list(counts["inconsistent"]) == [0, 1, 0, 1]
