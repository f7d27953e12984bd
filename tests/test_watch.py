"""`python -m reanalysis watch`: a build on each change of the inputs, one zygote while the code
stays the same. The loop runs here with stand-ins for the build, the zygote and the inputs'
hashes (a real build is in `.ci/robustness`, which edits a study's data under a running watch)."""

from __future__ import annotations

import contextlib

import pytest

from reanalysis import cli, manifest, warm
from reanalysis.errors import Interrupted, ReanalysisError

# what the inputs' hashes are at each look, in turn; then Ctrl-C
LOOKS = [
    {"data/a.csv": "1", "reanalysis/x.py": "1"},  # not built yet: a build
    {"data/a.csv": "1", "reanalysis/x.py": "1"},  # nothing changed: no build
    {"data/a.csv": "2", "reanalysis/x.py": "1"},  # data edited: a build, with the same zygote
    {"data/a.csv": "3", "reanalysis/x.py": "1"},  # edited again: the build fails
    {"data/a.csv": "3", "reanalysis/x.py": "1"},  # the inputs of the failed build: not tried again
    {"data/a.csv": "3", "reanalysis/x.py": "2"},  # the package edited: a new zygote, then a build
    {"data/a.csv": "3", "reanalysis/x.py": "2"},  # built: nothing more
]


@pytest.fixture
def stand_ins(monkeypatch):
    state = {"look": 0, "stamp": "", "zygotes": 0, "builds": []}

    def hashes():
        if state["look"] >= len(LOOKS):
            raise KeyboardInterrupt  # Ctrl-C while it waits
        return dict(LOOKS[state["look"]])

    def sleep(_seconds):
        state["look"] += 1

    @contextlib.contextmanager
    def starting_zygote():
        state["zygotes"] += 1
        number = state["zygotes"]
        yield lambda: {warm.ENV: f"zygote {number}"}

    def build(overrides, files, jobs, verbose, profile, local, zygote):
        state["builds"].append((files["data/a.csv"], files["reanalysis/x.py"], zygote()[warm.ENV]))
        if files["data/a.csv"] == "3" and files["reanalysis/x.py"] == "1":
            raise ReanalysisError("data/a.csv, line 2, column 'n': not a count")
        state["stamp"] = manifest.digest(overrides, files)

    monkeypatch.setattr(manifest, "hashes", hashes)
    monkeypatch.setattr(manifest, "unchanged", lambda o, f: state["stamp"] == manifest.digest(o, f))
    monkeypatch.setattr(cli.time, "sleep", sleep)
    monkeypatch.setattr(warm, "starting_zygote", starting_zygote)
    monkeypatch.setattr(cli, "_build", build)
    return state


def test_watch_builds_once_per_change_and_starts_a_new_zygote_when_the_code_changes(stand_ins, capsys):
    assert cli.main(["watch"]) == 0
    assert stand_ins["builds"] == [
        ("1", "1", "zygote 1"),
        ("2", "1", "zygote 1"),
        ("3", "1", "zygote 1"),  # failed; not tried again with the same inputs
        ("3", "2", "zygote 2"),
    ]
    assert stand_ins["zygotes"] == 2
    out, err = capsys.readouterr()
    assert "error: data/a.csv, line 2, column 'n': not a count" in err
    assert "the package changed: starting a new zygote" in out
    assert out.count("watching for changes") == 4  # after each build
    assert out.rstrip().endswith("stopped watching")


def test_an_interrupted_build_stops_the_watch_and_says_so(stand_ins, monkeypatch, capsys):
    def interrupted(*_args):
        raise Interrupted("book/chapters/a.ipynb was not written")

    monkeypatch.setattr(cli, "_build", interrupted)
    assert cli.main(["watch"]) == 130
    assert "interrupted: book/chapters/a.ipynb was not written" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--interval", "0"], "--interval 0: must be more than 0"),
        (["--interval", "nan"], "--interval nan: must be more than 0"),
        (["--interval", "inf"], "--interval inf: must be more than 0"),
        (["--jobs", "0"], "--jobs 0: must be at least 1"),
        (["-p", "nochapter.x=1"], "nochapter"),
    ],
)
def test_watch_stops_at_once_on_a_bad_option(stand_ins, argv, message, capsys):
    assert cli.main(["watch", *argv]) == 2
    assert message in capsys.readouterr().err
    assert stand_ins["builds"] == [] and stand_ins["zygotes"] == 0
