"""Careless use and the build machine (issue 16, medium items): published files are readable by
anyone, pages carry no date, a chapter notebook changed outside the build is noticed, a user's
patient-data folder is never stored, ``-o`` is checked.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from reanalysis import pipeline, sitebuild
from reanalysis.data import REPO_ROOT
from reanalysis.errors import ParameterError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_published_folders_are_world_readable_whatever_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        root = tmp_path / "site"
        (root / "downloads" / "li2022").mkdir(parents=True)
        (root / "downloads" / "li2022" / "t.csv").write_text("x\n", encoding="utf-8")
        (root / "index.html").write_text("<p>", encoding="utf-8")
    finally:
        os.umask(old)
    assert _mode(root / "index.html") == 0o600, "the test starts from private files"
    pipeline.publishable(root)
    assert {_mode(p) for p in [root, *root.rglob("*")] if p.is_dir()} == {0o755}
    assert {_mode(p) for p in root.rglob("*") if p.is_file()} == {0o644}


def test_pages_carry_no_date():
    """``html_last_updated_fmt`` (even "") puts "Last updated on <date>" on every page."""
    config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert "html_last_updated_fmt" not in (config.get("sphinx", {}).get("config") or {})


def test_a_notebook_changed_outside_the_build_is_re_executed(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "EXECUTED", tmp_path / "chapters")
    monkeypatch.setattr(pipeline, "BUILD", tmp_path / "_build")
    monkeypatch.setattr(pipeline, "load_chapters", lambda: {"a": {}, "b": {}, "c": {}})
    (tmp_path / "chapters").mkdir()
    for chapter in ("a", "b"):
        nb = tmp_path / "chapters" / f"{chapter}.ipynb"
        nb.write_text(f"{chapter} as the workflow wrote it", encoding="utf-8")
        pipeline.write_stamp(tmp_path / "_build" / ".stamps" / f"{chapter}.done", nb)
    assert pipeline.edited_chapters() == []
    (tmp_path / "chapters" / "b.ipynb").write_text("b with criterion=RECIST", encoding="utf-8")
    assert pipeline.edited_chapters() == ["b"]  # c has no stamp: Snakemake runs it anyway


def test_a_stamp_from_the_workflow_is_written_by_execute():
    snakefile = (REPO_ROOT / "Snakefile").read_text(encoding="utf-8")
    assert "--stamp {output}" in snakefile


def test_the_patient_folder_is_replaced_by_a_label():
    folder = "/home/alice/cohorts/hospital-x"
    stored = (
        '{"source": ["patient_data = \\"/home/alice/cohorts/hospital-x\\"\\n"], '
        '"x": "in /home/alice/cohorts/hospital-x/adsl.csv"}'
    )
    out = pipeline._neutral_patient_folder(stored, folder)
    assert "alice" not in out and out.count(pipeline.PATIENT_FOLDER_LABEL) == 2


def test_a_relative_patient_folder_is_replaced_only_in_its_parameter():
    stored = '{"source": ["patient_data = \\"cohort\\"\\n"], "x": "the cohort data"}'
    out = pipeline._neutral_patient_folder(stored, "cohort")
    assert out == stored.replace('\\"cohort\\"', f'\\"{pipeline.PATIENT_FOLDER_LABEL}\\"')


@pytest.mark.parametrize(
    ("given", "message"), [(".", "is a folder"), ("out.txt", "must be a notebook file ending in .ipynb")]
)
def test_output_is_checked(given, message):
    with pytest.raises(ParameterError, match=message):
        pipeline._output_path(given)


def test_a_relative_output_is_taken_from_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert pipeline._output_path("myout/x.ipynb") == tmp_path / "myout" / "x.ipynb"


def test_an_unwritable_build_folder_is_a_clear_error(monkeypatch, capsys):
    """A read-only ``_build`` (or a full disk): one line naming the path, exit 2, no traceback.
    (Tests run as root here, where chmod cannot make a folder read-only: the error is raised.)"""
    from reanalysis import cli

    def refuse() -> None:
        raise PermissionError(13, "Permission denied", str(REPO_ROOT / "_build" / ".work"))

    monkeypatch.setattr(sitebuild, "build_site", refuse)
    assert cli.main(["site"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {REPO_ROOT / '_build' / '.work'}: Permission denied\n"


def test_an_executed_notebook_does_not_store_the_patient_folder(tmp_path):
    """The real run, on a user's folder: the path (user and folder names) is stored nowhere,
    and the downloads are published world-readable."""
    from reanalysis.patient.synthetic import synthetic_cohort, write_patient_data

    folder = tmp_path / "alice-private" / "cohort"
    write_patient_data(synthetic_cohort("li2022", seed=1), folder)
    out = pipeline.execute_chapter(
        "li2022", {"patient_data": str(folder), "n_replicates": 20}, output=tmp_path / "out" / "li.ipynb"
    )
    stored = out.read_text(encoding="utf-8")
    assert "alice-private" not in stored
    assert f'patient_data = \\"{pipeline.PATIENT_FOLDER_LABEL}\\"' in stored
    # and its downloads are readable by anyone, though mkdtemp made their folder 0700
    shelf = out.parent / "downloads" / "li"
    assert _mode(shelf) == 0o755
    files = list(shelf.iterdir())
    assert files and {_mode(p) for p in files} == {0o644}


def _stub_chapters(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(pipeline, "EXECUTED", tmp_path / "chapters")
    monkeypatch.setattr(pipeline, "BUILD", tmp_path / "_build")
    monkeypatch.setattr(pipeline, "load_chapters", lambda: {"a": {}, "b": {}, "c": {}, "d": {}})
    monkeypatch.setattr(
        pipeline,
        "resolve_parameters",
        lambda chapter, overrides=None, chapters=None: {"alpha": 0.05, **(overrides or {})},
    )
    (tmp_path / "chapters").mkdir()


def test_a_chapter_executed_with_other_parameters_is_re_executed(tmp_path, monkeypatch):
    """What a stamp records decides, not Snakemake's metadata: an interrupted ``-p`` build (or a
    finished one) leaves a notebook the next plain build re-executes, and says why."""
    _stub_chapters(tmp_path, monkeypatch)
    stamps = tmp_path / "_build" / ".stamps"
    for chapter, alpha in (("a", 0.05), ("b", 0.4), ("c", 0.05)):
        nb = tmp_path / "chapters" / f"{chapter}.ipynb"
        nb.write_text(f"{chapter} alpha={alpha}", encoding="utf-8")
        pipeline.write_stamp(stamps / f"{chapter}.done", nb, {"alpha": alpha})
    (stamps / "c.done").write_text(
        pipeline.notebook_hash(tmp_path / "chapters" / "c.ipynb") + "\n"
    )  # older format
    assert pipeline.stale_chapters() == {"b": pipeline.Stale.PARAMETERS, "c": pipeline.Stale.UNRECORDED}
    assert pipeline.stale_chapters({"b": {"alpha": 0.4}}) == {"c": pipeline.Stale.UNRECORDED}
    assert pipeline.stale_chapters({"a": {"alpha": 0.1}})["a"] is pipeline.Stale.PARAMETERS
    (tmp_path / "chapters" / "a.ipynb").write_text("a with criterion=RECIST", encoding="utf-8")
    assert pipeline.stale_chapters()["a"] is pipeline.Stale.EDITED  # d has no stamp: the workflow runs it


def test_what_a_stopped_run_changed_is_said():
    from reanalysis.buildstate import BookState, describe_change

    before = BookState((("a", "1"), ("b", "2")), (10, 1))
    assert describe_change(before, before) == "no executed notebook was replaced; the site is as it was"
    after = BookState((("a", "9"), ("b", "2")), (10, 1))
    said = describe_change(before, after)
    assert said.startswith(
        "the notebook of a was replaced by this run; the site is as it was; the next `make book`"
    )
    assert "the site was rebuilt" in describe_change(before, BookState(after.notebooks, (11, 2)))
    assert "the site is missing" in describe_change(before, BookState(before.notebooks, None))


def test_a_step_says_only_what_it_could_have_changed(tmp_path, monkeypatch):
    """A chapter's step looks at its own notebook only: another job replacing its notebook
    meanwhile is not this step's doing (and hashing every notebook cost each step 45 ms at 64
    studies); the site step looks at the site only."""
    from reanalysis import buildstate

    monkeypatch.setattr(buildstate, "EXECUTED", tmp_path)
    monkeypatch.setattr(buildstate, "SITE", tmp_path / "html")
    for name in ("a", "b"):
        (tmp_path / f"{name}.ipynb").write_text(name, encoding="utf-8")
    assert [c for c, _ in buildstate.snapshot().notebooks] == ["a", "b"]
    before = buildstate.snapshot(["a", "never-executed"])
    assert [c for c, _ in before.notebooks] == ["a"] and buildstate.snapshot(()).notebooks == ()
    (tmp_path / "b.ipynb").write_text("b again", encoding="utf-8")  # another job's
    said = buildstate.describe_change(before, buildstate.snapshot(["a"]))
    assert said == "no executed notebook was replaced; the site is as it was"
    (tmp_path / "a.ipynb").write_text("a again", encoding="utf-8")
    assert "the notebook of a was replaced" in buildstate.describe_change(before, buildstate.snapshot(["a"]))


def test_a_full_disk_during_the_site_copy_keeps_the_site_and_says_so(tmp_path, monkeypatch, capsys):
    """Fault injection: the copy of the built site into place fails with ENOSPC half-way. The
    previous site stays as it was, the partial copy is removed, and the message says exactly
    that (exit 2, no traceback)."""
    import errno
    import shutil

    from reanalysis import buildstate, cli

    build = tmp_path / "_build"
    for module in (pipeline, sitebuild, buildstate):
        monkeypatch.setattr(module, "BUILD", build)
        monkeypatch.setattr(module, "SITE", build / "html")
    monkeypatch.setattr(sitebuild, "WORK", build / ".work")
    monkeypatch.setattr(buildstate, "LOCK", build / ".build.lock")
    monkeypatch.setattr(buildstate, "TREE", build / ".build.tree")
    monkeypatch.setattr(buildstate, "EXECUTED", tmp_path / "chapters")
    (build / "html").mkdir(parents=True)
    (build / "html" / "index.html").write_text("previous site", encoding="utf-8")

    def jupyter_book(args):  # a successful build of the new site into the work folder
        out = build / ".work" / "_build" / "html"
        out.mkdir(parents=True)
        for i in range(3):
            (out / f"page{i}.html").write_text("new", encoding="utf-8")
        return 0, ""

    real_copytree = shutil.copytree

    def copy_until_full(src, dst, **kwargs):
        if Path(src).name == "page2.html":
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return shutil.copy2(src, dst, **kwargs)

    def copytree(src, dst, **kwargs):  # the disk fills up at the third page
        return real_copytree(src, dst, copy_function=copy_until_full)

    monkeypatch.setattr(sitebuild, "jupyter_book", jupyter_book)
    monkeypatch.setattr(shutil, "copytree", copytree)
    assert cli.main(["site"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: could not copy the built site into place: the disk is full ("), err
    assert "the previous site is left in place, unchanged, and the copy was removed" in err
    assert "Traceback" not in err
    assert (build / "html" / "index.html").read_text(encoding="utf-8") == "previous site"
    assert sorted(p.name for p in (build / "html").iterdir()) == ["index.html"]
    assert not (build / ".html.new").exists(), "the partial copy is removed (it filled the disk)"


@pytest.fixture
def private_lock(tmp_path, monkeypatch):
    from reanalysis import buildstate

    monkeypatch.setattr(buildstate, "BUILD", tmp_path / "_build")
    monkeypatch.setattr(buildstate, "LOCK", tmp_path / "_build" / ".build.lock")
    monkeypatch.setattr(buildstate, "TREE", tmp_path / "_build" / ".build.tree")
    monkeypatch.delenv(buildstate.OWNER_ENV, raising=False)
    return buildstate


@pytest.mark.parametrize("argv", [["site"], ["execute", "li2022"], ["build", "--force"]])
def test_one_writer_of_the_book_at_a_time(private_lock, argv, capsys):
    """``site`` and an ``execute`` into the book take the build's lock: while one runs, another
    stops at once (exit 2) instead of racing it or deleting its temporary files."""
    from reanalysis import cli

    with private_lock.book_lock():
        assert cli.main(argv) == 2
    assert capsys.readouterr().err == f"error: {private_lock.BUSY}\n"


def test_a_new_run_waits_for_the_processes_of_a_killed_one(private_lock, monkeypatch):
    """A process of an earlier build's tree still holds the tree lock (it is stopping): a new
    run waits for it, and past the limit says what to do instead of cleaning up under it."""
    import fcntl

    from reanalysis.errors import ReanalysisError

    monkeypatch.setattr(private_lock, "STALE_WAIT_S", 0.3)
    private_lock.BUILD.mkdir(parents=True)
    with open(private_lock.TREE, "a") as orphan:
        fcntl.flock(orphan, fcntl.LOCK_SH)
        with pytest.raises(ReanalysisError, match="processes of an interrupted run still hold"):
            with private_lock.book_lock():
                pass
    with private_lock.book_lock() as tree:  # once it is gone, the run goes ahead
        assert tree is not None


@pytest.fixture
def site_folders(tmp_path, monkeypatch):
    """The site step's folders in ``tmp_path`` (its build folder, work folder, live site and the
    book's icon), not the book's: returns the build folder."""
    from reanalysis import buildstate

    build = tmp_path / "_build"
    for module in (pipeline, sitebuild, buildstate):
        monkeypatch.setattr(module, "BUILD", build)
        monkeypatch.setattr(module, "SITE", build / "html")
    monkeypatch.setattr(sitebuild, "WORK", build / ".work")
    monkeypatch.setattr(sitebuild, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(sitebuild, "BOOK", tmp_path / "book")
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "favicon.png").write_bytes(b"icon")
    return build


def test_a_page_the_site_serves_as_built_is_linked_and_a_rebuilt_one_copied(
    tmp_path, monkeypatch, site_folders
):
    """The site step copies the built site into place, but a file the live site already serves
    as built (same size and modification time) is hard-linked from it: an edit of one study
    rebuilds a handful of ~300 pages. A page Sphinx rewrote, with the same size or another, is
    copied, and the previous site's file is left as it was."""
    build = site_folders
    monkeypatch.setattr(sitebuild, "EXECUTED", tmp_path / "book" / "chapters")
    monkeypatch.setattr(sitebuild, "load_chapters", lambda: {})
    pages = {"same.html": "kept", "resaved.html": "first", "grown.html": "short"}
    built = build / ".work" / "_build" / "html"
    stamp = [1_700_000_000]

    def jupyter_book(args):  # as Sphinx: only a page whose text changed is written again
        built.mkdir(parents=True, exist_ok=True)
        for name, text in pages.items():
            page = built / name
            if not page.exists() or page.read_text(encoding="utf-8") != text:
                page.write_text(text, encoding="utf-8")
                os.utime(page, ns=(stamp[0] * 10**9, stamp[0] * 10**9))  # written in this build
        return 0, ""

    monkeypatch.setattr(sitebuild, "jupyter_book", jupyter_book)
    sitebuild.build_site()
    site = build / "html"
    first = {name: (site / name).stat().st_ino for name in pages}
    assert (site / "same.html").stat().st_ino != (built / "same.html").stat().st_ino, (
        "a copy, not the work file"
    )
    stamp[0] += 60  # the next build, a minute later
    pages.update({"resaved.html": "again", "grown.html": "much longer"})  # the same size; another size
    sitebuild.build_site()
    assert (site / "same.html").stat().st_ino == first["same.html"], "served as built: linked"
    assert {name: (site / name).read_text(encoding="utf-8") for name in pages} == pages
    assert (site / "resaved.html").stat().st_ino != first["resaved.html"]
    assert (site / "grown.html").stat().st_ino != first["grown.html"]
    assert {oct(stat.S_IMODE((site / name).stat().st_mode)) for name in pages} == {"0o644"}


