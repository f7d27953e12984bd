"""Hostile and careless data (issue 16): text from data reaches pages as text, downloads hold
only what they should, a study id is never a path.

The real-browser check of a whole site built on hostile data is
``tests/browser/test_hostile_site.py``; these are the fast checks of each emitter.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import hostile
import pandas as pd
import pytest
from markdown_it.renderer import RendererHTML
from myst_parser.config.main import MdParserConfig
from myst_parser.parsers.mdit import create_md_parser

from reanalysis import data as D
from reanalysis import downloads, pipeline, tables, text
from reanalysis.errors import DataError, ParameterError

# every syntax extension a Jupyter Book may switch on
MYST = create_md_parser(
    MdParserConfig(
        enable_extensions={
            "amsmath",
            "attrs_inline",
            "colon_fence",
            "deflist",
            "dollarmath",
            "html_admonition",
            "html_image",
            "linkify",
            "substitution",
            "tasklist",
        }
    ),
    RendererHTML,
)
RAW = re.compile(r"<(img|script|a)\b")


def only_text(markdown: str) -> str:
    """The text MyST makes of ``markdown``, failing if it makes anything but text."""
    tokens = MYST.parse(markdown)
    kinds = {t.type for t in tokens} | {c.type for t in tokens for c in (t.children or [])}
    assert kinds <= {
        "paragraph_open",
        "paragraph_close",
        "heading_open",
        "heading_close",
        "inline",
        "text",
    }, kinds
    return "".join(c.content for t in tokens for c in (t.children or []))


@pytest.fixture
def planted(data_copy, tmp_path, monkeypatch):
    """A data copy whose li2022 holds payloads in every free-text field, used by the package."""
    hostile.plant(data_copy / "li2022", tmp_path / "secret.txt")
    for module in (D, pipeline):
        monkeypatch.setattr(module, "DATA_DIR", data_copy)
    return data_copy


# ------------------------------------------------------------------ Markdown / MyST
@pytest.mark.parametrize(
    "value",
    [
        "<img src=x onerror=alert(1)>",
        "{download}`../../../../etc/passwd`",
        "a\n\n```{include} /etc/passwd\n```\n",
        ":::{include} /etc/passwd\n:::",
        "$x$ and $$y$$ {{ sub }} [l](javascript:alert(1)) <https://x.org> *e* _u_ | t |",
        "- list\n# heading\n> quote\n1. one",
        "\\{download}`x` back\\\\slash",
    ],
)
def test_md_renders_as_exactly_its_text(value):
    assert only_text(text.md(value)) == " ".join(value.split())
    assert only_text("# " + text.md(value)) == " ".join(value.split())


def test_prepare_template_fills_title_and_citation_as_text(planted):
    nb = pipeline.prepare_template("li2022", {"study_id": "li2022"})
    first = nb.cells[0].source
    title, citation = first.split("\n\n")[:2]
    meta, arms = D.load_meta(planted / "li2022")
    label = " vs ".join(a.label for a in arms)
    assert only_text(title.removeprefix("# ")) == " ".join(f"{meta['short_title']}: {label}".split())
    assert only_text(citation) == " ".join(meta["citation"].split())


def test_glued_phrases_and_design_are_text(planted):
    from reanalysis.report import Chapter

    ch = Chapter(study_id="li2022", criterion="mRECIST")
    values = ch.values()
    for key in ("arm_a", "arm_b", "paper_categorical_test", "criterion", "test_rule", "ci_method"):
        only_text(values[key].data)  # text, nothing else
    assert only_text(values["arm_a"].data) == " ".join(ch.study.arm(ch.a).label.split())
    assert "onerror" in only_text(values["paper_categorical_test"].data)
    design = ch.design().data
    # the one link is the DOI's, its target percent-encoded (no quote can end the attribute) and
    # its text escaped; nothing else in the design table is markup
    link = re.search(r'<a href="(https://doi\.org/[^"]*)">([^<]*)</a>', design)
    assert link and not set("'\"<> {}`") & set(link.group(1)) and "&#x27;onmouseover" in link.group(2)
    design = design.replace(link.group(0), "")
    assert not RAW.search(design) and "&lt;img src=x onerror=alert(" in design
    assert not RAW.search(ch.at_a_glance().data.replace('<a href="downloads/', ""))


# ------------------------------------------------------------------ HTML
def test_render_escapes_caption_headers_cells_and_footnotes():
    payload = "<img src=x onerror=alert(1)>"
    notes = tables.Footnotes()
    mark = notes.mark(f"note {payload}")
    spec = tables.TableSpec(
        pd.DataFrame({f"arm {payload}": [f"cell {payload} {mark}"]}), "t", f"cap {payload}", notes
    )
    html = tables.render(spec).data
    assert not RAW.search(html), html
    # caption, its scroll box's aria-label (an attribute: quotes escaped too), header, cell, footnote
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") == 5
    assert 'aria-label="cap &lt;img src=x onerror=alert(1)&gt;"' in html


def test_every_chapter_table_is_escaped(planted):
    from reanalysis.report import Chapter

    ch = Chapter(study_id="li2022", criterion="mRECIST")
    for section in (
        "baseline",
        "response",
        "rates",
        "adverse_events",
        "survival",
        "survival_checks",
        "subgroups",
        "summary",
        "test_usage",
        "inconsistencies",
        "restatements",
    ):
        html = getattr(ch, section)().data
        assert not RAW.search(html), (section, RAW.search(html))


# ------------------------------------------------------------------ the study zip
def test_study_zip_holds_only_the_study_files(planted, tmp_path):
    page = downloads.start("demo", tmp_path / "out")
    downloads.study_zip("li2022", page)
    with zipfile.ZipFile(io.BytesIO((page.folder / "li2022-data.zip").read_bytes())) as zf:
        names = sorted(n.split("/", 1)[1] for n in zf.namelist())
        assert hostile.TOKEN.encode() not in b"".join(zf.read(n) for n in zf.namelist())
    own = sorted(p.name for p in D.study_files(planted / "li2022"))
    assert names == sorted([*own, "README.md", "schema.json"])
    assert D.unknown_files(planted / "li2022") == [".private-notes.txt", "notes.csv", "study.yml~"]


def test_a_symlinked_study_file_is_refused(data_copy, tmp_path):
    target = tmp_path / "elsewhere.csv"
    (data_copy / "li2022" / "pvalues.csv").rename(target)
    (data_copy / "li2022" / "pvalues.csv").symlink_to(target)
    with pytest.raises(DataError, match="pvalues.csv: is a symbolic link"):
        D.load_study("li2022", data_copy)


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess:
    """The real CLI on a data copy."""
    return subprocess.run(
        [sys.executable, "-m", "reanalysis", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "REANALYSIS_DATA": str(data)},
        cwd=D.REPO_ROOT,
        timeout=120,
    )


def test_validate_warns_about_unknown_files(data_copy):
    (data_copy / "li2022" / "pvaluess.csv").write_text("key\n", encoding="utf-8")
    proc = _cli(data_copy, "validate", "li2022")
    assert proc.returncode == 0, proc.stderr
    assert "warning: li2022/pvaluess.csv: not a file of the data format" in proc.stderr
    assert "neither read nor published" in proc.stderr


# ------------------------------------------------------------------ study ids
@pytest.mark.parametrize("bad", ["../li2022", "/tmp/x", "li2022/", "Li2022", "li 2022", "", "li2022\n"])
def test_a_study_id_is_an_identifier(bad):
    with pytest.raises(ParameterError, match="not a study id"):
        D.load_study(bad)
    with pytest.raises(ParameterError, match="not a study id"):
        downloads.study_zip(bad, downloads.start("demo"))


def test_study_id_parameter_refuses_paths():
    from reanalysis import params as P

    with pytest.raises(ParameterError, match="parameter 'study_id' must be a study id"):
        P.validate({"study_id": str(D.DATA_DIR / "li2022")})
    assert P.validate({"study_id": "li2022"})["study_id"] == "li2022"


# ------------------------------------------------------------------ spreadsheets
@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=x", "'\t=x"),
        ("\r=x", "'\r=x"),
        (" =x", "' =x"),
        ("-1.5", "-1.5"),
        ("+3", "+3"),
        ("ok = fine", "ok = fine"),
        (7, 7),
    ],
)
def test_spreadsheet_cell(cell, safe):
    assert text.spreadsheet_cell(cell) == safe


def test_table_csv_download_is_spreadsheet_safe_and_the_machine_csv_is_faithful(tmp_path, data_copy):
    page = downloads.start("demo", tmp_path)
    df = pd.DataFrame({"=name": ['=HYPERLINK("http://x")', "-0.5", "@x"], "n": [1, 2, 3]})
    tables.show(df, "t", page=page)
    back = pd.read_csv(page.folder / "t.csv", dtype=str)
    assert list(back.columns) == ["'=name", "n"]
    assert list(back["'=name"]) == ['\'=HYPERLINK("http://x")', "-0.5", "'@x"]
    # the machine CSV (checks to stdout) keeps a hostile test name exactly as it is stored
    hostile_name = "=cmd|' /C calc'!A0"
    csv = data_copy / "li2022" / "pvalues.csv"
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    frame.loc[frame["test_named"] != "", "test_named"] = hostile_name
    frame.to_csv(csv, index=False, lineterminator="\n")
    proc = _cli(data_copy, "checks", "li2022")
    assert proc.returncode == 0, proc.stderr
    assert hostile_name in proc.stdout and "'" + hostile_name not in proc.stdout
