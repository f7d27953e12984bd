"""The book's build state: one writer at a time, no process of an interrupted run left behind,
and what a run that stopped half-way changed.

``build``, ``site`` and an ``execute`` that writes into the book hold ``_build/.build.lock``
while they run; a second one stops with a message. The processes a build starts form its
*tree*: Snakemake, which the kernel kills when the build's command dies (Linux
``PR_SET_PDEATHSIG``), and every ``execute``/``site`` step, which holds ``_build/.build.tree``
shared and watches the build's command, stopping (cleaning up its temporary files on the way)
when that command is gone, e.g. after a SIGKILL to it alone. A chapter's kernel stops with its
``execute`` (ipykernel polls its parent). A new run waits until no process of an earlier tree
holds ``.build.tree`` before it touches anything, so nothing it cleans up is still in use.

Stdlib only, like :mod:`reanalysis.manifest`: the command line uses it before anything heavy.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .errors import ReanalysisError
from .writing import write_aside

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
LOCK = BUILD / ".build.lock"
TREE = BUILD / ".build.tree"
EXECUTED = ROOT / "book" / "chapters"
SITE = BUILD / "html"
OWNER_ENV = "REANALYSIS_BUILD_OWNER"  # "pid:start time" of the command holding the lock, for its tree

# how often a process of a build's tree checks that the build's command still runs
WATCH_INTERVAL_S = 0.5
# a stranded process cleans up after SIGTERM to itself; past this it exits without cleaning
# (the next run removes what it left)
CLEANUP_GRACE_S = 10.0
# how long a new run waits for the processes of a killed one to stop: a watch interval, a
# kernel's own parent check (1 s) and the cleanup grace fit well inside
STALE_WAIT_S = 30.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h

BUSY = (
    "another build, site or execute of this book is running (it holds _build/.build.lock); "
    "wait for it to finish"
)


def identity(pid: int) -> str | None:
    """``pid:start time`` of a running process (a reused pid has another start time); None when
    it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        if Path("/proc/self/stat").exists():
            return None
        try:  # no /proc (macOS): the pid alone
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return f"{pid}:"
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    if fields[0] in ("Z", "X"):  # killed, not yet reaped by its parent: gone for us
        return None
    return f"{pid}:{fields[19]}"  # field 22 of proc(5): start time since boot


def alive(ident: str) -> bool:
    """Is the process ``ident`` (from :func:`identity`) still the one running?"""
    pid = ident.split(":", 1)[0]
    return pid.isdigit() and identity(int(pid)) == ident


