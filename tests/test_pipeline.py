"""Execution: deterministic notebooks, parameters that take effect, failures that leave no trace."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from reanalysis import buildstate, pipeline, writing
from reanalysis.errors import ReanalysisError


def glued(path: Path) -> dict[str, str]:
    """Glued values of an executed notebook: key -> text/plain."""
    nb = nbformat.read(path, as_version=4)
    out = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            meta = o.get("metadata", {}).get("scrapbook", {})
            if meta.get("name"):
                out[meta["name"]] = o["data"].get("application/papermill.record/text/plain", "")
    return out


def template_running(source: str):
    """A stand-in for prepare_template: a parameters cell, then one cell running ``source``."""

    def prepare(chapter, values):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        p = nbformat.v4.new_code_cell("study_id = ''")
        p.metadata["tags"] = ["parameters"]
        nb.cells = [p, nbformat.v4.new_code_cell(source)]
        return nb

    return prepare


def test_normalise_drops_run_dependent_metadata():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["tags"] = ["injected-parameters"]
    cell.metadata["papermill"] = {"duration": 1.2, "start_time": "2026-01-01"}
    cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01"}
    nb.cells = [cell]
    nb.metadata["papermill"] = {"input_path": "/abs/path", "start_time": "x"}
    out = pipeline.normalise(nb)
    assert "papermill" not in out.metadata
    assert out.cells[0]["id"] == "injected-parameters"
    assert out.cells[0].metadata == {"tags": ["injected-parameters", "hide-input"]}  # folded on the page
    # removed from the page, as the parameters cell above it is
    params = nbformat.v4.new_code_cell("x = 0")
    params.metadata["tags"] = ["parameters", "remove-input"]
    injected = nbformat.v4.new_code_cell("x = 1")
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells = [params, injected]
    assert pipeline.normalise(nb).cells[1].metadata == {"tags": ["injected-parameters", "remove-input"]}


@pytest.mark.parametrize("template", sorted(p.name for p in (pipeline.BOOK / "templates").glob("*.ipynb")))
def test_no_page_opens_with_code(template):
    """Above a chapter's first section (its first screen: what the study found) no code cell
    leaves even a fold on the page: parameters, set-up and summaries show their output only."""
    nb = nbformat.read(pipeline.BOOK / "templates" / template, as_version=4)
    opening, removed = [], {"remove-input", "remove-cell"}
    for cell in nb.cells:
        if cell.cell_type == "markdown" and any(line.startswith("## ") for line in cell.source.splitlines()):
            break
        if cell.cell_type == "code" and not removed & set(cell.metadata.get("tags", [])):
            opening.append(cell.source[:60])
    assert not opening, f"{template}: a code fold above the first section: {opening}"


def test_normalise_drops_the_downloads_folder():
    """The folder a run wrote its downloads to is this machine's: it is not stored, so a
    re-run of the stored notebook (nbval) writes nothing and the file is the same everywhere."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(
        '# Parameters\nstudy_id = "li2022"\npage = "li2022"\ndownloads_dir = "/tmp/x/.li2022.tmp"\nseed = 0\n'
    )
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells = [cell]
    out = pipeline.normalise(nb)
    assert out.cells[0].source == '# Parameters\nstudy_id = "li2022"\npage = "li2022"\nseed = 0\n'


def test_committed_chapter_is_normalised():
    text = (pipeline.EXECUTED / "li2022.ipynb").read_text(encoding="utf-8")
    assert "start_time" not in text and "/work/" not in text and "0x7f" not in text
    assert "{{" not in text.split('"source"')[1][:200], "placeholders must be filled"


@pytest.mark.parametrize(
    ("criterion", "orr_a", "orr_b"),
    [
        # RECIST 1.1 ORR 20/37 = 54.054%, 5/41 = 12.195%; mRECIST 21/37 = 56.757%, 13/41 = 31.707%
        ("RECIST", 20 / 37 * 100, 5 / 41 * 100),
        ("mRECIST", 21 / 37 * 100, 13 / 41 * 100),
    ],
)
def test_parameter_changes_the_chapter(tmp_path, criterion, orr_a, orr_b):
    out = pipeline.execute_chapter("li2022", {"criterion": criterion}, output=tmp_path / "li2022.ipynb")
    g = glued(out)
    assert float(g["orr_a"]) == pytest.approx(orr_a) and float(g["orr_b"]) == pytest.approx(orr_b)
    links = set(pipeline.download_links(out))
    files = {f"downloads/li2022/{p.name}" for p in (tmp_path / "downloads" / "li2022").iterdir()}
    assert links == files, "every download link has its file, and every file its link"
    assert {
        "downloads/li2022/baseline.csv",
        "downloads/li2022/km-os.svg",
        "downloads/li2022/li2022-data.zip",
    } <= files
    injected = [c for c in nbformat.read(out, 4).cells if c["id"] == "injected-parameters"][0]
    assert "downloads_dir" not in injected.source and str(tmp_path) not in out.read_text(encoding="utf-8")
    assert "criterion = " + json.dumps(
        "RECIST 1.1" if criterion == "RECIST" else "mRECIST"
    ) in injected.source.replace("'", '"')


