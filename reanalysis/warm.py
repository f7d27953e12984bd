"""Warm starts: the workflow's commands and the chapters' kernels forked from one process that
has already imported the stack.

Why: every chapter paid about 4.4 s before its first line of work (the ``execute`` command's
imports, a kernel's start, the chapter's own imports) and every ``results`` job about 1.7 s;
at 64 studies that was about 3.5 of a cold build's 11.7 minutes on two cores. A local
``python -m reanalysis build`` now starts one *zygote* for its workflow (:func:`zygote`): it
imports :func:`preload_modules` (the package's command line and pipeline, and whatever the
chapter templates import), then waits on a Unix socket in a private temporary folder. Then

- ``python -m reanalysis ARGS``, which every job of the workflow runs, hands its arguments,
  working folder, environment and standard streams to the zygote (:func:`run_forked`); the
  zygote forks, and the child runs the command as a fresh process would and reports its exit
  status;
- a chapter's kernel is started by :func:`kernel_manager_class` as ``python -m reanalysis.warm
  kernel -f CONNECTION_FILE``, which asks the zygote for a forked ipykernel the same way.

Two refinements: a job of :data:`EARLY_COMMANDS` (``results``) is forked as soon as the part of
the stack it uses is imported; and ``site`` jobs are forked by a second zygote, forked from the
first, which imports the site step's own stack beforehand at idle priority (:func:`_site_zygote`).

Nothing here changes what a job computes. The zygote only imports; it never runs a job, so a
child holds no state of another job. Without a zygote (``REANALYSIS_WARM`` unset, or its socket
gone: a command run by hand, another node of a cluster) every path falls back to a fresh
process. The stored notebooks, executed through the zygote, are compared by nbval against fresh
kernels. Stdlib only at import, like :mod:`reanalysis.manifest`, and only what a client needs:
the zygote's own modules are imported where it uses them (a build that finds nothing changed
imports this module too, and must return fast).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    import threading

ZYGOTE_COMMAND = "_zygote"  # `python -m reanalysis _zygote SOCKET`: not a command for users
ENV = "REANALYSIS_WARM"  # the zygote's socket, set by `build` for the jobs of its workflow
SOCKET_NAME = "zygote.sock"
FOLDER_PREFIX = "reanalysis-warm-"  # then the pid of the `build` that made it, in the temp folder
TEMPLATES = Path(__file__).resolve().parent.parent / "book" / "templates"
# always imported: the command line and what its `execute`, `results` and `site` jobs use, and
# the kernel itself; the chapter templates' own imports are added (preload_modules)
BASE_MODULES = (
    "reanalysis.cli",
    "reanalysis.pipeline",
    "reanalysis.sitebuild",
    "reanalysis.results",
    "pandera.pandas",  # a results job validates its study (reanalysis.data imports it when it reads tables)
    "lifelines",  # and estimates Kaplan-Meier curves (reanalysis.survival imports it when it does)
    "tqdm",  # and draws its replicates (reanalysis.reconstruct)
    "papermill",
    "nbclient",
    "jupyter_client",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
)
# imported by every chapter's kernel on first use, not by its imports (the templates' cells name
# none of them): rendering a table, gluing a value, saving a figure. Each kernel spent ~0.1 s
# importing them after it was forked (about 7 s of CPU in a 64-study cold build); imported
# once, in the zygote, after the templates' own imports
FIRST_USE_MODULES = (
    "pandas.io.formats.style",  # a table's HTML (reanalysis.tables: DataFrame.style, and jinja2)
    "myst_nb.ext.glue",  # a glued value (myst_nb.glue, and docutils)
    "matplotlib.backends.backend_svg",  # a figure's page SVG (reanalysis.figures)
    "matplotlib.backends.backend_agg",  # its measuring draw and PNG download
    "pandas.plotting._matplotlib",  # a bar chart pandas draws (reanalysis.plots)
    "reanalysis.patient.report",  # a study chapter's patient-level section (reanalysis.report)
    "reanalysis.patient.schema",  # which loads the patient data, if any
    "reanalysis.patient.synthetic",  # or makes the worked example's cohort
)
# how long `build` waits for the zygote to bind its socket (before its imports, which the
# first jobs wait for in the socket's queue) before running the workflow without it
BIND_TIMEOUT_S = 5.0
# forwarded by a client to its forked job: what Snakemake, `build` or jupyter_client send
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
MATPLOTLIB_INLINE = "module://matplotlib_inline.backend_inline"  # what ipykernel sets as MPLBACKEND
PARENT_POLL_S = 1.0  # how often a kernel's launcher checks that its `execute` still runs (as ipykernel)
HEADER = struct.Struct("!I")  # length of the JSON request that follows
# jobs forked while the zygote still imports, once the module named (the last of BASE_MODULES
# they use) is imported: a `results` job uses the numeric part of the stack (the command line,
# the data, the checks, Kaplan-Meier: ~2.1 of ~2.7 s of imports), not the chapters' part
# (matplotlib, the kernel). After an edit of one study its results job heads the build's
# longest path: forked when asked, not when the whole stack is in.
EARLY_COMMANDS = {"results": "tqdm"}
# The site step, last in every build and alone, imported Sphinx, myst-nb and the theme first
# (~0.75 s on one core). A second zygote, forked from the first once the stack is in, imports
# them beforehand in CPU time no job wants (SCHED_IDLE), then forks the site jobs
# (_site_zygote). It imports what the last site step had imported (recorded in the build folder,
# SITE_MODULES_FILE), or, without a record, these entry points.
SITE_COMMAND = "site"
SITE_ZYGOTE_NAME = "site-zygote"  # the site zygote's process name (ps, /proc/PID/comm)
PR_SET_NAME = 15  # prctl(2)
SITE_MODULES_FILE = ".site-modules.txt"
SITE_ENTRY_MODULES = (
    "jupyter_book.cli.main",
    "jupyter_book.sphinx",
    "sphinx.application",
    "myst_nb.sphinx_ext",
    "sphinx_book_theme",
)
MAX_SITE_MODULES = 20_000  # read no further: a site step records ~3,100 (all it had imported)
MODULE_NAME = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"  # a dotted name, nothing else


# --- client side: a command or a kernel launcher asks the zygote for a forked process ---


def run_forked(kind: str, argv: list[str]) -> int | None:
    """Run ``kind`` ("cli": ``python -m reanalysis ARGV``; "kernel": ``python -m
    ipykernel_launcher ARGV``) in a process forked from the zygote, with this process's working
    folder, environment and standard streams; return its exit status. None when there is no
    zygote to ask (then run it here). Signals this process gets are passed on to the job."""
    path = os.environ.get(ENV)
    if not path:
        return None
    watched = _launching_process() if kind == "kernel" else 0
    if watched and not _running(watched):  # its `execute` stopped while this process started
        return 128 + signal.SIGTERM
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
    except OSError:  # gone, or another machine's: run it here
        conn.close()
        return None
    request = {
        "kind": kind,
        "argv": argv,
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "path0": sys.path[0] if sys.path else "",
    }
    body = json.dumps(request).encode()
    streams = [fd if _is_open(fd) else os.open(os.devnull, os.O_RDWR) for fd in (0, 1, 2)]
    try:
        socket.send_fds(conn, [HEADER.pack(len(body))], streams)
        conn.sendall(body)
    except OSError:
        conn.close()
        return None
    finally:
        for own, fd in zip(streams, (0, 1, 2), strict=True):
            if own != fd:
                os.close(own)

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(OSError):
            conn.sendall(f"signal {signum}\n".encode())

    for signum in FORWARDED:
        signal.signal(signum, forward)
    if watched:  # a kernel stops with the process that started it (ipykernel polls it too)
        conn.settimeout(PARENT_POLL_S)
    reply = b""
    while True:
        try:
            chunk = conn.recv(4096)
        except TimeoutError:
            if not _running(watched):
                conn.close()  # the job sees its client gone and stops
                return 128 + signal.SIGTERM
            continue
        except OSError:  # the zygote went away before forking the job (its build was killed)
            chunk = b""
        if not chunk:
            break
        reply += chunk  # the status comes before the child's interpreter finalises
        for line in reply.decode(errors="replace").splitlines(keepends=True):
            if line.startswith("exit ") and line.endswith("\n"):
                conn.close()
                return int(line.split()[1])
    # no status: the job was killed, or the zygote went away before forking it. Not run here
    # instead: a zygote goes away only when its build stops, and the job must stop with it.
    print("reanalysis: the job ended without an exit status (killed, or its build stopped)", file=sys.stderr)
    return 128 + signal.SIGKILL


def _launching_process() -> int:
    """The process a kernel's launcher stops with: the one jupyter_client names as its parent
    (``JPY_PARENT_PID``), else its parent now. Not the parent it finds once started: when the
    `execute` that launched it is stopped during the launch, this process starts an orphan (its
    parent is init or a subreaper, which never goes away) and would keep its kernel forever."""
    named = os.environ.get("JPY_PARENT_PID", "")
    return int(named) if named.isdigit() and int(named) > 1 else os.getppid()


def _running(pid: int) -> bool:
    """Does process ``pid`` run: exist, and not as a zombie (Linux; elsewhere: exist)?"""
    if not os.path.isdir("/proc/self"):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # another user's
            return True
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def kernel_main(argv: list[str]) -> None:
    """``python -m reanalysis.warm kernel -f CONNECTION_FILE``: a forked kernel from the zygote,
    or, without one, ipykernel's own launcher in this process."""
    status = run_forked("kernel", argv)
    if status is None:
        os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *argv])
    sys.exit(status)


