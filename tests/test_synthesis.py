"""Synthesis: which printed numbers go into each pooled analysis, and when pooling is refused.

The pooling itself is tested against metafor in tests/test_meta.py.
"""

from __future__ import annotations

import pytest

from reanalysis import meta, synthesis
from reanalysis.cli import main
from reanalysis.errors import ParameterError


def test_orr_rows_are_the_printed_counts_of_rt_arms():
    p = synthesis.pool_rates("ORR", "mRECIST")
    got = {r["study"].split(":")[0]: (r["events"], r["total"]) for _, r in p.rows.iterrows()}
    # Li 2022 Table 2 mRECIST ORR 21/37; 002 Table 3 ORR (RT+IO+T, n=29); 003 Table 3 mRECIST ORR of 108
    assert got["Li 2022"] == (21, 37)
    assert got["RT+IO+T cohort 2025"][1] == 29 and got["Single-centre RT + ICI 2025"][1] == 108
    assert "Multicentre 2026" in p.excluded["study"].iloc[0]  # arm size not printed
    same = meta.pool_proportions(p.rows["events"], p.rows["total"], method="DL")
    assert p.result.estimate == pytest.approx(same.estimate)


def test_grade3_ae_uses_inferred_counts_and_says_so():
    # Li 2022 prints treatment-related grade >= 3 AEs only: 29.7% of 37 -> n = 11 (11/37 = 29.73%)
    p = synthesis.pool_rates("AE>=3", attribution="treatment-related")
    li = p.rows[p.rows["study"].str.startswith("Li 2022")].iloc[0]
    assert (li["events"], li["total"]) == (11, 37) and "inferred from 29.7%" in li["note"]


def test_grade3_ae_pools_one_attribution_only():
    # rtiot2025 Table 4 "All Adverse Events, grade 3-4: 18 (62.1)" of 29 (was dropped: its term does
    # not start with "any"); singlecentre2025 abstract "grade >= 3 AEs in 30.6%" of 108 -> 33.
    # Li 2022's treatment-related total is not pooled with these all-cause ones.
    p = synthesis.pool_rates("AE>=3", attribution="all-cause")
    counts = zip(p.rows["events"], p.rows["total"], strict=True)
    got = dict(zip(p.rows["study"].str.split(":").str[0], counts, strict=True))
    assert got == {"RT+IO+T cohort 2025": (18, 29), "Single-centre RT + ICI 2025": (33, 108)}
    li = p.excluded[p.excluded["study"].str.startswith("Li 2022")]["why"].iloc[0]
    assert li == "prints only treatment-related grade ≥ 3 AEs, not pooled with all-cause ones"
    assert p.result is not None and p.result.k == 2


def test_hazard_ratios_are_not_pooled_across_different_controls():
    p = synthesis.pool_hrs("PFS")
    assert p.result is None and "controls differ" in p.note
    assert set(p.rows["control"]) == {"TACE + sorafenib", "IO + T"}
    forced = synthesis.pool_hrs("PFS", across_comparators=True)
    assert forced.result is not None and forced.result.k == 2 and "different controls" in forced.note


def test_include_and_bad_parameters():
    p = synthesis.pool_rates("ORR", include="li2022")
    assert len(p.rows) == 1 and p.result is None
    assert main(["execute", "synthesis", "-p", "include=li2022,nope"]) == 2
    assert main(["execute", "synthesis", "-p", "estimator=bayes"]) == 2
    assert main(["execute", "synthesis", "-p", "pool_across_comparators=maybe"]) == 2


def test_a_criterion_no_included_study_reports_is_refused():
    """Pooling iRECIST would pool nothing: refused, naming what the studies report."""
    with pytest.raises(ParameterError, match=r"no included study reports 'iRECIST' \(they report: RECIST 1"):
        synthesis.pool_rates("ORR", "iRECIST")
    with pytest.raises(ParameterError, match="no included study reports 'RECIST'"):
        synthesis.rt_rates("DCR", "RECIST", include="rtiot2025")
    p = synthesis.pool_rates("ORR", "RECIST")  # reported by two studies: pooled, the others excluded
    assert [s.split(":")[0] for s in p.rows["study"]] == ["Li 2022", "Single-centre RT + ICI 2025"]
    assert list(p.rows["events"]) == [20, 57] and p.result is not None
    assert set(p.excluded["why"]) == {"no ORR printed for this arm in response (RECIST)"}
    assert len(p.excluded) == 2