def test_failed_run_leaves_previous_output(tmp_path, monkeypatch):
    target = tmp_path / "li2022.ipynb"
    target.write_text("previous", encoding="utf-8")
    previous = tmp_path / "downloads" / "li2022" / "baseline.csv"
    previous.parent.mkdir(parents=True)
    previous.write_text("previous", encoding="utf-8")

    monkeypatch.setattr(pipeline, "prepare_template", template_running("raise RuntimeError('boom')"))
    with pytest.raises(ReanalysisError, match="chapter 'li2022' failed.*RuntimeError: boom"):
        pipeline.execute_chapter("li2022", output=target)
    assert target.read_text(encoding="utf-8") == "previous"
    assert previous.read_text(encoding="utf-8") == "previous", "previous downloads left in place"
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert left == ["downloads", "downloads/li2022", "downloads/li2022/baseline.csv", "li2022.ipynb"], (
        "no temporary file or folder left behind"
    )


def test_missing_downloads_are_found(tmp_path, monkeypatch):
    """A chapter whose notebook links to a download that is not on disk is re-executed."""
    monkeypatch.setattr(pipeline, "EXECUTED", tmp_path)
    monkeypatch.setattr(pipeline, "load_chapters", lambda: {"a": {}, "b": {}, "c": {}})
    link = '<a href=\\"downloads/{0}/t.csv\\" download>CSV</a>'
    for chapter in ("a", "b"):
        (tmp_path / f"{chapter}.ipynb").write_text('{"x": "' + link.format(chapter) + '"}', encoding="utf-8")
    (tmp_path / "downloads" / "a").mkdir(parents=True)
    (tmp_path / "downloads" / "a" / "t.csv").write_text("x\n1\n", encoding="utf-8")
    assert pipeline.missing_downloads() == ["b"]  # c has no notebook yet: Snakemake runs it anyway


def test_warnings_are_not_stored(tmp_path, monkeypatch):
    """A warning in a chapter (it would carry this machine's paths) fails the run."""
    target = tmp_path / "li2022.ipynb"

    monkeypatch.setattr(
        pipeline, "prepare_template", template_running("import warnings\nwarnings.warn('careful')")
    )
    with pytest.raises(ReanalysisError, match="wrote to stderr in cell.*careful"):
        pipeline.execute_chapter("li2022", output=target)
    assert not target.exists()


def test_workflow_progress_shows_chapters_steps_and_errors(capsys):
    """Unless verbose, the build shows the plan, each executed or kept chapter, the step count and
    errors."""
    script = (
        "import sys\n"
        "print('Building DAG of jobs...')\n"
        "print('chapter        3')\n"
        "print('executed li2022 in 1.0 s -> book/chapters/li2022.ipynb')\n"
        "print('[Mon Nov 23 18:20:41 2026]')\n"
        # another job's unfinished line just before a chapter's closing line, in the shared pipe
        "print('Select jobs to execute', end='')\n"
        "print('executed audit in 2.0 s -> book/chapters/audit.ipynb')\n"
        "print('kept overview (what it reads says the same) -> book/chapters/overview.ipynb')\n"
        "print('1 of 4 steps (25%) done')\n"
        "print('error: data/li2022/baseline.csv, line 2: bad', file=sys.stderr)\n"
        "sys.exit(1)\n"
    )
    code = pipeline._run_with_progress([sys.executable, "-u", "-c", script], quiet=True)
    out, err = capsys.readouterr()
    assert code == 1
    assert out == (
        "checking 3 chapter(s) (each is executed or kept), then building the site\n"
        "executed li2022 in 1.0 s -> book/chapters/li2022.ipynb\n"
        "executed audit in 2.0 s -> book/chapters/audit.ipynb\n"
        "kept overview (what it reads says the same) -> book/chapters/overview.ipynb\n"
        "  [1/4 steps done, 25%]\n"
    )
    assert err == "error: data/li2022/baseline.csv, line 2: bad\n"


def test_workflow_failure_without_an_error_line_shows_its_tail(capsys):
    script = "import sys\nprint('MissingInputException in rule chapter')\nsys.exit(1)\n"
    assert pipeline._run_with_progress([sys.executable, "-u", "-c", script], quiet=True) == 1
    out, err = capsys.readouterr()
    assert out == "" and "MissingInputException in rule chapter" in err


