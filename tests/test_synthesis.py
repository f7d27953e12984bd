"""Synthesis: which printed numbers go into each pooled analysis, and when pooling is refused.

The pooling itself is tested against metafor in tests/test_meta.py.
"""

from __future__ import annotations

import math

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
    # the default for k = 3 < 5: REML with the Hartung-Knapp-Sidik-Jonkman CI
    same = meta.pool_proportions(p.rows["events"], p.rows["total"], method="REML", test="knha")
    assert p.result == same
    dl = synthesis.pool_rates("ORR", "mRECIST", method="DL")
    assert dl.result == meta.pool_proportions(p.rows["events"], p.rows["total"], method="DL")


def test_default_estimator_is_reml_with_hksj_below_five_studies():
    assert synthesis.resolve_estimator("auto", synthesis.HKSJ_BELOW_K - 1) == ("REML", "knha")
    assert synthesis.resolve_estimator("auto", synthesis.HKSJ_BELOW_K) == ("REML", "z")
    assert synthesis.resolve_estimator("DL", 3) == ("DL", "z")
    assert "Hartung–Knapp–Sidik–Jonkman" in synthesis.estimator_text("auto")


def _result(estimate: float, pi: tuple[float, float] | None, method: str = "REML") -> meta.MetaResult:
    return meta.MetaResult(method, 3, estimate, 0.1, (estimate - 0.2, estimate + 0.2), pi, 0.1, 42.4,
                           2.5, 0.28, (30.0, 30.0, 40.0))  # fmt: skip


def test_prediction_interval_is_called_uninformative_when_it_spans_almost_everything():
    # logit(0.03) = -3.48, logit(0.97) = 3.48: 3% to 97% spans 94 points >= 90: uninformative
    wide = synthesis.prediction_interval(_result(0.0, (-3.48, 3.48)), "logit")
    assert wide.status is synthesis.PIStatus.UNINFORMATIVE and "uninformative" in wide.text(100)
    # logit(0.2) = -1.386, logit(0.8) = 1.386: 20.00–80.00 %
    ok = synthesis.prediction_interval(_result(0.0, (-1.3862943611198906, 1.3862943611198906)), "logit")
    assert ok.status is synthesis.PIStatus.SHOWN and ok.text(100) == "20.00–80.00"
    # HR 0.1 to 10 is a 100-fold span: uninformative; 0.5 to 2 is shown
    hr = synthesis.prediction_interval(_result(0.0, (math.log(0.099), math.log(10.1))), "log")
    assert hr.status is synthesis.PIStatus.UNINFORMATIVE
    assert (
        synthesis.prediction_interval(_result(0.0, (math.log(0.5), math.log(2))), "log").text() == "0.50–2.00"
    )
    few = synthesis.prediction_interval(_result(0.0, None), "log")
    assert few.status is synthesis.PIStatus.TOO_FEW and "fewer than 3" in few.text()
    assert (
        synthesis.prediction_interval(_result(0.0, None, "FE"), "log").status
        is synthesis.PIStatus.FIXED_EFFECT
    )


def test_summary_row_gives_i2_as_a_whole_percentage():
    p = synthesis.pool_rates("ORR", "mRECIST")
    row = synthesis.summary_row("ORR", p, "logit", 100)
    assert row["I²"] == f"{round(p.result.i2)}%" and row["τ²"] == f"{p.result.tau2:.3f}"
    assert "Hartung–Knapp–Sidik–Jonkman" in row["method"]
    assert synthesis.heterogeneity_text(p.result).startswith(
        f"Heterogeneity: τ² = {p.result.tau2:.3f}, I² = "
    )


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
    # the page's lede says so from the pools (it named the two controls in typed text before)
    assert synthesis.controls_text([p], across_comparators=False) == (
        "here the controls differ (IO + T and TACE + sorafenib), so the hazard ratios are shown "
        "side by side, not pooled"
    )
    assert "as asked, the hazard ratios are pooled across them" in synthesis.controls_text([forced], True)
    one_control = synthesis.Pooled(p.rows[p.rows["control"] == "IO + T"], p.excluded, None)
    assert (
        synthesis.controls_text([one_control], False)
        == "here every such comparison has the same control, IO + T"
    )


def test_the_page_calls_pooled_numbers_fragile_only_with_few_studies():
    """It said 'every pooled number here is fragile' whatever the number of studies: at 64
    studies, with 48 in one analysis, too. Fragile below FEW_STUDIES (10, the Cochrane Handbook's
    minimum for a funnel-plot test) in every analysis."""
    assert synthesis.precision_text(3).startswith(
        "With at most 3 studies per analysis every pooled number here is fragile"
    )
    assert synthesis.precision_text(9).startswith("With at most 9 studies")
    assert synthesis.precision_text(10).startswith("Up to 10 studies per analysis")
    assert "fragile" not in synthesis.precision_text(48)


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


def test_the_chapter_loads_each_study_once_for_all_its_pools(monkeypatch):
    """The synthesis chapter pools six outcomes; it loads the included studies once (each load
    copies a study: at 64 studies the six loads were half a second), and pooling loaded studies
    gives what pooling by ids gives."""
    from reanalysis.synthesis_report import SynthesisChapter

    by_ids = {o: synthesis.pool_rates(o, include="li2022,rtiot2025").rows for o in ("ORR", "DCR")}
    by_ids["OS"] = synthesis.pool_hrs("OS", include="li2022,rtiot2025").rows
    loaded = synthesis.select_studies("li2022,rtiot2025")
    for o in ("ORR", "DCR"):
        assert synthesis.pool_rates(o, include=loaded).rows.equals(by_ids[o])
    assert synthesis.pool_hrs("OS", include=loaded).rows.equals(by_ids["OS"])

    calls: list[str] = []
    real = synthesis.load_study
    monkeypatch.setattr(synthesis, "load_study", lambda sid: calls.append(sid) or real(sid))
    SynthesisChapter(include="")
    assert sorted(calls) == sorted(synthesis.list_studies())
