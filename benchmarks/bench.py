"""Wall-time benchmark of the book's workflow against a plain ``jupyter-book build`` (a script, not a test).

Everything runs on a private copy of the repository (the files git tracks plus new files it does
not ignore, taken from the working tree, so uncommitted edits count) in a temporary folder that is
removed at the end;
this checkout's ``_build/`` and ``.snakemake/`` are never touched. Each run times, in order:

1. cold build: ``python -m reanalysis build`` with no ``_build/`` and no ``.snakemake/``;
2. no-change rebuild: the same command again;
3. one chapter, one parameter changed: ``build -p li2022.criterion=RECIST`` (then an untimed
   build with the defaults to restore);
4. one data file changed: ``data/li2022/study.yml`` with an extra trailing comment line (the
   build hashes content, so the change must be a real one), then restored and rebuilt untimed;
5. the chapter's own execution, for scale: ``python -m reanalysis execute li2022 -o <tmp>``;
6. the same book built by plain ``jupyter-book build`` with ``execute_notebooks: force`` (serial
   execution inside Sphinx, no cell timeout) into a separate output folder.

Prints the machine facts, a Markdown table of medians and runs, and the targets of issues 7 and 17 with
pass/fail. Run: ``make bench`` or ``.venv/bin/python benchmarks/bench.py --runs 3 --date 2026-11-24``.
A failing step stops the benchmark with the tail of its output and a non-zero exit.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
JUPYTER_BOOK = str(Path(sys.executable).with_name("jupyter-book"))
CHAPTER = "li2022"
PARAMETER = f"{CHAPTER}.criterion=RECIST"
DATA_FILE = Path("data") / CHAPTER / "study.yml"
FORCE_EXECUTE = "execute:\n  execute_notebooks: force\n  timeout: -1\n\n"

STEPS = {
    "cold": "cold build (no `_build/`, no `.snakemake/`)",
    "no-change": "no-change rebuild",
    "parameter": f"one chapter, one parameter changed (`-p {PARAMETER}`)",
    "data": f"one data file changed (`{DATA_FILE.as_posix()}` + a comment line)",
    "execute": f"the chapter's own execution (`execute {CHAPTER}`)",
    "force": "plain `jupyter-book build`, `execute_notebooks: force`",
}


class StepFailed(Exception):
    """A benchmarked command exited non-zero."""


def start(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    """``cmd`` with both output streams on one pipe, in a process group of its own, so that
    :func:`stop` stops it and its children."""
    return subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM to ``proc``'s process group (a build cleans up, a watch stops); SIGKILL after
    ``grace`` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    """Run ``cmd`` with output captured; return (wall seconds, output). Non-zero exit → StepFailed.

    The command gets its own process group, so an interrupted benchmark stops it and its children.
    """
    began = time.perf_counter()
    proc = start(cmd, cwd, env)
    try:
        output, _ = proc.communicate()
    except BaseException:
        stop(proc)
        raise
    elapsed = time.perf_counter() - began
    if proc.returncode != 0:
        tail = "\n".join(output.splitlines()[-40:])
        raise StepFailed(
            f"`{' '.join(cmd)}` exited with {proc.returncode}; last lines of its output:\n{tail}"
        )
    return elapsed, output


def copy_repository(src: Path, dst: Path) -> int:
    """Copy what git would commit, as it is in the working tree, from ``src`` into ``dst``: tracked
    files (with their uncommitted edits) and new files git does not ignore (a new module that edited
    code imports), never ``.venv/``, ``_build/`` or anything else ignored."""
    listing = subprocess.run(
        ["git", "-C", str(src), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout
    copied = 0
    for name in sorted(set(filter(None, os.fsdecode(listing).split("\0")))):
        source = src / name
        if name.startswith(".venv/") or not (source.is_file() or source.is_symlink()):
            continue  # deleted in the working tree (or a submodule)
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dst / name, follow_symlinks=False)
        copied += 1
    return copied


def force_config(text: str) -> str:
    """``_config.yml`` with its ``execute:`` block replaced by forced execution without timeout."""
    new, count = re.subn(r"^execute:\n(?:[ \t]+.*\n|[ \t]*\n)*", FORCE_EXECUTE, text, flags=re.MULTILINE)
    if count != 1:
        raise StepFailed("_config.yml: expected exactly one top-level `execute:` block")
    return new


KEPT_RE = re.compile(r"^kept (\S+) \(", re.MULTILINE)  # a chapter whose inputs said nothing new


def stamps(book: Path) -> dict[str, int]:
    """Chapter → mtime of its workflow stamp (touched whenever the chapter is executed or kept)."""
    return {
        p.stem: p.stat().st_mtime_ns for p in (book / "_build" / ".stamps").glob("*.done") if p.stem != "site"
    }


def fmt(seconds: float) -> str:
    return f"{seconds:.2f}" if seconds < 10 else f"{seconds:.1f}"


def bench_once(book: Path, tmp: Path, env: dict[str, str]) -> tuple[dict[str, float], dict[str, str], str]:
    """One run of every step: seconds per step, what each step executed, jupyter-book's output."""
    seconds: dict[str, float] = {}
    executed: dict[str, str] = {}
    build = [PY, "-m", "reanalysis", "build"]

    def timed_build(step: str, cmd: list[str]) -> None:
        before = stamps(book)
        seconds[step], out = run(cmd, book, env)
        after = stamps(book)
        kept = sorted(KEPT_RE.findall(out))
        names = sorted(c for c in after if before.get(c) != after[c] and c not in kept)
        executed[step] = f"all {len(names)} chapters" if not before else (", ".join(names) or "nothing")
        if kept:
            executed[step] += f"; kept: {', '.join(kept)}"
        print(f"  {step}: {fmt(seconds[step])} s ({executed[step]})", file=sys.stderr)

    shutil.rmtree(book / "_build", ignore_errors=True)
    shutil.rmtree(book / ".snakemake", ignore_errors=True)
    timed_build("cold", build)
    timed_build("no-change", build)
    timed_build("parameter", [*build, "-p", PARAMETER])
    run(build, book, env)  # back to the default parameters (re-executes the chapter), untimed

    data_file = book / DATA_FILE
    original = data_file.read_bytes()
    data_file.write_bytes(original + (b"" if original.endswith(b"\n") else b"\n") + b"# bench\n")
    timed_build("data", build)
    data_file.write_bytes(original)
    run(build, book, env)  # restored data, untimed

    seconds["execute"], _ = run(
        [PY, "-m", "reanalysis", "execute", CHAPTER, "-o", str(tmp / "x.ipynb")], book, env
    )
    executed["execute"] = f"{CHAPTER} (papermill)"
    print(f"  execute: {fmt(seconds['execute'])} s", file=sys.stderr)

    config = book / "_config.yml"
    default_config = config.read_text(encoding="utf-8")
    config.write_text(force_config(default_config), encoding="utf-8")
    shutil.rmtree(book / "_build", ignore_errors=True)
    shutil.rmtree(tmp / "force", ignore_errors=True)
    try:
        seconds["force"], output = run(
            [JUPYTER_BOOK, "build", str(book), "--path-output", str(tmp / "force")], book, env
        )
    finally:
        config.write_text(default_config, encoding="utf-8")
    if not (tmp / "force" / "_build" / "html" / "index.html").is_file():
        raise StepFailed("plain jupyter-book build exited 0 but wrote no index.html")
    executed["force"] = f"all {len(list((book / 'book' / 'chapters').glob('*.ipynb')))} chapters, serially"
    print(f"  force: {fmt(seconds['force'])} s", file=sys.stderr)
    return seconds, executed, output.replace(str(tmp), "<tmp>")


