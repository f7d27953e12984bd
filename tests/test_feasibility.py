"""The feasible-counts solver finds the true counts behind printed percentages."""

from __future__ import annotations

import pytest

from reanalysis.feasibility import feasible_counts


def test_recovers_li2022_orr():
    # Li 2022 Table 2: 20/37 = 54.05%, 5/41 = 12.20%, 78 patients in all
    df = feasible_counts("54.05", "12.20", total=78, printed_p="< 0.001")
    hit = df[(df["N_a"] == 37) & (df["k_a"] == 20) & (df["k_b"] == 5)]
    assert len(hit) == 1 and hit.iloc[0]["N_b"] == 41
    # at two decimals the solution is unique for this total
    assert len(df) == 1
    assert "Fisher exact" in hit.iloc[0]["reproduces printed p"]


def test_matched_pairs_have_equal_arms():
    df = feasible_counts("43.3", "28.8", total=238, matched=True, min_n=20)
    assert (df["N_a"] == df["N_b"]).all() and (2 * df["N_a"] <= 238).all()
    # 45/104 = 43.27% -> 43.3 and 30/104 = 28.85% -> 28.8: a 1:1 design with 104 per arm fits
    assert ((df["N_a"] == 104) & (df["k_a"] == 45) & (df["k_b"] == 30)).any()
    # 30 per arm does not: 13/30 = 43.3% but no k/30 rounds to 28.8% (8/30 = 26.7, 9/30 = 30.0)
    assert not (df["N_a"] == 30).any()
    for _, r in df.iterrows():  # rounding (either way at .x5) or truncation to the printed digit
        assert 43.25 <= 100 * r["k_a"] / r["N_a"] < 43.4
        assert 28.75 <= 100 * r["k_b"] / r["N_b"] < 28.9


def test_bad_arguments():
    with pytest.raises(ValueError, match="give total"):
        feasible_counts("10", "20")
