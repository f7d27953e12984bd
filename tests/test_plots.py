"""Figures: they carry their own style (importing ``reanalysis.plots`` changes no global setting,
and a figure is the same whatever the caller's rcParams), and plotting functions draw on the
caller's axes when given ``ax=`` (lifelines/statsmodels style)."""

from __future__ import annotations

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from reanalysis import audit, downloads, figures, plots  # noqa: E402
from reanalysis.checks import run_checks, status_counts  # noqa: E402
from reanalysis.data import load_study  # noqa: E402


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
    """Built, shown and saved under other global rcParams (dpi 72, random SVG ids, and what a
    user's ``matplotlibrc`` might set: wide lines, large type, a grey background, another colour
    cycle), a figure still has dpi 100 and byte-identical PNG/SVG downloads; the globals are
    left as they were."""
    monkeypatch.setattr("IPython.display.display", lambda obj: None)

    def files(folder):
        page = downloads.start("demo", folder)
        fig = plots.response_bars(li2022)
        dpi = fig.dpi
        plots.show(fig, "response", page=page, alt="response bars")
        return dpi, {p.name: p.read_bytes() for p in sorted(folder.iterdir())}

    dpi, reference = files(tmp_path / "a")
    users = {
        "figure.dpi": 72,
        "savefig.dpi": "figure",
        "svg.hashsalt": None,
        "lines.linewidth": 4.0,
        "font.size": 16.0,
        "axes.facecolor": "#dddddd",
        "axes.prop_cycle": matplotlib.cycler(color=["#000000", "#ff00ff"]),
    }
    with plt.rc_context(users):
        other_dpi, other = files(tmp_path / "b")
        assert plt.rcParams["figure.dpi"] == 72 and plt.rcParams["svg.hashsalt"] is None
        assert plt.rcParams["font.size"] == 16.0
    assert dpi == other_dpi == plots.STYLE["figure.dpi"]
    assert set(reference) == {"response.png", "response.svg"}
    assert other == reference


def test_matplotlib_keeps_its_font_list_in_this_environment(tmp_path, monkeypatch):
    """A fresh interpreter of this environment that imports the package before Matplotlib uses
    the environment's own folder for Matplotlib's font list (not the user-wide cache every
    environment shares); a folder the user names in MPLCONFIGDIR stands; outside a virtual
    environment nothing is set."""
    import os

    import reanalysis

    code = "import os, sys, reanalysis, matplotlib; print(matplotlib.get_cachedir())"
    env = {k: v for k, v in os.environ.items() if k != "MPLCONFIGDIR"}
    own = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert own.returncode == 0, own.stderr
    assert own.stdout.strip() == os.path.realpath(os.path.join(sys.prefix, "var", "matplotlib"))
    assert sys.prefix != sys.base_prefix  # the suite runs in the project's environment
    named = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env | {"MPLCONFIGDIR": str(tmp_path)},
    )
    assert named.stdout.strip() == os.path.realpath(tmp_path)
    monkeypatch.delenv("MPLCONFIGDIR", raising=False)
    monkeypatch.setattr(sys, "prefix", sys.base_prefix)
    reanalysis._matplotlib_folder_of_this_environment()
    assert "MPLCONFIGDIR" not in os.environ


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


def test_validation_figure_takes_ax():
    _draws_on_given_axes(lambda ax: plots.truth_vs_reconstruction("ovarian", n_rep=2, ax=ax))


def test_audit_figures_take_ax():
    checks = audit.audit_all(["li2022", "rtiot2025"])
    _draws_on_given_axes(lambda ax: plots.audit_bars(audit.counts_by_study(checks), ax=ax))
    _draws_on_given_axes(lambda ax: plots.baseline_ecdf(audit.baseline_pvalues(checks), ax=ax))


def test_without_ax_a_new_figure_is_made(rtiot):
    before = set(plt.get_fignums())
    fig = plots.forest(rtiot)
    try:
        assert fig.number not in before
    finally:
        plt.close("all")


