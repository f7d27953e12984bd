"""Command line: ``python -m reanalysis COMMAND`` (``--help`` lists every command)."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import signal
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

from . import buildstate, warm
from . import params as P
from .errors import Interrupted, ParameterError, ReanalysisError

SPECIAL_PATIENT_DATA = ("synthetic", "none", "")


def _absolute_paths(values: dict) -> dict:
    """A ``patient_data`` folder relative to where the command runs, made absolute (the kernel
    runs elsewhere, in book/chapters/)."""
    folder = values.get("patient_data")
    if isinstance(folder, str) and folder not in SPECIAL_PATIENT_DATA:
        values["patient_data"] = str(Path(folder).expanduser().resolve())
    return values


def _chapter_overrides(items: list[str]) -> dict[str, dict[str, str]]:
    """``["li2022.criterion=RECIST"]`` → ``{"li2022": {"criterion": "RECIST"}}``."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for name, value in P.parse_assignments(items).items():
        chapter, dot, param = name.partition(".")
        if not dot or not param:
            raise ParameterError(f"command line: expected CHAPTER.NAME=VALUE, got '{name}={value}'")
        out[chapter][param] = value
    return {chapter: _absolute_paths(values) for chapter, values in out.items()}


def cmd_build(args: argparse.Namespace) -> None:
    from . import manifest

    overrides = _chapter_overrides(args.param)
    started = manifest.hashes()  # the inputs as this build finds them (recorded with its outputs)
    if not args.force and manifest.unchanged(overrides, started):
        print("nothing changed: _build/html/index.html is up to date")
        return
    profile = Path(args.profile) if args.profile else None
    local = profile is None and not args.cold_start
    # the zygote first (reanalysis.warm): it imports the stack while this process imports the
    # pipeline and checks what changed
    with _says_what_changed(), warm.starting_zygote() if local else contextlib.nullcontext(dict) as zygote:
        _build(overrides, started, args.jobs, args.verbose, profile, local, zygote)


@contextlib.contextmanager
def _says_what_changed() -> Iterator[None]:
    """Ctrl-C or SIGTERM during a build: an :class:`Interrupted` that says what the run changed."""
    before = buildstate.snapshot()
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(buildstate.describe_change(before, buildstate.snapshot())) from None


def _build(
    overrides: dict,
    started: dict[str, str],
    jobs: int | None,
    verbose: bool,
    profile: Path | None,
    local: bool,
    zygote: Callable[[], dict[str, str]],
) -> None:
    """The workflow, then the record of what it read (``started``: the inputs' hashes as the
    build found them) and wrote."""
    from . import manifest
    from .pipeline import run_workflow

    with _says_what_changed():
        run_workflow(
            overrides, jobs=jobs, quiet=not verbose, profile=profile, warm_start=local, zygote=zygote
        )
    moved = manifest.record(overrides, started)  # after the build: executed notebooks are inputs too
    if moved:  # a chapter may have read it before the edit, its stamp written after: not "built"
        from .chapter_inputs import forget_stamps

        forget_stamps()
        more = f" and {len(moved) - 1} more file(s)" if len(moved) > 1 else ""
        print(
            f"{moved[0]}{more} changed while this build ran: the next build checks every chapter "
            "against its inputs again (and runs those that read them)"
        )
    print("built _build/html/index.html")


# inputs whose change makes what a zygote imported stale (the package, the site's extensions,
# the pinned libraries): `watch` starts a new zygote for the next build
CODE_INPUTS = ("reanalysis/", "book/_ext/", "requirements.txt")
MAX_INTERVAL_S = 3600.0  # `watch --interval`: looking less often than hourly is not watching


def cmd_watch(args: argparse.Namespace) -> None:
    """Build, then build again each time an input changes, until Ctrl-C. One zygote serves
    every build while the package's code stays the same (a build otherwise starts its own: ~3.4 s
    of CPU importing the stack, at the start of every build). A build that fails is tried again
    only once its inputs change again."""
    from . import manifest

    overrides = _chapter_overrides(args.param)
    if not 0 < args.interval <= MAX_INTERVAL_S:
        raise ParameterError(
            f"--interval {args.interval:g}: must be more than 0 and at most {MAX_INTERVAL_S:g} seconds"
        )
    if args.jobs is not None and args.jobs < 1:
        raise ParameterError(f"--jobs {args.jobs}: must be at least 1")
    from .pipeline import all_parameters

    all_parameters(overrides)  # a bad parameter stops here; a change of the data cannot mend it
    failed = ""  # the inputs (digest) of the last build that failed
    said = False  # "watching" said since the last build
    code: list[tuple[str, str]] = []  # the code the zygote imported
    with contextlib.ExitStack() as zygote_running:
        zygote = None
        try:
            while True:
                files = manifest.hashes()
                now = sorted((rel, sha) for rel, sha in files.items() if rel.startswith(CODE_INPUTS))
                if zygote is not None and now != code:
                    print("the package changed: starting a new zygote", flush=True)
                    zygote_running.close()
                    zygote = None
                if zygote is None:
                    zygote, code = zygote_running.enter_context(warm.starting_zygote()), now
                inputs = manifest.digest(overrides, files)
                if manifest.unchanged(overrides, files) or inputs == failed:
                    if not said:
                        print("nothing changed: _build/html/index.html is up to date")
                else:
                    try:
                        _build(overrides, files, args.jobs, args.verbose, None, True, zygote)
                    except Interrupted:
                        raise
                    except ReanalysisError as exc:  # bad data or a failed chapter: say so, then wait
                        print(f"error: {exc}", file=sys.stderr, flush=True)
                        failed = inputs
                    said = False
                if not said:
                    print(f"watching for changes (every {args.interval:g} s; Ctrl-C stops)", flush=True)
                    said = True
                time.sleep(args.interval)
        except KeyboardInterrupt:  # between builds: nothing was half done
            print("stopped watching")


