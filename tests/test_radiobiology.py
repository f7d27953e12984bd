"""LQ conversions against textbook values (Fowler 1989; Joiner & van der Kogel)."""

from __future__ import annotations

import pytest

from reanalysis.radiobiology import attainable_bed, bed, eqd2


@pytest.mark.parametrize(
    ("dose", "n", "ab", "expected"),
    [
        (60, 30, 10, 72.0),  # conventional 60 Gy / 30 fx: BED10 = 60 (1 + 2/10) = 72 Gy
        (50, 5, 10, 100.0),  # SBRT 50 Gy / 5 fx: BED10 = 50 (1 + 10/10) = 100 Gy
        (54, 3, 10, 151.2),  # SBRT 54 Gy / 3 fx: BED10 = 54 (1 + 18/10) = 151.2 Gy
        (60, 30, 3, 100.0),  # late-reacting tissue: 60 (1 + 2/3) = 100 Gy
    ],
)
def test_bed(dose, n, ab, expected):
    assert bed(dose, n, ab) == pytest.approx(expected)


def test_eqd2_of_2gy_fractions_is_the_dose():
    assert eqd2(60, 30, 10) == pytest.approx(60.0)
    assert eqd2(50, 5, 10) == pytest.approx(100 / 1.2)  # 83.33 Gy, a standard SBRT example


def test_attainable_range():
    # 36-60 Gy in 6-30 fractions: lowest 36 Gy/30 fx = 40.32 Gy, highest 60 Gy/6 fx = 120 Gy
    r = attainable_bed((36, 60), (6, 30), 10)
    assert (r.lowest, r.highest) == (pytest.approx(40.32), pytest.approx(120.0))
    assert r.contains(43.2, 96)
    assert not r.contains(30, 96) and not r.contains(43.2, 130)


def test_bad_input():
    with pytest.raises(ValueError, match="alpha/beta"):
        bed(60, 30, 0)
    with pytest.raises(ValueError, match="positive"):
        bed(-1, 30)
    with pytest.raises(ValueError, match="low, high"):
        attainable_bed((60, 36), (6, 30))