def test_one_forest_plot_serves_printed_pooled_and_subgroup_hrs():
    import pandas as pd

    from reanalysis.patient.subgroups import forest_plot as subgroup_forest

    rows = pd.DataFrame(
        {
            "label": ["A", "B", "pooled"],
            "estimate": [0.5, 0.8, 0.6],
            "lower": [0.3, 0.5, 0.4],
            "upper": [0.9, 1.3, 0.9],
            "kind": ["study", "study", "pooled"],
            "weight": [40.0, 60.0, None],
            "pi_lower": [None, None, 0.2],
            "pi_upper": [None, None, 1.8],
        }
    )
    fig = plots.forest_plot(rows, "HR")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "B", "pooled"]
    assert ax.get_xscale() == "log" and len(ax.patches) == 1  # the pooled diamond
    plt.close(fig)
    sub = pd.DataFrame(
        {
            "subgroup": ["Age", "Age"],
            "level": ["< 60", "≥ 60"],
            "n": [20, 22],
            "hr": [0.5, 1.2],
            "lower": [0.2, 0.6],
            "upper": [1.1, 2.5],
            "p_interaction": [0.04, 0.04],
        }
    )
    fig = subgroup_forest(sub)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["Age (interaction p = 0.040)", "   < 60  (n = 20)", "   ≥ 60  (n = 22)"]
    plt.close(fig)


def test_patient_figures_take_ax():
    import pandas as pd

    from reanalysis.patient.explain import shap_plot
    from reanalysis.patient.matching import love_plot

    balance = pd.DataFrame(
        {
            "variable": ["AGE", "SEX"],
            "contrast": ["per unit", "M"],
            "smd_before": [0.4, 0.2],
            "smd_after": [0.05, 0.02],
        }
    )
    _draws_on_given_axes(lambda ax: love_plot(balance, ax=ax))
    _draws_on_given_axes(
        lambda ax: shap_plot(pd.DataFrame({"feature": ["AGE", "SEX"], "value": [0.3, 0.1]}), ax=ax)
    )


def _shown(monkeypatch, fig, **kwargs) -> str:
    """The HTML plots.show puts on the page."""
    out = []
    monkeypatch.setattr("IPython.display.display", lambda obj: out.append(obj.data))
    plots.show(fig, "fig", **kwargs)
    assert len(out) == 1
    return out[0]


def test_show_puts_escaped_alt_text_and_caption_on_the_page(monkeypatch, li2022):
    page = _shown(monkeypatch, plots.response_bars(li2022), alt='Bars <b>"x"</b>', caption="C & D")
    assert 'alt="Bars &lt;b&gt;&quot;x&quot;&lt;/b&gt;"' in page
    assert "<figcaption>C &amp; D</figcaption>" in page
    assert page.count("<img ") == 1 and 'src="data:image/svg+xml;base64,' in page
    with pytest.raises(ValueError, match="no alt text"):
        plots.show(plots.response_bars(li2022), "fig", alt="  ")
    plt.close("all")


def test_synthetic_figures_carry_the_watermark(monkeypatch, tmp_path, li2022):
    page = downloads.start("demo", tmp_path)
    monkeypatch.setattr("IPython.display.display", lambda obj: None)
    plots.show(plots.response_bars(li2022), "marked", page=page, alt="a", synthetic=True)
    plots.show(plots.response_bars(li2022), "plain", page=page, alt="a")
    assert plots.WATERMARK.encode() not in (tmp_path / "plain.svg").read_bytes()
    # the SVG keeps text as glyph paths with the text in a comment
    assert plots.WATERMARK.encode() in (tmp_path / "marked.svg").read_bytes()
    # PNG downloads at 300 dpi (pHYs: pixels per metre, 300 / 0.0254 = 11811)
    import struct

    png = (tmp_path / "plain.png").read_bytes()
    at = png.index(b"pHYs") + 4
    assert struct.unpack(">II", png[at : at + 8]) == (11811, 11811)


def test_forest_has_text_columns_panels_and_favours(li2022):
    rows, excluded = plots.forest_rows(li2022)
    assert list(rows["kind"]) == ["header", "row", "header", "row"]  # PFS, OS: one panel each
    assert excluded == []
    fig = plots.forest(li2022)
    texts = [t.get_text() for t in fig.axes[0].texts]
    # Li 2022 printed PFS HR 0.51 (0.30–0.86), OS HR 0.70 (0.38–1.30)
    assert "HR (95% CI)" in texts and "0.51 (0.30–0.86)" in texts and "0.70 (0.38–1.30)" in texts
    assert "← favours RT + anti-PD1" in texts and "favours TACE + sorafenib →" in texts
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["0.25", "0.5", "1", "2"]
    plt.close(fig)


