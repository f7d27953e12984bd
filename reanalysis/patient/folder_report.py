"""``python -m reanalysis patient FOLDER --report out.ipynb|out.html``: the patient-level
sections of a study chapter (Table 1, Kaplan–Meier, Cox, PH tests, matching, subgroups,
response), executed into a notebook for a folder alone, no study needed; ``.html`` converts it
into one standalone page (figures inline, code hidden). Aggregates only, as in the chapters.

The report is deterministic and names no user folder: the kernel runs in the folder's parent
and reads the folder by its name only, run-dependent metadata (timings, versions) is dropped,
and the folder's name is escaped wherever it is shown.
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
from ..writing import write_whole
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
    from IPython import get_ipython
    from IPython.display import Markdown, display

    shell = get_ipython()
    if shell is not None and hasattr(shell, "kernel"):  # the report's kernel: figures inline
        shell.run_line_magic("matplotlib", "inline")
    else:  # e.g. a test calling show() directly: draw off screen
        import matplotlib

        matplotlib.use("Agg")

    import warnings

    with warnings.catch_warnings(record=True) as caught:  # the warnings the filters let through
        _sections(folder, seed)
    said = dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught)  # once each, in order
    if said:
        # a warning printed as is would name this machine's files (where it was raised) and come
        # out split differently from run to run: the report says what was said, once
        items = "\n".join(f"- {md(text)}" for text in said)
        display(Markdown(f"## Warnings\n\nThe analyses above ran to the end with these warnings:\n\n{items}"))


def _sections(folder: str, seed: int) -> None:
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


REPORT_SUFFIXES = (".ipynb", ".html")


def _normalised(nb):
    """Drop what changes from run to run (timings, papermill's record, kernel versions) and give
    cells fixed ids, so two runs on the same data write the same bytes."""
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    nb.metadata.get("language_info", {}).pop("version", None)
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        cell["id"] = f"cell-{i}"
        for out in cell.get("outputs", []):
            out.get("metadata", {}).pop("execution", None)
    return nb


# nbconvert's lab page without its scripts from the network (require.js, MathJax, mermaid,
# widgets): the report has no code, maths or widgets, and must open offline
OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def to_html(nb, title: str) -> str:
    """One standalone HTML page of an executed notebook: outputs only, figures inline, no
    script fetched from the network."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"offline.html.j2": OFFLINE_TEMPLATE})],
        template_file="offline.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


def write_report(folder: Path, output: Path, seed: int = 0) -> Path:
    """Execute the report notebook into ``output`` (.ipynb, or .html: a standalone page);
    replace it only on success."""
    import nbformat
    import papermill as pm

    output = Path(output)
    if output.suffix.lower() not in REPORT_SUFFIXES:
        raise ParameterError(f"--report: write a .ipynb or .html file (got '{output.name}')")
    folder = Path(folder).resolve()
    load_patient_data(folder)  # bad data fails here, naming file/line/column, before any kernel
    title = f"Patient-level analyses: {folder.name}"
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {md(title)}"),
        nbformat.v4.new_code_cell(
            f"from reanalysis.patient.folder_report import show\n\nshow({folder.name!r}, seed={int(seed)})"
        ),
    ]
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.stem}.", suffix=".tmp.ipynb")
    os.close(fd)
    try:
        # the kernel runs in the folder's parent and reads it by name: no absolute path is stored
        pm.execute_notebook(nb, tmp, cwd=str(folder.parent), kernel_name="python3", progress_bar=False)
        done = _normalised(nbformat.read(tmp, as_version=4))
        if output.suffix.lower() == ".html":
            text = to_html(done, title)
        else:
            text = nbformat.writes(done) + "\n"
        write_whole(output, text.encode("utf-8"))  # whole or not at all, readable as any new file
    except pm.PapermillExecutionError as exc:
        raise ReanalysisError(f"patient report failed: {exc.ename}: {exc.evalue}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return output
