"""The site step: ``jupyter-book build`` (execution off) of the executed chapters into a work
folder, the downloads linked in beside the pages, then the finished site swapped into
``_build/html``: a reader never sees half a site, and a failed build leaves the previous one.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

from . import buildstate, downloads
from .errors import ReanalysisError
from .pipeline import BOOK, BUILD, EXECUTED, REPO_ROOT, SITE, load_chapters, publishable

WORK = BUILD / ".work"  # where jupyter-book builds the site before the swap


def build_site(builder: str = "html") -> Path:
    """``jupyter-book build`` (execution off) into a work folder, then swap into ``_build/html``."""
    marker = WORK / "BUILDING"
    if marker.exists():  # a previous build was interrupted: its work folder is not trusted
        shutil.rmtree(WORK)
    if not SITE.exists() and (BUILD / ".html.old").is_dir():  # killed between the two renames of a swap
        os.replace(BUILD / ".html.old", SITE)
    WORK.mkdir(parents=True, exist_ok=True)
    marker.write_text("interrupted build\n")
    args = [
        "build",
        str(REPO_ROOT),
        "--path-output",
        str(WORK),
        "--builder",
        builder,
        "--warningiserror",
        "--quiet",
    ]
    status, output = jupyter_book(args)
    if status != 0:
        raise ReanalysisError(
            "jupyter-book build failed; the previous site is left in place.\n" + output[-4000:]
        )
    marker.unlink()
    new, old = BUILD / ".html.new", BUILD / ".html.old"
    for p in (new, old):
        shutil.rmtree(p, ignore_errors=True)
    try:
        built = WORK / "_build" / "html"
        shutil.copytree(built, new, copy_function=_served_or_copied(built, SITE))
        # the root redirect page has no icon link, so browsers ask for /favicon.ico: serve ours
        shutil.copyfile(BOOK / "favicon.png", new / "favicon.ico")
        shelf = EXECUTED / downloads.FOLDER  # the files the pages link to, beside the pages
        for chapter in load_chapters():
            if (shelf / chapter).is_dir():
                into = new / shelf.relative_to(REPO_ROOT) / chapter
                shutil.copytree(shelf / chapter, into, copy_function=_link)
        publishable(new)
    except OSError as exc:  # e.g. a full disk: free what was copied, keep the site
        shutil.rmtree(new, ignore_errors=True)
        raise ReanalysisError(_copy_failure(exc)) from None
    with buildstate.deferred_signals():  # both renames, or neither
        if SITE.exists():
            os.replace(SITE, old)
        os.replace(new, SITE)
    shutil.rmtree(old, ignore_errors=True)
    return SITE


def _link(src: str, dst: str) -> None:
    """A download into the site as a hard link (a copy where links fail, e.g. across devices).

    Safe because no download is ever rewritten in place: a chapter's run writes a new folder and
    swaps it in whole (:func:`execute_chapter`), so the site keeps the files it was built with.
    (Copying them took 0.15 s of each site step at 64 studies, 2,666 files; linking 0.03 s.)"""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _served_or_copied(built: Path, served: Path) -> Callable[[str, str], object]:
    """``copytree``'s copy function for the built site: a file the live site already serves as
    built (same size and modification time: ``copy2`` keeps the time, and Sphinx rewrites only
    the pages that changed) is hard-linked from the live site; any other file is copied.

    Safe for the same reason as :func:`_link`: the live site is never written in place (a build
    swaps a new folder in), so a link goes on serving the bytes it was built with. At 64 studies
    the built site is ~100 MB in ~300 files, of which an edit of one study changes a handful:
    copying them all took ~0.15 s of the site step, which runs alone, after every chapter."""

    def copy(src: str, dst: str) -> object:
        twin = served / os.path.relpath(src, built)
        with contextlib.suppress(OSError):
            now, before = os.stat(src), os.lstat(twin)
            if stat.S_ISREG(before.st_mode) and (now.st_size, now.st_mtime_ns) == (
                before.st_size,
                before.st_mtime_ns,
            ):
                os.link(twin, dst)
                return dst
        return shutil.copy2(src, dst)

    return copy


ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")  # a terminal's colour codes


def jupyter_book(args: list[str]) -> tuple[int, str]:
    """``jupyter-book ARGS``, run in this process: its exit status and output (both streams).

    In this process, not as a command: a build's ``site`` job is forked from the zygote
    (:mod:`reanalysis.warm`), which has already imported most of what jupyter-book imports
    (Sphinx, myst-nb, nbformat, docutils); a new interpreter spent 1.2 s starting and importing
    them on every build. The job's process ends with the step, so Sphinx's global state (it
    patches docutils) goes with it. An interrupt stays an interrupt: Sphinx hands it back as a
    result, which jupyter-book passes to ``sys.exit``; click turns one into ``Abort``.
    """
    from jupyter_book.cli.main import main

    out = io.StringIO()
    status = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            main.main(args=args, prog_name="jupyter-book", standalone_mode=False)
    except SystemExit as exc:
        if isinstance(exc.code, KeyboardInterrupt):
            raise KeyboardInterrupt from None
        status = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1  # as the interpreter
    except Exception as exc:  # jupyter-book's own errors (a failed build, a bad _toc.yml): its message
        if isinstance(exc.__cause__, KeyboardInterrupt):  # click's Abort
            raise KeyboardInterrupt from None
        status = 1
        out.write(f"{type(exc).__name__}: {exc}\n")
    return status, ANSI_RE.sub("", out.getvalue())  # its boxes and Sphinx's warnings are coloured


def _copy_failure(exc: OSError) -> str:
    """The message for a site that could not be copied into place: what happened, and that
    nothing a reader sees changed."""
    why, where = exc.strerror or str(exc), exc.filename or ""
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list) and exc.args[0]:
        _, where, why = exc.args[0][0]  # copytree collects (source, destination, reason) per file
    if exc.errno == errno.ENOSPC or os.strerror(errno.ENOSPC) in str(why):
        why = "the disk is full"
    where = f" ({where})" if where else ""
    return (
        f"could not copy the built site into place: {why}{where}; the previous site is left in "
        "place, unchanged, and the copy was removed"
    )
