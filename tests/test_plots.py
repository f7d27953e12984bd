"""Figures carry their own style: importing ``reanalysis.plots`` changes no global setting, and a
figure is the same whatever the caller's rcParams."""

from __future__ import annotations

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from reanalysis import downloads, plots  # noqa: E402


def test_importing_plots_leaves_rcparams_unchanged():
    """In a fresh interpreter (this one has imported plots already): rcParams before == after."""
    code = (
        "import matplotlib\n"
        "before = dict(matplotlib.rcParams)\n"
        "import reanalysis.plots, reanalysis.report\n"
        "after = dict(matplotlib.rcParams)\n"
        "changed = sorted(k for k in before if before[k] != after[k])\n"
        "assert not changed, changed\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_figures_have_the_book_style_whatever_the_global_settings(tmp_path, monkeypatch, li2022):
    """Built, shown and saved under other global rcParams (dpi 72, random SVG ids), a figure
    still has dpi 100 and byte-identical PNG/SVG downloads; the globals are left as they were."""
    monkeypatch.setattr("IPython.display.display", lambda obj: None)

    def files(folder):
        page = downloads.start("demo", folder)
        fig = plots.response_bars(li2022)
        dpi = fig.dpi
        plots.show(fig, "response", page=page)
        return dpi, {p.name: p.read_bytes() for p in sorted(folder.iterdir())}

    dpi, reference = files(tmp_path / "a")
    with plt.rc_context({"figure.dpi": 72, "savefig.dpi": "figure", "svg.hashsalt": None}):
        other_dpi, other = files(tmp_path / "b")
        assert plt.rcParams["figure.dpi"] == 72 and plt.rcParams["svg.hashsalt"] is None
    assert dpi == other_dpi == plots.STYLE["figure.dpi"]
    assert set(reference) == {"response.png", "response.svg"}
    assert other == reference
