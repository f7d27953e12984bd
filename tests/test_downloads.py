"""Downloads: each table as CSV, each figure as PNG and SVG, each study's data as a zip.

The files must hold exactly what the page shows (CSV rows = table rows), be byte-stable (so a
rebuild changes nothing), and be written only where the pipeline asked.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from reanalysis import downloads, plots, schema, tables  # noqa: E402
from reanalysis.data import DATA_DIR  # noqa: E402


@pytest.fixture
def page(tmp_path):
    return downloads.start("demo", tmp_path)


def test_table_csv_holds_the_shown_rows(page):
    df = pd.DataFrame({"Quantity": ["Age, year", "ECOG 0"], "n": [37, 12], "status": ["✓ reproduced", "✗"]})
    html = tables.show(df, "baseline", "Baseline", page=page).data
    assert 'href="downloads/demo/baseline.csv"' in html
    back = pd.read_csv(page.folder / "baseline.csv")
    pd.testing.assert_frame_equal(back, tables.display_frame(df))  # as shown: column names a reader sees
    pd.testing.assert_frame_equal(pd.read_csv(page.folder / "baseline-tidy.csv"), df)
    assert (page.folder / "baseline.csv").read_bytes().decode("utf-8").endswith("\n")


def test_a_long_table_shows_its_first_rows_and_downloads_every_row(page):
    """A listing of thousands of rows (the audit of a 64-study book) is cut on the page, says so,
    and its CSVs keep every row."""
    df = pd.DataFrame({"Quantity": [f"row {i}" for i in range(5)], "n": range(5)})
    html = tables.show(df, "long", "Long", page=page, max_rows=2).data
    assert "row 1" in html and "row 2" not in html
    assert "The first 2 of 5 rows, in the order shown; the CSV downloads hold all 5." in html
    assert len(pd.read_csv(page.folder / "long.csv")) == 5
    assert len(pd.read_csv(page.folder / "long-tidy.csv")) == 5
    assert "The first" not in tables.show(df, "short", page=page, max_rows=5).data


def test_same_name_twice_on_a_page_is_refused(page):
    tables.show(pd.DataFrame({"a": [1]}), "t", page=page)
    with pytest.raises(ValueError, match="produced twice"):
        tables.show(pd.DataFrame({"a": [2]}), "t", page=page)


@pytest.mark.parametrize("folder", [None, ""])
def test_without_the_folder_links_are_made_but_nothing_is_written(tmp_path, monkeypatch, folder):
    """nbval re-executes stored notebooks (``downloads_dir`` is "" there): same outputs, no files."""
    monkeypatch.chdir(tmp_path)
    page = downloads.start("demo", folder)
    html = tables.show(pd.DataFrame({"a": [1]}), "t", page=page).data
    assert 'href="downloads/demo/t.csv"' in html
    assert list(tmp_path.iterdir()) == []


def test_no_links_outside_a_page(page):
    """A page is only what is passed: a table shown without one has no links, even while a
    page exists, and pages do not share their names."""
    assert "Download" not in tables.show(pd.DataFrame({"a": [1]}), "t").data
    other = downloads.start("other")
    assert "downloads/other/t.csv" in tables.show(pd.DataFrame({"a": [1]}), "t", page=other).data
    assert "downloads/demo/t.csv" in tables.show(pd.DataFrame({"a": [1]}), "t", page=page).data
    assert sorted(p.name for p in page.folder.iterdir()) == ["t-tidy.csv", "t.csv"]


def test_relative_folder_is_taken_from_the_current_directory(tmp_path, monkeypatch):
    """In a kernel the current directory is the notebook's folder."""
    monkeypatch.chdir(tmp_path)
    page = downloads.start("demo", "downloads/demo")
    tables.show(pd.DataFrame({"a": [1]}), "t", page=page)
    assert (tmp_path / "downloads" / "demo" / "t.csv").is_file()


@pytest.mark.parametrize("name", ["Bad Name", "../x", ""])
def test_page_names_are_checked(name):
    with pytest.raises(ValueError, match="page name"):
        downloads.start(name)


