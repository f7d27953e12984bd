"""Patient-level rows never reach an executed notebook or the site: aggregates only."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from reanalysis import pipeline
from reanalysis.data import REPO_ROOT
from reanalysis.patient.synthetic import synthetic_cohort, write_patient_data

SUBJECT_ID = re.compile(r"SYN-[A-Za-z0-9]+-\d{4}")


def readable(path: Path) -> str:
    """A file's text, zip members included (the downloads hold CSV, SVG, PNG and zip files)."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            return "".join(zf.read(n).decode("utf-8", errors="ignore") for n in zf.namelist())
    return path.read_bytes().decode("utf-8", errors="ignore")


def test_no_subject_identifier_in_executed_notebooks_or_site():
    places = list((REPO_ROOT / "book" / "chapters").glob("*.ipynb"))
    places += [p for p in (REPO_ROOT / "book" / "chapters" / "downloads").rglob("*") if p.is_file()]
    places += [
        p
        for p in (REPO_ROOT / "_build" / "html").rglob("*")
        if p.is_file() and p.suffix in (".html", ".txt", ".csv", ".svg")
    ]
    leaks = [str(p) for p in places if SUBJECT_ID.search(readable(p))]
    assert not leaks, f"subject identifiers found in {leaks}"


def test_canary_patients_do_not_leak(tmp_path):
    """Plant canary identifiers and values in a cohort, run a chapter on it, look for them."""
    data = synthetic_cohort("li2022", seed=3)
    ids = {old: f"CANARY{i:04d}X" for i, old in enumerate(data.adsl["USUBJID"])}
    for frame in (data.adsl, data.adtte, data.adrs, data.adae):
        if frame is not None:
            frame["USUBJID"] = frame["USUBJID"].map(ids)
    data.adsl.loc[0, "AGE"] = 47.98765  # an unmistakable per-patient value
    folder = write_patient_data(data, tmp_path / "cohort")
    out = pipeline.execute_chapter("li2022", {"patient_data": str(folder)}, output=tmp_path / "li2022.ipynb")
    text = out.read_text(encoding="utf-8")
    text += "".join(readable(p) for p in (tmp_path / "downloads").rglob("*") if p.is_file())
    assert "CANARY" not in text
    assert "47.98765" not in text and "47.988" not in text
    assert "Baseline characteristics" in text and "propensity" in text.lower()