def test_pooled_forest_shows_weights_n_and_heterogeneity():
    import pandas as pd

    rows = pd.DataFrame(
        {
            "label": ["A", "B", "Pooled"],
            "estimate": [0.5, 0.6, 0.55],
            "lower": [0.4, 0.5, 0.45],
            "upper": [0.6, 0.7, 0.65],
            "kind": ["study", "study", "pooled"],
            "weight": [40.0, 60.0, 100.0],
            "n": ["10/20", "30/50", "40/70"],
        }
    )
    fig = plots.forest_meta(rows, "ORR", "%", scale=100, estimate_header="% (95% CI)", heterogeneity="τ² = 0")
    texts = [t.get_text() for t in fig.axes[0].texts]
    for want in ("% (95% CI)", "n", "weight", "50.0 (40.0–60.0)", "30/50", "60%", "100%", "τ² = 0"):
        assert want in texts, want
    plt.close(fig)


def test_km_figure_has_effect_risk_table_and_median_lines(li2022):
    import pandas as pd

    ipd = pd.DataFrame(
        {
            "arm": ["rt_pd1"] * 4 + ["tace_sor"] * 4,
            "time": [1.0, 2.0, 3.0, 4.0, 1.0, 1.5, 2.0, 5.0],
            "event": [1, 1, 0, 1, 1, 1, 1, 0],
        }
    )
    fig = plots.km_reconstructed(ipd, li2022, "OS", {}, "t", effect="HR 0.5 (0.2–0.9)")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "HR 0.5 (0.2–0.9)" in texts and "Number at risk" in texts
    assert "RT + anti-PD1" in texts and "TACE + sorafenib" in texts
    # at time 0 all 4 of each arm are at risk; at 2 months 3 (rt: 2, 3, 4) and 2 (tace: 2, 5)
    assert texts.count("4") >= 2 and "3" in texts and "2" in texts
    # hand KM: rt S = 0.75, 0.5 at 2 -> median 2; tace S = .75, .5 at 1.5 -> median 1.5
    dotted = [line for line in fig.axes[0].lines if line.get_linestyle() == ":"]
    assert sorted(line.get_xdata()[1] for line in dotted) == [1.5, 2.0]
    alt = plots.km_alt(ipd, li2022, "OS", "HR 0.5")
    assert "RT + anti-PD1 (4 patients, median 2.0 months)" in alt and "median 1.5 months" in alt
    plt.close(fig)


def test_a_character_the_font_lacks_is_drawn_as_a_box_and_named(monkeypatch):
    """An emoji in an arm label: no glyph warning (a chapter stores none, so it used to fail
    without naming the label); the figure draws the font's empty box and a note under it names
    the character, escaped as text."""
    import dataclasses
    import warnings

    import IPython.display

    study = load_study("li2022")
    study.arms[0] = dataclasses.replace(study.arms[0], label="RT \U0001f680 + <b>PD-1</b>")
    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails, as a chapter's stderr would
        plots.show(plots.response_bars(study), "response", page=None, alt="Response bars")
    notes = [x.data for x in shown if isinstance(x, IPython.display.HTML)]
    assert len(notes) == 1 and "\U0001f680" in notes[0] and "empty box" in notes[0], notes
    assert "<b>" not in notes[0], "label text is escaped"


def test_the_font_lacks_the_emoji_so_the_warning_is_real():
    """Control for the test above: drawing the same label without the guard warns."""
    fig, ax = plt.subplots()
    ax.set_title("RT \U0001f680")
    with pytest.warns(UserWarning, match=figures.GLYPH_WARNING):
        fig.canvas.draw()
    plt.close(fig)
    assert plots.missing_glyphs(fig) == ["\U0001f680"]


