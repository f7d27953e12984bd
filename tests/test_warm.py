"""Warm starts (reanalysis.warm): jobs and kernels forked from a zygote behave as fresh
processes (streams, exit status, folder, environment, matplotlib backend, interrupts), stop
with whoever started them, and everything falls back to a fresh process without a zygote.

That a forked kernel computes exactly what a fresh one does is proven on the whole book: the
stored notebooks are written by a build through the zygote, and strict nbval re-runs them in
fresh kernels (and ``.ci/robustness`` compares a clean clone's cold build with them byte for
byte).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from reanalysis import kernels, warm
from reanalysis.data import REPO_ROOT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork and /proc: Linux")

PROBE = """\
import os, sys
preloaded = "reanalysis.report" in sys.modules
import matplotlib
import matplotlib.pyplot as plt
from IPython import get_ipython
print(json.dumps({
    "preloaded": preloaded,
    "cwd": os.getcwd(),
    "probe": os.environ.get("WARM_PROBE"),
    "backend": matplotlib.get_backend(),
    "shell": type(get_ipython()).__name__,
    "argv0": os.path.basename(sys.argv[0]),
}))
plt.plot([0, 1], [1, 0])
plt.show()
"""


@pytest.fixture(scope="module")
def zygote():
    with warm.zygote() as found:
        assert set(found) == {warm.ENV}
        yield found[warm.ENV]
    assert not Path(found[warm.ENV]).exists()  # its folder goes with it


def _env(socket: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != warm.ENV}
    if socket is not None:
        env[warm.ENV] = socket
    return {**env, **extra}


def _python(code: str, env: dict[str, str], cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_preload_is_the_command_line_and_the_templates_imports(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("import not_code"),
        nbformat.v4.new_code_cell(
            "import json, csv as c\nfrom reanalysis.report import Chapter\nfrom . import x"
        ),
        nbformat.v4.new_code_cell("def broken(:\n"),  # a syntax error is its chapter's to report
        nbformat.v4.new_code_cell("if True:\n    import nested_is_left"),
    ]
    nbformat.write(nb, tmp_path / "t.ipynb")
    (tmp_path / "bad.ipynb").write_text("{not json")
    found = warm.preload_modules(tmp_path)
    assert found[: len(warm.BASE_MODULES)] == list(warm.BASE_MODULES)
    assert found[len(warm.BASE_MODULES) :] == ["json", "csv", "reanalysis.report", *warm.FIRST_USE_MODULES]


def test_a_forked_chapter_imports_nothing_more_of_the_stack_to_show_a_table_a_value_or_a_figure():
    """What the zygote imported is what a chapter's kernel uses: rendering a table, gluing a
    value, saving a figure and a study's patient-level section import no module of the stack
    the kernel would otherwise import after it was forked (each chapter paid ~0.1 s for them)."""
    code = """
import importlib, sys
from reanalysis import warm
for name in warm.preload_modules():
    importlib.import_module(name)
