"""How the book's build grows with the number of studies (a script, not a test).

For each N of ``--studies`` (default 4 16 64) it makes a private copy of the repository (as
``bench.py`` does; this checkout is never touched) and gives it N studies: the existing ones,
then copies of them under new ids (``<study>_s<k>``) with a new short title and each printed
arm size raised by 0–3 patients (every count stays at most its arm's size, so the data stay
valid; the checks then find the printed percentages inconsistent, which costs the same work).
The copies are registered as chapters (``new-study``) and ``validate`` must pass. It then times:

1. cold build: ``python -m reanalysis build`` with no ``_build/`` and no ``.snakemake/``;
2. no-change rebuild: the same command again;
3. one-study edit: a comment line added to one generated study's ``study.yml`` (with no copies,
   to the first study no other chapter is built on: :func:`edit_target`), then a build;
   ``--edits`` times in a row (default 3), each a new line: their median. Every chapter that
   reads the study re-runs, but every number, table and figure comes out as before;
4. one-number edit: the same study's first arm gets one more patient (:func:`one_more_patient`;
   without copies, the first such study that prints an arm's size), then a build, ``--edits``
   times: a correction of the extracted data, which changes that arm's percentages, the study's
   figures and the pooled estimates. A figure whose drawing is unchanged keeps its previous PNG
   (``reanalysis.downloads``): the comment edit shows the workflow's own cost, this one what a
   real correction costs;
5. one-number edit under ``watch``: ``python -m reanalysis watch`` runs (one zygote for all its
   builds, see ``reanalysis.warm``), and the same edit is made ``--edits`` times: the time from
   writing the file to the watch's ``built`` line, its look for changes (every second) included.

and reads each executed chapter's own time from the build's output. It prints a Markdown table:
per N the four wall times, what the edit re-ran and kept, the mean study chapter, each cross-study
chapter (overview, audit, synthesis), and the cost per added study (difference of cold builds
over the difference of N). Run: ``.venv/bin/python benchmarks/scale.py --studies 4 16``.
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import KEPT_RE, ROOT, StepFailed, copy_repository, fmt, run, start, stop  # noqa: E402

PY = sys.executable
CROSS_STUDY = ("overview", "audit", "synthesis")  # the chapters that read every study
OTHER_CHAPTERS = ("patient_demo", "validation")  # neither a study's chapter nor cross-study
MAX_EXTRA_PATIENTS = 3  # an arm's printed size is raised by 0..3: counts stay within it
EXECUTED_RE = re.compile(r"^executed (\S+) in ([\d.]+) s")
WATCH_STEP_S = 900.0  # the longest a watched build (or the watch's start) may take before it fails
ARM_N_RE = re.compile(r"(\{[^}]*\bn:\s*)(\d+)")


def perturbed(study_yml: str, new_id: str, k: int, rng: random.Random) -> str:
    """A copy's ``study.yml``: its new id, a title saying it is a copy, larger arm sizes."""
    text = re.sub(r"^id:.*$", f"id: {new_id}", study_yml, count=1, flags=re.MULTILINE)
    text = re.sub(
        r"^(short_title:\s*)(.*)$",
        lambda m: f"{m.group(1)}{m.group(2).strip().strip(chr(34))} (synthetic copy {k})",
        text,
        count=1,
        flags=re.MULTILINE,
    )
    lines = []
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("- {id:"):
            extra = rng.randint(0, MAX_EXTRA_PATIENTS)
            line = ARM_N_RE.sub(lambda m, e=extra: f"{m.group(1)}{int(m.group(2)) + e}", line)
        lines.append(line)
    return "".join(lines)


def make_studies(book: Path, n: int, env: dict[str, str]) -> list[str]:
    """Give the copy ``n`` studies (the existing ones first); returns the generated ids."""
    data = book / "data"
    originals = sorted(p.name for p in data.iterdir() if (p / "study.yml").is_file())
    if n < len(originals):
        raise StepFailed(f"--studies {n}: the book already has {len(originals)} studies")
    rng = random.Random(n)  # the same copies for the same N
    made = []
    for k in range(n - len(originals)):
        base = originals[k % len(originals)]
        new_id = f"{base}_s{k:03d}"
        shutil.copytree(data / base, data / new_id)
        yml = data / new_id / "study.yml"
        yml.write_text(perturbed(yml.read_text(encoding="utf-8"), new_id, k, rng), encoding="utf-8")
        made.append(new_id)
    if made:  # register them all in one process (chapters.yml, _toc.yml)
        code = (
            "from reanalysis.data import DATA_DIR, REPO_ROOT\n"
            "from reanalysis.newstudy import register\n"
            f"for s in {made!r}:\n    register(s, DATA_DIR, REPO_ROOT)\n"
        )
        run([PY, "-c", code], book, env)
    run([PY, "-m", "reanalysis", "validate"], book, env)  # the copies must be valid data
    return made