def cmd_execute(args: argparse.Namespace) -> None:
    from .pipeline import execute_chapter, resolve_parameters

    overrides: dict = {}
    if args.params_file:  # the workflow's: every chapter's parameters (pipeline.write_parameters)
        every = json.loads(Path(args.params_file).read_text(encoding="utf-8"))
        if args.chapter not in every:
            raise ParameterError(
                f"--params-file {args.params_file}: no parameters for chapter '{args.chapter}'"
            )
        overrides = dict(every[args.chapter])
    overrides.update(P.parse_assignments(args.param))
    _absolute_paths(overrides)
    values = resolve_parameters(args.chapter, overrides)  # a bad parameter says so, even while a build runs
    start = time.perf_counter()
    progress = args.progress or sys.stderr.isatty()  # papermill's cell bar, on a terminal
    into_book = args.output is None  # the book's notebook: hold the book, as build and site do
    with buildstate.book_lock() if into_book else contextlib.nullcontext():
        # what this step can change: its own notebook (others may be replaced by other jobs meanwhile)
        before, written = buildstate.snapshot([args.chapter]), _file_hash(args.output)
        stamp = Path(args.stamp) if args.stamp and into_book else None
        if stamp is not None:  # in the workflow: a chapter whose inputs say nothing new is kept
            from . import chapter_inputs
            from .pipeline import EXECUTED, write_stamp

            inputs = chapter_inputs.current(args.chapter, values)
            notebook = EXECUTED / f"{args.chapter}.ipynb"
            if chapter_inputs.unchanged(stamp, inputs, notebook):
                write_stamp(stamp, notebook, values)
                print(f"kept {args.chapter} (what it reads says the same) -> {notebook}", flush=True)
                return
        try:
            out = execute_chapter(args.chapter, overrides, output=args.output, progress=progress)
            if args.stamp:  # the workflow's record of the notebook it wrote (pipeline.stale_chapters)
                from .pipeline import write_stamp

                write_stamp(Path(args.stamp), out, values)
                if stamp is not None:
                    chapter_inputs.remember(stamp, inputs, out)
                buildstate.record_seconds(args.chapter, time.perf_counter() - start)  # its priority next time
        except KeyboardInterrupt:
            if into_book:
                after = buildstate.snapshot([args.chapter])
                raise Interrupted(buildstate.describe_change(before, after)) from None
            done = "was written" if _file_hash(args.output) != written else "was not written"
            raise Interrupted(f"{args.output} {done}") from None
    print(f"executed {args.chapter} in {time.perf_counter() - start:.1f} s -> {out}", flush=True)


def _file_hash(path: str | None) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else ""
    except OSError:
        return ""


def cmd_site(args: argparse.Namespace) -> None:
    with buildstate.book_lock():  # before the heavy imports: a second run stops at once
        from .sitebuild import build_site

        before = buildstate.snapshot(())  # the site step replaces no notebook: only the site
        try:
            print(f"site -> {build_site()}")
            warm.remember_site_modules()  # what the next build's site zygote imports beforehand
        except KeyboardInterrupt:
            raise Interrupted(buildstate.describe_change(before, buildstate.snapshot(()))) from None


def cmd_validate(args: argparse.Namespace) -> None:
    from .data import list_studies, load_study, require_study_id, unknown_files
    from .schema import TABLE_ORDER
    from .sourcecheck import SOURCES_DIR, check_printed

    for sid in args.study:
        require_study_id(sid, "validate: study")
    sources = args.sources or SOURCES_DIR
    for sid in args.study or list_studies():
        study = load_study(sid)
        rows = sum(len(t) for t in study.tables.values())
        line = f"{sid}: ok ({rows} rows in {sum(1 for t in study.tables.values() if len(t))} tables)"
        checked, absent = check_printed(study, sources)
        if checked:
            line += f"; {checked} printed strings found in the source text"
        if absent:
            line += f"; source text not at hand ({', '.join(absent)} not in {sources}): not checked"
        print(line)
        for name in unknown_files(study.folder):
            print(
                f"warning: {sid}/{name}: not a file of the data format (study.yml, "
                f"{', '.join(f'{t}.csv' for t in TABLE_ORDER)}); it is neither read nor published",
                file=sys.stderr,
            )