def test_the_page_shows_the_svg_download_at_the_page_dpi(monkeypatch, tmp_path, li2022):
    """One SVG rendering serves the page and the download (same bytes), shown 100 px an inch
    of the figure's tight box (the size the page PNG had)."""
    import base64
    import re

    page = downloads.start("demo", tmp_path)
    fig = plots.response_bars(li2022)
    with plt.rc_context(plots.STYLE):
        width = plots.tight_bbox(fig).width
    shown = _shown(monkeypatch, fig, page=page, alt="bars")
    src = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', shown).group(1)
    assert base64.b64decode(src) == (tmp_path / "fig.svg").read_bytes()
    assert f'width="{round(width * 100)}"' in shown


def test_a_laid_out_figure_is_drawn_once_per_save_with_the_same_bytes(monkeypatch, tmp_path, li2022):
    """show() measures a figure once and saves it twice (SVG, PNG): three draws, not five (a
    figure laid out by tight_layout keeps a placeholder engine, and savefig draws any figure
    with an engine once more before rendering). The PNG is the bytes matplotlib writes for a
    twin figure saved with its engine kept; so is this figure's SVG (other SVGs can differ in a
    coordinate's sixth decimal: see plots.tight_bbox)."""

    from matplotlib.figure import Figure

    draws = []
    original = Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda self, r: (draws.append(1), original(self, r))[1])
    page = downloads.start("demo", tmp_path)
    _shown(monkeypatch, plots.response_bars(li2022), page=page, alt="bars")
    assert len(draws) == 3

    twin = plots.response_bars(li2022)
    assert twin.get_layout_engine() is not None  # the placeholder tight_layout leaves
    svg, png = _saved_plainly(twin)
    assert (tmp_path / "fig.svg").read_bytes() == svg
    assert (tmp_path / "fig.png").read_bytes() == png


def _saved_plainly(fig) -> tuple[bytes, bytes]:
    """The SVG and PNG download matplotlib writes for ``fig`` measured and saved its own way:
    its layout engine kept (each save lays it out again) and every label placed in every draw
    (no plots.tight_bbox, no figures.settle_labels)."""
    import io

    with plt.rc_context(plots.STYLE), plots.glyphs_as_boxes():
        fig.draw_without_rendering()
        bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(plt.rcParams["savefig.pad_inches"])
        svg = downloads.svg_bytes(fig, bbox)
        png = io.BytesIO()
        dpi = downloads.png_dpi(bbox.width, bbox.height)
        fig.savefig(
            png, format="png", dpi=dpi, bbox_inches=bbox,
            metadata={"Software": None, downloads.RENDER_KEYWORD: downloads.render_key(dpi)},
            pil_kwargs={"compress_level": downloads.PNG_COMPRESS_LEVEL},
        )  # fmt: skip
    plt.close(fig)
    return svg, png.getvalue()


