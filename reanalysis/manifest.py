"""A content hash of everything a build reads, so an unchanged book skips the workflow.

Stdlib only: ``python -m reanalysis build`` checks it before importing anything heavy, and a
no-change rebuild returns in well under a second. Snakemake remains the judge of *what* to
re-run when something did change.

A file's hash is remembered with its size and modification time (``_build/.stamps/manifest-files``,
as git's index does): a file whose size and time are unchanged is not read again, unless it was
modified within :data:`RACY_SECONDS` of the moment the hashes were remembered (an edit in that
same instant could keep both). A book of 64 studies has ~150 MB of notebooks and downloads to
hash otherwise (0.34 s of a no-change rebuild).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import stat
import time
from pathlib import Path

from .writing import write_aside

ROOT = Path(__file__).resolve().parent.parent
INPUTS = (
    "reanalysis/*.py",
    "reanalysis/**/*.py",
    "book/templates/*.ipynb",
    "book/chapters/*.ipynb",
    "book/chapters/downloads/**/*",
    "book/*.md",
    "book/*.yml",
    "book/*.png",
    "book/_ext/*.py",
    "data/**/*",
    "_config.yml",
    "_toc.yml",
    "Snakefile",
    "requirements.txt",
)
# of the inputs, those the build itself writes: the executed chapters and their downloads
OUTPUTS = "book/chapters/"
STAMP = ROOT / "_build" / ".stamps" / "manifest"
FILES = ROOT / "_build" / ".stamps" / "manifest-files"  # path -> [size, mtime_ns, sha256]
RACY_SECONDS = 2.0  # a file modified this close to when its hash was remembered is read again


def _remembered() -> tuple[dict[str, list], int]:
    """The remembered hashes, and when they were remembered (ns; 0 when there are none)."""
    try:
        saved = json.loads(FILES.read_text(encoding="utf-8"))
        return dict(saved["files"]), int(saved["at"])
    except (OSError, ValueError, KeyError, TypeError):
        return {}, 0


def _inputs() -> list[str]:
    """Every input file's path relative to the repository, sorted. Paths as strings and
    ``glob`` (hidden files included, as ``Path.glob``): pathlib's objects were most of the time
    of a no-change rebuild at 64 studies (~3,300 files)."""
    found: set[str] = set()
    for pattern in INPUTS:
        found.update(glob.glob(pattern, root_dir=ROOT, recursive=True, include_hidden=True))
    return sorted(found)


def hashes() -> dict[str, str]:
    """Each input's relative path -> SHA-256 of its bytes (read only when it may have changed).
    A build takes them once, when it starts, for :func:`unchanged` and :func:`record`."""
    known, at = _remembered()
    fresh: dict[str, list] = {}
    out: dict[str, str] = {}
    root = str(ROOT)
    for rel in _inputs():
        path = os.path.join(root, rel)
        try:
            st = os.stat(path)
        except OSError:  # gone since it was listed
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        entry = known.get(rel)
        trusted = (
            entry is not None
            and entry[0] == st.st_size
            and entry[1] == st.st_mtime_ns
            and st.st_mtime_ns < at - RACY_SECONDS * 1e9
        )
        sha = entry[2] if trusted else hashlib.sha256(Path(path).read_bytes()).hexdigest()
        fresh[rel] = [st.st_size, st.st_mtime_ns, sha]
        out[rel] = sha
    if fresh != known:  # a read-only checkout hashes every file every time
        write_aside(FILES, json.dumps({"at": time.time_ns(), "files": fresh}).encode())
    return out


def _is_output(rel: str) -> bool:
    """Whether an input is one the build writes (an executed chapter or one of its downloads)."""
    return rel.startswith(OUTPUTS)


def digest(overrides: dict | None = None, files: dict[str, str] | None = None) -> str:
    """SHA-256 over the inputs' paths and the hashes of their bytes (``files``, else as they
    are now), and the parameter overrides."""
    h = hashlib.sha256(json.dumps(overrides or {}, sort_keys=True).encode())
    files = hashes() if files is None else files
    for rel in sorted(files):
        h.update(f"{rel}\0{files[rel]}\0".encode())
    return h.hexdigest()


def unchanged(overrides: dict | None = None, files: dict[str, str] | None = None) -> bool:
    """True when the last successful build read exactly these inputs (``files``: the hashes
    taken at this build's start, else now) and its site is there."""
    site = ROOT / "_build" / "html" / "index.html"
    return site.is_file() and STAMP.is_file() and STAMP.read_text().strip() == digest(overrides, files)


def record(overrides: dict | None = None, started: dict[str, str] | None = None) -> list[str]:
    """Remember the inputs of a build that just succeeded: what it wrote (the executed chapters
    and their downloads) as it is now, and what it read as it was when it started (``started``,
    from :func:`hashes`). A source edited, added or removed while the build ran is then not
    recorded as built: the next build sees the change (as a data edit made during a 64-study
    cold build, after that study's chapter had run, was not). Without ``started``, every input
    as it is now. Returns the sources that changed while the build ran (sorted)."""
    now = hashes()
    moved: list[str] = []
    if started is not None:
        sources = {rel: sha for rel, sha in now.items() if not _is_output(rel)}
        was = {rel: sha for rel, sha in started.items() if not _is_output(rel)}
        moved = sorted(rel for rel in sources.keys() | was.keys() if sources.get(rel) != was.get(rel))
        now = {rel: sha for rel, sha in now.items() if _is_output(rel)} | was
    STAMP.parent.mkdir(parents=True, exist_ok=True)
    STAMP.write_text(digest(overrides, now) + "\n")
    return moved