from IPython.core.interactiveshell import InteractiveShell
InteractiveShell.instance()  # the kernel's shell (its completer imports modules of its own)
from reanalysis.data import load_study
study = load_study("li2022")  # validated first if this code has not validated it yet: not a chapter's part
before = set(sys.modules)
import matplotlib.pyplot as plt
import pandas as pd
from myst_nb import glue
from reanalysis import figures, tables
from reanalysis.patient import report as patient_report
tables.show(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), "t", "A table")
glue("value", 3, display=False)
fig, ax = plt.subplots()
pd.DataFrame({"a": [1, 2]}, index=["p", "q"]).plot.barh(ax=ax)
figures.show(fig, "f", alt="a bar chart")
patient_report.load("none", study, seed=0)  # a study chapter's patient-level section
stack = ("pandas", "matplotlib", "myst_nb", "jinja2", "docutils", "reanalysis", "IPython", "PIL")
print("NEW", sorted(m for m in set(sys.modules) - before if m.split(".")[0] in stack))
"""
    out = _python(code, _env(None, MPLBACKEND="Agg"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "NEW []"


def test_the_site_zygote_compiles_what_a_site_step_would_on_first_use():
    """After :func:`warm.compile_site_patterns` (run by the site zygote at idle priority), the
    site step's CSS selections in the navigation and its highlighting of a notebook's code
    compile no regular expression (without it: ~190, ~0.3 s of the build's one-core tail)."""
    code = r"""
import sys
from re import _compiler
import bs4
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
if sys.argv[1] == "warm":
    from reanalysis import warm
    warm.compile_site_patterns()
compiled = []
real = _compiler.compile
_compiler.compile = lambda pattern, flags=0: compiled.append(pattern) or real(pattern, flags)
page = '<ul><li class="toctree-l1"><details><a class="reference">x</a></details></li></ul>'
soup = bs4.BeautifulSoup(page, "html.parser")
soup.select("li.toctree-l2 > details"), soup.select_one("details > a.reference"), soup.select(".toc-h2")
cell = "import numpy as np\nx = np.arange(3)  # a comment\n%timeit x\n"
highlight(cell, get_lexer_by_name("ipython3"), HtmlFormatter())
print("COMPILED", len(compiled))
"""
    counts = {}
    for how in ("cold", "warm"):
        run = subprocess.run(
            [sys.executable, "-c", code, how], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
        )
        assert run.returncode == 0, run.stderr
        counts[how] = int(run.stdout.split()[-1])
    assert counts["cold"] > 50, "the check sees what a first use compiles"
    assert counts["warm"] == 0


def test_a_command_runs_forked_with_its_streams_and_exit_status(zygote):
    probe = "from reanalysis import warm; print('STATUS', warm.run_forked('cli', ['--help']), flush=True)"
    forked = _python(probe, _env(zygote))
    assert "usage: python -m reanalysis" in forked.stdout  # the child wrote to this process's stdout
    assert forked.stdout.rstrip().endswith("STATUS 0")
    assert _python(probe, _env(None)).stdout.strip() == "STATUS None"  # no zygote: run it here

    failed = subprocess.run(
        [sys.executable, "-m", "reanalysis", "results", "no_such_study"],
        env=_env(zygote),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 2
    assert failed.stderr.startswith("error: ") and "no_such_study" in failed.stderr
    assert "Traceback" not in failed.stderr


FINISH = """\
import atexit, sys, threading, time
from reanalysis import warm
{setup}
atexit.register(lambda: sys.stdout.write("exit handler ran; "))
def late():
    time.sleep(0.2)
    sys.stdout.write("thread joined; ")
threading.Thread(target=late).start()
sys.stdout.write("written, not flushed; ")
warm.finish({status})
"""


@pytest.mark.parametrize(
    ("status", "setup"),
    [
        (0, ""),  # a job that succeeded: no teardown
        (3, ""),  # one that failed: the usual end
        (0, "del atexit._run_exitfuncs  # no private hook: the usual end"),
    ],
)
def test_a_forked_job_ends_as_a_process_does(status, setup):
    """What a job's process (and the workflow's Snakemake process) does at its end
    (``warm.finish``): threads joined, exit handlers run, streams flushed, its status; only the
    freeing of every object is skipped, and only after a job that succeeded."""
    buffered = {k: v for k, v in _env(None).items() if k != "PYTHONUNBUFFERED"}  # as a job's streams may be
    ended = _python(FINISH.format(setup=setup, status=status), buffered)
    assert ended.returncode == status, ended.stderr
    assert ended.stdout == "written, not flushed; thread joined; exit handler ran; "


def _probe_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("import json"), nbformat.v4.new_code_cell(PROBE)]
    path = folder / "probe.ipynb"
    nbformat.write(nb, path)
    return path


def _run_probe(tmp_path: Path, monkeypatch, socket: str | None) -> tuple[dict, list[str]]:
    if socket is None:
        monkeypatch.delenv(warm.ENV, raising=False)
    else:
        monkeypatch.setenv(warm.ENV, socket)
    monkeypatch.setenv("WARM_PROBE", "seen")
    folder = tmp_path / ("fresh" if socket is None or not Path(socket).exists() else "warm")
    folder.mkdir()
    out = pm.execute_notebook(
        str(_probe_notebook(folder)),
        str(folder / "out.ipynb"),
        cwd=str(folder),
        kernel_name="python3",
        progress_bar=False,
        kernel_manager_class=warm.kernel_manager_class(),
    )
    outputs = out.cells[1].outputs
    facts = json.loads(outputs[0]["text"])
    return facts, [key for o in outputs[1:] for key in o.get("data", {})]


def test_a_kernel_is_forked_like_a_fresh_one(zygote, tmp_path, monkeypatch):
    warm_facts, warm_figure = _run_probe(tmp_path, monkeypatch, zygote)
    fresh_facts, fresh_figure = _run_probe(tmp_path, monkeypatch, "/nonexistent/zygote.sock")
    assert warm_facts.pop("preloaded") is True  # the stack was imported before the kernel began
    assert fresh_facts.pop("preloaded") is False  # no zygote at that path: ipykernel's own launcher
    assert warm_facts["cwd"] == str(tmp_path / "warm") and fresh_facts["cwd"] == str(tmp_path / "fresh")
    warm_facts.pop("cwd"), fresh_facts.pop("cwd")
    assert (
        warm_facts
        == fresh_facts
        == {
            "probe": "seen",
            "backend": warm.MATPLOTLIB_INLINE,
            "shell": "ZMQInteractiveShell",
            "argv0": "ipykernel_launcher.py",
        }
    )
    assert warm_figure == fresh_figure == ["text/plain", "image/png"]  # the inline backend shows it


def _gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


async def _kernel_session(tmp_path: Path) -> None:
    km = warm.kernel_manager_class()(kernel_name="python3")
    await km.start_kernel(cwd=str(tmp_path))
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=60)
        # an interrupt reaches the forked kernel (as a message: ipykernel signals itself)
        msg_id = kc.execute("import os, time\nopen('pid', 'w').write(str(os.getpid()))\ntime.sleep(60)")
        pid_file = tmp_path / "pid"
        deadline = time.monotonic() + 30
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the kernel never ran the cell"
            await asyncio.sleep(0.05)
        kernel_pid = int(pid_file.read_text())
        launcher_pid = km.provisioner.process.pid
        assert kernel_pid != launcher_pid  # forked from the zygote, not the launcher itself
        started = time.monotonic()
        await km.interrupt_kernel()
        while True:
            reply = await kc.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
        assert time.monotonic() - started < 10
        # SIGKILL to the launcher (what jupyter_client does to a kernel that will not stop)
        os.kill(launcher_pid, 9)
        assert _gone(kernel_pid, 10), "the forked kernel outlived its launcher"
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)