def active() -> bool:
    """Is this process a job of a workflow that has a zygote (so kernels may be forked)?"""
    return bool(os.environ.get(ENV))


def kernel_manager_class() -> type:
    """jupyter_client's kernel manager whose ipykernel is started through :func:`kernel_main`
    (a kernel spec that runs another program is left alone)."""
    from jupyter_client.manager import AsyncKernelManager

    class WarmKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            cmd = super().format_kernel_cmd(extra_arguments)
            ours = Path(cmd[0]).resolve() == Path(sys.executable).resolve()
            if ours and cmd[1:3] == ["-m", "ipykernel_launcher"]:
                # interrupts as messages on the control channel (ipykernel then signals itself):
                # a signal would reach the launcher, not the forked kernel, and arrive after the
                # shutdown request jupyter_client sends right behind its interrupt at the end
                self.kernel_spec.interrupt_mode = "message"
                return [sys.executable, "-m", "reanalysis.warm", "kernel", *cmd[3:]]
            return cmd

        async def _async_interrupt_kernel(self) -> None:
            # jupyter_client interrupts before every shutdown; a fresh kernel, idle, ignores it
            # (SIGINT is ignored between requests), but a message can reach this one while it
            # handles the shutdown request itself
            if not self.shutting_down:
                await super()._async_interrupt_kernel()

    return WarmKernelManager


