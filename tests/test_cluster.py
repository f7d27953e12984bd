"""The book's workflow on a (stand-in) cluster: the same Snakefile through Snakemake's
cluster-generic executor plugin, with ``profiles/local-cluster`` submitting each job as a
background process and reporting its status; and ``build --jobs/--profile`` passed through.

The end-to-end test runs in a private copy of the repository (the files git would commit) and
executes one chapter (the shortest: an abstract) and its study's results artefact, so it stays
well under a minute."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reanalysis import buildstate, manifest, pipeline, warm

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = "multicentre2026"  # an abstract: the shortest study chapter
PROFILE = "profiles/local-cluster"


def _copy_repository(dst: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "bench.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.copy_repository(ROOT, dst)


def test_a_chapter_runs_through_the_cluster_generic_executor(tmp_path):
    book = tmp_path / "book"
    _copy_repository(book)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REANALYSIS_")}
    env["PYTHONPATH"] = str(book)  # the copy's package, in the workflow and in every job
    target = f"_build/.stamps/{CHAPTER}.done"
    code = (
        "from pathlib import Path; from reanalysis.pipeline import run_workflow; "
        f"run_workflow(profile=Path({PROFILE!r}), targets=[{target!r}])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=book, env=env, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # both jobs (the study's results artefact, then its chapter, which renders it) went through
    # the stand-in queue (submit.sh), and status.sh saw them succeed
    queue = book / ".snakemake" / "local-cluster"
    exits = sorted(queue.glob("job-*.exit"))
    assert len(exits) == 2 and all(e.read_text().strip() == "0" for e in exits)
    logs = "".join(e.with_suffix(".log").read_text() for e in exits)
    assert f"executed {CHAPTER}" in logs and "results -> " in logs
    assert (book / "_build" / "results" / CHAPTER / "checks.json").is_file()
    notebook = book / "book" / "chapters" / f"{CHAPTER}.ipynb"
    assert pipeline.read_stamp(book / target).notebook == pipeline.notebook_hash(notebook)
    # and how long it took, which orders the chapters of the next build (longest first)
    assert 0 < float((book / "_build" / ".stamps" / "seconds" / CHAPTER).read_text()) < 240
    # the executed chapter is the one the book stores: nothing of the job's node leaks into it
    assert notebook.read_text() == (ROOT / "book" / "chapters" / f"{CHAPTER}.ipynb").read_text()


def test_status_script_reports_running_success_failed(tmp_path):
    status = ROOT / PROFILE / "status.sh"
    queue = tmp_path / ".snakemake" / "local-cluster"
    queue.mkdir(parents=True)

    def ask(job: str) -> str:
        return subprocess.run(
            ["bash", str(status), job], cwd=tmp_path, capture_output=True, text=True, check=True
        ).stdout.strip()

    (queue / "job-a").write_text("script\n")
    assert ask("job-a") == "running"
    (queue / "job-a.exit").write_text("0\n")
    assert ask("job-a") == "success"
    (queue / "job-a.exit").write_text("1\n")
    assert ask("job-a") == "failed"
    assert ask("job-never-submitted") == "failed"


def _snakemake_command(monkeypatch, build: Path, **kwargs) -> list[str]:
    seen: list[list[str]] = []

    def run(cmd: list[str], quiet: bool, env: dict[str, str] | None = None, **kw: object) -> int:
        seen.append(cmd)
        zygote = (env or {}).get(warm.ENV)
        if zygote:  # the jobs of this workflow would find it at once
            assert Path(zygote).exists()
        warm_seen.append(bool(zygote))
        return 0

    warm_seen: list[bool] = []
    monkeypatch.setattr(pipeline, "_run_with_progress", run)
    # the lock, stamps and manifest of a throwaway build folder, not the book's
    monkeypatch.setattr(pipeline, "BUILD", build)
    monkeypatch.setattr(buildstate, "BUILD", build)
    monkeypatch.setattr(buildstate, "LOCK", build / ".build.lock")
    monkeypatch.setattr(manifest, "STAMP", build / ".stamps" / "manifest")
    pipeline.run_workflow(**kwargs)
    assert warm.ENV not in os.environ  # only the workflow's jobs see the zygote
    # a local workflow's jobs are forked from a zygote; a profile's may run on other machines
    assert warm_seen == [kwargs.get("profile") is None and kwargs.get("warm_start", True)]
    return seen[0]


def test_jobs_and_profile_pass_through_to_snakemake(monkeypatch, tmp_path):
    cmd = _snakemake_command(monkeypatch, tmp_path, jobs=8, profile=ROOT / PROFILE)
    assert cmd[cmd.index("--jobs") + 1] == "8"
    assert Path(cmd[cmd.index("--profile") + 1]) == (ROOT / PROFILE).resolve()
    # without --jobs the profile's own `jobs` holds; locally the default is one chapter per core
    assert "--jobs" not in _snakemake_command(monkeypatch, tmp_path, profile=ROOT / PROFILE)
    local = _snakemake_command(monkeypatch, tmp_path)
    assert local[local.index("--jobs") + 1] == str(pipeline.DEFAULT_JOBS) and "--profile" not in local
    # a local build runs Snakemake without its job-rate limiter; a cluster's profile keeps it
    assert pipeline.UNLIMITED in local and pipeline.UNLIMITED not in cmd
    assert _snakemake_command(monkeypatch, tmp_path, warm_start=False) == local  # --cold-start
    # targets end the command, and nothing else is asked for: no --prioritize (which would take
    # them as its own values, and builds what it names): the order of jobs is the Snakefile's
    # rule priorities (the studies' results, then the chapters that wait for nothing)
    target = "_build/.stamps/li2022.done"
    targeted = _snakemake_command(monkeypatch, tmp_path, targets=[target])
    assert targeted[-1] == target and "--prioritize" not in targeted


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["build", "--profile", "no/such/profile"], "--profile no/such/profile: no config.yaml"),
        (["build", "--jobs", "0"], "--jobs 0: must be at least 1"),
    ],
)
def test_bad_build_options_stop_with_a_message(argv, message, capsys, monkeypatch):
    from reanalysis import cli, manifest

    monkeypatch.setattr(manifest, "unchanged", lambda overrides, files=None: False)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_slurm_profile_is_documented():
    config = (ROOT / "profiles" / "slurm" / "config.yaml").read_text()
    assert "executor: slurm" in config
    assert "profiles/slurm" in (ROOT / "README.md").read_text()


_TIMERS = """
import sys, threading
from reanalysis import warm
from reanalysis.pipeline import UNLIMITED, snakemake_main
from snakemake.cli import main
def end(status):  # snakemake_main ends its process at once (warm.finish): here, to look after it
    raise SystemExit(status)
