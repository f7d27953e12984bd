"""Download files beside every table and figure: CSV, PNG and SVG, and each study's data zip.

A chapter starts its page with :func:`start`, which returns a :class:`Page` (papermill injects
the page name and, when the pipeline runs the chapter, ``downloads_dir``). The page is passed
explicitly to :func:`reanalysis.tables.show` and :func:`reanalysis.figures.show` (a
:class:`~reanalysis.report.Chapter` holds it), so every table and figure gets a line of links,
``downloads/<page>/<name>.<ext>``, relative to the notebook; they work in Jupyter and in the
built site (the site step copies ``book/chapters/downloads/`` beside the pages). Files are
written only when the page has a folder: the pipeline passes a temporary folder and swaps it
in only when the chapter succeeded. Without one (nbval, a notebook opened by hand) the links
are produced and nothing is written, so outputs match. No state is kept in this module.

Every file is byte-deterministic: sorted zip entries with a fixed date, SVG with a fixed hash
salt and no date, PNG with no timestamp.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .text import spreadsheet_safe

if TYPE_CHECKING:  # imported where frames are written: the pipeline reads FOLDER without them
    import pandas as pd

FOLDER = "downloads"
CSV_ENCODING = "utf-8-sig"  # a BOM: Excel opens UTF-8 as UTF-8 only when the file starts with one
SYNTHETIC = "synthetic"  # in the name and a column of every download computed from a synthetic cohort
NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
PNG_DPI = 300  # a figure's PNG download: print resolution
# ... up to the pixels of an A4 page at that resolution (2480 × 3508): a taller figure (a forest
# plot of dozens of studies) gets fewer dots per inch, not a bigger file; its SVG scales anyway
MAX_PNG_PIXELS = 2480 * 3508
# zlib level of the PNG downloads: 3 wrote a 64-study forest plot in 0.30 s against 0.47 s at
# Pillow's default 6, 0-18 % larger (measured on the scale benchmark's synthesis figures)
PNG_COMPRESS_LEVEL = 3
# the PNG text chunk that says how a PNG download was rendered (render_key): a page's run takes
# the previous run's PNG of a figure only when it was rendered the same way (Page.previous_png)
RENDER_KEYWORD = "reanalysis-render"
# the PNG text chunk that names the drawing a figure was drawn from (reanalysis.drawing.key), the
# digest of its SVG, its width on the page and the characters its font lacked: a page's run keeps
# the previous run's rendering of a figure drawn from the same key (Page.previous_figure)
DRAWING_KEYWORD = "reanalysis-drawing"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the last chunk of a complete PNG


@dataclass
class Page:
    """One chapter page's downloads: its name (the folder its links point into), where its
    files are written (``None``: nowhere, links only), the names already used on it, and the
    folder of the page's previous run (``None``: none), whose unchanged figures are kept: a
    figure drawn from the same key whole (:meth:`previous_figure`), one that comes out the same its
    PNG (:meth:`previous_png`)."""

    name: str
    folder: Path | None = None
    written: set[str] = field(default_factory=set)
    previous: Path | None = None

    def claim(self, name: str) -> str:
        """The link of a new file on this page; a name used twice would overwrite a download."""
        if name in self.written:
            raise ValueError(f"download '{name}' is produced twice on page '{self.name}'")
        self.written.add(name)
        return f"{FOLDER}/{self.name}/{name}"

    def write(self, name: str, data: bytes) -> None:
        """Write one file into the page's folder, if it has one."""
        if self.folder is not None:
            (self.folder / name).write_bytes(data)

    def previous_png(self, name: str, svg: bytes, key: str) -> bytes | None:
        """The previous run's ``<name>.png``, if that run drew the same figure (its ``<name>.svg``
        is these bytes: the SVG holds every line, glyph, colour and the size) and rendered it
        the same way (its :data:`RENDER_KEYWORD` chunk is ``key``); ``None`` otherwise."""
        if self.previous is None:
            return None
        try:
            if (self.previous / f"{name}.svg").read_bytes() != svg:
                return None
            png = (self.previous / f"{name}.png").read_bytes()
        except OSError:
            return None
        if not png.endswith(PNG_END) or png_text(png).get(RENDER_KEYWORD) != key:
            return None
        return png

    def previous_figure(self, name: str, key: str) -> Kept | None:
        """The previous run's rendering of ``<name>``, if that run drew it from a drawing of this
        ``key`` (its PNG says so, and its SVG is the one the PNG names); ``None`` otherwise."""
        if self.previous is None or self.folder is None:
            return None
        try:
            png = (self.previous / f"{name}.png").read_bytes()
            drawn = Drawn.from_text(png_text(png).get(DRAWING_KEYWORD, ""))
            if drawn.key != key or not png.endswith(PNG_END):
                return None  # another drawing's (the SVG, read only for a match, is not needed)
            svg = (self.previous / f"{name}.svg").read_bytes()
        except (OSError, ValueError):
            return None
        return Kept(svg, png, drawn) if drawn.svg == sha256(svg) else None