def test_a_kernel_is_interrupted_and_dies_with_its_launcher(zygote, tmp_path, monkeypatch):
    monkeypatch.setenv(warm.ENV, zygote)
    asyncio.run(_kernel_session(tmp_path))


def test_a_job_is_stopped_when_its_client_is_killed(zygote, tmp_path):
    """SIGTERM to the client reaches the job (it cleans up as when stopped); a SIGKILLed
    client's job is stopped too. The job here: a chapter run, which holds a temporary notebook."""
    for signum in (15, 9):
        client = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reanalysis",
                "execute",
                "validation",
                "-o",
                str(tmp_path / f"v{signum}.ipynb"),
            ],
            env=_env(zygote),
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".validation.*.tmp.ipynb")):  # the job has begun its run
            assert client.poll() is None and time.monotonic() < deadline, client.communicate()
            time.sleep(0.05)
        jobs = [p for p in _children_of_zygote(zygote) if p != client.pid]
        assert jobs, "no forked job"
        client.send_signal(signum)
        client.communicate(timeout=60)
        if signum == 15:
            assert client.returncode == 128 + 15  # the job's own status: interrupted
        for pid in jobs:
            assert _gone(pid, 20), f"job {pid} still runs after signal {signum} to its client"
        assert not list(tmp_path.glob(".*")), "the stopped job left its temporary files"


