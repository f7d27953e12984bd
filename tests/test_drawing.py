"""A figure drawn from the same inputs by the same code keeps its previous rendering.

What must hold: the key changes with anything that can change a figure (an argument's value or
type, the style, the synthetic watermark) and not with what cannot (where a study was read
from, a comment in its files); a kept rendering is the bytes a new drawing gives; anything
damaged, or any argument the key cannot digest, is drawn again.
"""

from __future__ import annotations

import importlib.util
import io
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from reanalysis import downloads, drawing, plots  # noqa: E402
from reanalysis.data import DATA_DIR, load_study  # noqa: E402
from reanalysis.report import Chapter  # noqa: E402

CALLS: list[str] = []


def steps(frame: pd.DataFrame, title: str = "overall survival") -> plt.Figure:
    """A small figure builder that counts its calls."""
    CALLS.append(title)
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot(frame["t"], frame["s"], drawstyle="steps-post")
    ax.set_title(title)
    return fig


FRAME = pd.DataFrame({"t": [0.0, 1.0, 2.0], "s": [1.0, 0.6, 0.4]})


def _key(*args, synthetic=False, **kwargs):
    with plt.rc_context(plots.STYLE):
        return drawing.key(drawing.later(steps, *args, **kwargs), synthetic)


def test_the_key_follows_every_input_a_figure_is_drawn_from():
    base = _key(FRAME)
    assert base == _key(FRAME.copy()) and len(base) == 64
    assert base != _key(FRAME.assign(s=[1.0, 0.6, 0.3]))  # one value
    assert base != _key(FRAME.assign(t=[0, 1, 2]))  # the same numbers as integers
    assert base != _key(FRAME.rename(columns={"s": "S"}))
    assert base != _key(FRAME.set_axis([1, 2, 3]))  # the index
    assert base != _key(FRAME, "progression-free survival")
    assert base != _key(FRAME, title="overall survival")  # by keyword: another call
    assert base != _key(FRAME, synthetic=True)  # watermarked
    assert _key(FRAME.assign(x=["1", 2, None])) != _key(FRAME.assign(x=[1, 2, None]))  # types of cells
    assert _key(FRAME.assign(x=[-0.0, 1.0, 2.0])) != _key(FRAME.assign(x=[0.0, 1.0, 2.0]))
    with plt.rc_context({"font.size": 11}):
        assert drawing.key(drawing.later(steps, FRAME)) != base  # the style
    assert drawing.key(drawing.later(steps, lambda: FRAME)) is None  # a function: drawn every time
    assert drawing.key(drawing.later(steps, Path("x"))) is None  # a path: the file may change


def test_a_study_is_keyed_on_what_it_says_not_where_it_was_read_or_its_comments(tmp_path):
    def study_key(folder: Path) -> str:
        with plt.rc_context(plots.STYLE):
            return drawing.key(drawing.later(plots.forest, load_study("li2022", folder)))

    shutil.copytree(DATA_DIR / "li2022", tmp_path / "a" / "li2022")
    base = study_key(tmp_path / "a")
    assert base == study_key(DATA_DIR)
    yml = tmp_path / "a" / "li2022" / "study.yml"
    yml.write_text(yml.read_text(encoding="utf-8") + "# a comment\n", encoding="utf-8")
    assert study_key(tmp_path / "a") == base
    text = yml.read_text(encoding="utf-8")
    yml.write_text(text.replace("short_title:", "short_title: X", 1), encoding="utf-8")
    assert study_key(tmp_path / "a") != base


def test_a_study_chapter_keeps_its_forest_while_its_hazard_ratios_stay(tmp_path, monkeypatch):
    """A study page's forest is drawn from its rows and arms, not the whole study: one more
    patient in an arm (the scale benchmark's edit) drew the same forest again; a printed HR
    is drawn anew."""
    from reanalysis import data, pipeline

    spec = importlib.util.spec_from_file_location(
        "scale", Path(__file__).parents[1] / "benchmarks" / "scale.py"
    )
    scale = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scale)
    shutil.copytree(DATA_DIR / "li2022", tmp_path / "li2022")
    for module in (data, pipeline):
        monkeypatch.setattr(module, "DATA_DIR", tmp_path)
    shown: list[drawing.Drawing] = []
    monkeypatch.setattr(plots, "show", lambda fig, name, *args, **kwargs: shown.append(fig))

    def forest_key() -> str:
        shown.clear()
        Chapter(study_id="li2022", n_replicates=20).forest_figure()
        with plt.rc_context(plots.STYLE):
            return drawing.key(shown[-1])

    base = forest_key()
    assert base is not None
    yml = tmp_path / "li2022" / "study.yml"
    yml.write_text(scale.one_more_patient(yml.read_text(encoding="utf-8")), encoding="utf-8")
    assert forest_key() == base
    hrs = tmp_path / "li2022" / "hazard_ratios.csv"
    text = hrs.read_text(encoding="utf-8")
    printed = '"HR, 0.51; 95% CI 0.30–0.86",0.51,'
    assert printed in text
    hrs.write_text(text.replace(printed, printed.replace("0.51", "0.52")), encoding="utf-8")
    assert forest_key() != base


def _show(page, frame=FRAME, synthetic=False) -> str:
    shown = []
    import IPython.display

    real = IPython.display.display
    IPython.display.display = shown.append
    try:
        plots.show(drawing.later(steps, frame), "km", page=page, alt="a step curve", synthetic=synthetic)
    finally:
        IPython.display.display = real
    return shown[-1].data


