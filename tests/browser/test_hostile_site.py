"""Hostile data in a real browser: a site built on a study whose every free-text field holds
script and markup payloads (``tests/hostile.py``) runs no script and publishes no file from
outside the repository.

The site is built in a private copy of the repository (what git would commit, from the working
tree), so this checkout's data, notebooks and site are never touched. To stay within the CI
budget only the chapters that show the planted study re-execute (its own and the overview);
the other pages keep their committed notebooks. The pages are opened in headless Chromium
with every dialog recorded; the search page is queried for the planted title too (Sphinx
renders search hits with ``innerHTML``).
"""

from __future__ import annotations

import html
import importlib.util
import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import hostile  # noqa: E402  (tests/hostile.py)
from test_site import QuietHandler, browser  # noqa: E402, F401  (the Chromium fixture)


def _bench():
    """benchmarks/bench.py (a script, not a package): its ``copy_repository``."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench.py"
    spec = importlib.util.spec_from_file_location("bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ROOT = Path(__file__).resolve().parents[2]
STUDY = "li2022"


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    """(site folder, secret file): the book built on a copy whose ``li2022`` holds payloads."""
    tmp = tmp_path_factory.mktemp("hostile")
    repo = tmp / "repo"
    _bench().copy_repository(ROOT, repo)
    secret = tmp / "secret.txt"  # outside the copy; ../../../secret.txt from book/chapters
    hostile.plant(repo / "data" / STUDY, secret)
    # the kernels run in book/chapters and would import this checkout's package (an editable
    # install) reading this checkout's data: point both at the copy
    env = {**os.environ, "PYTHONPATH": str(repo), "REANALYSIS_DATA": str(repo / "data")}
    for cmd in (["execute", STUDY], ["execute", "overview"], ["site"]):
        proc = subprocess.run(
            [sys.executable, "-m", "reanalysis", *cmd],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, (cmd, proc.stdout[-2000:], proc.stderr[-4000:])
    return repo / "_build" / "html", secret


def _texts(site: Path):
    """Every file of the site as bytes, zip members included (name, bytes)."""
    for p in sorted(site.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            yield str(p.relative_to(site)), data
            if p.suffix == ".zip":
                with zipfile.ZipFile(io.BytesIO(data)) as zf:
                    for member in zf.namelist():
                        yield f"{p.relative_to(site)}!{member}", zf.read(member)


def test_no_file_from_outside_the_repository_is_published(hostile_site):
    site, secret = hostile_site
    leaked = [name for name, data in _texts(site) if hostile.TOKEN.encode() in data]
    assert not leaked, f"the secret reached the site: {leaked}"
    assert not list(site.rglob(secret.name)), "a {download} role from data copied a file"
    page = (site / "book" / "chapters" / f"{STUDY}.html").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(" in page, "the payload is shown, as text"
    label = "TACE + sorafenib &lt;img src=x onerror=alert("
    assert page.count(label) > 10, "the chapter was executed on the planted data (tables, glue)"
    assert "Last updated" not in page, "pages carry no date (determinism)"


def test_the_study_zip_holds_only_the_study_files(hostile_site):
    site, _ = hostile_site
    blob = (site / "book" / "chapters" / "downloads" / STUDY / f"{STUDY}-data.zip").read_bytes()
    names = {n.split("/", 1)[1] for n in zipfile.ZipFile(io.BytesIO(blob)).namelist()}
    assert "notes.csv" not in names and ".private-notes.txt" not in names and "study.yml~" not in names
    assert {"study.yml", "baseline.csv", "README.md", "schema.json"} <= names


@pytest.fixture(scope="module")
def hostile_server(hostile_site):
    import functools
    import http.server
    import threading

    handler = functools.partial(QuietHandler, directory=str(hostile_site[0]))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def _no_script_runs(url: str, browser, search: bool = False) -> None:  # noqa: F811
    ctx = browser.new_context()
    pg = ctx.new_page()
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.goto(url, wait_until="networkidle")
    if search:
        pg.wait_for_selector("#search-results .search-summary", timeout=15000)
    pg.wait_for_timeout(500)
    injected = pg.eval_on_selector_all(
        "img[src='x'], a[href^='javascript:'], script:not([src])",
        "els => els.filter(e => e.tagName !== 'SCRIPT' || e.textContent.includes('alert('))"
        ".map(e => e.outerHTML)",
    )
    ctx.close()
    assert not dialogs, f"{url}: script from data ran (alert {dialogs})"
    assert not injected, f"{url}: markup from data became elements: {injected[:3]}"


@pytest.mark.parametrize(
    "path",
    [
        f"book/chapters/{STUDY}.html",
        "book/chapters/overview.html",
        "book/intro.html",
        "search.html?q=" + quote("Li 2022"),
        "search.html?q=" + quote("onerror"),
    ],
)
def test_no_script_from_data_runs(path, hostile_server, browser):  # noqa: F811
    _no_script_runs(hostile_server + path, browser, search=path.startswith("search"))


def test_search_for_the_planted_title_runs_no_script(hostile_site, hostile_server, browser):  # noqa: F811
    """A search long enough to match the whole title lists it as a title hit (innerHTML)."""
    page = (hostile_site[0] / "book" / "chapters" / f"{STUDY}.html").read_text(encoding="utf-8")
    title = html.unescape(re.search(r"<title>(.*?) &#8212;", page, re.S).group(1))
    assert "<img src=x" in title
    _no_script_runs(hostile_server + "search.html?q=" + quote(title), browser, search=True)
