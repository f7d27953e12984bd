"""Interrupted builds (issue 16, done-when): SIGINT while a chapter executes, SIGTERM just after
a chapter was executed, SIGKILL to the build's command alone. Each time the message says what
changed, nothing of the run keeps running, and the next plain ``build`` returns the notebooks,
their downloads and the site to the book's own parameters and says so.

It runs the real command line, Snakefile, papermill and kernels on a private copy of the
package with two one-cell chapters. The site step is a stub (a ``jupyter_book`` package in the
private book writes one page per executed notebook, holding its text) so the test stays fast;
``.ci/robustness`` kills a real build of the whole book.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

from reanalysis.data import REPO_ROOT

pytestmark = pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs Linux /proc")

CHAPTERS = ("a", "b")
SITE_STUB = """\
# jupyter-book stand-in (jupyter_book.cli.main.main, as reanalysis.sitebuild.jupyter_book calls
# it): build ROOT --path-output WORK ...; one page per executed notebook
import os, time
from pathlib import Path


class _Main:
    def main(self, args, prog_name=None, standalone_mode=True):
        root, work = Path(args[1]), Path(args[3])
        out = work / "_build" / "html"
        time.sleep(float(os.environ.get("STUB_SITE_SLEEP", "0")))
        for nb in sorted((root / "book" / "chapters").glob("*.ipynb")):
            (out / "book" / "chapters").mkdir(parents=True, exist_ok=True)
            (out / "book" / "chapters" / (nb.stem + ".html")).write_text(nb.read_text())
        (out / "index.html").write_text("stub site")