def _files(page) -> dict[str, bytes]:
    return {ext: (page.folder / f"km.{ext}").read_bytes() for ext in ("png", "svg")}


def test_a_figure_drawn_from_the_same_key_is_kept_and_is_what_drawing_gives(tmp_path, page_runs):
    CALLS.clear()
    page, swap = next(page_runs)
    first_html = _show(page)
    first = _files(page)
    swap()
    assert CALLS == ["overall survival"]
    record = downloads.Drawn.from_text(downloads.png_text(first["png"])[downloads.DRAWING_KEYWORD])
    assert record.svg == downloads.sha256(first["svg"]) and record.width > 0

    page, swap = next(page_runs)
    assert _show(page) == first_html
    assert _files(page) == first
    assert CALLS == ["overall survival"], "a figure drawn from the same key was drawn again"
    swap()

    page, swap = next(page_runs)  # another value: drawn
    _show(page, FRAME.assign(s=[1.0, 0.6, 0.3]))
    assert len(CALLS) == 2 and _files(page)["svg"] != first["svg"]

    fresh = downloads.start("demo", tmp_path / "elsewhere")  # no previous run: drawn
    assert _show(fresh) == first_html
    assert _files(fresh) == first
    assert len(CALLS) == 3
    assert _show(downloads.start("demo")) == first_html  # no folder (nbval): drawn, same page
    assert len(CALLS) == 4


def test_a_damaged_rendering_or_record_is_drawn_again(tmp_path, page_runs):
    page, swap = next(page_runs)
    _show(page)
    swap()
    kept = tmp_path / "downloads" / "demo"
    good = {ext: (kept / f"km.{ext}").read_bytes() for ext in ("png", "svg")}
    record = downloads.png_text(good["png"])[downloads.DRAWING_KEYWORD]
    word = downloads.DRAWING_KEYWORD
    damaged = [
        ("svg", good["svg"][:-20]),  # cut short: no longer the SVG the record names
        ("png", good["png"][:-12]),  # cut short
        ("png", downloads.with_text(good["png"], word, "{}", after="")),  # no record
        ("png", downloads.with_text(good["png"], word, record.replace("1", "2"), after="")),  # another
    ]
    for ext, data in damaged:
        (kept / f"km.{ext}").write_bytes(data)
        CALLS.clear()
        page, _ = next(page_runs)
        _show(page)
        assert CALLS, f"a damaged {ext} was kept"
        assert _files(page) == good
        (kept / f"km.{ext}").write_bytes(good[ext])


def test_a_record_added_to_a_kept_png_is_where_a_new_rendering_puts_it(tmp_path):
    """The same figure from another drawing (new code) keeps its pixels and gets the new record:
    byte for byte the PNG a rendering with both records writes."""
    fig = steps(FRAME)
    with plt.rc_context(plots.STYLE):
        bbox = plots.tight_bbox(fig)
        svg = downloads.svg_bytes(fig, bbox)
        drawn = downloads.Drawn("k" * 64, downloads.sha256(svg), plots.page_width(bbox), ())
        plain = downloads.start("demo", tmp_path / "a")
        downloads.figure_files(fig, "km", plain, bbox, svg)
        recorded = downloads.start("demo", tmp_path / "b")
        downloads.figure_files(fig, "km", recorded, bbox, svg, drawn)
    plt.close(fig)
    without, rendered = (tmp_path / "a" / "km.png").read_bytes(), (tmp_path / "b" / "km.png").read_bytes()
    assert downloads.DRAWING_KEYWORD not in downloads.png_text(without)
    text = drawn.text()
    added = downloads.with_text(without, downloads.DRAWING_KEYWORD, text, after=downloads.RENDER_KEYWORD)
    assert added == rendered
    other = downloads.with_text(rendered, downloads.DRAWING_KEYWORD, text.replace("k", "j"), after="")
    assert len(other) == len(rendered) and other != rendered  # replaced where it was
    from PIL import Image

    assert Image.open(io.BytesIO(other)).size == Image.open(io.BytesIO(rendered)).size  # still a PNG


SECTIONS = ["forest_figure", "response_figure", "status_figure", "reconstructed_survival"]


@pytest.mark.parametrize("section", SECTIONS)
def test_a_chapters_figures_are_kept_on_its_next_run_as_drawing_gives_them(
    tmp_path, monkeypatch, section, page_runs
):
    """On a real chapter: the second run draws nothing and shows and writes the bytes the first
    did; a run with no previous one draws them again, the same bytes."""
    import IPython.display

    shown: list[object] = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    drawn: list[str] = []
    real_draw = drawing.Drawing.draw
    monkeypatch.setattr(drawing.Drawing, "draw", lambda d: drawn.append(d.build.__name__) or real_draw(d))

    def run(page) -> tuple[int, list[object], dict[str, bytes]]:
        before = len(drawn)
        shown.clear()
        getattr(Chapter(study_id="li2022", n_replicates=20, page=page), section)()
        files = {p.name: p.read_bytes() for p in sorted(page.folder.iterdir())}
        return len(drawn) - before, [getattr(x, "data", x) for x in shown], files

    page, swap = next(page_runs)
    first = run(page)
    swap()
    page, swap = next(page_runs)
    second = run(page)
    assert first[0] > 0 and second[0] == 0, f"{section}: drew {first[0]} then {second[0]} figures"
    assert second[1:] == first[1:]
    again = run(downloads.start("demo", tmp_path / "fresh"))
    assert again == first