def _tall_forest(rows: int = 40):
    """A forest plot of ``rows`` studies with a title, as a synthesis page draws one: the one
    ``benchmarks/bench_figures.py`` times."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "benchmarks" / "bench_figures.py"
    spec = importlib.util.spec_from_file_location("bench_figures", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench.forest(rows)


def _offset_panels():
    """Two panels, one titled over an x axis ticked at the top and one whose y axis prints an
    offset ("1e6"): titles that matplotlib moves up, or must check, in every draw."""
    with plt.rc_context(plots.STYLE):
        fig, (top, offset) = plt.subplots(1, 2, figsize=(6, 3))
        top.plot([0, 1], [0, 1])
        top.xaxis.tick_top()
        top.set_title("ticks above")
        offset.plot([0, 1], [1e6, 1e6 + 3])
        offset.set_title("an offset on the y axis")
        fig.tight_layout()
    return fig


@pytest.mark.parametrize("build", [_tall_forest, _offset_panels], ids=["forest", "titles-moved"])
def test_settled_labels_leave_a_figure_the_same_bytes(monkeypatch, tmp_path, build):
    """show() pins what the measuring draw placed (figures.settle_labels): the SVG and PNG are
    the bytes of the same figure saved with every label placed in every draw."""
    page = downloads.start("demo", tmp_path)
    _shown(monkeypatch, build(), page=page, alt="figure")
    svg, png = _saved_plainly(build())
    assert (tmp_path / "fig.svg").read_bytes() == svg
    assert (tmp_path / "fig.png").read_bytes() == png


def test_a_settled_figure_saves_without_measuring_its_tick_labels_again(monkeypatch):
    """After the measuring draw, the SVG and PNG saves of a tall forest plot place no title
    and no empty axis label (each placing measures every tick label); its x axis label, which
    has text, is still placed. The titles matplotlib must move (x ticks at the top, a y offset)
    are left to it."""
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis

    fig = _tall_forest()
    with plt.rc_context(plots.STYLE):
        plots.tight_bbox(fig)
        searched, placed = [], []
        siblings = Axis._get_tick_boxes_siblings
        title = Axes._update_title_position
        monkeypatch.setattr(
            Axis,
            "_get_tick_boxes_siblings",
            lambda self, renderer: (searched.append(self.axis_name), siblings(self, renderer))[1],
        )
        monkeypatch.setattr(
            Axes,
            "_update_title_position",
            lambda self, renderer: (placed.append(1), title(self, renderer))[1],
        )
        downloads.svg_bytes(fig, plots.tight_bbox(fig))
    assert searched and set(searched) == {"x"}
    assert placed  # called, and returns at once: no y tick label measured for it
    assert fig.axes[0].title.get_position()[1] == 1.0
    moved = _offset_panels()
    with plt.rc_context(plots.STYLE):
        plots.tight_bbox(moved)
    assert [ax._autotitlepos for ax in moved.axes] == [True, True]
    plt.close(fig)
    plt.close(moved)


def test_response_bars_are_the_printed_percentages(li2022):
    """Each bar is n / N of one arm, category and criterion as printed (li2022 prints RECIST 1.1
    and mRECIST for two arms): its height, its panel and its place in the group."""
    fig = plots.response_bars(li2022)
    r = li2022["response"]
    r = r[(r["stat"] == "count") & r["n"].notna() & r["category"].isin(plots.RESPONSE_ORDER)]
    assert [ax.get_title() for ax in fig.axes] == list(dict.fromkeys(r["criterion"]))
    arms = [a.id for a in li2022.arms]
    for ax in fig.axes:
        bars = [b for b in ax.patches if b.get_height() == b.get_height()]  # a missing bar is NaN
        rows = r[r["criterion"] == ax.get_title()]
        assert len(bars) == len(rows)
        for _, row in rows.iterrows():
            x = plots.RESPONSE_ORDER.index(row["category"]) + (arms.index(row["arm"]) - 0.5) * 0.4
            want = 100 * row["n"] / li2022.arm_sizes[row["arm"]]
            (bar,) = [b for b in bars if abs(b.get_x() + b.get_width() / 2 - x) < 1e-9]
            assert bar.get_height() == pytest.approx(want)
    plt.close(fig)


def test_factor_medians_put_each_printed_median_on_its_level():
    study = load_study("singlecentre2025")
    fig = plots.factor_medians(study)
    sv = study["survival"]
    sub = sv[sv["subgroup"].notna() & (sv["statistic"] == "median")]
    levels = list(dict.fromkeys(sub["subgroup"]))
    for ax in fig.axes:
        assert [t.get_text() for t in ax.get_yticklabels()] == levels
        dots = ax.lines[-1]  # the markers, drawn over the interval lines
        grp = sub[sub["endpoint"] == ax.get_title()]
        assert list(dots.get_xdata()) == pytest.approx(list(grp["value"].astype(float)), nan_ok=True)
        assert list(dots.get_ydata()) == [levels.index(s) for s in grp["subgroup"]]
    plt.close(fig)


def test_response_bars_draw_every_arm_of_a_three_arm_study(li2022):
    """More arms than the two-colour palette: each arm still gets its bars, in its own colour."""
    import dataclasses

    import pandas as pd

    study = load_study("li2022")
    study.arms.append(dataclasses.replace(study.arms[0], id="third", label="Third arm"))
    r = study.tables["response"]
    study.tables["response"] = pd.concat([r, r[r["arm"] == li2022.arms[0].id].assign(arm="third")])
    fig = plots.response_bars(study)
    for ax in fig.axes:
        colours = {b.get_facecolor() for b in ax.patches if b.get_height() == b.get_height()}
        assert len(colours) == 3
    assert len(fig.legends[0].get_texts()) == 3
    plt.close(fig)