main = _Main()
"""


def _stub_template() -> nbformat.NotebookNode:
    """A chapter: its parameters, then one cell that may wait (``STUB_SLEEP``), writes a
    download and shows ``alpha``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('alpha = 0.05\npage = "stub"\ndownloads_dir = ""')
    params.metadata["tags"] = ["parameters"]
    body = textwrap.dedent(
        """\
        import os, time
        from pathlib import Path
        from IPython.display import HTML
        time.sleep(float(os.environ.get("STUB_SLEEP", "0")))
        if downloads_dir:
            (Path(downloads_dir) / "t.csv").write_text(f"alpha\\n{alpha}\\n")
        q = chr(34)
        HTML(f"<a href={q}downloads/{page}/t.csv{q} download>CSV</a> alpha = {alpha}")
        """
    )
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Chapter {{chapter}}"),
        params,
        nbformat.v4.new_code_cell(body),
    ]
    return nb


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    """A private book (this package, the Snakefile, two stub chapters) run by an interpreter
    with the ``jupyter_book`` stub that its site step imports."""
    root = tmp_path_factory.mktemp("book")
    shutil.copytree(
        REPO_ROOT / "reanalysis", root / "reanalysis", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(REPO_ROOT / "Snakefile", root / "Snakefile")
    (root / "book" / "templates").mkdir(parents=True)
    (root / "book" / "chapters").mkdir()
    shutil.copy(REPO_ROOT / "book" / "favicon.png", root / "book" / "favicon.png")
    nbformat.write(_stub_template(), root / "book" / "templates" / "stub.ipynb")
    entries = "".join(f"  {c}:\n    template: stub.ipynb\n    reads_data: false\n" for c in CHAPTERS)
    (root / "book" / "chapters.yml").write_text("chapters:\n" + entries)
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\n")
    (root / "_config.yml").write_text("title: stub\n")
    (root / "data").mkdir()
    stub = root / "jupyter_book" / "cli"  # first on the path of the book's processes (their folder)
    stub.mkdir(parents=True)
    for init in (root / "jupyter_book", stub):
        (init / "__init__.py").write_text("")
    (stub / "main.py").write_text(SITE_STUB)
    return root


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REANALYSIS_", "PYTEST_", "COV_"))}
    return {**env, **extra}


def build(book: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reanalysis", "build", *args],
        cwd=book,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=180,
    )


def start(book: Path, *args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "reanalysis", *args],
        cwd=book,
        env=_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(
    condition: Callable[[], object],
    timeout: float = 90.0,
    what: str = "",
    run: subprocess.Popen | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if run is not None and run.poll() is not None:
            out, err = run.communicate()
            pytest.fail(f"the build ended (exit {run.returncode}) before {what}:\n{out}\n{err}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def running_in(book: Path) -> list[str]:
    """Processes (other than this one) whose working folder is inside the private book: the
    build, Snakemake, each execute and its kernel (which runs in book/chapters)."""
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(proc / "cwd")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (cwd == str(book) or cwd.startswith(f"{book}/")):
            out.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
    return out


def state(book: Path) -> dict[str, str]:
    """What a reader gets: each notebook, its downloads and its site page (by hash), and no
    temporary file anywhere."""
    out = {}
    for path in sorted([*(book / "book" / "chapters").rglob("*"), *(book / "_build" / "html").rglob("*")]):
        if path.is_file():
            out[str(path.relative_to(book))] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return out


def alpha_of(book: Path, chapter: str, where: str = "notebook") -> str:
    path = (
        book / "book" / "chapters" / f"{chapter}.ipynb"
        if where == "notebook"
        else book / "_build" / "html" / "book" / "chapters" / f"{chapter}.html"
    )
    text = path.read_text()
    return text.split("alpha = ", 2)[-1].split("<", 1)[0].split('"', 1)[0].strip("\\n ")


def tmp_files(book: Path) -> list[str]:
    return [str(p.relative_to(book)) for p in (book / "book" / "chapters").rglob(".*")]


def test_interrupted_builds_recover_and_say_so(book):
    first = build(book)
    assert first.returncode == 0, first.stderr
    default = state(book)
    assert {alpha_of(book, c) for c in CHAPTERS} == {"0.05"}
    assert {alpha_of(book, c, "site") for c in CHAPTERS} == {"0.05"}

    # 1. SIGINT (Ctrl-C) while a chapter executes with another parameter
    run = start(book, "build", "-p", "a.alpha=0.4", STUB_SLEEP="60")
    wait_for(
        lambda: list((book / "book" / "chapters").glob(".a.*.tmp.ipynb")), what="chapter a to start", run=run
    )
    time.sleep(0.5)  # its kernel is running the cell
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 130, err
    assert "interrupted: no executed notebook was replaced; the site is as it was" in err, err
    assert "Traceback" not in err
    assert running_in(book) == [], "nothing of the interrupted run keeps running"
    assert tmp_files(book) == [] and state(book) == default

    # 2. SIGTERM (timeout, a cancelled job) after the chapter was executed, while the site builds:
    #    the build ran it (the interrupted run left nothing that passes for built)
    run = start(book, "build", "-p", "a.alpha=0.4", STUB_SITE_SLEEP="60")
    wait_for(
        lambda: (book / "_build" / ".work" / "BUILDING").exists(), what="the site step to start", run=run
    )
    run.send_signal(signal.SIGTERM)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 143, err
    assert "interrupted: the notebook of a was replaced by this run; the site is as it was" in err, err
    assert "the next `make book`" in err
    assert alpha_of(book, "a") == "0.4" and alpha_of(book, "a", "site") == "0.05"
    assert running_in(book) == [] and tmp_files(book) == []

    # 3. the next plain build says what it re-executes, and returns notebooks and site to the defaults
    again = build(book)
    assert again.returncode == 0, again.stderr
    assert "re-executing a: its notebook was executed with other parameters than this build's" in again.stdout
    assert "executed a " in again.stdout and "executed b " not in again.stdout
    assert state(book) == default

    # 4. SIGKILL to the build's command alone, while a chapter executes: its tree stops (the
    #    kernel too) and meanwhile nothing else may write the book
    run = start(book, "build", "-p", "b.alpha=0.3", STUB_SLEEP="60")
    wait_for(
        lambda: list((book / "book" / "chapters").glob(".b.*.tmp.ipynb")), what="chapter b to start", run=run
    )
    busy = subprocess.run(  # execute and build take the same lock (test_careless, in-process)
        [sys.executable, "-m", "reanalysis", "site"],
        cwd=book,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert busy.returncode == 2 and "another build, site or execute of this book is running" in busy.stderr
    run.kill()
    run.communicate(timeout=30)
    wait_for(lambda: running_in(book) == [], timeout=20, what="the killed build's processes to stop")
    after = build(book)
    assert after.returncode == 0, after.stderr
    assert after.stdout.splitlines()[-1] == "built _build/html/index.html"
    assert state(book) == default
    assert json.loads((book / "_build" / ".stamps" / "b.done").read_text())["parameters"] == {"alpha": 0.05}
