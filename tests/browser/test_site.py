"""Real-browser check of the built site (`make browser`, after `make book`).

Serves _build/html on localhost and opens every page in headless Chromium (Debian's, driven by
Playwright with executable_path): no failed request, no request leaving localhost, no console
error beyond an explicit allow-list, every image loaded, every internal link resolving, no
unresolved glue placeholder; every table with its CSV, every figure with its PNG and SVG, each
served file of the right kind, and one download per page really saved by the browser. Clean
pages: no raw Python value (nan, inf, True, False) and no internal name (arm ids from every
study.yml, the analysis frames' column names, patient-data codes) in the visible text outside
code, and no table wider than the content area at 1366 px. A screenshot of each page goes to
_build/screenshots/.
"""

from __future__ import annotations

import functools
import http.server
import io
import re
import shutil
import threading
import zipfile
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
# The book theme's two known, harmless console messages (shared/notes/toolchain-facts.md).
ALLOWED_CONSOLE = ("THEBE_JS_URL", "Got invalid theme mode")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

VIEWPORT = {"width": 1366, "height": 900}  # the most common laptop screen
RAW_VALUES = ("nan", "NaN", "inf", "-inf", "True", "False")


def internal_names() -> set[str]:
    """Names a reader must never see, taken from the data and the code's own frames: every arm
    id, study id and source file name of every study, the machine column names of the analysis frames
    and check rows (those that are not words: snake_case and the short statistics names), and
    patient-data codes that are not also an abbreviation of the glossary or the start of their
    own label."""
    from reanalysis import tables
    from reanalysis.checks.record import Check
    from reanalysis.patient import labels as L
    from reanalysis.patient.schema import TABLES

    names: set[str] = set()
    for path in sorted((ROOT / "data").glob("*/study.yml")):
        meta = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        names |= {path.parent.name} | {
            str(a["id"]) for a in meta.get("arms", []) if isinstance(a, dict) and "id" in a
        }
        # the file names of the source texts (the study's, and the one its citation comes from)
        names |= {str(meta[k]) for k in ("source", "citation_source") if meta.get(k)}
    columns = {*L.COLUMNS, *tables.TIDY_CHECK_COLUMNS, *tables.COLUMN_NAMES, *Check.__dataclass_fields__}
    names |= {c for c in columns if "_" in c} | ({"hr", "coef", "se"} & columns)
    glossary = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8")
    # a code a paper itself prints ("EHM (extra-hepatic metastasis …)") is the paper's word
    printed = " ".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "data").glob("*/*.csv")))
    variables, _ = L._rules()
    for table in TABLES.values():
        for code in table:
            if code in glossary or code in printed or variables.get(code, "").startswith(code):
                continue
            names.add(code)
    return names


# the text a reader sees: the article without code (commands, file names in backticks)
VISIBLE_TEXT_JS = """a => { const c = a.cloneNode(true);
  c.querySelectorAll('pre, code, .cell_input, .highlight, script, style').forEach(e => e.remove());
  document.body.appendChild(c); const t = c.innerText; c.remove(); return t; }"""

