"""Shared fixtures: a writable copy of the extracted data for bad-input tests."""

from __future__ import annotations

import shutil
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