def cmd_checks(args: argparse.Namespace) -> None:
    from .checks import flat, run_checks
    from .data import load_study, require_study_id

    require_study_id(args.study, "checks: study")
    values = P.validate(P.parse_assignments(args.param), P.CHECKS_PARAMS, where="checks")
    table = flat(run_checks(load_study(args.study), **values))
    if args.format == "markdown":
        print(table.to_markdown(index=False))
    else:
        table.to_csv(sys.stdout, index=False, lineterminator="\n")


def cmd_audit(args: argparse.Namespace) -> None:
    from .audit import audit_all, audit_table
    from .data import list_studies

    known = list_studies()
    for sid in args.study:
        if sid not in known:
            raise ParameterError(f"audit: unknown study '{sid}' (known: {', '.join(known)})")
    table = audit_table(audit_all(args.study or None))
    if args.format == "markdown":
        print(table.to_markdown(index=False))
    else:
        table.to_csv(sys.stdout, index=False, lineterminator="\n")


def cmd_results(args: argparse.Namespace) -> None:
    from .data import require_study_id
    from .results import write_results

    require_study_id(args.study, "results: study")
    print(f"results -> {write_results(args.study)}")


def cmd_new_study(args: argparse.Namespace) -> None:
    from .data import DATA_DIR, REPO_ROOT
    from .newstudy import new_study

    for line in new_study(args.study_id, DATA_DIR, REPO_ROOT):
        print(line)


def cmd_patient(args: argparse.Namespace) -> None:
    from .errors import DataError
    from .patient.schema import load_patient_data
    from .patient.tidy import analyse, warnings_for

    data = load_patient_data(args.folder)
    for warning in warnings_for(data):
        print(f"warning: {warning}", file=sys.stderr)
    if args.report:
        from .patient.folder_report import write_report

        print(f"report -> {write_report(args.folder, args.report, seed=args.seed)}")
        return
    try:
        table, notes = analyse(data, seed=args.seed)
    except ValueError as exc:  # e.g. a reference arm that is not in the data
        raise DataError(str(args.folder), str(exc)) from None
    if args.format == "markdown":
        labels = ", ".join(f"{data.label(a)} ({a})" for a in data.arms)
        print(
            f"Patient-level data from `{data.source}`: {len(data.adsl)} patients; arms {labels}; "
            f"reference arm {data.reference}\n"
        )
        print(table.to_markdown(index=False, floatfmt=".6g"))
        for note in notes:
            print(f"\n- {note}")
    else:
        table.to_csv(sys.stdout, index=False, lineterminator="\n", float_format="%.6g")
        for note in notes:
            print(f"note: {note}", file=sys.stderr)


def cmd_glossary(args: argparse.Namespace) -> None:
    """``python -m reanalysis glossary > book/glossary.md``: the page from its data."""
    from .glossary import markdown

    sys.stdout.write(markdown())