def test_figure_png_and_svg_are_byte_stable(page, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))

    def draw():
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot([0, 1, 2], [1, 0.6, 0.4], drawstyle="steps-post")
        return fig

    plots.show(draw(), "km", page=page, alt="a step curve")
    first = {ext: (page.folder / f"km.{ext}").read_bytes() for ext in ("png", "svg")}
    assert first["png"].startswith(b"\x89PNG")
    assert b"<svg" in first["svg"] and b"<dc:date>" not in first["svg"]
    assert "downloads/demo/km.svg" in shown[-1].data
    assert not plt.get_fignums(), "the figure is closed after showing"
    rerun = downloads.start("demo", page.folder)  # a re-run of the page
    plots.show(draw(), "km", page=rerun, alt="a step curve")
    assert {ext: (page.folder / f"km.{ext}").read_bytes() for ext in ("png", "svg")} == first


def _step_figure(level: float = 0.4):
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [1, 0.6, level], drawstyle="steps-post")
    ax.set_title("overall survival")
    return fig


def test_an_unchanged_figure_keeps_the_previous_runs_png_which_rendering_would_give(
    tmp_path, monkeypatch, page_runs
):
    monkeypatch.setattr("IPython.display.display", lambda obj: None)
    saved: list[str] = []
    real_savefig = plt.Figure.savefig

    def savefig(fig, *args, **kwargs):
        saved.append(kwargs.get("format"))
        return real_savefig(fig, *args, **kwargs)

    monkeypatch.setattr(plt.Figure, "savefig", savefig)
    page, swap = next(page_runs)
    assert page.previous is None  # a first run
    plots.show(_step_figure(), "km", page=page, alt="a step curve")
    swap()
    first = (tmp_path / "downloads" / "demo" / "km.png").read_bytes()
    assert saved.count("png") == 1
    assert downloads.png_text(first)[downloads.RENDER_KEYWORD].startswith("sha256:")

    page, swap = next(page_runs)
    assert page.previous == tmp_path / "downloads" / "demo"
    plots.show(_step_figure(), "km", page=page, alt="a step curve")
    assert saved.count("png") == 1, "the unchanged figure was rendered to PNG again"
    assert (page.folder / "km.png").read_bytes() == first
    swap()

    fresh = downloads.start("demo", tmp_path / "elsewhere")  # no previous run: rendered
    plots.show(_step_figure(), "km", page=fresh, alt="a step curve")
    assert saved.count("png") == 2
    assert (fresh.folder / "km.png").read_bytes() == first  # the reused PNG is what rendering gives