ORPHAN_LAUNCH = """
import os, sys, time
env = dict(os.environ, JPY_PARENT_PID=str(os.getpid()))  # as jupyter_client names the launcher's parent
pid = os.fork()
if pid == 0:
    os.setsid()
    time.sleep(0.5)  # this process, the `execute`, is stopped meanwhile
    os.execve(sys.executable, [sys.executable, "-m", "reanalysis.warm", "kernel", "-f", sys.argv[1]], env)
with open(sys.argv[2], "w") as out:
    out.write(str(pid))
"""


def test_a_kernel_launcher_started_after_its_execute_stopped_stops_with_its_kernel(zygote, tmp_path):
    """An `execute` stopped while jupyter_client launches its kernel leaves the launcher an orphan
    from its start (its parent: init or a subreaper, which never goes away). It must stop, and its
    forked kernel with it, not hold the execute's output streams forever: a client reading them
    waited past its timeout (CI on 150cdab)."""
    pid_file = tmp_path / "launcher.pid"
    subprocess.run(
        [sys.executable, "-c", ORPHAN_LAUNCH, str(tmp_path / "kernel.json"), str(pid_file)],
        env=_env(zygote),
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=60,
        check=True,
    )
    launcher = int(pid_file.read_text())
    assert _gone(launcher, 20), "the orphaned kernel launcher still runs"
    deadline = time.monotonic() + 20
    while _children_of_zygote(zygote) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _children_of_zygote(zygote), "a kernel outlived its orphaned launcher"


def _children_of_zygote(socket: str) -> list[int]:
    """The forked jobs and kernels of the zygote listening on ``socket`` (its command line, but
    not started by this process, nor the site zygote, which lives as long as the zygote): not
    those of another build running on the machine meanwhile."""
    out = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            site_zygote = (proc / "comm").read_text().strip() == warm.SITE_ZYGOTE_NAME
            ours = warm.ZYGOTE_COMMAND.encode() in cmd and socket.encode() in cmd
            if ours and ppid != os.getpid() and not site_zygote:
                out.append(int(proc.name))
    return out