@contextlib.contextmanager
def book_lock() -> Iterator[int | None]:
    """Hold the book while a command writes it. Yields the descriptor of the tree lock, for the
    workflow to inherit (None inside a build's tree, whose command holds the lock)."""
    owner = os.environ.get(OWNER_ENV, "")
    if owner and owner != identity(os.getpid()) and alive(owner):
        with _member(owner):
            yield None
        return
    BUILD.mkdir(parents=True, exist_ok=True)
    with open(LOCK, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ReanalysisError(BUSY) from None
        with open(TREE, "a") as tree:
            _wait_for_stale_tree(tree)
            fcntl.flock(tree, fcntl.LOCK_SH)  # from exclusive: our own tree's processes join it
            previous = os.environ.get(OWNER_ENV)
            os.environ[OWNER_ENV] = identity(os.getpid()) or ""
            try:
                yield tree.fileno()
            finally:
                if previous is None:
                    os.environ.pop(OWNER_ENV, None)
                else:
                    os.environ[OWNER_ENV] = previous


def _wait_for_stale_tree(tree: TextIO) -> None:
    """Wait until no process of an earlier, killed run holds the tree lock."""
    deadline = time.monotonic() + STALE_WAIT_S
    said = False
    while True:
        try:
            fcntl.flock(tree, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        if not said:
            print("waiting for the processes of an interrupted run to stop", file=sys.stderr, flush=True)
            said = True
        if time.monotonic() > deadline:
            raise ReanalysisError(
                f"processes of an interrupted run still hold _build/.build.tree after {STALE_WAIT_S:.0f} s "
                "(`fuser -v _build/.build.tree` lists them); stop them, then run again"
            )
        time.sleep(0.2)


@contextlib.contextmanager
def _member(owner: str) -> Iterator[None]:
    """Run as part of a build's tree: hold the tree lock shared and stop when ``owner`` dies."""
    with open(TREE, "a") as tree:
        fcntl.flock(tree, fcntl.LOCK_SH)
        threading.Thread(target=_watch, args=(owner,), name="watch-build", daemon=True).start()
        yield


def _watch(owner: str) -> None:
    while alive(owner):
        time.sleep(WATCH_INTERVAL_S)
    os.kill(os.getpid(), signal.SIGTERM)  # the command line turns it into an interrupt: clean up
    time.sleep(CLEANUP_GRACE_S)
    os._exit(128 + signal.SIGTERM)


def die_with_parent() -> None:
    """``preexec_fn`` for the workflow: the kernel SIGKILLs the child when the command that
    started it dies, even by SIGKILL (Linux; elsewhere its ``execute`` steps still stop)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """SIGINT/SIGTERM wait until the block is done (a swap of files that must happen together,
    or not at all), then act as they would have. Main thread only (Python runs handlers there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {s: signal.signal(s, lambda signum, _frame: received.append(signum)) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for s in dict.fromkeys(received):
            signal.raise_signal(s)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class BookState:
    """What a reader gets: each executed notebook's hash and the site folder's identity."""

    notebooks: tuple[tuple[str, str], ...]  # (chapter, sha256), sorted
    site: tuple[int, int] | None  # (inode, mtime) of _build/html; None when there is none


def snapshot(chapters: Iterable[str] | None = None) -> BookState:
    """The book as it is now: a hash of each executed notebook (of ``chapters`` only, when given:
    what one step can change; hashing all 70 notebooks of a 64-study book took 45 ms a step)."""
    if chapters is None:
        paths = sorted(EXECUTED.glob("*.ipynb"))
    else:
        paths = sorted(p for p in (EXECUTED / f"{c}.ipynb" for c in chapters) if p.is_file())
    notebooks = tuple((p.stem, hashlib.sha256(p.read_bytes()).hexdigest()) for p in paths)
    try:
        st = SITE.stat()
        site: tuple[int, int] | None = (st.st_ino, st.st_mtime_ns)
    except FileNotFoundError:
        site = None
    return BookState(notebooks, site)


def describe_change(before: BookState, after: BookState) -> str:
    """What a run that stopped changed in the book, for its last message, in words."""
    was = dict(before.notebooks)
    replaced = [chapter for chapter, digest in after.notebooks if was.get(chapter) != digest]
    if replaced:
        said = f"the notebook of {', '.join(replaced)} was replaced by this run"
    else:
        said = "no executed notebook was replaced"
    if after.site == before.site:
        said += "; the site is as it was"
    elif after.site is None:
        said += "; the site is missing"
    else:
        said += "; the site was rebuilt"
    if replaced or after.site != before.site:
        said += (
            "; the next `make book` (python -m reanalysis build) re-executes every chapter that is "
            "not at the book's parameters and rebuilds the site from them"
        )
    return said


TIMES = BUILD / ".stamps" / "seconds"  # how long each chapter's last execution in a build took
# Snakemake priorities: every study's results job first (most pages wait for them), then the
# chapters longest first, so that the cores are not left with one long chapter at the end
RESULTS_PRIORITY = 1_000_000.0  # above any chapter's seconds
FREE_BONUS = 0.5  # between chapters as long (or never timed), one that waits for no results job first


def record_seconds(chapter: str, seconds: float) -> None:
    """Keep how long ``chapter`` took to execute (whole or not at all; best effort): the
    workflow runs the longest chapters first next time (:func:`chapter_priority`)."""
    write_aside(TIMES / chapter, f"{seconds:.3f}\n".encode())


def recorded_seconds(chapter: str) -> float:
    """How long ``chapter`` took the last time a build executed it; 0 when never (or unreadable)."""
    try:
        value = float((TIMES / chapter).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0.0
    return value if value > 0 and value != float("inf") else 0.0  # nan and inf compare as neither


def chapter_priority(chapter: str, waits_for_results: bool) -> float:
    """The chapter's Snakemake priority: its last execution's seconds (longest first), plus
    :data:`FREE_BONUS` when it waits for no results job."""
    return recorded_seconds(chapter) + (0.0 if waits_for_results else FREE_BONUS)