def report(
    args: argparse.Namespace, runs: dict[str, list[float]], executed: dict[str, str], jb_out: str
) -> None:
    """Machine facts, the Markdown table, the targets with pass/fail, jupyter-book's warnings."""
    tools = ", ".join(f"{p} {version(p)}" for p in ("jupyter-book", "snakemake", "papermill"))
    print(f"date: {args.date or 'not given'}; nproc: {len(os.sched_getaffinity(0))}; ", end="")
    print(f"Python {platform.python_version()}; {tools}\n")
    print(f"| step | median of {args.runs} (s) | runs (s) | executed (last run) |\n|---|---|---|---|")
    median = {step: statistics.median(xs) for step, xs in runs.items()}
    for step, label in STEPS.items():
        print(
            f"| {label} | {fmt(median[step])} | {', '.join(fmt(x) for x in runs[step])} | {executed[step]} |"
        )

    cold_ratio = median["cold"] / median["force"]
    rerun_ratio = median["parameter"] / median["execute"]
    overhead = median["parameter"] - median["execute"]
    targets = [
        ("issue 7: cold build ≤ 0.5 × plain force build", f"{cold_ratio:.2f} ×", cold_ratio <= 0.5),
        ("issue 17: cold build ≤ 0.45 × plain force build", f"{cold_ratio:.2f} ×", cold_ratio <= 0.45),
        ("issue 7: no-change rebuild < 1.5 s", f"{fmt(median['no-change'])} s", median["no-change"] < 1.5),
        ("issue 17: no-change rebuild < 0.2 s", f"{fmt(median['no-change'])} s", median["no-change"] < 0.2),
        (
            "issue 7: one-chapter re-run not much more than the chapter's own execution "
            "(≤ 1.5 × or overhead ≤ 15 s)",
            f"{rerun_ratio:.2f} ×, overhead {overhead:.1f} s",
            rerun_ratio <= 1.5 or overhead <= 15,
        ),
    ]
    print("\nTargets (issues 7 and 17), on the medians:\n\n| target | measured | result |\n|---|---|---|")
    for target, measured, ok in targets:
        print(f"| {target} | {measured} | {'pass' if ok else 'FAIL'} |")

    warnings = [line for line in jb_out.splitlines() if "WARNING" in line]
    print(f"\nPlain jupyter-book build (last run): {len(warnings)} warning line(s)")
    for line in warnings[:10]:
        print(f"    {line}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of every step (medians are reported)")
    parser.add_argument("--date", help="date to print with the results (nothing else is timestamped)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    tmp = Path(tempfile.mkdtemp(prefix="bench-book-"))
    try:
        book = tmp / "book"
        files = copy_repository(ROOT, book)
        env = dict(os.environ)
        for name in [n for n in env if n.startswith("REANALYSIS_")]:
            del env[name]  # e.g. REANALYSIS_DATA: the copy reads its own data/, nothing else
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(book), env.get("PYTHONPATH")]))
        # kernels run in book/chapters: they must import the copy's package, not the editable install's
        _, where = run(
            [PY, "-c", "import reanalysis; print(reanalysis.__file__)"], book / "book" / "chapters", env
        )
        if not Path(where.strip()).is_relative_to(book):
            raise StepFailed(f"the copy's kernels would import reanalysis from {where.strip()}")
        print(f"copied {files} files to a private copy; {args.runs} run(s)", file=sys.stderr)

        runs: dict[str, list[float]] = {step: [] for step in STEPS}
        for i in range(args.runs):
            print(f"run {i + 1}/{args.runs}", file=sys.stderr)
            seconds, executed, jb_out = bench_once(book, tmp, env)
            for step, s in seconds.items():
                runs[step].append(s)
        report(args, runs, executed, jb_out)
        return 0
    except StepFailed as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
