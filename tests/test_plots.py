"""Plotting functions draw on the caller's axes when given ``ax=`` (lifelines/statsmodels style)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from reanalysis import audit, plots  # noqa: E402
from reanalysis.checks import run_checks, status_counts  # noqa: E402
from reanalysis.data import load_study  # noqa: E402


@pytest.fixture(scope="module")
def rtiot():
    return load_study("rtiot2025")


def _draws_on_given_axes(draw) -> None:
    fig, ax = plt.subplots()
    before = set(plt.get_fignums())
    out = draw(ax)
    try:
        assert out is fig  # the caller's figure, not a new one
        assert set(plt.get_fignums()) == before  # no other figure was opened
        assert ax.has_data() or ax.patches or ax.lines  # something was drawn on the caller's axes
    finally:
        plt.close("all")


def test_study_figures_take_ax(rtiot):
    _draws_on_given_axes(lambda ax: plots.forest(rtiot, ax=ax))
    _draws_on_given_axes(lambda ax: plots.ae_diverging(rtiot, ax=ax))
    _draws_on_given_axes(lambda ax: plots.status_bars(status_counts(run_checks(rtiot)), ax=ax))
    single = load_study("singlecentre2025")
    _draws_on_given_axes(lambda ax: plots.ae_grades(single, single.arms[0].id, ax=ax))


def test_audit_figures_take_ax():
    checks = audit.audit_all(["li2022", "rtiot2025"])
    _draws_on_given_axes(lambda ax: plots.audit_bars(checks, ax=ax))
    _draws_on_given_axes(lambda ax: plots.baseline_ecdf(audit.baseline_pvalues(checks), ax=ax))


def test_without_ax_a_new_figure_is_made(rtiot):
    before = set(plt.get_fignums())
    fig = plots.forest(rtiot)
    try:
        assert fig.number not in before
    finally:
        plt.close("all")