# --- the zygote ---


def preload_modules(templates: Path = TEMPLATES) -> list[str]:
    """:data:`BASE_MODULES`, the modules the chapter templates' code cells import (read with
    ``ast``, not run), then :data:`FIRST_USE_MODULES`, in a stable order."""
    import ast

    found: dict[str, None] = dict.fromkeys(BASE_MODULES)
    for template in sorted(templates.glob("*.ipynb")):
        try:
            cells = json.loads(template.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            continue  # the chapter's own run reports a broken template
        for cell in cells:
            if cell.get("cell_type") != "code":
                continue
            source = "".join(cell.get("source", []))
            try:
                tree = ast.parse(source)
            except SyntaxError:
                continue
            for node in tree.body:
                if isinstance(node, ast.Import):
                    found.update(dict.fromkeys(alias.name for alias in node.names))
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found[node.module] = None
    found.update(dict.fromkeys(FIRST_USE_MODULES))
    return list(found)


def serve(path: str, run_cli: Callable[[list[str]], int]) -> int:
    """The zygote (``python -m reanalysis _zygote PATH``, whose ``__main__`` passes the command
    line's ``main`` as ``run_cli``): listen on ``path``, import the stack, then fork one child
    per request. Jobs of :data:`EARLY_COMMANDS` are forked while the imports go on, as soon as
    what they use is imported; the others wait for the whole stack. ``site`` jobs are handed to
    the site zygote once it is ready (:func:`_site_zygote`).
    Returns only in a child, with its exit status (the caller ends the child with it through
    :func:`finish`: threads joined, ``atexit`` run, streams flushed, as a fresh process ends)."""
    import gc
    import importlib

    gc.disable()  # no collection leaves holes in the pages the children share (see gc.freeze)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # `build` stops the zygote with SIGTERM
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)  # clients may queue while the imports run
    early: set[str] = set()  # commands whose jobs are forked now
    waiting: list[_Request] = []  # the others, until the stack is imported
    for name in preload_modules():
        with contextlib.suppress(Exception):  # a module that fails here fails in its job, as usual
            importlib.import_module(name)
        early.update(command for command, after in EARLY_COMMANDS.items() if after == name)
        queued = _queued(listener) if early else []
        for k, job in enumerate(queued):
            if job.command() not in early:
                waiting.append(job)
            elif _fork(job, [listener, *waiting, *queued[k + 1 :]]):
                return _child(job, run_cli)
    # what the imports made is never collected: a child's collections then skip it instead of
    # walking (and so copying) every page of it, as Python's gc.freeze documents for fork
    gc.freeze()
    for k, job in enumerate(waiting):
        if _fork(job, [listener, *waiting[k + 1 :]]):
            return _child(job, run_cli)
    site = _SiteZygote.start(listener)
    if site is not None and site.child:  # in the site zygote: returns in its jobs only
        return _site_zygote(site.channel, site.ready_fd, run_cli)
    while True:
        try:
            conn, _ = listener.accept()
        except InterruptedError:
            continue
        try:
            job = _receive(conn)
        except (OSError, ValueError):
            conn.close()
            continue
        if site is not None and job.command() == SITE_COMMAND and site.take(job):
            continue
        if _fork(job, [listener, *([site] if site else [])]):
            return _child(job, run_cli)