def one_more_patient(study_yml: str) -> str:
    """``study.yml`` with its first arm's printed size one larger (every count stays within it)."""
    lines = study_yml.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.lstrip().startswith("- {id:") and ARM_N_RE.search(line):
            lines[i] = ARM_N_RE.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + 1}", line, count=1)
            return "".join(lines)
    raise StepFailed("the edited study.yml lists no arm with a size to change")


def edit_target(book: Path, sized: bool = False) -> str:
    """The study the one-study edit changes when no copy was made: the first whose data no
    chapter but its own reads (besides the cross-study ones), as with every generated copy. A
    study another chapter is built on (the worked example's) re-runs that chapter too.
    ``sized``: the first such study that prints an arm's size (for :func:`one_more_patient`)."""
    import yaml

    chapters = yaml.safe_load((book / "book" / "chapters.yml").read_text(encoding="utf-8"))["chapters"]
    readers: dict[str, int] = {}
    for entry in chapters.values():
        study = (entry.get("parameters") or {}).get("study_id")
        if study:
            readers[study] = readers.get(study, 0) + 1
    alone = sorted(s for s, n in readers.items() if n == 1)
    if sized:
        alone = [s for s in alone if _has_arm_size(book / "data" / s / "study.yml")]
    if not alone:
        raise StepFailed("no study is read by its own chapter alone: nothing to edit")
    return alone[0]


def _has_arm_size(study_yml: Path) -> bool:
    lines = study_yml.read_text(encoding="utf-8").splitlines()
    return any(line.lstrip().startswith("- {id:") and ARM_N_RE.search(line) for line in lines)


def chapter_times(output: str) -> dict[str, float]:
    """Chapter → its own execution time, from the build's ``executed X in Y s`` lines."""
    return {m.group(1): float(m.group(2)) for line in output.splitlines() if (m := EXECUTED_RE.match(line))}


def watched_edits(book: Path, env: dict[str, str], jobs: int, yml: Path, n_edits: int) -> list[float]:
    """One-number edits of ``yml`` under a running ``watch``: for each, the seconds from writing
    the file to the watch's ``built`` line. The watch is stopped (SIGTERM, as Ctrl-C) after."""
    proc = start([PY, "-m", "reanalysis", "watch", "--jobs", str(jobs)], book, env)
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()

    def until(prefix: str) -> None:
        deadline = time.monotonic() + WATCH_STEP_S
        while True:
            try:
                line = lines.get(timeout=1.0)
            except queue.Empty:
                if proc.poll() is not None:
                    raise StepFailed(f"watch ended (status {proc.returncode}) before '{prefix}'") from None
                if time.monotonic() > deadline:
                    raise StepFailed(f"watch: no '{prefix}' within {WATCH_STEP_S:g} s") from None
                continue
            if line.startswith(("error:", "interrupted")):
                raise StepFailed(f"watch: {line.strip()}")
            if line.startswith(prefix):
                return

    try:
        until("watching for changes")
        took = []
        for _ in range(n_edits):
            yml.write_text(one_more_patient(yml.read_text(encoding="utf-8")), encoding="utf-8")
            written = time.perf_counter()
            until("built _build/html/index.html")
            took.append(time.perf_counter() - written)
            until("watching for changes")
        return took
    finally:
        stop(proc, grace=60.0)


