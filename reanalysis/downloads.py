"""Download files beside every table and figure: CSV, PNG and SVG, and each study's data zip.

A chapter starts its page with :func:`start` (papermill injects the page name). Every table shown
through :func:`reanalysis.tables.show` and every figure shown through :func:`show_figure` then
gets a line of links, ``downloads/<page>/<name>.<ext>``, relative to the notebook, so they work
in Jupyter and in the built site (the site step copies ``book/chapters/downloads/`` beside the
pages). Files are written only when ``REANALYSIS_DOWNLOADS`` names a folder: the pipeline points
it at a temporary folder and swaps that in only when the chapter succeeded. Without it (nbval,
a notebook opened by hand) the links are produced and nothing is written, so outputs match.

Every file is byte-deterministic: sorted zip entries with a fixed date, SVG with a fixed hash
salt and no date, PNG with no timestamp.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

ENV = "REANALYSIS_DOWNLOADS"
FOLDER = "downloads"
NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass
class _Page:
    name: str
    folder: Path | None
    written: set[str] = field(default_factory=set)


_page: _Page | None = None


def start(page: str) -> None:
    """Begin a page: links go to ``downloads/<page>/``; files to ``$REANALYSIS_DOWNLOADS``, if set."""
    global _page
    if not NAME_RE.fullmatch(page):
        raise ValueError(f"page name must be lowercase letters, digits, '-' or '_': {page!r}")
    target = os.environ.get(ENV)
    folder = Path(target) if target else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    _page = _Page(page, folder)


def active() -> bool:
    """True once a page was started (outside a chapter, tables and figures carry no links)."""
    return _page is not None


def _claim(name: str) -> str:
    """The link of a new file on this page; a name used twice would overwrite a download."""
    assert _page is not None
    if name in _page.written:
        raise ValueError(f"download '{name}' is produced twice on page '{_page.name}'")
    _page.written.add(name)
    return f"{FOLDER}/{_page.name}/{name}"


def _write(name: str, data: bytes) -> None:
    if _page is not None and _page.folder is not None:
        (_page.folder / name).write_bytes(data)


def links_html(links: list[tuple[str, str]]) -> str:
    """``Download: CSV · PNG`` as one HTML paragraph (``download`` attribute: save, not open)."""
    items = " · ".join(f'<a href="{href}" download>{label}</a>' for label, href in links)
    return f'<p class="reanalysis-downloads">Download: {items}</p>'


def table_csv(df: pd.DataFrame, uid: str) -> str:
    """Write the table as ``<uid>.csv`` (as shown: UTF-8, no index) and return its link line."""
    if not active():
        return ""
    name = f"{uid}.csv"
    href = _claim(name)
    _write(name, df.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    return links_html([("CSV", href)])


def figure_files(fig, name: str) -> str:
    """Write the figure as ``<name>.png`` and ``<name>.svg`` and return the link line."""
    if not active():
        return ""
    if not NAME_RE.fullmatch(name):
        raise ValueError(f"figure name must be lowercase letters, digits, '-' or '_': {name!r}")
    links = []
    for ext, metadata in (("png", {"Software": None}), ("svg", {"Date": None, "Creator": None})):
        href = _claim(f"{name}.{ext}")
        if _page is not None and _page.folder is not None:
            buf = io.BytesIO()
            fig.savefig(buf, format=ext, bbox_inches="tight", metadata=metadata)
            _write(f"{name}.{ext}", buf.getvalue())
        links.append((ext.upper(), href))
    return links_html(links)


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for arcname in sorted(entries):
            info = zipfile.ZipInfo(arcname, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, entries[arcname])
    return buf.getvalue()


def study_zip(study_id: str) -> str:
    """Zip the study's extracted data (as stored in ``data/``) with the format notes and a
    machine-readable schema; return the link line. Aggregates only: ``data/`` holds no patients."""
    from .data import DATA_DIR
    from .schema import describe

    if not active():
        return ""
    name = f"{study_id}-data.zip"
    href = _claim(name)
    if _page is not None and _page.folder is not None:
        folder = Path(DATA_DIR) / study_id
        entries = {
            f"{study_id}/{p.relative_to(folder).as_posix()}": p.read_bytes()
            for p in folder.rglob("*")
            if p.is_file()
        }
        readme = Path(DATA_DIR) / "README.md"
        if readme.is_file():
            entries[f"{study_id}/README.md"] = readme.read_bytes()
        schema = json.dumps(describe(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
        entries[f"{study_id}/schema.json"] = schema.encode("utf-8")
        _write(name, _zip(entries))
    return links_html([("extracted data, schema and format notes (zip)", href)])