def finish(status: int) -> NoReturn:
    """End a forked job's process (or the workflow's Snakemake process) as the interpreter
    ends one (its non-daemon threads joined, its exit handlers run: logs flushed, its standard
    streams flushed), but, after a job that succeeded, without the teardown that follows:
    freeing, one by one, every object the zygote had imported, which writes to (and so copies)
    each page the job shared with the zygote. That took about 0.15-0.2 s of CPU for a small job
    (some 200 processes in a 64-study cold build), and the job held its client's output pipe
    meanwhile: the build's end waited for the site job's.

    A job that succeeded has cleaned up after itself (a chapter's run has shut its kernel down;
    exit handlers remove temporary folders and close a kernel's sockets). A job that failed or
    was stopped ends the usual way: what it left (a kernel a stopped run had started) is
    stopped by the objects' own finalisers in that teardown. So does an interpreter without the
    private hooks used here."""
    import atexit
    import threading

    shutdown = getattr(threading, "_shutdown", None)
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if status != 0 or shutdown is None or run_exit_handlers is None:
        sys.exit(status)
    shutdown()
    run_exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)


class _Request:
    """A client's request as the zygote holds it: the connection (the job's status goes back on
    it), the client's standard streams and what the job is. (Not a dataclass: a build that finds
    nothing changed imports this module, and ``dataclasses`` imports ``inspect``.)"""

    __slots__ = ("conn", "request", "fds")

    def __init__(self, conn: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
        self.conn, self.request, self.fds = conn, request, fds

    def command(self) -> str | None:
        """The ``python -m reanalysis`` command a "cli" job runs (None for a kernel)."""
        argv = self.request.get("argv") or [None]
        return argv[0] if self.request.get("kind") == "cli" else None

    def close(self) -> None:
        self.conn.close()
        for fd in self.fds:
            os.close(fd)


def _receive(conn: socket.socket, extra: int = 0) -> _Request:
    """Read a request (its header with the three streams, then its JSON) from ``conn``; with
    ``extra`` descriptors before the streams, those come first in ``fds`` (the site zygote's
    requests carry the client's connection so)."""
    msg, fds, _flags, _addr = socket.recv_fds(conn, HEADER.size, 3 + extra)
    if len(msg) != HEADER.size or len(fds) != 3 + extra:
        for fd in fds:
            os.close(fd)
        raise ValueError("malformed request")
    try:
        (size,) = HEADER.unpack(msg)
        body = b""
        while len(body) < size:
            chunk = conn.recv(size - len(body))
            if not chunk:
                raise ValueError("truncated request")
            body += chunk
        return _Request(conn, json.loads(body), fds)
    except (OSError, ValueError):
        for fd in fds:
            os.close(fd)
        raise


def _queued(listener: socket.socket) -> list[_Request]:
    """The requests waiting on ``listener`` now, without waiting for more."""
    found = []
    listener.setblocking(False)
    try:
        while True:
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return found
            conn.setblocking(True)
            with contextlib.suppress(OSError, ValueError):  # a client that left: nothing to run
                found.append(_receive(conn))
    finally:
        listener.setblocking(True)


def _fork(job: _Request, others: list[Any]) -> bool:
    """Fork ``job``'s process: True in the child, which closes ``others`` (the zygote's socket,
    requests it holds for other jobs, its handle on the site zygote); False in the zygote, which
    closes its copy of the job's connection and streams."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fork() == 0:
        for other in others:
            other.close()
        return True
    job.close()
    return False


class _SiteZygote:
    """The zygote's handle on the site zygote (:func:`_site_zygote`): the channel it passes
    site jobs on, and the pipe on which the site zygote says its imports are done."""

    __slots__ = ("channel", "ready_fd", "child", "ready")

    def __init__(self, channel: socket.socket, ready_fd: int, child: bool) -> None:
        self.channel, self.ready_fd, self.child, self.ready = channel, ready_fd, child, False

    @classmethod
    def start(cls, listener: socket.socket) -> _SiteZygote | None:
        """Fork the site zygote: the handle in both processes (``child`` says which), or None
        where a thread cannot be given idle priority (not Linux: the site job imports its own)."""
        if not hasattr(os, "SCHED_IDLE"):
            return None
        ours, theirs = socket.socketpair()
        ready_r, ready_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        if os.fork() == 0:
            listener.close()
            ours.close()
            os.close(ready_r)
            return cls(theirs, ready_w, child=True)
        theirs.close()
        os.close(ready_w)
        return cls(ours, ready_r, child=False)

    def take(self, job: _Request) -> bool:
        """Pass ``job`` on to the site zygote if it is ready; False leaves it to the caller (the
        imports not done, or the site zygote gone)."""
        import select

        if not self.ready:
            if not select.select([self.ready_fd], [], [], 0)[0]:
                return False
            self.ready = os.read(self.ready_fd, 1) == b"1"  # b"": it ended without saying so
            if not self.ready:
                return False
        body = json.dumps(job.request).encode()
        try:
            socket.send_fds(self.channel, [HEADER.pack(len(body))], [job.conn.fileno(), *job.fds])
            self.channel.sendall(body)
        except OSError:
            return False
        job.close()  # the site zygote holds the job's connection and streams now
        return True

    def close(self) -> None:
        self.channel.close()
        os.close(self.ready_fd)


def _site_zygote(channel: socket.socket, ready_fd: int, run_cli: Callable[[list[str]], int]) -> int:
    """The site zygote, forked from the zygote once the stack is imported: a thread of lowest
    priority (SCHED_IDLE: it runs only when no job wants the CPU, so no chapter waits for it)
    imports what a site step imports on top (:func:`site_modules`), then says so on
    ``ready_fd``; the zygote then passes it the ``site`` jobs (with the client's connection),
    and it forks each from its main thread, after the importing thread has ended: the job runs
    at the usual priority and inherits no lock the imports held. It stops with the zygote.
    Returns only in a job's process."""
    import threading

    from .buildstate import die_with_parent

    die_with_parent()
    _set_name(SITE_ZYGOTE_NAME)
    importer = threading.Thread(
        target=_import_idle, args=(site_modules(), ready_fd), name="site-imports", daemon=True
    )
    importer.start()
    while True:
        try:
            passed = _receive(channel, extra=1)
        except (OSError, ValueError):  # the zygote ended: so does its build
            os._exit(0)
        job = _Request(socket.socket(fileno=passed.fds[0]), passed.request, passed.fds[1:])
        importer.join()  # the zygote passes jobs on only once told the imports are done
        if _fork(job, [channel]):
            return _child(job, run_cli)


def _set_name(name: str) -> None:
    """This process's name as ``ps`` and ``/proc/PID/comm`` show it (Linux; 15 bytes)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)


def _import_idle(names: list[str], ready_fd: int) -> None:
    """Import ``names`` in this thread at idle priority, then write to ``ready_fd`` and close it."""
    import importlib

    with contextlib.suppress(OSError, AttributeError):  # this thread only (Linux: pid 0 is it)
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    for name in names:
        with contextlib.suppress(Exception):  # one that fails here fails in the site job, as usual
            importlib.import_module(name)
    compile_site_patterns()
    with contextlib.suppress(OSError):
        os.write(ready_fd, b"1")
    os.close(ready_fd)  # the site jobs, forked after this thread ends, do not inherit it


def compile_site_patterns() -> None:
    """Compile beforehand the regular expressions a site step compiles on first use: the CSS
    selectors' tokens (soupsieve; the theme selects in every page's navigation with them) and
    the lexer of notebooks' code cells (Pygments' ``ipython3``). That was ~0.3 s of every site
    step, which runs alone, on one core, after the last chapter. A failure is ignored: the site
    step compiles them itself, as before."""
    with contextlib.suppress(Exception):
        import soupsieve

        soupsieve.compile("li.toctree-l1 > details > a.reference, .toc-h1 p.caption")
    with contextlib.suppress(Exception):
        from pygments.lexers import get_lexer_by_name

        get_lexer_by_name("ipython3")  # a lexer compiles its rules when first made


def site_modules() -> list[str]:
    """What the site zygote imports: the modules the last site step had imported, as recorded
    by :func:`remember_site_modules` (dotted names only), else :data:`SITE_ENTRY_MODULES`."""
    import re

    from .pipeline import BUILD

    try:
        names = (BUILD / SITE_MODULES_FILE).read_text(encoding="utf-8").split()
    except (OSError, ValueError):
        return list(SITE_ENTRY_MODULES)
    return [name for name in names[:MAX_SITE_MODULES] if re.fullmatch(MODULE_NAME, name)]


def remember_site_modules() -> None:
    """Record the modules this process has imported (a site step's, when it is done) for the
    next build's site zygote. A hint only: written whole or not at all, a failure ignored."""
    import re

    from .pipeline import BUILD
    from .writing import write_aside

    names = [name for name in sys.modules if name != "__main__" and re.fullmatch(MODULE_NAME, name)]
    write_aside(BUILD / SITE_MODULES_FILE, ("\n".join(names) + "\n").encode())


def _child(job: _Request, run_cli: Callable[[list[str]], int]) -> int:
    """In the forked child: become the client's process (streams, folder, environment,
    arguments, default signal handling), run the job, report its status on exit."""
    import atexit
    import gc
    import threading
    import traceback

    conn, request, fds = job.conn, job.request, job.fds
    gc.enable()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.setpgid(0, 0)  # its own group: a signal passed on reaches the job's own children too
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    if sys.path:
        sys.path[0] = request["path0"]
    kind = request["kind"]
    status: list[int] = [1]
    finished = threading.Event()

    def report() -> None:  # the last atexit handler to run: after the job's own
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        finished.set()
        with contextlib.suppress(OSError):
            conn.sendall(f"exit {status[0]}\n".encode())

    atexit.register(report)
    threading.Thread(target=_relay, args=(conn, kind, finished), name="warm-relay", daemon=True).start()
    try:
        if kind == "kernel":
            status[0] = _run_kernel(request["argv"])
        else:
            sys.argv = [str(Path(__file__).with_name("__main__.py")), *request["argv"]]
            status[0] = run_cli(request["argv"])
    except SystemExit as exc:
        status[0] = _exit_status(exc.code)
    except KeyboardInterrupt:
        traceback.print_exc()
        status[0] = 128 + signal.SIGINT
    except BaseException:  # as the interpreter would: the traceback, status 1
        traceback.print_exc()
        status[0] = 1
    return status[0]


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _relay(conn: socket.socket, kind: str, finished: threading.Event) -> None:
    """Pass the client's signals to the job's process group; when the client is gone, stop the
    job (a kernel at once; a command with SIGTERM, so it cleans up as it would when stopped)."""
    buffered = b""
    while True:
        try:
            chunk = conn.recv(256)
        except OSError:
            chunk = b""
        if not chunk:
            break
        buffered += chunk
        while b"\n" in buffered:
            line, buffered = buffered.split(b"\n", 1)
            words = line.split()
            if len(words) == 2 and words[0] == b"signal" and words[1].isdigit():
                signum = int(words[1])
                if kind == "kernel" and signum == signal.SIGINT:
                    os.kill(os.getpid(), signum)  # an interrupt is the kernel's own
                else:
                    with contextlib.suppress(OSError):
                        os.killpg(0, signum)
    if finished.is_set():  # the client read the status and left
        return
    with contextlib.suppress(OSError):
        os.killpg(0, signal.SIGKILL if kind == "kernel" else signal.SIGTERM)


def _run_kernel(argv: list[str]) -> int:
    """ipykernel_launcher's job, in this process: the same kernel, the same matplotlib backend
    (matplotlib is already imported here, so the backend ipykernel sets in the environment is
    given to it as a fresh import would take it)."""
    import ipykernel_launcher  # noqa: F401  (its path is the kernel's argv[0])
    from ipykernel.kernelapp import IPKernelApp

    sys.argv = [ipykernel_launcher.__file__, *argv]
    if sys.path and sys.path[0] == "":
        del sys.path[0]
    # traits whose defaults ipykernel reads from the environment when it is imported (here: in
    # the zygote), given as a fresh import would read them from the kernel's own environment
    app = IPKernelApp.instance(
        parent_handle=int(os.environ.get("JPY_PARENT_PID") or 0),
        interrupt=int(os.environ.get("JPY_INTERRUPT_EVENT") or 0),
    )
    app.initialize(argv)
    if "matplotlib" in sys.modules:
        import matplotlib

        backend = os.environ.get("MPLBACKEND") or MATPLOTLIB_INLINE
        matplotlib.rcParams["backend"] = backend
        matplotlib.rcParamsOrig["backend"] = backend
    app.start()
    return 0


def remove_orphaned_folders(tmp: str | None = None) -> list[Path]:
    """Remove the socket folders that killed processes left: a zygote dies with its ``build``
    even by SIGKILL, and a chapter's kernel with its job, but then nothing removes their folder.
    Each is named for the process that made it, and is orphaned when it is this user's and that
    process is gone; a live (or reused) pid, another user's folder, a symlink or a name without
    a pid is left alone. Returns the folders removed."""
    import shutil
    import stat
    import tempfile

    from .kernels import FOLDER_PREFIX as KERNEL_PREFIX

    removed = []
    base = Path(tmp or tempfile.gettempdir())
    for prefix in (FOLDER_PREFIX, KERNEL_PREFIX):
        for folder in sorted(base.glob(f"{prefix}*-*")):
            pid = folder.name[len(prefix) :].split("-", 1)[0]
            try:
                st = folder.lstat()  # a symlink is not followed, nor removed
                if not pid.isdigit() or st.st_uid != os.getuid() or not stat.S_ISDIR(st.st_mode):
                    continue
                os.kill(int(pid), 0)  # raises ProcessLookupError when the process is gone
            except ProcessLookupError:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
            except (OSError, OverflowError):  # another user's process has that pid; or unreadable
                continue
    return removed


@contextlib.contextmanager
def zygote() -> Iterator[dict[str, str]]:
    """Start a zygote for the length of the block; yields the environment entries the jobs
    need to find it (empty when it could not start: the jobs then start as usual). Stopped, and
    its folder removed, on the way out; it also dies with this process (SIGKILL included)."""
    with starting_zygote() as ready:
        yield ready()


@contextlib.contextmanager
def starting_zygote() -> Iterator[Callable[[], dict[str, str]]]:
    """:func:`zygote`, in two steps: start it, then (``ready()``, when the first job is near)
    wait until it is bound and get its environment entries. ``build`` starts it before its own
    checks of what changed: its imports (~2 s of CPU) then use the core those checks leave idle,
    instead of delaying the first job."""
    import shutil
    import subprocess
    import tempfile

    from .buildstate import die_with_parent
    from .kernels import fits_a_socket

    remove_orphaned_folders()
    # 0700: only this user can connect; named for this process, so that the next build can tell
    # the folder of a killed one (remove_orphaned_folders)
    folder = tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-")
    path = os.path.join(folder, SOCKET_NAME)
    if not fits_a_socket(path):  # a long TMPDIR: no zygote (the jobs start as usual)
        os.rmdir(folder)
        yield dict
        return
    proc = subprocess.Popen(
        [sys.executable, "-m", "reanalysis", ZYGOTE_COMMAND, path],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,  # a job writes to its client's streams, never to these
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # out of the terminal's group: Ctrl-C reaches `build`, which stops it
        preexec_fn=die_with_parent,  # noqa: PLW1509  (no threads in this process yet)
    )

    def ready() -> dict[str, str]:
        deadline = time.monotonic() + BIND_TIMEOUT_S
        while not os.path.exists(path) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)  # bound (clients queue on it) before it imports anything
        return {ENV: path} if os.path.exists(path) and proc.poll() is None else {}

    try:
        yield ready
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["kernel"]:
        kernel_main(argv[1:])
    print("usage: python -m reanalysis.warm kernel -f CONNECTION_FILE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