@dataclass(frozen=True)
class Drawn:
    """What a PNG download records about the drawing it was rendered from (:data:`DRAWING_KEYWORD`)."""

    key: str  # reanalysis.drawing.key
    svg: str  # sha256 of the SVG rendered with it
    width: int  # CSS px of the figure on the page
    missing: tuple[str, ...]  # characters the font could not draw, in order of first use

    def text(self) -> str:
        """As the PNG chunk holds it: ASCII JSON (a ``tEXt`` chunk is Latin-1)."""
        fields = {"key": self.key, "svg": self.svg, "width": self.width, "missing": list(self.missing)}
        return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    @classmethod
    def from_text(cls, text: str) -> Drawn:
        """Read back :meth:`text`; ValueError for anything else."""
        try:
            fields = json.loads(text)
            drawn = cls(fields["key"], fields["svg"], fields["width"], tuple(fields["missing"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a drawing record: {text[:40]!r}") from exc
        if not (isinstance(drawn.key, str) and isinstance(drawn.svg, str) and type(drawn.width) is int):
            raise ValueError(f"not a drawing record: {text[:40]!r}")
        if not all(isinstance(ch, str) for ch in drawn.missing):
            raise ValueError(f"not a drawing record: {text[:40]!r}")
        return drawn


@dataclass(frozen=True)
class Kept:
    """A previous run's rendering of a figure: its SVG and PNG bytes, and what was drawn."""

    svg: bytes
    png: bytes
    drawn: Drawn


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def start(page: str, folder: str | Path | None = None) -> Page:
    """Begin a page: links go to ``downloads/<page>/``; files to ``folder`` if given (not empty).

    A relative ``folder`` is taken from the current directory (the notebook's, in a kernel).
    The pipeline makes a run's ``folder`` beside the page's own (``downloads/<page>/``), which
    it replaces when the run succeeds: that one is the page's previous run (:attr:`Page.previous`)."""
    if not NAME_RE.fullmatch(page):
        raise ValueError(f"page name must be lowercase letters, digits, '-' or '_': {page!r}")
    target = Path(folder) if folder else None
    previous = None
    if target is not None:
        target.mkdir(parents=True, exist_ok=True)
        beside = target.parent / page
        if beside.is_dir() and not beside.is_symlink() and not beside.samefile(target):
            previous = beside
    return Page(page, target, previous=previous)


def links_html(links: list[tuple[str, str]]) -> str:
    """``Download: CSV · PNG`` as one HTML paragraph (``download`` attribute: save, not open)."""
    items = " · ".join(f'<a href="{href}" download>{label}</a>' for label, href in links)
    return f'<p class="reanalysis-downloads">Download: {items}</p>'


def _csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 with a byte-order mark (Excel then reads ≥, ±, – and accented names right; pandas,
    readr and R's ``read.csv(fileEncoding = "UTF-8-BOM")`` skip it), no index, ``\\n`` lines;
    text that a spreadsheet would run as a formula gets a leading ``'`` (:mod:`reanalysis.text`)."""
    return spreadsheet_safe(df).to_csv(index=False, lineterminator="\n").encode(CSV_ENCODING)


def tidy_values(df: pd.DataFrame) -> pd.DataFrame:
    """One value per cell as pandas and R read it back: booleans TRUE/FALSE, infinite values
    Inf/-Inf, missing values empty; numbers at full precision."""
    import numpy as np
    import pandas as pd

    def cell(x: object) -> object:
        if isinstance(x, (bool, np.bool_)):
            return "TRUE" if x else "FALSE"
        if isinstance(x, (float, np.floating)) and math.isinf(x):
            return "Inf" if x > 0 else "-Inf"
        return x

    def special(x: object) -> bool:  # a value cell() rewrites (any other it returns as it is)
        return cell(x) is not x

    out = df.reset_index(drop=True).copy()
    for col in out.columns:
        if (
            out[col].dtype == bool
            or pd.api.types.is_object_dtype(out[col])
            or pd.api.types.is_float_dtype(out[col])
        ):
            out[col] = out[col].map(cell).astype(object) if out[col].map(special).any() else out[col]
    return out


def table_csv(
    df: pd.DataFrame, uid: str, page: Page | None, tidy: pd.DataFrame | None = None, synthetic: bool = False
) -> str:
    """Write the table as ``<uid>.csv`` (as shown) and, beside it, ``<uid>-tidy.csv`` (one value
    per cell, machine column names; ``tidy`` or the frame itself) and return their link line
    (nothing outside a page: tables shown elsewhere carry no links). A table computed from a
    synthetic cohort says so in both files' names and in a ``synthetic`` column."""
    if page is None:
        return ""
    stem = uid if not synthetic or SYNTHETIC in uid.split("-") else f"{SYNTHETIC}-{uid}"
    tidy = df if tidy is None else tidy
    if synthetic:
        df, tidy = df.assign(**{SYNTHETIC: "yes"}), tidy.assign(**{SYNTHETIC: True})
    links = []
    for label, name, frame in (
        ("CSV", f"{stem}.csv", df),
        ("tidy CSV", f"{stem}-tidy.csv", tidy_values(tidy)),
    ):
        links.append((label, page.claim(name)))
        page.write(name, _csv_bytes(frame))
    return links_html(links)


def svg_bytes(fig, bbox: object = "tight") -> bytes:
    """The figure as SVG (text as glyph paths, no date or creator: the same bytes every build).
    A page shows these bytes and its SVG download is these bytes: one rendering for both."""
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", bbox_inches=bbox, metadata={"Date": None, "Creator": None})
    return buf.getvalue()


def figure_files(
    fig,
    name: str,
    page: Page | None,
    bbox: object = "tight",
    svg: bytes | None = None,
    drawn: Drawn | None = None,
) -> str:
    """Write the figure as ``<name>.png`` and ``<name>.svg`` and return the link line (the
    caller sets the style: :func:`reanalysis.figures.show` saves inside its style (``book_style``), and
    gives the tight ``bbox`` it measured once and the ``svg`` it rendered for the page).

    The PNG is the costliest of a figure's renderings (up to an A4 page of pixels: ~0.6 s for a
    64-study forest plot, half a chapter's figure time). A figure the page's previous run drew
    the same (the same SVG bytes) and rendered the same way (:func:`render_key`) keeps that
    run's PNG, which is the bytes a new rendering would give (``tests/test_downloads.py``).
    ``drawn``: the drawing the figure came from, recorded in the PNG (:meth:`Page.previous_figure`)."""
    if page is None:
        return ""
    png_href, svg_href = _claim_figure(name, page)
    if page.folder is not None:
        svg = svg_bytes(fig, bbox) if svg is None else svg
        size = (bbox.width, bbox.height) if hasattr(bbox, "width") else tuple(fig.get_size_inches())
        dpi = png_dpi(*size)
        key = render_key(dpi)
        png = page.previous_png(name, svg, key)
        if png is None:
            buf = io.BytesIO()
            fig.savefig(
                buf,
                format="png",
                dpi=dpi,
                bbox_inches=bbox,
                metadata={"Software": None, RENDER_KEYWORD: key}
                | ({DRAWING_KEYWORD: drawn.text()} if drawn is not None else {}),
                pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL},
            )
            png = buf.getvalue()
        elif drawn is not None and png_text(png).get(DRAWING_KEYWORD) != drawn.text():
            # the same figure from another drawing (new code, other inputs): the pixels stand,
            # the record is this drawing's, where a new rendering would put it
            png = with_text(png, DRAWING_KEYWORD, drawn.text(), after=RENDER_KEYWORD)
        page.write(f"{name}.png", png)
        page.write(f"{name}.svg", svg)
    return links_html([("PNG", png_href), ("SVG", svg_href)])


def kept_figure_files(name: str, page: Page, kept: Kept) -> str:
    """Write a figure's previous rendering (:meth:`Page.previous_figure`) and return its link
    line: the files and links :func:`figure_files` gives for the same figure."""
    png_href, svg_href = _claim_figure(name, page)
    page.write(f"{name}.png", kept.png)
    page.write(f"{name}.svg", kept.svg)
    return links_html([("PNG", png_href), ("SVG", svg_href)])


def _claim_figure(name: str, page: Page) -> tuple[str, str]:
    if not NAME_RE.fullmatch(name):
        raise ValueError(f"figure name must be lowercase letters, digits, '-' or '_': {name!r}")
    return page.claim(f"{name}.png"), page.claim(f"{name}.svg")


def render_key(dpi: int) -> str:
    """What a PNG download's pixels depend on besides its figure (which its SVG holds): the
    renderer's and the encoder's versions, the resolution and compression, and every style
    setting (some only the raster renderer reads: hinting, antialiasing). A digest, kept in the
    PNG's :data:`RENDER_KEYWORD` text chunk."""
    import hashlib

    import matplotlib
    import PIL

    style = sorted((k, repr(v)) for k, v in dict.items(matplotlib.rcParams) if k != "backend")
    parts = [matplotlib.__version__, PIL.__version__, dpi, PNG_COMPRESS_LEVEL, style]
    return "sha256:" + hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def png_text(png: bytes) -> dict[str, str]:
    """A PNG's ``tEXt`` chunks (keyword → text), read from its head up to the image data (PNG
    specification, sections 5.3 and 11.3.4.3); empty for anything that is not a PNG."""
    if not png.startswith(PNG_SIGNATURE):
        return {}
    out: dict[str, str] = {}
    at = len(PNG_SIGNATURE)
    while at + 8 <= len(png):
        length = int.from_bytes(png[at : at + 4], "big")
        kind = png[at + 4 : at + 8]
        if kind in (b"IDAT", b"IEND"):
            break
        if kind == b"tEXt":
            keyword, _, text = png[at + 8 : at + 8 + length].partition(b"\0")
            out[keyword.decode("latin-1")] = text.decode("latin-1")
        at += 12 + length  # length, type, data, CRC
    return out


def with_text(png: bytes, keyword: str, text: str, after: str) -> bytes:
    """The PNG with its ``tEXt`` chunk ``keyword`` set to ``text``: replaced where it is, else put
    just after the ``tEXt`` chunk ``after`` (after the header without one), where a rendering
    given both in that order writes it; every other byte as it was."""
    data = (keyword + "\0" + text).encode("latin-1")
    chunk = len(data).to_bytes(4, "big") + b"tEXt" + data + zlib.crc32(b"tEXt" + data).to_bytes(4, "big")
    at, insert = len(PNG_SIGNATURE), None
    while at + 8 <= len(png):
        length = int.from_bytes(png[at : at + 4], "big")
        kind, end = png[at + 4 : at + 8], at + 12 + length
        if kind in (b"IDAT", b"IEND"):
            break
        if kind == b"IHDR" and insert is None:
            insert = end
        if kind == b"tEXt":
            word = png[at + 8 : at + 8 + length].partition(b"\0")[0].decode("latin-1")
            if word == keyword:
                return png[:at] + chunk + png[end:]
            if word == after:
                insert = end
        at = end
    if insert is None:
        raise ValueError("not a PNG with a header")
    return png[:insert] + chunk + png[insert:]


def png_dpi(width_in: float, height_in: float) -> int:
    """The PNG download's resolution for a figure of this size (inches): :data:`PNG_DPI`, or
    less when that would exceed :data:`MAX_PNG_PIXELS`."""
    fit = math.sqrt(MAX_PNG_PIXELS / max(width_in * height_in, 1e-9))
    return max(1, min(PNG_DPI, math.floor(fit)))


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for arcname in sorted(entries):
            info = zipfile.ZipInfo(arcname, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, entries[arcname])
    return buf.getvalue()


def study_zip_name(study_id: str) -> str:
    """The name of a study's data zip on its chapter's page (:func:`study_zip`)."""
    return f"{study_id}-data.zip"


def study_zip(study_id: str, page: Page | None) -> str:
    """Zip the study's extracted data (its own files in ``data/``: ``study.yml`` and the known
    table CSVs, never a symlink, hidden file, backup or note) with the format notes and a
    machine-readable schema; return the link line. Aggregates only: ``data/`` holds no patients."""
    from .data import DATA_DIR, FORMAT_NOTES, require_study_id, study_files
    from .schema import describe

    if page is None:
        return ""
    name = study_zip_name(require_study_id(study_id))
    href = page.claim(name)
    if page.folder is not None:
        folder = Path(DATA_DIR) / study_id
        entries = {f"{study_id}/{p.name}": p.read_bytes() for p in study_files(folder)}
        readme = Path(DATA_DIR) / FORMAT_NOTES
        if readme.is_file():
            entries[f"{study_id}/{FORMAT_NOTES}"] = readme.read_bytes()
        schema = json.dumps(describe(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
        entries[f"{study_id}/schema.json"] = schema.encode("utf-8")
        page.write(name, _zip(entries))
    return links_html([("extracted data, schema and format notes (zip)", href)])
