"""What a chapter reads, and whether it says anything new since the chapter was last executed.

The workflow lists a chapter's inputs (:func:`data_files`, for the Snakefile) and re-runs the
chapter when one of them changes. A chapter job whose inputs still *say* the same as when its
notebook was written keeps that notebook instead of executing again: an early cut-off, as
ninja's ``restat``, Shake and Bazel make one. The typical case is an edit of one study that
changes no value (a comment, a file's layout): the study's results are the same
(:func:`reanalysis.results.write_results` writes them again without computing them), and the
chapters across studies have nothing new to show.

What the chapter's inputs say (:func:`digest`): its template, its ``chapters.yml`` entry, the
package's code, its parameters, the bytes of data files that belong to no study, and what every
study it reads (its results, or its files) says as loaded
(:func:`reanalysis.data.study_meaning`); but the bytes of its own study's files when it publishes
them (a study's chapter links them as a zip, :func:`publishes`; the worked example, built on a
study, links none). A study's results artefact is a function of what the study says, the options
and the code, so it need not be read here. This assumes a chapter reads a study only as loaded,
never its files' bytes, unless it publishes them: a chapter that published the files of studies
other than its own would need their bytes here. The job records the digest beside its stamp with
the notebook's hash (:func:`remember`); the next run keeps the notebook only when both match and
every download the notebook links to is there (:func:`unchanged`).

Nothing here imports a table library at import: the Snakefile imports :func:`data_files`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = 1  # the digest's layout: a record of another layout never matches
SUFFIX = ".inputs"  # beside the chapter's stamp, _build/.stamps/<chapter>.done: not a workflow output


def files_under(study: str, data: Path) -> list[str]:
    """Every file under the study's folder, as paths under ``data``, sorted: the inputs of its
    results job, and the bytes a chapter that publishes the study counts. On the safe side: more
    than the study's own files (:func:`reanalysis.data.study_files`, which are read and zipped),
    so a stray file there (a backup) re-runs the study's jobs, which then change nothing."""
    return sorted(str(p) for p in (data / study).glob("**/*") if p.is_file())


def data_files(
    chapter: str, values: dict[str, Any], read: list[str], chapters: dict[str, dict[str, Any]], data: Path
) -> list[str]:
    """The data files the workflow lists as the chapter's inputs, as paths under ``data``: its
    study's and the data folder's format notes (which the study's zip carries), or everything in
    ``data`` for a chapter without a study, none when its entry says ``reads_data: false``. The
    files of a study whose results it renders (``read``) are not listed one by one: a change to
    them re-runs the study's results job, and Snakemake re-runs whatever renders its output. (At
    64 studies the ~600 data files the overview and the audit listed each were a fifth of
    Snakemake's start: it matches every input against every rule's outputs.)"""
    from .data import FORMAT_NOTES

    if chapters[chapter].get("reads_data", True) is False:
        return []
    covered = {data / study for study in read}
    root = data / values["study_id"] if values.get("study_id") else data
    entries = [] if root in covered or not root.is_dir() else sorted(root.iterdir())
    if root != data and (data / FORMAT_NOTES).is_file():
        entries.append(data / FORMAT_NOTES)  # in the study's zip (downloads.study_zip)
    files: list[str] = []
    for entry in (e for e in entries if e not in covered):
        found = entry.glob("**/*") if entry.is_dir() else [entry]
        files += sorted(str(p) for p in found if p.is_file())
    return files


def publishes(study: str | None, notebook: Path) -> bool:
    """Whether the chapter of ``notebook`` publishes the files of ``study`` (its own): the
    notebook links the study's zip (:func:`reanalysis.downloads.study_zip`). A chapter not yet
    executed counts as publishing them. Whether it does is a function of what :func:`digest`
    digests besides the study's bytes (the template, the parameters, the code, what the study
    says), so a chapter whose digest as a non-publisher is unchanged publishes nothing now either."""
    from .downloads import study_zip_name
    from .pipeline import download_links

    if not study:
        return False
    if not notebook.is_file():
        return True
    name = study_zip_name(study)
    return any(link.rsplit("/", 1)[-1] == name for link in download_links(notebook))


@dataclass(frozen=True)
class Inputs:
    """What a chapter's inputs said before it ran (:func:`current`): as a chapter that publishes its
    study's files would read them and as one that reads its study only as loaded (the same for
    a chapter without a study of its own). Worked out together, so that what is recorded after
    the chapter ran (as its new notebook turns out) is what it read, even if a file changed
    meanwhile."""

    study: str | None
    published: str
    loaded: str

    def for_notebook(self, notebook: Path) -> str:
        """The digest that applies to the chapter whose notebook is ``notebook``."""
        return self.published if publishes(self.study, notebook) else self.loaded


