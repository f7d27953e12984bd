"""Shared fixtures: a writable copy of the extracted data for bad-input tests; a page's runs."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from reanalysis.data import DATA_DIR, load_study


@pytest.fixture(scope="session")
def li2022():
    return load_study("li2022")


@pytest.fixture()
def data_copy(tmp_path: Path) -> Path:
    """A copy of data/ that a test may break; the real data/ is never touched."""
    dst = tmp_path / "data"
    shutil.copytree(DATA_DIR, dst)
    return dst


@pytest.fixture()
def page_runs(tmp_path: Path):
    """Runs of one page ('demo') as the pipeline makes them: each in a new folder beside the
    page's own (``downloads/demo/``), swapped in when it is done. Yields (page, swap-in)."""
    from reanalysis import downloads

    shelf = tmp_path / "downloads"
    shelf.mkdir()

    def runs():
        while True:
            folder = Path(tempfile.mkdtemp(dir=shelf, prefix=".demo."))

            def swap(folder: Path = folder) -> None:
                shutil.rmtree(shelf / "demo", ignore_errors=True)
                os.replace(folder, shelf / "demo")

            yield downloads.start("demo", folder), swap

    return runs()
