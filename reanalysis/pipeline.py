"""Execute chapters with papermill and build the book; never leave a half-written result.

A chapter is a template notebook (``book/templates/``) plus parameters (``book/chapters.yml``,
overridable per run). Execution writes to a temporary file beside the target, normalises
run-dependent metadata so re-runs are byte-identical, and only then replaces the executed
notebook (``book/chapters/``). The site is built into a work folder and swapped into
``_build/html`` only when the build succeeded (:mod:`reanalysis.sitebuild`).
"""

from __future__ import annotations

import ast
import contextlib
import copy
import functools
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn

import nbformat

from . import buildstate, downloads, kernels, manifest, warm
from . import params as P
from .data import (
    DATA_DIR,
    REPO_ROOT,
    code_digest,
    list_studies,
    load_meta,
    load_study,
    load_study_meta,
    require_criterion,
    safe_yaml,
)
from .errors import ParameterError, ReanalysisError
from .text import md
from .writing import write_whole

BOOK = REPO_ROOT / "book"
TEMPLATES = BOOK / "templates"
EXECUTED = BOOK / "chapters"
CHAPTERS_FILE = BOOK / "chapters.yml"
BUILD = REPO_ROOT / "_build"
SITE = BUILD / "html"


CHAPTER_ID_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")


def load_chapters(path: Path = CHAPTERS_FILE) -> dict[str, dict[str, Any]]:
    """Chapter id → {template, parameters} from ``book/chapters.yml`` (each call its own copy)."""
    chapters = copy.deepcopy(_parsed_chapters(path.read_text(encoding="utf-8")))
    for cid, ch in chapters.items():
        if not isinstance(cid, str) or not CHAPTER_ID_RE.fullmatch(cid):  # it names files: never a path
            raise ReanalysisError(
                f"{path.name}: chapter id {cid!r} is not an identifier "
                "(lowercase letters, digits, '_' and '-')"
            )
        if not (TEMPLATES / ch.get("template", "")).is_file():
            raise ReanalysisError(
                f"{path.name}: chapter '{cid}' names a missing template '{ch.get('template')}'"
            )
    return chapters


@functools.lru_cache(maxsize=4)
def _parsed_chapters(text: str) -> dict[str, dict[str, Any]]:
    """``chapters.yml``'s chapters, parsed once per text: the workflow asks for them for every
    job's parameters (a 64-study file took 80 ms to parse, asked for ~350 times a build)."""
    return (safe_yaml(text) or {}).get("chapters") or {}


ENTRIES = BUILD / ".stamps" / "entries"
PACKAGE_STAMP = BUILD / ".stamps" / "package"


def package_stamp() -> Path:
    """``_build/.stamps/package``: the digest of the package (its code, rules and data sets, and
    the pandas and pandera versions: :func:`reanalysis.data.code_digest`), rewritten only when
    it changes. Every job of the workflow depends on this one file rather than on each of the
    package's files: Snakemake looks at every input of every ready job each time it picks jobs
    (at 64 studies, some 6,000 files a pick)."""
    return _write_if_changed(PACKAGE_STAMP, code_digest() + "\n")