def current(
    chapter: str,
    values: dict[str, Any],
    chapters: dict[str, dict[str, Any]] | None = None,
    studies: list[str] | None = None,
) -> Inputs:
    """What the chapter's inputs say now (:class:`Inputs`, from :func:`digest`)."""
    published = digest(chapter, values, chapters, studies, published=True)
    own = values.get("study_id") or None
    loaded = digest(chapter, values, chapters, studies, published=False) if own else published
    return Inputs(own, published, loaded)


def digest(
    chapter: str,
    values: dict[str, Any],
    chapters: dict[str, dict[str, Any]] | None = None,
    studies: list[str] | None = None,
    published: bool = True,
) -> str:
    """SHA-256 of what the chapter's inputs say (see the module's docstring); ``published``:
    as a chapter that publishes its own study's files (:func:`publishes`), which then counts
    their bytes instead of what the study says."""
    from .data import DATA_DIR, FORMAT_NOTES, code_digest, list_studies, study_meaning
    from .pipeline import TEMPLATES, load_chapters, results_read

    chapters = chapters if chapters is not None else load_chapters()
    studies = studies if studies is not None else list_studies()
    entry = chapters[chapter]
    read = results_read(chapter, values, studies, chapters)
    own = values.get("study_id")
    data = Path(DATA_DIR)
    h = hashlib.sha256(f"chapter inputs {FORMAT}\0".encode())

    def put(name: str, payload: bytes) -> None:
        h.update(f"{name}\0{len(payload)}\0".encode())
        h.update(payload)

    put("template", (TEMPLATES / entry["template"]).read_bytes())
    put("entry", json.dumps(entry, sort_keys=True, default=str).encode())
    put("code", code_digest().encode())
    put("parameters", json.dumps(values, sort_keys=True, default=str).encode())
    files = data_files(chapter, values, read, chapters, data)
    if own and published:  # its own study's files, which it publishes: their bytes
        files += files_under(own, data) if own in read else []  # else data_files listed them
    elif own:  # the format notes are listed for the zip it does not publish
        files = [f for f in files if Path(f) != data / FORMAT_NOTES]
    # every study it reads (its results, or its files): what the study says as loaded
    said = set(read) | {Path(f).relative_to(data).parts[0] for f in files}
    said = {study for study in said if study in studies and not (published and study == own)}
    for name in sorted(files):
        rel = Path(name).relative_to(data)
        if rel.parts[0] not in said:
            put(f"data/{rel.as_posix()}", Path(name).read_bytes())
    for study in sorted(said):
        put(f"study/{study}", study_meaning(study).encode())
    return h.hexdigest()


def record_path(stamp: Path) -> Path:
    """Where a chapter's record of its inputs is kept: beside its stamp, which the workflow
    removes before it runs the chapter (Snakemake removes a job's outputs first)."""
    return stamp.with_suffix(SUFFIX)


def remember(stamp: Path, inputs: Inputs, notebook: Path) -> None:
    """Record what the inputs said when the chapter wrote ``notebook``."""
    from .pipeline import _atomic_write_text, notebook_hash

    path = record_path(stamp)
    record = {"format": FORMAT, "inputs": inputs.for_notebook(notebook), "notebook": notebook_hash(notebook)}
    _atomic_write_text(path, json.dumps(record, sort_keys=True) + "\n")


def unchanged(stamp: Path, inputs: Inputs, notebook: Path) -> bool:
    """True when the chapter's inputs say what they said when it wrote ``notebook``, the
    notebook is that one, and every download it links to is there: it need not run again."""
    from .pipeline import download_links, notebook_hash

    try:
        record = json.loads(record_path(stamp).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    said = inputs.for_notebook(notebook)
    if not isinstance(record, dict) or record.get("format") != FORMAT or record.get("inputs") != said:
        return False
    if record.get("notebook") != notebook_hash(notebook):
        return False
    return all((notebook.parent / link).is_file() for link in download_links(notebook))


def forget_stamps() -> None:
    """Remove every chapter's stamp: the next build's workflow then runs every chapter's job,
    which keeps a chapter whose inputs say what they said when it ran (:func:`unchanged`, by
    content) and executes the others. For an input that changed while a build ran: a chapter
    that read it before the edit wrote its stamp after it, so the stamp's time says nothing of
    what the chapter read."""
    from .pipeline import BUILD, load_chapters

    for chapter in load_chapters():
        (BUILD / ".stamps" / f"{chapter}.done").unlink(missing_ok=True)
