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


@pytest.fixture(autouse=True)
def no_page_after(monkeypatch):
    """Whatever page a test starts ends with it (monkeypatch restores the module's state)."""
    monkeypatch.setattr(downloads, "_page", None)


@pytest.fixture
def page(tmp_path, monkeypatch):
    monkeypatch.setenv(downloads.ENV, str(tmp_path))
    downloads.start("demo")
    return tmp_path


def test_table_csv_holds_the_shown_rows(page):
    df = pd.DataFrame({"Quantity": ["Age, year", "ECOG 0"], "n": [37, 12], "status": ["✓ reproduced", "✗"]})
    html = tables.show(df, "baseline", "Baseline").data
    assert 'href="downloads/demo/baseline.csv"' in html
    back = pd.read_csv(page / "baseline.csv")
    pd.testing.assert_frame_equal(back, df)
    assert (page / "baseline.csv").read_bytes().decode("utf-8").endswith("\n")


def test_same_name_twice_on_a_page_is_refused(page):
    tables.show(pd.DataFrame({"a": [1]}), "t")
    with pytest.raises(ValueError, match="produced twice"):
        tables.show(pd.DataFrame({"a": [2]}), "t")


def test_without_the_folder_links_are_made_but_nothing_is_written(tmp_path, monkeypatch):
    """nbval re-executes stored notebooks: same outputs, no files written."""
    monkeypatch.delenv(downloads.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    downloads.start("demo")
    html = tables.show(pd.DataFrame({"a": [1]}), "t").data
    assert 'href="downloads/demo/t.csv"' in html
    assert list(tmp_path.iterdir()) == []


def test_no_links_outside_a_page():
    assert "Download" not in tables.show(pd.DataFrame({"a": [1]}), "t").data


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

    plots.show(draw(), "km")
    first = {ext: (page / f"km.{ext}").read_bytes() for ext in ("png", "svg")}
    assert first["png"].startswith(b"\x89PNG")
    assert b"<svg" in first["svg"] and b"<dc:date>" not in first["svg"]
    assert "downloads/demo/km.svg" in shown[-1].data
    assert not plt.get_fignums(), "the figure is closed after showing"
    downloads.start("demo")  # a re-run of the page
    plots.show(draw(), "km")
    assert {ext: (page / f"km.{ext}").read_bytes() for ext in ("png", "svg")} == first


def test_study_zip_is_the_data_folder_plus_schema(page):
    html = downloads.study_zip("li2022")
    assert 'href="downloads/demo/li2022-data.zip"' in html
    blob = (page / "li2022-data.zip").read_bytes()
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
    downloads.start("demo")
    downloads.study_zip("li2022")
    assert (page / "li2022-data.zip").read_bytes() == blob, "the zip is byte-stable"