@pytest.fixture
def short_tmp():
    """A temporary folder with a short path: a socket's path has at most 107 bytes, and pytest's
    ``tmp_path`` under xdist is too long for the zygote's (which then does not start)."""
    folder = Path(tempfile.mkdtemp(prefix="rw"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_the_folders_of_killed_builds_are_removed_by_the_next(short_tmp, monkeypatch):
    """A zygote dies with its `build` even by SIGKILL, but its socket folder stayed in the temp
    folder (one per killed build); the next build removes the folders of gone processes only."""
    tmp_path = short_tmp
    gone = subprocess.Popen([sys.executable, "-c", ""])
    gone.wait()
    orphan = tmp_path / f"{warm.FOLDER_PREFIX}{gone.pid}-x1y2"
    orphan.mkdir()
    (orphan / warm.SOCKET_NAME).write_text("")
    kernel_orphan = tmp_path / f"{kernels.FOLDER_PREFIX}{gone.pid}-q8r9"  # a killed chapter job's kernel
    kernel_orphan.mkdir()
    (kernel_orphan / "k-1").write_text("")
    alive = tmp_path / f"{warm.FOLDER_PREFIX}{os.getpid()}-x1y2"  # a build that still runs
    alive.mkdir()
    kernel_alive = tmp_path / f"{kernels.FOLDER_PREFIX}{os.getpid()}-q8r9"
    kernel_alive.mkdir()
    unnamed = tmp_path / f"{warm.FOLDER_PREFIX}152d3_f_"  # no pid in its name: not judged
    unnamed.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / f"{warm.FOLDER_PREFIX}{gone.pid}-link"  # a symlink is neither followed nor removed
    link.symlink_to(elsewhere)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with warm.zygote() as found:
        mine = Path(found[warm.ENV]).parent
        assert mine.name.startswith(f"{warm.FOLDER_PREFIX}{os.getpid()}-")
        assert not orphan.exists() and not kernel_orphan.exists()
        assert alive.is_dir() and kernel_alive.is_dir()
        assert unnamed.is_dir() and elsewhere.is_dir() and link.is_symlink()
    assert not mine.exists()


# A zygote run by a script, with its imports and its jobs replaced: `gate` (a module whose
# import waits until a file exists) holds the imports back; each job prints which process
# forked it and at what CPU priority, instead of running a command.
STAGED_ZYGOTE = """\
import json, os, sys
from reanalysis import warm
warm.preload_modules = lambda: {preload!r}
warm.EARLY_COMMANDS = {{"early": "json"}}
warm.site_modules = lambda: {site_modules!r}
def job(argv):
    parent = open(f"/proc/{{os.getppid()}}/comm").read().strip()
    print(json.dumps({{"argv": argv, "parent": parent, "policy": os.sched_getscheduler(0)}}), flush=True)
    return 0
warm.finish(warm.serve(sys.argv[1], job))
"""
GATE = """\
import os, sys, time
with open(os.environ["GATE_LOG"], "a") as log:
    log.write(f"{{__name__}} {{os.sched_getscheduler(0)}}\\n")
while not os.path.exists({release!r}):
    time.sleep(0.02)
"""


@pytest.fixture
def staged(short_tmp):
    """A function that starts a staged zygote (STAGED_ZYGOTE: it imports ``preload``, its site
    zygote ``site_modules``) and returns ``(ask, release, gate_log)``: ``ask(command)`` runs a
    job through it and returns what the job printed (None if not done within ``timeout``),
    ``release(name)`` lets the import of gate module ``name`` (``gate1``, ``gate2``) finish, and
    ``gate_log`` has a line per import of one (its name and its thread's CPU policy)."""
    procs, clients = [], []

    def start(preload: list[str], site_modules: list[str]):
        for gate in ("gate1", "gate2"):
            (short_tmp / f"{gate}.py").write_text(GATE.format(release=str(short_tmp / f"{gate}.go")))
        script = short_tmp / "staged.py"
        script.write_text(STAGED_ZYGOTE.format(preload=preload, site_modules=site_modules))
        sock = str(short_tmp / "z.sock")
        env = _env(None, PYTHONPATH=f"{short_tmp}:{REPO_ROOT}", GATE_LOG=str(short_tmp / "gate.log"))
        procs.append(subprocess.Popen([sys.executable, str(script), sock], env=env, cwd=REPO_ROOT))
        deadline = time.monotonic() + 30
        while not os.path.exists(sock):
            assert time.monotonic() < deadline, "the zygote did not bind its socket"
            time.sleep(0.02)

        def ask(command: str) -> Callable[[float], dict | None]:
            """Start a client for ``command``; returns ``result(timeout)``: what the job
            printed, or None while it has not ended."""
            probe = f"from reanalysis import warm; warm.run_forked('cli', [{command!r}])"
            out = short_tmp / f"out{len(clients)}.json"
            with out.open("w") as sink:  # a file: the zygote may hold the client's streams
                clients.append(subprocess.Popen([sys.executable, "-c", probe], env=_env(sock), stdout=sink))
            client = clients[-1]

            def result(timeout: float = 60) -> dict | None:
                try:
                    client.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    return None
                return json.loads(out.read_text())

            return result

        def release(gate: str) -> None:
            (short_tmp / f"{gate}.go").write_text("")

        return ask, release, short_tmp / "gate.log"

    yield start
    for proc in clients + procs:
        proc.kill()
        proc.wait(timeout=10)


def test_a_results_job_is_forked_before_the_rest_of_the_stack_is_imported(staged):
    """A job of EARLY_COMMANDS runs as soon as what it uses is imported (it is looked for
    between two imports); any other job waits for the whole stack."""
    ask, release, _ = staged(["gate1", "json", "gate2"], [])
    early, other = ask("early"), ask("other")
    assert early(2) is None and other(0) is None  # asked while `gate1` is imported: both wait
    release("gate1")  # then `json`: what an early job needs is in
    assert early()["argv"] == ["early"]  # while the zygote imports `gate2`
    assert other(2) is None  # not before the stack is in
    release("gate2")
    assert other()["argv"] == ["other"]


EARLY_PROBE = """\
import json, sys
from reanalysis import warm
base = list(warm.BASE_MODULES)
upto = base.index(warm.EARLY_COMMANDS["results"]) + 1
for name in base[:upto]:  # what the zygote has imported when it forks an early results job
    __import__(name)
before = set(sys.modules)
if sys.argv[1] == "rest":  # what it imports after
    for name in warm.preload_modules()[upto:]:
        __import__(name)
else:  # what a results job imports
    from reanalysis import results
    from reanalysis.recon_checks import StudyOptions
    results.compute(sys.argv[1], StudyOptions())
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_a_results_job_forked_early_imports_nothing_the_zygote_imports_later():
    """A `results` job forked early (EARLY_COMMANDS) finds what it uses imported: it imports
    none of the modules the zygote imports after its marker (it would import them itself,
    again, on the build's longest path: `lifelines` did). A study's real job, in a fresh
    interpreter."""
    from reanalysis.data import list_studies

    def new_modules(arg: str) -> set[str]:
        run = _python(EARLY_PROBE.replace("sys.argv[1]", repr(arg)), _env(None))
        assert run.returncode == 0, run.stderr
        return set(json.loads(run.stdout))

    rest = new_modules("rest")
    assert len(rest) > 100  # the chapters' part of the stack
    assert new_modules(list_studies()[0]) & rest == set()


def test_the_site_job_is_forked_from_the_site_zygote_once_it_has_imported(staged):
    """Until the site zygote has imported its modules (here: `gate1`, held back), site jobs are
    forked by the zygote itself; then by the site zygote, whose imports ran at idle priority but
    whose jobs run at the usual one. Other jobs stay the zygote's."""
    ask, release, gate_log = staged(["json"], ["json", "gate1"])
    before = ask(warm.SITE_COMMAND)()
    assert before["argv"] == [warm.SITE_COMMAND] and before["parent"] != warm.SITE_ZYGOTE_NAME
    release("gate1")
    deadline = time.monotonic() + 60
    while (site := ask(warm.SITE_COMMAND)())["parent"] != warm.SITE_ZYGOTE_NAME:
        assert time.monotonic() < deadline, "the site zygote never took a site job"
        time.sleep(0.05)
    assert site["policy"] == os.SCHED_OTHER  # not the importing thread's idle priority
    assert ask("other")()["parent"] != warm.SITE_ZYGOTE_NAME
    assert gate_log.read_text().split() == ["gate1", str(os.SCHED_IDLE)]


def test_the_site_step_s_imports_are_recorded_for_the_next_site_zygote(tmp_path, monkeypatch):
    """A site step records the modules it imported; the next site zygote imports them (dotted
    names only: the record is read as data), or the entry points when there is no record."""
    from reanalysis import pipeline

    monkeypatch.setattr(pipeline, "BUILD", tmp_path)
    assert warm.site_modules() == list(warm.SITE_ENTRY_MODULES)
    warm.remember_site_modules()
    recorded = warm.site_modules()
    assert "reanalysis.warm" in recorded and "__main__" not in recorded
    assert set(recorded) <= set(sys.modules)
    assert [p.name for p in tmp_path.iterdir()] == [warm.SITE_MODULES_FILE]  # nothing left aside
    lines = ["os.path", "../etc/passwd", "x;y", "/abs", "a-b", "sphinx.application"]
    (tmp_path / warm.SITE_MODULES_FILE).write_text("\n".join(lines) + "\n")
    assert warm.site_modules() == ["os.path", "sphinx.application"]