def test_a_changed_figure_or_rendering_or_a_damaged_png_is_rendered_again(tmp_path, monkeypatch, page_runs):
    monkeypatch.setattr("IPython.display.display", lambda obj: None)
    page, swap = next(page_runs)
    plots.show(_step_figure(), "km", page=page, alt="a step curve")
    swap()
    shown = tmp_path / "downloads" / "demo" / "km.png"
    first = shown.read_bytes()

    page, swap = next(page_runs)  # other data: another SVG
    plots.show(_step_figure(level=0.3), "km", page=page, alt="a step curve")
    assert (page.folder / "km.png").read_bytes() != first
    page, swap = next(page_runs)  # the same figure rendered otherwise (a raster-only setting)
    # in the book's style: a global setting no longer reaches a figure (figures.book_style)
    monkeypatch.setitem(plots.STYLE, "text.antialiased", False)
    plots.show(_step_figure(), "km", page=page, alt="a step curve")
    monkeypatch.delitem(plots.STYLE, "text.antialiased")
    other = (page.folder / "km.png").read_bytes()
    assert other != first
    key = downloads.RENDER_KEYWORD
    assert downloads.png_text(other)[key] != downloads.png_text(first)[key]

    from PIL import Image

    doctored = io.BytesIO()
    Image.new("RGBA", Image.open(io.BytesIO(first)).size, "red").save(doctored, format="PNG")
    for damaged in (doctored.getvalue(), first[:-12], first.replace(b"sha256:", b"sha256-")):
        shown.write_bytes(damaged)  # no render key, cut short, another key
        page, _ = next(page_runs)
        plots.show(_step_figure(), "km", page=page, alt="a step curve")
        assert (page.folder / "km.png").read_bytes() == first


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (PNG specification, section 11.2.2)."""
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_png_download_is_300_dpi_up_to_an_a4_page_of_pixels(page, monkeypatch):
    monkeypatch.setattr("IPython.display.display", lambda obj: None)
    for name, size in (("small", (3, 2)), ("tall", (7.5, 31.0))):  # a forest plot of 64 studies
        fig = plt.figure(figsize=size)
        fig.add_axes((0, 0, 1, 1)).plot([0, 1], [0, 1])
        plots.show(fig, name, page=page, alt=name)
    from PIL import Image

    dpi = {n: Image.open(page.folder / f"{n}.png").info["dpi"][0] for n in ("small", "tall")}
    assert round(dpi["small"]) == 300  # as the file says (its pHYs chunk)
    tall = _png_size((page.folder / "tall.png").read_bytes())
    a4 = 2480 * 3508  # an A4 page at 300 dpi
    assert tall[0] * tall[1] <= a4 < 4 * tall[0] * tall[1]  # capped, not shrunk to a thumbnail
    assert 150 < dpi["tall"] < 300


def test_study_zip_is_the_data_folder_plus_schema(page):
    html = downloads.study_zip("li2022", page)
    assert 'href="downloads/demo/li2022-data.zip"' in html
    blob = (page.folder / "li2022-data.zip").read_bytes()
    folder = Path(DATA_DIR) / "li2022"
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        names = zf.namelist()
        assert names == sorted(names)
        for p in folder.iterdir():  # every extracted file, byte for byte
            assert zf.read(f"li2022/{p.name}") == p.read_bytes()
        described = json.loads(zf.read("li2022/schema.json"))
        assert {i.date_time for i in zf.infolist()} == {downloads.ZIP_DATE}
    assert list(described) == list(schema.TABLE_ORDER)
    assert list(described["baseline"]["columns"]) == list(schema.TABLES["baseline"])
    assert described["response"]["columns"]["category"]["allowed"][:2] == ["CR", "PR"]
    downloads.study_zip("li2022", downloads.start("demo", page.folder))
    assert (page.folder / "li2022-data.zip").read_bytes() == blob, "the zip is byte-stable"


# ---------------------------------------------------------------- tidy CSVs


def test_tidy_csv_is_one_value_per_cell_and_opens_in_excel_and_pandas(page):
    """Beside each display CSV a tidy one: UTF-8 with a BOM (Excel reads ≥, ±, – right only
    then; pandas skips it), numbers at full precision, booleans TRUE/FALSE and infinite values
    Inf (what R's read.csv and pandas both read back), formulas neutralised as in the display CSV."""
    tidy = pd.DataFrame(
        {
            "quantity": ["Age ≥ 60 ± SD – range", "=HYPERLINK(1)"],
            "n": [20, 5],
            "N": [37, 41],
            "pct": [54.05, 12.2],
            "p_recomputed": [7.6234567891e-05, float("inf")],
            "reproduced": [True, False],
        }
    )
    shown = pd.DataFrame({"Quantity": tidy["quantity"], "n/N (%)": ["20/37 (54.05)", "5/41 (12.2)"]})
    html = tables.show(shown, "rates", page=page, tidy=tidy).data
    assert 'href="downloads/demo/rates-tidy.csv"' in html and ">tidy CSV<" in html
    raw = (page.folder / "rates-tidy.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and (page.folder / "rates.csv").read_bytes().startswith(
        b"\xef\xbb\xbf"
    )
    text = raw.decode("utf-8-sig")
    assert "Age ≥ 60 ± SD – range" in text and "'=HYPERLINK(1)" in text
    assert text.splitlines()[1].endswith(",TRUE") and ",Inf," in text
    back = pd.read_csv(page.folder / "rates-tidy.csv")
    assert list(back.columns) == list(tidy.columns)  # the BOM is not glued to the first name
    assert back["p_recomputed"].iloc[0] == 7.6234567891e-05 and back["p_recomputed"].iloc[1] == float("inf")
    assert back["reproduced"].tolist() == [True, False] and back["N"].tolist() == [37, 41]


def test_synthetic_tables_say_so_in_file_names_and_a_column(page):
    tables.show(pd.DataFrame({"hr": [0.62]}), "patient-cox", page=page, synthetic=True)
    names = sorted(p.name for p in page.folder.iterdir())
    assert names == ["synthetic-patient-cox-tidy.csv", "synthetic-patient-cox.csv"]
    assert pd.read_csv(page.folder / "synthetic-patient-cox-tidy.csv")["synthetic"].tolist() == [True]
    assert pd.read_csv(page.folder / "synthetic-patient-cox.csv")["synthetic"].tolist() == ["yes"]
    tables.show(pd.DataFrame({"hr": [0.62]}), "synthetic-km", page=page, synthetic=True)
    assert (page.folder / "synthetic-km.csv").is_file()  # named once, not twice


def test_comparison_tidy_csv_holds_counts_and_p_against_hand_arithmetic():
    """Li 2022 RECIST 1.1 ORR, 20/37 vs 5/41 (data/li2022/response.csv): Pearson chi-square by
    hand, expected counts 11.859, 25.141, 13.141, 27.859: X² = 15.648, p = 7.6e-05 (R:
    chisq.test(matrix(c(20, 5, 17, 36), 2), correct = FALSE) gives the same)."""
    from reanalysis import outputs
    from reanalysis.checks import run_checks
    from reanalysis.data import load_study

    study = load_study("li2022")
    spec = outputs.comparison(study, run_checks(study), "response", "response", "Response", "RECIST 1.1")
    row = spec.tidy[(spec.tidy["quantity"] == "RECIST 1.1 ORR") & (spec.tidy["arm"] == "RT + anti-PD1")].iloc[
        0
    ]
    assert (row["n"], row["N"], float(row["pct"])) == (20, 37, 54.05)  # pct as printed: "12.20" keeps its 0
    assert row["pct_status"] == "reproduced" and row["p_printed"] == "< 0.001"
    assert row["p_test"] == "Pearson chi-square"
    assert row["p_recomputed"] == pytest.approx(7.6e-05, rel=0.01)
    assert set(spec.tidy["arm"]) == {"RT + anti-PD1", "TACE + sorafenib"}  # labels, not ids


# ---------------------------------------------------------------- footnotes and alignment


def test_footnote_letters_mean_the_same_across_a_chapter():
    chapter = tables.Footnotes()
    first, second = chapter.scope(), chapter.scope()
    assert first.mark("Fisher exact: an expected count below 5") == "a"
    assert second.mark("Pearson chi-square: every expected count at least 5") == "b"
    assert second.mark("Fisher exact: an expected count below 5") == "a"  # same text, same letter
    html = tables.render(tables.TableSpec(pd.DataFrame({"p": ["0.1 b", "0.2 a"]}), "t", notes=second)).data
    assert '<li value="1">Fisher exact' in html and '<li value="2">Pearson' in html
    assert [tables.letter(i) for i in (0, 25, 26, 27, 52)] == ["a", "z", "aa", "ab", "ba"]


def test_a_long_method_repeated_down_a_listing_is_one_footnote():
    method = "smallest attainable p: z-tests (linear, log, cloglog, arcsine), binomial variance at full N"
    checks = pd.DataFrame(
        {
            "quantity": ["PFS 6-month rate", "PFS 12-month rate", "OS HR"],
            "arm": ["a1", "", ""],
            "method": [method, method, "Wald"],
            "status": ["inconsistent", "inconsistent", "reproduced"],
            "severity": ["major", "major", None],
            "reason": ["", "", ""],
        }
    )
    notes = tables.Footnotes(["an earlier table's note"])
    out = tables.checks_table(
        checks, ["quantity", "arm", "method", "status"], notes=notes, arms={"a1": "RT arm"}
    )
    assert out["method"].tolist() == ["see note b", "see note b", "Wald"]
    assert notes.items() == [(1, method)] and out["arm"].tolist() == ["RT arm", "", ""]


def test_number_columns_are_right_aligned_and_verdicts_pinned():
    df = pd.DataFrame(
        {
            "Quantity": ["ORR", "DCR"],
            "n/N": ["20/37 (54.1%)", "NR"],
            "p": ["<0.001", "0.041 a"],
            "status": ["✓ reproduced", "✗ inconsistent (major)"],
        }
    )
    html = tables.render(tables.TableSpec(df, "t")).data
    assert 'class="col_heading level0 col1 num"' in html and 'class="col_heading level0 col0"' in html
    assert 'class="data row0 col2 num"' in html and 'class="data row0 col0"' in html
    assert 'class="data row1 col3 verdict verdict-pin"' in html and ">Verdict</th>" in html
    assert html.startswith('<div class="reanalysis-scroll" role="region"')