@pytest.mark.parametrize("template", sorted(p.name for p in (pipeline.BOOK / "templates").glob("*.ipynb")))
def test_no_template_shows_its_code_to_a_reader(template):
    """Every code cell of a chapter's template is folded (``hide-input``) or removed
    (``remove-input``) on the page: a clinician reads results, not Python."""
    nb = nbformat.read(pipeline.BOOK / "templates" / template, as_version=4)
    folded = {"hide-input", "remove-input", "remove-cell"}
    shown = [
        "".join(c.source)[:60]
        for c in nb.cells
        if c.cell_type == "code" and not folded & set(c.metadata.get("tags", []))
    ]
    assert not shown, f"{template}: code shown on the page: {shown}"


def test_the_package_stamp_changes_only_with_the_package(tmp_path, monkeypatch):
    """Every job depends on one file holding the package's digest: written when missing or
    when the digest changes, left alone (same bytes, same time) otherwise."""
    from reanalysis import data

    stamp = tmp_path / ".stamps" / "package"
    monkeypatch.setattr(pipeline, "PACKAGE_STAMP", stamp)
    assert pipeline.package_stamp() == stamp
    assert stamp.read_text(encoding="utf-8") == data.code_digest() + "\n"
    before = stamp.stat().st_mtime_ns
    pipeline.package_stamp()
    assert stamp.stat().st_mtime_ns == before
    monkeypatch.setattr(data, "_CODE", ["an edited package"])
    pipeline.package_stamp()
    assert stamp.read_text(encoding="utf-8") == "an edited package\n"
    assert sorted(p.name for p in stamp.parent.iterdir()) == ["package"]  # no temporary left


def test_chapters_are_parsed_once_and_each_caller_gets_its_own_copy():
    first = pipeline.load_chapters()
    first["li2022"]["parameters"]["study_id"] = "changed by a caller"
    assert pipeline.load_chapters()["li2022"]["parameters"]["study_id"] == "li2022"
    assert pipeline._parsed_chapters.cache_info().hits > 0