pytestmark = pytest.mark.skipif(not (SITE / "index.html").is_file(), reason="build the site first: make book")


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(QuietHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("Debian chromium is not installed (make browser installs it)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


def pages() -> list[str]:
    return sorted(
        str(p.relative_to(SITE))
        for p in SITE.rglob("*.html")
        if not p.name.startswith(("genindex", "search")) and "_static" not in p.parts
    )


@pytest.mark.parametrize("page", pages() if (SITE / "index.html").is_file() else [])
def test_page(page, server, browser):
    ctx = browser.new_context(viewport=VIEWPORT)
    pg = ctx.new_page()
    failed, outside, console = [], [], []
    pg.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
    pg.on("response", lambda r: failed.append(f"{r.url} (HTTP {r.status})") if r.status >= 400 else None)
    pg.on(
        "request",
        lambda r: (
            outside.append(r.url)
            if urlparse(r.url).hostname not in ("127.0.0.1", None)
            and not r.url.startswith(("data:", "blob:"))
            else None
        ),
    )
    pg.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    url = urljoin(server, page)
    response = pg.goto(url, wait_until="networkidle")
    assert response is not None and response.ok, page
    assert not failed, f"failed requests on {page}: {failed}"
    assert not outside, f"requests leaving localhost on {page}: {outside}"
    errors = [c for c in console if not any(a in c for a in ALLOWED_CONSOLE)]
    assert not errors, f"console errors on {page}: {errors}"
    broken = pg.eval_on_selector_all(
        "img", "imgs => imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    assert not broken, f"images not loaded on {page}: {broken}"
    no_alt = pg.eval_on_selector_all("article img", ALT_MISSING_JS)
    assert not no_alt, f"figures without real alt text on {page}: {no_alt}"
    text = pg.inner_text("article") if pg.query_selector("article") else pg.inner_text("body")
    assert "{glue" not in text and "glue:" not in text, f"unresolved glue placeholder on {page}"
    for href in pg.eval_on_selector_all("article a[href]", "as => as.map(a => a.href)"):
        target, _ = urldefrag(href)
        if urlparse(target).hostname == "127.0.0.1":
            path = SITE / urlparse(target).path.lstrip("/")
            if path.is_dir():
                path = path / "index.html"
            assert path.is_file(), f"broken internal link on {page}: {href}"
    check_downloads(pg, page)
    check_clean_text(pg, page)
    check_tables_fit(pg, page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / (page.replace("/", "__").removesuffix(".html") + ".png")), full_page=False)
    ctx.close()


# every image in the page content has alt text, and it describes the figure: not empty, not a
# file name ("a1b2.png") — what Sphinx and myst-nb fall back to
ALT_MISSING_JS = """imgs => imgs
  .filter(i => { const a = (i.getAttribute('alt') || '').trim();
                 return !a || /^[\\w.-]+\\.(png|svg|jpe?g|gif|webp)$/i.test(a); })
  .map(i => i.src.slice(0, 80))"""

MAGIC = {
    ".png": lambda b: b.startswith(b"\x89PNG"),
    ".svg": lambda b: b"<svg" in b[:2000],
    ".csv": lambda b: b.decode("utf-8").count("\n") >= 1,
    ".zip": lambda b: "schema.json" in " ".join(zipfile.ZipFile(io.BytesIO(b)).namelist()),
}


def check_downloads(pg, page: str) -> None:
    """Tables and figures each carry their downloads; every file is served and is what it says."""
    hrefs = pg.eval_on_selector_all(".reanalysis-downloads a", "as => as.map(a => a.href)")
    n_tables = len(pg.query_selector_all("table.reanalysis-table"))
    n_figures = len(pg.query_selector_all(".cell_output img"))
    by_ext = {ext: [h for h in hrefs if h.endswith(ext)] for ext in MAGIC}
    tidy = [h for h in by_ext[".csv"] if h.endswith("-tidy.csv")]
    csv_links = len(by_ext[".csv"])
    assert csv_links == 2 * n_tables and len(tidy) == n_tables, (
        f"{page}: {n_tables} tables, {csv_links} CSV links ({len(tidy)} tidy): one of each per table"
    )
    assert len(by_ext[".png"]) == len(by_ext[".svg"]) == n_figures, (
        f"{page}: {n_figures} figures but {len(by_ext['.png'])} PNG and {len(by_ext['.svg'])} SVG links"
    )
    for href in hrefs:
        ext = Path(urlparse(href).path).suffix
        reply = pg.request.get(href)
        assert reply.ok, f"{page}: download {href} gives HTTP {reply.status}"
        assert MAGIC[ext](reply.body()), f"{page}: download {href} is not a valid {ext} file"
    if hrefs:  # a real click: the browser saves the file (the link's `download` attribute)
        with pg.expect_download() as info:
            pg.click(".reanalysis-downloads a >> nth=0")
        saved = Path(info.value.path()).read_bytes()
        assert info.value.suggested_filename == Path(urlparse(hrefs[0]).path).name
        assert saved == pg.request.get(hrefs[0]).body(), f"{page}: saved download differs from the file"


@functools.cache
def _forbidden() -> re.Pattern:
    words = sorted({*RAW_VALUES, *internal_names()}, key=len, reverse=True)
    return re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, words)) + r")(?![\w-])")


def check_clean_text(pg, page: str) -> None:
    """No raw Python value and no internal name in the visible text, outside code."""
    article = pg.query_selector("article") or pg.query_selector("body")
    text = article.evaluate(VISIBLE_TEXT_JS)
    found = sorted({m.group(1) for m in _forbidden().finditer(text)})
    where = {w: text[max(0, text.find(w) - 40) : text.find(w) + 40].replace("\n", " ") for w in found}
    assert not found, f"{page}: raw values or internal names visible: {where}"


def check_tables_fit(pg, page: str) -> None:
    """At 1366 px no table is wider than the content area: nothing to scroll sideways for."""
    wide = pg.eval_on_selector_all(
        "article table",
        """ts => { const a = document.querySelector('article').getBoundingClientRect();
          return ts.map(t => { const r = t.getBoundingClientRect();
            const box = t.closest('.reanalysis-scroll');
            const hidden = box ? box.scrollWidth - box.clientWidth : 0;
            return {caption: (t.caption ? t.caption.innerText : t.className).slice(0, 60),
                    over: Math.round(Math.max(r.right - a.right, hidden))}; })
            .filter(x => x.over > 1); }""",
    )
    assert not wide, f"{page}: tables wider than the content area at {VIEWPORT['width']} px: {wide}"