def cmd_params(args: argparse.Namespace) -> None:
    from .pipeline import chapter_specs, resolve_parameters

    values = resolve_parameters(args.chapter)
    for name, spec in chapter_specs(args.chapter).items():
        choices = f" [{', '.join(spec.choices)}]" if spec.choices else ""
        print(f"{name} = {values[name]!r} ({spec.type.__name__}{choices}): {spec.help}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reanalysis", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="execute changed chapters (Snakemake) and build the site")
    b.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="CHAPTER.NAME=VALUE",
        help="override a chapter parameter for this build, e.g. li2022.criterion=RECIST",
    )
    b.add_argument(
        "-j",
        "--jobs",
        type=int,
        help="chapters executed at once (Snakemake's --jobs; default 2, or the profile's)",
    )
    b.add_argument(
        "--profile",
        metavar="DIR",
        help="a Snakemake profile folder whose executor runs the chapters, e.g. profiles/slurm",
    )
    b.add_argument(
        "--cold-start",
        action="store_true",
        help="start every job and kernel as a fresh process (slower; by default they are forked "
        "from one process that has imported the stack, see reanalysis.warm)",
    )
    b.add_argument("-v", "--verbose", action="store_true")
    b.add_argument("--force", action="store_true", help="run the workflow even if no input changed")
    b.set_defaults(func=cmd_build)

    w = sub.add_parser("watch", help="build, then build again each time the data or the book changes")
    w.add_argument(
        "-p", "--param", action="append", default=[], metavar="CHAPTER.NAME=VALUE", help="as for build"
    )
    w.add_argument("-j", "--jobs", type=int, help="as for build")
    w.add_argument(
        "--interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how often to look for changes (default 1)",
    )
    w.add_argument("-v", "--verbose", action="store_true")
    w.set_defaults(func=cmd_watch)

    e = sub.add_parser("execute", help="execute one chapter with papermill")
    e.add_argument("chapter")
    e.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE")
    e.add_argument("--params-file", help=argparse.SUPPRESS)
    e.add_argument("--stamp", help=argparse.SUPPRESS)
    e.add_argument("-o", "--output", help="write here instead of book/chapters/CHAPTER.ipynb")
    e.add_argument("--progress", action="store_true", help="cell progress bar (default: on a terminal)")
    e.set_defaults(func=cmd_execute)

    s = sub.add_parser("site", help="build _build/html from the executed chapters")
    s.set_defaults(func=cmd_site)

    v = sub.add_parser("validate", help="load and validate extracted data")
    v.add_argument("study", nargs="*")
    v.add_argument(
        "--sources",
        metavar="DIR",
        help="folder of the source texts the printed strings must occur in (default ../shared/seeds)",
    )
    v.set_defaults(func=cmd_validate)

    c = sub.add_parser("checks", help="printed vs recomputed values of one study (CSV to stdout)")
    c.add_argument("study")
    c.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"one of {', '.join(P.CHECKS_PARAMS)} (the parameters the checks use)",
    )
    c.add_argument("--format", choices=("csv", "markdown"), default="csv")
    c.set_defaults(func=cmd_checks)

    au = sub.add_parser("audit", help="every check over every study (CSV to stdout)")
    au.add_argument("--study", action="append", default=[], help="limit to a study (repeatable)")
    au.add_argument("--format", choices=("csv", "markdown"), default="csv")
    au.set_defaults(func=cmd_audit)

    r = sub.add_parser("results", help=argparse.SUPPRESS)  # the workflow's per-study artefact
    r.add_argument("study")
    r.set_defaults(func=cmd_results)

    from .reconstruct_cli import add_cli as add_reconstruct

    add_reconstruct(sub)

    pa = sub.add_parser("params", help="list the parameters a chapter takes, with their values")
    pa.add_argument("chapter")
    pa.set_defaults(func=cmd_params)

    pt = sub.add_parser(
        "patient",
        help="patient-level analyses of a folder of ADaM-style CSVs, no study needed (CSV to stdout)",
    )
    pt.add_argument("folder", help="adsl.csv + adtte.csv (+ adrs.csv, adae.csv, patient.yml)")
    pt.add_argument("--format", choices=("csv", "markdown"), default="csv")
    pt.add_argument("--seed", type=int, default=0, help="propensity-score matching order")
    pt.add_argument(
        "--report",
        metavar="OUT.ipynb|OUT.html",
        help="execute the patient sections into a notebook, or a standalone HTML page, instead",
    )
    pt.set_defaults(func=cmd_patient)

    gl = sub.add_parser(
        "glossary", help="the glossary page, from reanalysis/rules/glossary.yml (Markdown to stdout)"
    )
    gl.set_defaults(func=cmd_glossary)

    ns = sub.add_parser(
        "new-study",
        help="scaffold data/ID (when absent) or register it as a chapter (chapters.yml, _toc.yml)",
    )
    ns.add_argument("study_id", metavar="ID", help="the study's id: lower-case letters, digits, _")
    ns.set_defaults(func=cmd_new_study)

    args = parser.parse_args(argv)
    stopped_by: list[int] = []
    with _stop_signals_interrupt(stopped_by):
        return _run(args, stopped_by)


@contextlib.contextmanager
def _stop_signals_interrupt(stopped_by: list[int]) -> Iterator[None]:
    """SIGTERM (``timeout``, a cancelled job, a build stopping its steps) interrupts like Ctrl-C,
    so temporary files are cleaned up and the message says what changed; the signal is kept
    for the exit code (128 + signal)."""

    def interrupt(signum: int, _frame: object) -> None:
        stopped_by.append(signum)
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (a test calling main): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace, stopped_by: list[int]) -> int:
    """Run the command; every failure the user can fix is one ``error:`` line and exit 2."""
    try:
        args.func(args)
    except Interrupted as exc:
        print(f"interrupted: {exc}", file=sys.stderr)
        return 128 + (stopped_by[0] if stopped_by else signal.SIGINT)
    except ReanalysisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `... reconstruct | head`: the reader left, not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # a read-only _build, a full disk, a folder given as a file: no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a command that writes the book says what changed (Interrupted)
        print("interrupted", file=sys.stderr)
        return 128 + (stopped_by[0] if stopped_by else signal.SIGINT)
    return 0
