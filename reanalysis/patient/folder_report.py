"""``python -m reanalysis patient FOLDER --report out.ipynb``: the patient-level sections of a
study chapter (Table 1, Kaplan–Meier, Cox, PH tests, matching, subgroups, response), executed
into a notebook for a folder alone, no study needed. Aggregates only, as in the chapters.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from ..data import Arm, Study
from ..errors import ParameterError, ReanalysisError
from ..schema import TABLE_ORDER, TABLES
from ..text import md
from .schema import PatientData, load_patient_data


def study_for(data: PatientData, name: str) -> Study:
    """A study with no printed numbers whose arms are the data's (labels, order and reference
    from patient.yml), so the chapters' patient sections run on any trial."""
    arms = [Arm(a, data.label(a), int((data.adsl["ARM"] == a).sum())) for a in data.arms]
    others = [a for a in data.arms if a != data.reference]
    meta = {
        "id": name,
        "short_title": name,
        "comparison": [others[0], data.reference] if len(data.arms) == 2 else None,
        "response_criteria": [],
    }
    tables = {t: pd.DataFrame({c: pd.Series(dtype="object") for c in TABLES[t]}) for t in TABLE_ORDER}
    return Study(name, meta, arms, tables)


def show(folder: str, seed: int = 0) -> None:
    """Display every patient-level section for ``folder`` (run inside the report's kernel)."""
    import matplotlib

    matplotlib.use("Agg")
    from IPython.display import Markdown, display

    from .report import PatientSection

    data = load_patient_data(folder)
    part = PatientSection(data, study_for(data, Path(folder).name), seed=seed)
    display(part.banner())
    for title, section in (
        ("Baseline characteristics", part.table_one),
        ("Survival: Kaplan–Meier and Cox models", part.survival),
        ("Propensity-score matching", part.matching),
        ("Subgroups", part.subgroups),
        ("Adverse events", part.adverse_events),
    ):
        display(Markdown(f"## {title}"))
        shown = section()
        if shown is not None:
            display(shown)
    if data.adrs is not None:
        for criterion in dict.fromkeys(data.adrs["CRITERION"]):
            display(Markdown(f"## Tumour response ({md(criterion)})"))
            display(part.response(criterion))
            part.response_models(criterion)


def write_report(folder: Path, output: Path, seed: int = 0) -> Path:
    """Execute the report notebook into ``output`` (.ipynb); replace it only on success."""
    import nbformat
    import papermill as pm

    output = Path(output)
    if output.suffix != ".ipynb":
        raise ParameterError(f"--report: write a .ipynb file (got '{output.name}')")
    folder = Path(folder).resolve()
    load_patient_data(folder)  # bad data fails here, naming file/line/column, before any kernel
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# Patient-level analyses: {folder.name}"),
        nbformat.v4.new_code_cell(
            f"from reanalysis.patient.folder_report import show\n\nshow({str(folder)!r}, seed={int(seed)})"
        ),
    ]
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.stem}.", suffix=".tmp.ipynb")
    os.close(fd)
    try:
        pm.execute_notebook(nb, tmp, cwd=str(output.parent), kernel_name="python3", progress_bar=False)
        os.replace(tmp, output)
    except pm.PapermillExecutionError as exc:
        raise ReanalysisError(f"patient report failed: {exc.ename}: {exc.evalue}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return output