def test_the_site_keeps_the_downloads_it_was_built_with(tmp_path, monkeypatch, site_folders):
    """The site's downloads are hard links to the chapters' (cheap at 64 studies), which is safe
    only because a chapter's run swaps in a new folder rather than rewriting a file: after a
    re-run, the site still serves the files it was built with. Where a link fails (another
    device), the file is copied."""
    from reanalysis import downloads

    build = site_folders
    chapters = tmp_path / "book" / "chapters"
    monkeypatch.setattr(sitebuild, "EXECUTED", chapters)
    monkeypatch.setattr(sitebuild, "load_chapters", lambda: {"a": {}})

    def jupyter_book(args):
        out = build / ".work" / "_build" / "html"
        out.mkdir(parents=True, exist_ok=True)
        (out / "index.html").write_text("site", encoding="utf-8")
        return 0, ""

    monkeypatch.setattr(sitebuild, "jupyter_book", jupyter_book)
    shelf = chapters / downloads.FOLDER
    (shelf / "a").mkdir(parents=True)
    (shelf / "a" / "fig.png").write_bytes(b"first run")
    served = build / "html" / "book" / "chapters" / downloads.FOLDER / "a" / "fig.png"
    sitebuild.build_site()
    assert (
        served.read_bytes() == b"first run"
        and served.stat().st_ino == (shelf / "a" / "fig.png").stat().st_ino
    )
    rerun = shelf / ".a.new"  # a chapter's run: a new folder, swapped in whole
    rerun.mkdir()
    (rerun / "fig.png").write_bytes(b"second run")
    pipeline._swap_folder(rerun, shelf / "a")
    assert served.read_bytes() == b"first run"

    def no_links(src, dst):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    sitebuild.build_site()
    assert served.read_bytes() == b"second run" and served.stat().st_nlink == 1