def bench_n(n: int, jobs: int, n_edits: int) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix=f"scale-{n}-"))
    try:
        book = tmp / "book"
        copy_repository(ROOT, book)
        env = {k: v for k, v in os.environ.items() if not k.startswith("REANALYSIS_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(book), env.get("PYTHONPATH")]))
        made = make_studies(book, n, env)
        build = [PY, "-m", "reanalysis", "build", "--jobs", str(jobs)]
        shutil.rmtree(book / "_build", ignore_errors=True)
        shutil.rmtree(book / ".snakemake", ignore_errors=True)
        cold, out = run(build, book, env)
        times = chapter_times(out)
        print(f"  N={n} cold: {fmt(cold)} s ({len(times)} chapters)", file=sys.stderr)
        nochange, _ = run(build, book, env)
        print(f"  N={n} no-change: {fmt(nochange)} s", file=sys.stderr)
        edited = made[0] if made else edit_target(book)
        yml = book / "data" / edited / "study.yml"
        edits, own, rerun, kept = [], [], [], []
        for k in range(n_edits):  # one machine's speed varies by a third: the median of a few
            text = yml.read_text(encoding="utf-8") + f"# scale benchmark edit {k}\n"
            yml.write_text(text, encoding="utf-8")
            took, edit_out = run(build, book, env)
            rerun = sorted(chapter_times(edit_out))
            kept = sorted(KEPT_RE.findall(edit_out))
            edits.append(took)
            own.append(chapter_times(edit_out).get(edited, float("nan")))
            said = f"{', '.join(rerun)}; kept: {', '.join(kept) or 'none'}"
            print(f"  N={n} one-study edit: {fmt(took)} s ({said})", file=sys.stderr)
        sized = made[0] if made else edit_target(book, sized=True)  # a study that prints an arm's size
        sized_yml = book / "data" / sized / "study.yml"
        value_edits, value_own = [], []
        for _ in range(n_edits):
            sized_yml.write_text(one_more_patient(sized_yml.read_text(encoding="utf-8")), encoding="utf-8")
            took, edit_out = run(build, book, env)
            value_edits.append(took)
            value_own.append(chapter_times(edit_out).get(sized, float("nan")))
            print(f"  N={n} one-number edit: {fmt(took)} s", file=sys.stderr)
        watched = watched_edits(book, env, jobs, sized_yml, n_edits)
        said = ", ".join(fmt(t) for t in watched)
        print(f"  N={n} one-number edits under watch: {said} s", file=sys.stderr)
        studies = [t for c, t in times.items() if c not in (*CROSS_STUDY, *OTHER_CHAPTERS)]
        return {
            "n": n,
            "cold": cold,
            "no-change": nochange,
            "edit": statistics.median(edits),
            "edits": edits,
            "edit chapter": statistics.median(own),
            "value edit": statistics.median(value_edits),
            "value edits": value_edits,
            "value edit chapter": statistics.median(value_own),
            "watched edit": statistics.median(watched),
            "watched edits": watched,
            "rerun": rerun,
            "kept": kept,
            "edited": edited,
            "study mean": statistics.mean(studies) if studies else float("nan"),
            **{c: times.get(c, float("nan")) for c in CROSS_STUDY},
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def report(rows: list[dict[str, object]], jobs: int) -> None:
    print(f"nproc: {len(os.sched_getaffinity(0))}; --jobs {jobs}\n")
    print(
        "| studies | cold build (s) | cost per added study (s) | no-change (s) | one-study edit, median (s) "
        "| the edits (s) | its chapter (s) | re-ran | one-number edit, median (s) | the edits (s) "
        "| its chapter (s) | under watch, median (s) | the edits (s) | study chapter, mean (s) "
        "| overview (s) | audit (s) | synthesis (s) |"
    )
    print("|---" * 17 + "|")
    prev = None
    for r in rows:
        per = "" if prev is None else fmt((r["cold"] - prev["cold"]) / (r["n"] - prev["n"]))
        rerun = r["rerun"]
        shown = [c if c != r["edited"] else "the edited study" for c in rerun]
        if r["kept"]:
            shown.append(f"kept: {', '.join(r['kept'])}")
        print(
            f"| {r['n']} | {fmt(r['cold'])} | {per} | {fmt(r['no-change'])} | {fmt(r['edit'])} "
            f"| {', '.join(fmt(e) for e in r['edits'])} | {fmt(r['edit chapter'])} | {', '.join(shown)} "
            f"| {fmt(r['value edit'])} | {', '.join(fmt(e) for e in r['value edits'])} "
            f"| {fmt(r['value edit chapter'])} | {fmt(r['watched edit'])} "
            f"| {', '.join(fmt(e) for e in r['watched edits'])} | {fmt(r['study mean'])} | "
            + " | ".join(fmt(r[c]) for c in CROSS_STUDY)
            + " |"
        )
        prev = r


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--studies", type=int, nargs="+", default=[4, 16, 64], metavar="N")
    parser.add_argument("--jobs", type=int, default=2, help="chapters at once (build --jobs)")
    parser.add_argument("--edits", type=int, default=3, help="one-study edits in a row (their median)")
    args = parser.parse_args()
    if any(n < 1 for n in args.studies) or args.jobs < 1 or args.edits < 1:
        parser.error("--studies, --jobs and --edits must be at least 1")
    try:
        rows = [bench_n(n, args.jobs, args.edits) for n in sorted(set(args.studies))]
    except StepFailed as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    report(rows, args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