warm.finish = end
started = []
class Counted(threading.Timer):
    def start(self):
        started.append(self)
        super().start()
threading.Timer = Counted
runner, *flag = sys.argv[1:]
run = snakemake_main if runner == "ours" else main
try:
    args = ["--snakefile", "Snakefile", "--directory", ".", "--jobs", "1", "--quiet", "all"]
    run([UNLIMITED, *args] if flag else args)
except SystemExit as exc:
    assert exc.code == 0, exc.code
print(len(started), sum(not t.finished.is_set() for t in started))
"""


@pytest.mark.parametrize(
    ("argv", "timers"),
    [(["ours", "unlimited"], "0 0"), (["ours"], "1 0"), (["snakemake"], "1 1")],
)
def test_the_workflow_leaves_no_timer_to_wait_for(tmp_path, argv, timers):
    """Snakemake's job-rate limiter starts a 1-s timer on each pass of its scheduler, and the
    interpreter waits for the last one at exit. A local build's runner has no limiter (no timer
    at all); with one (a cluster's profile) ``snakemake_main`` cancels what is left. The control,
    Snakemake's own main, leaves its timer running."""
    (tmp_path / "Snakefile").write_text('rule all:\n    output: "done"\n    shell: "touch {output}"\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _TIMERS, *argv], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == timers


def test_the_workflow_reads_the_parameters_build_worked_out_or_works_them_out_itself(tmp_path):
    """``build`` resolves every chapter's parameters once and hands Snakemake the file (config
    ``parameters``): the Snakefile reads it instead of resolving them again on the way to the
    first job. Run directly, without it, the Snakefile resolves and writes them itself."""
    book = tmp_path / "book"
    _copy_repository(book)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REANALYSIS_")}
    env["PYTHONPATH"] = str(book)

    def dry_run(*config: str) -> str:
        args = [
            "--snakefile",
            "Snakefile",
            "--directory",
            ".",
            "--jobs",
            "1",
            "--dry-run",
            "--printshellcmds",
        ]
        proc = subprocess.run(
            [sys.executable, "-m", "reanalysis", pipeline.SNAKEMAKE_COMMAND, *args, "--config", *config],
            cwd=book, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return proc.stdout

    out = dry_run("overrides={}")
    written = book / "_build" / ".stamps" / "parameters.json"
    assert "--params-file _build/.stamps/parameters.json" in out
    code = "import json; from reanalysis.pipeline import all_parameters; print(json.dumps(all_parameters()))"
    resolved = subprocess.run([sys.executable, "-c", code], cwd=book, env=env, capture_output=True, text=True)
    assert json.loads(written.read_text(encoding="utf-8")) == json.loads(resolved.stdout)
    # given build's file, the Snakefile takes it as it is: its chapters read that file
    given = book / "_build" / "given.json"
    given.write_text(written.read_text(encoding="utf-8"), encoding="utf-8")
    written.unlink()
    out = dry_run("overrides={}", "parameters=_build/given.json")
    assert "--params-file _build/given.json" in out and not written.exists()