def _write_if_changed(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` (atomically) unless it already holds it: the workflow's stamps
    are inputs Snakemake compares by time, so an unchanged one must keep its time."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return path
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write_text(path, text)
    return path


def write_entry(chapter: str, chapters: dict[str, dict[str, Any]] | None = None) -> Path:
    """Write the chapter's own entry of ``chapters.yml`` to ``_build/.stamps/entries/<id>.json``,
    touching the file only when the entry changed: the workflow depends on it, not on the whole
    ``chapters.yml``, so registering or editing one chapter re-runs that chapter only."""
    chapters = chapters if chapters is not None else load_chapters()
    if chapter not in chapters:
        raise ParameterError(f"unknown chapter '{chapter}' (known: {', '.join(chapters)})")
    text = json.dumps(chapters[chapter], sort_keys=True, indent=1, default=str) + "\n"
    return _write_if_changed(ENTRIES / f"{chapter}.json", text)


PARAMETERS_FILE = BUILD / ".stamps" / "parameters.json"


def write_parameters(values: dict[str, dict[str, Any]]) -> Path:
    """Write every chapter's parameters for this run to ``_build/.stamps/parameters.json``
    (rewritten only when they change), which the workflow's ``execute`` steps read
    (``--params-file``).

    A file, not Snakemake's ``params``: Snakemake records each finished job's ``params``, and
    its record imports pandas into Snakemake's process when the first chapter finishes (0.4 s
    before it starts the next job). Not an input of any step: ``build`` compares each chapter's
    stamp with these values itself (:func:`stale_chapters`)."""
    return _write_if_changed(PARAMETERS_FILE, json.dumps(values, sort_keys=True, indent=1) + "\n")


# parameters a template declares that the pipeline sets (page name, downloads folder), never the user
SET_BY_PIPELINE = ("page", "downloads_dir")


def declared_parameters(template: Path) -> dict[str, Any]:
    """Name → default of a template's papermill ``parameters`` cell (plain ``name = literal``)."""
    return copy.deepcopy(dict(_declared(template.name, template.read_text(encoding="utf-8"))))


@functools.lru_cache(maxsize=16)
def _declared(name: str, text: str) -> tuple[tuple[str, Any], ...]:
    """:func:`declared_parameters` of one template's text, worked out once per text: a build asks
    for it once per chapter in each of two processes, and 64 study chapters share one template
    (reading it as a notebook took 2 ms each time)."""
    nb = nbformat.reads(text, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ReanalysisError(f"{name}: expected one cell tagged 'parameters', found {len(cells)}")
    out: list[tuple[str, Any]] = []
    for node in ast.parse(cells[0].source).body:
        try:
            (target,) = node.targets  # type: ignore[attr-defined]
            out.append((target.id, ast.literal_eval(node.value)))  # type: ignore[attr-defined]
        except (AttributeError, ValueError):
            raise ReanalysisError(
                f"{name}: the parameters cell may only hold 'name = literal' lines (line {node.lineno})"
            ) from None
    return tuple(out)


def _known(chapter: str, chapters: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The book's entry for ``chapter``; an unknown chapter is named as such."""
    if chapter not in chapters:
        raise ParameterError(f"unknown chapter '{chapter}' (known: {', '.join(chapters)})")
    return chapters[chapter]


def chapter_specs(chapter: str, chapters: dict[str, dict[str, Any]] | None = None) -> dict[str, P.Param]:
    """The parameters a chapter takes: what its template declares, typed by ``params.py``."""
    ch = _known(chapter, chapters or load_chapters())
    pool = P.PARAM_SETS[ch.get("parameter_set", "study")]
    declared = [n for n in declared_parameters(TEMPLATES / ch["template"]) if n not in SET_BY_PIPELINE]
    undefined = [n for n in declared if n not in pool]
    if undefined:
        raise ReanalysisError(
            f"{ch['template']} declares parameter '{undefined[0]}', "
            "which reanalysis/params.py does not define"
        )
    return P.subset(pool, declared)


def resolve_parameters(
    chapter: str, overrides: dict[str, Any] | None = None, chapters: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The chapter's parameters: defaults, then chapters.yml, then overrides; all validated.

    Only the parameters the chapter's template declares are accepted; the response criterion
    is resolved to the study's own name for it (or, for the synthesis, must be reported by an
    included study), so a bad value stops here, before any kernel starts. ``chapters``:
    :func:`load_chapters` already called, by a caller resolving every chapter (each call checks
    every chapter's template: at 64 studies, resolving them all one by one took 0.16 s).
    """
    chapters = chapters if chapters is not None else load_chapters()
    specs = chapter_specs(chapter, chapters)
    merged = {**(chapters[chapter].get("parameters") or {}), **(overrides or {})}
    for name in set(merged) & set(SET_BY_PIPELINE):
        raise ParameterError(f"chapter '{chapter}': parameter '{name}' is set by the pipeline, not by you")
    values = P.validate(merged, specs, where=f"chapter '{chapter}'")
    where = f"chapter '{chapter}': "
    try:
        if values.get("study_id"):
            if not (Path(DATA_DIR) / values["study_id"] / "study.yml").is_file():
                raise ParameterError(f"parameter 'study_id': no study '{values['study_id']}' in {DATA_DIR}")
            if "criterion" in values:
                study = load_study_meta(values["study_id"])
                values["criterion"] = study.resolve_criterion(values["criterion"])
        elif "criterion" in values and "include" in values:  # the synthesis pools over studies
            ids = [s.strip() for s in values["include"].split(",") if s.strip()] or list_studies()
            require_criterion([load_study_meta(s) for s in ids], values["criterion"])
    except ParameterError as exc:
        raise ParameterError(where + str(exc)) from None
    return values


def results_read(
    chapter: str,
    values: dict[str, Any],
    studies: list[str] | None = None,
    chapters: dict[str, dict[str, Any]] | None = None,
) -> list[str]:
    """The studies whose results artefact (``reanalysis.results``) the chapter renders: a study
    chapter its study's, a chapter across studies every study's, none for a chapter whose
    ``chapters.yml`` entry says ``reads_results: false`` (the worked example) or ``reads_data:
    false``. The workflow runs those ``results`` jobs first; a chapter whose parameters change a
    verdict computes its own result (the artefact's key differs). ``chapters``: ``chapters.yml``
    as :func:`load_chapters` gave it, when the caller has it (the workflow asks for every job)."""
    entry = (chapters or load_chapters())[chapter]
    if entry.get("reads_data", True) is False or entry.get("reads_results", True) is False:
        return []
    studies = list_studies() if studies is None else studies
    study = values.get("study_id")
    if study:
        return [study] if study in studies else []
    return list(studies)


def prepare_template(chapter: str, values: dict[str, Any]) -> nbformat.NotebookNode:
    """The chapter's template with ``{{title}}``-style placeholders in Markdown filled from
    the study's metadata (text only: numbers in prose are glued, never substituted). Text from
    data is escaped (:func:`reanalysis.text.md`): it reads as text, never as MyST markup."""
    nb = nbformat.read(TEMPLATES / load_chapters()[chapter]["template"], as_version=4)
    fill = {"study_id": values.get("study_id", ""), "chapter": chapter}
    if values.get("study_id"):
        meta, arms = load_meta(Path(DATA_DIR) / values["study_id"])
        labels = {a.id: a.label for a in arms}
        what = " vs ".join(labels[x] for x in meta.get("comparison") or [a.id for a in arms])
        fill |= {"title": md(f"{meta['short_title']}: {what}"), "citation": md(meta["citation"])}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for k, v in fill.items():
                cell.source = cell.source.replace("{{" + k + "}}", str(v))
    return nb


# the folder a run writes its downloads to: a temporary path on this machine, dropped from the
# stored notebook (re-running it, as nbval does, then writes nothing)
RUN_ONLY_PARAMETER = re.compile(r"^downloads_dir = .*(?:\n|$)", re.MULTILINE)


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop run-dependent metadata (timings, paths, random ids) and the injected
    ``downloads_dir`` so re-runs, on any machine, compare equal; fold the injected parameters
    away from a reader's first screen."""
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata.get("language_info", {}).pop("version", None)
    # the injected cell is shown as the parameters cell above it is: removed from the page (a
    # reader's first screen holds findings, not code), else folded
    shown = {t for c in nb.cells if "parameters" in c.metadata.get("tags", []) for t in c.metadata.tags}
    fold = "remove-input" if "remove-input" in shown else "hide-input"
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"
            cell.source = RUN_ONLY_PARAMETER.sub("", cell.source)
            if fold not in cell.metadata.tags:
                cell.metadata.tags = [*cell.metadata.tags, fold]
        elif not cell.get("id"):
            cell["id"] = f"cell-{i}"
    return nb


def _atomic_write_text(path: Path, text: str) -> None:
    """``text`` into ``path`` (UTF-8), whole or not at all (:func:`reanalysis.writing.write_whole`)."""
    write_whole(path, text.encode("utf-8"))


def execute_chapter(
    chapter: str, overrides: dict[str, Any] | None = None, output: Path | None = None, progress: bool = False
) -> Path:
    """Run a chapter's template with papermill; replace the output only on success."""
    import papermill as pm

    values = resolve_parameters(chapter, overrides)
    if values.get("study_id"):
        load_study(values["study_id"])  # bad data fails here, naming file/line/column, before any kernel
    if values.get("test_rule") == "paper":  # so does a test name the paper rule cannot use
        from .checks.pvalues import require_paper_tests

        for sid in [values["study_id"]] if values.get("study_id") else list_studies():
            require_paper_tests(load_study(sid))
    if values.get("patient_data") not in (None, "synthetic", "none"):
        from .patient.schema import load_patient_data

        cohort = load_patient_data(values["patient_data"])  # a user's cohort too, before any kernel
        if values.get("study_id"):
            known = [a.id for a in load_study_meta(values["study_id"]).arms]
            unknown = [a for a in cohort.arms if a not in known]
            if unknown:
                raise ParameterError(
                    f"chapter '{chapter}': parameter 'patient_data': arm '{unknown[0]}' of its adsl.csv is "
                    f"not an arm of study '{values['study_id']}' ({', '.join(known)})"
                )
        # the kernel runs in book/chapters: a folder named relative to here must stay this one
        values["patient_data"] = str(Path(values["patient_data"]).resolve())
    template = prepare_template(chapter, values)
    output = _output_path(output) if output else EXECUTED / f"{chapter}.ipynb"
    output.parent.mkdir(parents=True, exist_ok=True)
    page = re.sub(r"[^a-z0-9_-]+", "-", output.stem.lower()).strip("-_") or "chapter"
    shelf = output.parent / downloads.FOLDER
    made_shelf = not shelf.exists()
    shelf.mkdir(exist_ok=True)
    files = Path(tempfile.mkdtemp(dir=shelf, prefix=f".{page}.", suffix=".tmp"))
    files.chmod(0o755)  # mkdtemp makes it 0700: a web server running as another user could not read it
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{chapter}.", suffix=".tmp.ipynb")
    os.close(fd)
    try:
        # inject only what the template declares (its parameters cell); `page` names the
        # downloads folder and `downloads_dir` is where the kernel writes them: both set here,
        # never by the user (`normalise` drops `downloads_dir` from the stored notebook)
        declared = set(pm.inspect_notebook(str(TEMPLATES / load_chapters()[chapter]["template"])))
        injected = {k: v for k, v in values.items() if k in declared}
        if "page" in declared:
            injected["page"] = page
        if "downloads_dir" in declared:
            injected["downloads_dir"] = str(files)
        pm.execute_notebook(
            template,
            tmp,
            parameters=injected,
            # papermill otherwise rewrites (and re-validates) the whole notebook after every cell:
            # with inline figures that is ~2.5 s of a study chapter; the output is a temporary
            # file replaced only on success, so nothing reads the partial saves
            request_save_on_cell_execute=False,
            cwd=str(EXECUTED),
            kernel_name="python3",
            progress_bar=progress,
            log_output=False,
            report_mode=False,
            # over Unix sockets (reanalysis.kernels); inside a build with a zygote, the kernel
            # is forked from it (reanalysis.warm)
            kernel_manager_class=kernels.kernel_manager_class(
                warm.kernel_manager_class() if warm.active() else None
            ),
        )
        nb = normalise(nbformat.read(tmp, as_version=4))
        if str(files) in nbformat.writes(nb):  # this machine's temporary folder must not be stored
            raise ReanalysisError(f"chapter '{chapter}': its notebook would store the path {files}")
        noisy = [
            (c.get("id"), o) for c in nb.cells for o in c.get("outputs", []) if o.get("name") == "stderr"
        ]
        if noisy:  # warnings carry machine-specific paths and break strict nbval elsewhere
            said = next(
                (line.strip() for line in str(noisy[0][1].get("text", "")).splitlines() if line.strip()), ""
            )
            cells = ", ".join(dict.fromkeys(str(i) for i, _ in noisy))
            raise ReanalysisError(
                f"chapter '{chapter}' wrote to stderr in cell(s) {cells} ({said[:300]!r}); "
                "fix the warning instead of storing it"
            )
        stored = nbformat.writes(nb) + "\n"
        user_folder = values.get("patient_data")
        if user_folder not in (None, "synthetic", "none", ""):  # a path on this machine: never stored
            stored = _neutral_patient_folder(stored, str(user_folder))
        publishable(files)
        with buildstate.deferred_signals():  # downloads and notebook are replaced together or not at all
            _swap_folder(files, shelf / page)  # downloads first: the notebook is what marks success
            _atomic_write_text(output, stored)
    except pm.PapermillExecutionError as exc:
        raise ReanalysisError(
            f"chapter '{chapter}' failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
        ) from None
    finally:
        Path(tmp).unlink(missing_ok=True)
        shutil.rmtree(files, ignore_errors=True)
        if made_shelf and not any(shelf.iterdir()):
            shelf.rmdir()  # a failed first run leaves no empty folder behind
    return output


PATIENT_FOLDER_LABEL = "user-supplied patient data"  # what a notebook stores instead of the path


def _neutral_patient_folder(notebook_json: str, folder: str) -> str:
    """The notebook with the user's patient-data folder (its parameter, and any mention of its
    absolute path, which names users and folders) replaced by a neutral label. A relative
    name is replaced only in the parameter: elsewhere it may be any word."""
    quoted = json.dumps(json.dumps(folder))[1:-1]  # the parameter's literal, inside notebook JSON
    label = json.dumps(json.dumps(PATIENT_FOLDER_LABEL))[1:-1]
    out = notebook_json.replace(f"patient_data = {quoted}", f"patient_data = {label}")
    for form in {folder, str(Path(folder).resolve())}:
        if Path(form).is_absolute() and len(Path(form).parts) > 1:
            out = out.replace(json.dumps(form)[1:-1], PATIENT_FOLDER_LABEL)
    return out


def _output_path(output: Path | str) -> Path:
    """``-o``: an absolute notebook path (a relative one is taken from the current directory,
    not the kernel's); a folder or a non-notebook name is a parameter error."""
    path = Path(output).expanduser().resolve()
    if path.is_dir():
        raise ParameterError(f"-o {output}: is a folder; give a notebook file, e.g. {path / 'chapter.ipynb'}")
    if path.suffix != ".ipynb":
        raise ParameterError(f"-o {output}: the output must be a notebook file ending in .ipynb")
    blocked = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocked is not None:
        raise ParameterError(f"-o {output}: {blocked} is a file, not a folder")
    return path


def publishable(root: Path) -> None:
    """Make a folder readable by anyone (folders 0755, files 0644), as a web server running as
    another user needs; temporary folders and files of our own are created private. An entry
    whose mode is right already is left as it is: one ``lstat`` each, not a ``chmod`` (the
    site's ~2,700 downloads at 64 studies are links to files made readable when their chapter
    ran); symbolic links are left alone."""

    def make(path: str, mode: int, want: int) -> None:
        if stat.S_IMODE(mode) != want:
            os.chmod(path, want)

    if root.is_symlink():
        return
    make(str(root), root.stat().st_mode, 0o755 if root.is_dir() else 0o644)
    folders = [str(root)] if root.is_dir() else []
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_symlink():
                    continue
                folder = entry.is_dir(follow_symlinks=False)
                make(entry.path, entry.stat(follow_symlinks=False).st_mode, 0o755 if folder else 0o644)
                if folder:
                    folders.append(entry.path)


def _swap_folder(new: Path, final: Path) -> None:
    """Put a finished folder in place of ``final``; the old one is removed only afterwards."""
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(new, final)
    shutil.rmtree(old, ignore_errors=True)


PLAN_RE = re.compile(r"^chapter\s+(\d+)\s*$")
STEP_RE = re.compile(r"^(\d+) of (\d+) steps \((\d+%)\) done")
# a chapter's (executed or kept) or the site's closing line (cli.cmd_execute, cli.cmd_site), found
# anywhere in a line: the jobs share one pipe, and a job's unfinished line (no newline yet) can
# come just before it
DONE_RE = re.compile(r"(?:executed \S+ in [\d.]+ s|kept \S+ \([^)]*\)|site) -> .*")


# after SIGINT/SIGTERM, how long the workflow's processes get to stop and clean up (a chapter
# run removes its temporary notebook and downloads) before they are killed
TEARDOWN_S = 20.0


def _run_with_progress(
    cmd: list[str], quiet: bool, keep_fds: tuple[int, ...] = (), env: dict[str, str] | None = None
) -> int:
    """Run Snakemake; unless verbose, show only the plan, one line per finished chapter (with
    its time), the step count and errors. On a failure without an ``error:`` line, its tail.

    The workflow runs in a process group of its own, which dies with this process (SIGKILL
    included: :func:`reanalysis.buildstate.die_with_parent`); an interrupt here stops the group
    (:func:`_stop`) before it propagates. ``keep_fds`` are inherited (the tree lock); ``env``
    is added to this process's environment for the workflow (the zygote's address)."""
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        start_new_session=True,
        pass_fds=keep_fds,
        preexec_fn=buildstate.die_with_parent,  # noqa: PLW1509  (no threads in this process)
    )
    try:
        return _follow(proc, quiet)
    except BaseException:
        _stop(proc)
        raise


def _stop(proc: subprocess.Popen) -> None:
    """Stop the workflow's process group: SIGTERM (each chapter run cleans up), then SIGKILL
    after :data:`TEARDOWN_S`. Further interrupts wait until it is done."""
    with buildstate.deferred_signals():
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.communicate(timeout=TEARDOWN_S)  # read what it still writes, so it never blocks
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def _follow(proc: subprocess.Popen, quiet: bool) -> int:
    assert proc.stdout is not None
    tail: deque[str] = deque(maxlen=40)
    explained = False
    for line in proc.stdout:
        tail.append(line)
        if not quiet:
            print(line, end="", flush=True)
        elif m := PLAN_RE.match(line):
            n = m.group(1)
            print(f"checking {n} chapter(s) (each is executed or kept), then building the site", flush=True)
        elif m := STEP_RE.match(line):
            print(f"  [{m.group(1)}/{m.group(2)} steps done, {m.group(3)}]", flush=True)
        elif m := DONE_RE.search(line):
            print(m.group(0), flush=True)
        elif line.startswith("error:"):
            print(line, end="", file=sys.stderr, flush=True)
            explained = True
    code = proc.wait()
    if code != 0 and quiet and not explained:
        print("".join(tail), end="", file=sys.stderr)
    return code


DOWNLOAD_LINK_RE = re.compile(r'href=\\"(downloads/[^"\\]+)\\"')  # as stored in notebook JSON


def download_links(notebook: Path) -> list[str]:
    """The download links (``downloads/<page>/<file>``) an executed notebook's outputs hold."""
    return DOWNLOAD_LINK_RE.findall(notebook.read_text(encoding="utf-8")) if notebook.is_file() else []


def notebook_hash(notebook: Path) -> str:
    """SHA-256 of an executed notebook (what a chapter's stamp records)."""
    return hashlib.sha256(notebook.read_bytes()).hexdigest() if notebook.is_file() else ""


@dataclass(frozen=True)
class Stamp:
    """A chapter's stamp (``_build/.stamps/<id>.done``): the hash of the notebook the workflow
    wrote and the parameters it was executed with (None in a stamp from before they were kept)."""

    notebook: str
    parameters: str | None  # canonical JSON


def _canonical(values: dict[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, default=str)


def write_stamp(stamp: Path, notebook: Path, parameters: dict[str, Any] | None = None) -> None:
    """Mark a chapter executed by the workflow: the hash of its notebook and its parameters."""
    stamp.parent.mkdir(parents=True, exist_ok=True)
    record = {"notebook": notebook_hash(notebook), "parameters": parameters}
    _atomic_write_text(stamp, json.dumps(record, sort_keys=True, default=str) + "\n")


def read_stamp(stamp: Path) -> Stamp | None:
    """A chapter's stamp, or None when there is none."""
    try:
        text = stamp.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    if not isinstance(record, dict):  # a stamp of the earlier format: the notebook's hash only
        return Stamp(text, None)
    values = record.get("parameters")
    return Stamp(str(record.get("notebook", "")), None if values is None else _canonical(values))


class Stale(Enum):
    """Why the build re-executes a chapter whose stamp says it is built."""

    EDITED = "its notebook is not the one the last build wrote (an execute into the book, or an edit)"
    PARAMETERS = "its notebook was executed with other parameters than this build's"
    UNRECORDED = "its stamp does not record the parameters its notebook was executed with"
    DOWNLOADS = "files its page links to are missing"


def all_parameters(
    overrides: dict[str, dict[str, Any]] | None = None, chapters: dict[str, dict[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """Every chapter's parameters for a build with these ``overrides`` (:func:`resolve_parameters`);
    an override of a chapter the book does not have is named as such, before any other error."""
    chapters = chapters if chapters is not None else load_chapters()
    for chapter in overrides or {}:
        _known(chapter, chapters)
    return {c: resolve_parameters(c, (overrides or {}).get(c), chapters) for c in chapters}


def stale_chapters(
    overrides: dict[str, dict[str, Any]] | None = None, values: dict[str, dict[str, Any]] | None = None
) -> dict[str, Stale]:
    """Chapters the build must re-execute although their stamp exists, and why: whatever an
    interrupted run, an ``execute`` into the book or a ``-p`` build left, the book goes back to
    this build's parameters and the site to its notebooks. (A chapter without a stamp is run by
    the workflow anyway.) ``values``: :func:`all_parameters` of ``overrides``, when the caller
    has them."""
    out: dict[str, Stale] = {}
    chapters = load_chapters()
    values = values if values is not None else all_parameters(overrides, chapters)
    for chapter in chapters:
        notebook = EXECUTED / f"{chapter}.ipynb"
        stamp = read_stamp(BUILD / ".stamps" / f"{chapter}.done")
        if any(not (EXECUTED / link).is_file() for link in download_links(notebook)):
            out[chapter] = Stale.DOWNLOADS
        elif stamp is None:
            continue
        elif stamp.notebook != notebook_hash(notebook):
            out[chapter] = Stale.EDITED
        elif stamp.parameters is None:
            out[chapter] = Stale.UNRECORDED
        elif stamp.parameters != _canonical(values[chapter]):
            out[chapter] = Stale.PARAMETERS
    return out


def edited_chapters() -> list[str]:
    """Chapters whose notebook is not the one the workflow last wrote (e.g. ``execute`` with
    other parameters and no ``-o``, or a hand edit)."""
    stamps = BUILD / ".stamps"
    return [
        chapter
        for chapter in load_chapters()
        if (stamp := read_stamp(stamps / f"{chapter}.done")) is not None
        and stamp.notebook != notebook_hash(EXECUTED / f"{chapter}.ipynb")
    ]


def missing_downloads() -> list[str]:
    """Chapters whose executed notebook links to a download that is not on disk (the folder is
    not in git: a fresh clone or a deleted folder); the build re-executes them."""
    return [
        chapter
        for chapter in load_chapters()
        if any(not (EXECUTED / link).is_file() for link in download_links(EXECUTED / f"{chapter}.ipynb"))
    ]


SNAKEMAKE_COMMAND = "_snakemake"  # `python -m reanalysis _snakemake [--unlimited] ARGS`: snakemake_main
UNLIMITED = "--unlimited"  # snakemake_main's own flag: no job-rate limiter (a local build)


def snakemake_main(argv: list[str]) -> NoReturn:
    """Snakemake's command line (``python -m snakemake ARGV``), ending when the workflow does;
    with ``--unlimited`` first, without Snakemake's job-rate limiter (a local build).

    The limiter (``--max-jobs-per-timespan``, 100 a second by default: it spares a cluster's
    scheduler) makes each pass of Snakemake's scheduler start a timer that runs another pass
    a second later, and so does each job that ends: by the end of a 64-study build about eight
    passes a second, each re-reading every ready job's parameters and inputs, took two thirds
    of a core from the chapters. A local build has no scheduler to spare.

    The interpreter would also wait for the last timer at exit (1.0-1.5 s after the last job);
    once Snakemake's main has returned (its scheduler has finished, its locks are released) a
    timer could only wake that finished scheduler, so any left is cancelled.

    Then the process ends as a forked job does (:func:`reanalysis.warm.finish`: without the
    interpreter's teardown after a success): the teardown of Snakemake's objects took about
    0.35 s after every build that ran a job, while ``build`` waited for it. Nothing is left to
    write by then: Snakemake's API has stopped its logger and released its locks before it
    returns, and Snakemake registers no exit handler. An error or an interrupt still ends the
    usual way.
    """
    from snakemake.cli import args_to_api, parse_args, print_exception

    unlimited = argv[:1] == [UNLIMITED]
    try:
        try:
            parser, args = parse_args(argv[1:] if unlimited else argv)
            if unlimited:
                args.max_jobs_per_timespan = None
            success = args_to_api(args, parser)
        except Exception as exc:  # as snakemake.cli.main
            print_exception(exc)
            sys.exit(1)
    finally:
        for thread in threading.enumerate():
            if isinstance(thread, threading.Timer):
                thread.cancel()
    warm.finish(0 if success else 1)


DEFAULT_JOBS = 2  # chapters at once on this machine without a profile: one per core of 2


def run_workflow(
    overrides: dict[str, dict[str, Any]] | None = None,
    jobs: int | None = None,
    targets: list[str] | None = None,
    quiet: bool = True,
    profile: Path | None = None,
    warm_start: bool = True,
    zygote: Callable[[], dict[str, str]] | None = None,
) -> None:
    """Run the Snakemake workflow: re-executes only chapters whose inputs or parameters changed
    (or whose notebook is not what this build would write), holding the book's lock.

    ``jobs`` is Snakemake's ``--jobs`` (chapters at once: local cores, or cluster jobs in flight);
    ``profile`` a Snakemake profile folder (e.g. ``profiles/slurm``) whose executor runs the
    chapters; without ``jobs`` the profile's own ``jobs`` holds, or :data:`DEFAULT_JOBS` locally.
    ``warm_start``: locally, fork jobs and kernels from one process that has imported the stack
    (:mod:`reanalysis.warm`); False starts each as a fresh process. ``zygote``: the ``ready`` of
    a zygote the caller has started already (:func:`reanalysis.warm.starting_zygote`).
    """
    if jobs is not None and jobs < 1:
        raise ParameterError(f"--jobs {jobs}: must be at least 1")
    if profile is not None and not (Path(profile) / "config.yaml").is_file():
        raise ParameterError(f"--profile {profile}: no config.yaml in that folder (a Snakemake profile)")
    # every chapter's parameters, worked out once: a bad value fails here, before Snakemake or
    # any kernel starts; the stamps are compared with them, and the workflow reads them (its
    # Snakefile would otherwise work them out again on the way to the first job)
    values = all_parameters(overrides)
    # locally, the jobs and kernels fork from one process that has imported the stack, started
    # first: it imports while this process checks what changed; a profile's jobs may run on other
    # machines, which start their own processes
    local = profile is None and warm_start
    if zygote is not None:
        started = contextlib.nullcontext(zygote)
    else:  # `dict`: no zygote, no entries for the jobs' environment
        started = warm.starting_zygote() if local else contextlib.nullcontext(dict)
    with buildstate.book_lock() as tree, started as zygote_ready:
        manifest.STAMP.unlink(missing_ok=True)  # until this build succeeds, nothing is "up to date"
        # We hold the lock and no process of an earlier run is left: whatever one left is stale.
        shutil.rmtree(REPO_ROOT / ".snakemake" / "locks", ignore_errors=True)
        for stale in EXECUTED.glob(".*.tmp.ipynb"):
            stale.unlink()
        shelf = EXECUTED / downloads.FOLDER
        for stale in [*shelf.glob(".*.tmp"), *shelf.glob(".*.old")]:
            shutil.rmtree(stale, ignore_errors=True)
        for chapter, why in stale_chapters(overrides, values).items():
            (BUILD / ".stamps" / f"{chapter}.done").unlink(missing_ok=True)
            print(f"re-executing {chapter}: {why.value}", flush=True)
        unstamped = [c for c in load_chapters() if not (BUILD / ".stamps" / f"{c}.done").is_file()]
        if unstamped or not (SITE / "index.html").is_file():
            # Snakemake does not re-create a missing input of an output it finds up to date (a
            # chapter stamp an interrupted run removed, one removed above): without the site's
            # stamp it must, and the site is rebuilt from the notebooks
            (BUILD / ".stamps" / "site.done").unlink(missing_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "reanalysis",
            SNAKEMAKE_COMMAND,  # Snakemake's command line: snakemake_main
            *([UNLIMITED] if profile is None else []),  # a cluster's profile keeps the rate limit
            "--snakefile",
            str(REPO_ROOT / "Snakefile"),
            "--directory",
            str(REPO_ROOT),
            "--rerun-incomplete",
            # not "params": build has compared each chapter's stamp with this run's parameters
            # (stale_chapters, above) and removed the stamps that differ; Snakemake's own
            # comparison imports pandas into its process, 0.35 s before the first job
            "--rerun-triggers",
            "mtime",
            "input",
            "code",
            "software-env",
            "--config",
            f"overrides={json.dumps(overrides or {}, sort_keys=True)}",
            f"parameters={write_parameters(values).relative_to(REPO_ROOT)}",
        ]
        if profile is not None:
            cmd += ["--profile", str(Path(profile).resolve())]
        if jobs is not None or profile is None:
            cmd += ["--jobs", str(jobs or DEFAULT_JOBS)]  # locally an alias of --cores
        cmd += targets or []  # the order of jobs: rule priorities in the Snakefile
        before = buildstate.snapshot()
        code = _run_with_progress(cmd, quiet, keep_fds=() if tree is None else (tree,), env=zygote_ready())
        if code != 0:
            raise ReanalysisError(
                "workflow failed (see the messages above); "
                + buildstate.describe_change(before, buildstate.snapshot())
            )
