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

    plots.show(draw(), "km", page=page)
    first = {ext: (page.folder / f"km.{ext}").read_bytes() for ext in ("png", "svg")}
    assert first["png"].startswith(b"\x89PNG")
    assert b"<svg" in first["svg"] and b"<dc:date>" not in first["svg"]
    assert "downloads/demo/km.svg" in shown[-1].data
    assert not plt.get_fignums(), "the figure is closed after showing"
    rerun = downloads.start("demo", page.folder)  # a re-run of the page
    plots.show(draw(), "km", page=rerun)
    assert {ext: (page.folder / f"km.{ext}").read_bytes() for ext in ("png", "svg")} == first


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