def test_a_template_is_read_once_per_text_and_an_edit_is_seen(tmp_path):
    """The parameters a template declares are worked out once per text (64 chapters share one
    template), yet an edited template gives its new parameters, and a bad one still fails."""
    import shutil

    template = tmp_path / "study.ipynb"
    shutil.copy(pipeline.TEMPLATES / "two_arm_study.ipynb", template)
    first = pipeline.declared_parameters(template)
    assert first == pipeline.declared_parameters(template)
    assert pipeline._declared.cache_info().hits > 0
    first["alpha"] = "changed by a caller"
    assert pipeline.declared_parameters(template)["alpha"] == 0.05
    nb = nbformat.read(template, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source += "\nnew_parameter = 3"
    nbformat.write(nb, template)
    assert pipeline.declared_parameters(template)["new_parameter"] == 3
    cell.source += "\nnot_literal = len([])"
    nbformat.write(nb, template)
    with pytest.raises(ReanalysisError, match="study.ipynb: the parameters cell may only hold"):
        pipeline.declared_parameters(template)


def test_the_synthesis_waits_for_no_results_job_because_it_reads_none():
    """``reads_results: false`` lets the synthesis start beside a study's ``results`` job: true
    only while the synthesis never imports the results artefacts' module."""
    assert pipeline.results_read("synthesis", pipeline.resolve_parameters("synthesis")) == []
    code = "import sys, reanalysis.synthesis_report; print('reanalysis.results' in sys.modules)"
    root = pipeline.REPO_ROOT
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_the_longest_chapters_go_first_and_results_before_any(tmp_path, monkeypatch):
    """Snakemake's priorities: a study's results job above every chapter; chapters by how long
    their last execution took; a chapter never timed (or its record unreadable) counts 0 s, and
    between equals one that waits for no results job goes first."""
    monkeypatch.setattr(buildstate, "TIMES", tmp_path / "seconds")
    assert buildstate.recorded_seconds("never") == 0.0
    buildstate.record_seconds("long", 31.5)
    buildstate.record_seconds("short", 1.25)
    assert buildstate.recorded_seconds("long") == 31.5
    assert sorted(p.name for p in (tmp_path / "seconds").iterdir()) == ["long", "short"]  # nothing aside
    for bad in ("", "nan", "inf", "-3", "many"):
        (tmp_path / "seconds" / "odd").write_text(bad)
        assert buildstate.recorded_seconds("odd") == 0.0
    order = sorted(
        [("long", True), ("short", False), ("short", True), ("never", True), ("never", False)],
        key=lambda c: -buildstate.chapter_priority(*c),
    )
    assert order == [("long", True), ("short", False), ("short", True), ("never", False), ("never", True)]
    assert buildstate.RESULTS_PRIORITY > buildstate.chapter_priority("long", False) * 1000


@pytest.mark.parametrize("cid", ["../escape", "a/b", "Upper", "", "7 days"])
def test_a_chapter_id_that_is_no_identifier_is_refused(tmp_path, cid):
    """Chapter ids name files (stamps, timings, notebooks): never a path."""
    path = tmp_path / "chapters.yml"
    path.write_text(json.dumps({"chapters": {cid: {"template": "overview.ipynb"}}}), encoding="utf-8")
    with pytest.raises(ReanalysisError, match="not an identifier"):
        pipeline.load_chapters(path)


def test_the_workflow_process_imports_no_table_library():
    """`build` and Snakemake's process import the pipeline (and the Snakefile its names) for
    paths, chapters and study metadata: pandas, pandera and numpy cost them 0.7 s each before
    the first job, and are imported only where tables are read or written."""
    code = (
        "import sys\n"
        "import reanalysis.cli, reanalysis.pipeline, reanalysis.buildstate, reanalysis.data\n"
        "from reanalysis.pipeline import load_chapters, resolve_parameters\n"
        "for chapter in load_chapters():\n"
        "    resolve_parameters(chapter)\n"
        "print(sorted(m for m in ('pandas', 'pandera', 'numpy', 'matplotlib') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=pipeline.REPO_ROOT
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_a_failed_site_build_says_why_in_plain_text(tmp_path):
    """jupyter-book runs in the site step's own process (sitebuild.jupyter_book): a failed build
    gives its status and jupyter-book's and Sphinx's messages, without terminal colour codes."""
    (tmp_path / "_config.yml").write_text("title: t\nexecute:\n  execute_notebooks: 'off'\n")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n- file: nosuch\n")
    (tmp_path / "intro.md").write_text("# Intro\n")
    args = ["build", str(tmp_path), "--path-output", str(tmp_path / "out"), "--warningiserror", "--quiet"]
    code = f"import json, reanalysis.sitebuild as p; print(json.dumps(p.jupyter_book({args!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    status, output = json.loads(out.stdout)
    assert status == 1
    assert "nonexisting document 'nosuch'" in output and "There was an error in building your book" in output
    assert "\x1b" not in output


def test_each_step_reads_its_parameters_from_the_runs_file(tmp_path, monkeypatch, capsys):
    """The workflow's steps read their parameters from one file the Snakefile writes (rewritten
    only when they change), not from Snakemake's ``params``, whose record of each finished job
    imports pandas into Snakemake's process before it starts the next. A step whose chapter the
    file lacks refuses to run (exit 2, no traceback)."""
    import os

    from reanalysis import cli

    monkeypatch.setattr(pipeline, "PARAMETERS_FILE", tmp_path / "parameters.json")
    path = pipeline.write_parameters({"a": {"alpha": 0.1}, "b": {}})
    assert json.loads(path.read_text()) == {"a": {"alpha": 0.1}, "b": {}}
    os.utime(path, ns=(10**9, 10**9))
    pipeline.write_parameters({"b": {}, "a": {"alpha": 0.1}})
    assert path.stat().st_mtime_ns == 10**9  # the same values: untouched
    pipeline.write_parameters({"a": {"alpha": 0.2}, "b": {}})
    assert path.stat().st_mtime_ns != 10**9
    assert cli.main(["execute", "overview", "--params-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert "no parameters for chapter 'overview'" in err and "Traceback" not in err
    snakefile = (pipeline.REPO_ROOT / "Snakefile").read_text()
    assert "--params-file {PARAMETERS:q}" in snakefile and "params:" not in snakefile


def test_what_the_build_writes_gets_the_permissions_of_any_new_file(tmp_path, monkeypatch):
    """The book's notebooks, stamps and caches are written whole or not at all, into a file
    beside them then renamed; that file was mkstemp's, private (0600), so a build left the
    notebooks unreadable to others sharing the checkout. They get 0666 less the umask now."""
    old = os.umask(0o027)
    try:
        pipeline._atomic_write_text(tmp_path / "chapter.ipynb", "{}\n")
        writing.write_aside(tmp_path / "validated" / "study.pickle", b"kept")
    finally:
        os.umask(old)
    for path in (tmp_path / "chapter.ipynb", tmp_path / "validated" / "study.pickle"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path
    assert (tmp_path / "chapter.ipynb").read_text(encoding="utf-8") == "{}\n"
    # a write that fails leaves the old file as it was and no temporary file
    monkeypatch.setattr(os, "replace", lambda *args: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        pipeline._atomic_write_text(tmp_path / "chapter.ipynb", "new")
    assert (tmp_path / "chapter.ipynb").read_text(encoding="utf-8") == "{}\n"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["chapter.ipynb", "study.pickle", "validated"]
