"""How a figure reaches a page: the book's style, its layout, one measuring draw, the SVG the
page shows and the PNG and SVG downloads (:func:`show`), deterministic: no timestamps in metadata.

The style (:func:`book_style`: Matplotlib's own defaults and :data:`STYLE`) is applied while a
figure is built (:func:`styled`) and while it is shown and saved (:func:`show`): importing this
module leaves ``matplotlib.rcParams`` alone, and a user's ``matplotlibrc`` changes no figure.
The figures themselves are built in :mod:`reanalysis.plots`.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import warnings
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

import matplotlib.pyplot as plt
from matplotlib.layout_engine import PlaceHolderLayoutEngine
from matplotlib.transforms import Bbox

from . import downloads, drawing
from .text import html

# a fixed SVG hash salt makes SVG ids byte-stable; the page shows a figure's SVG at 100 px an
# inch (figure.dpi), the PNG download is saved at 300 dpi (print and slide quality, as journals
# ask for; a figure taller than an A4 page at fewer, downloads.png_dpi)
STYLE = {"svg.hashsalt": "reanalysis", "figure.dpi": 100, "savefig.dpi": downloads.PNG_DPI}
# the mark every figure drawn from an invented cohort carries, in its PNG, SVG and on the page
WATERMARK = "SYNTHETIC DATA"
# matplotlib's warning when the figure font lacks a character of a label (an emoji in an arm
# label): the character is drawn as the font's empty box and a note under the figure names it,
# instead of a warning that would fail the chapter without saying which label
GLYPH_WARNING = r"Glyph \d+ .*missing from font"

_P = ParamSpec("_P")
_R = TypeVar("_R")


def book_style() -> contextlib.AbstractContextManager[None]:
    """Matplotlib's own defaults (its ``default`` style) with :data:`STYLE` on top, for the
    duration of a ``with``: a figure is the same whatever the process's rcParams (a user's
    ``matplotlibrc``, a notebook's settings), as two machines' builds must be."""
    return plt.style.context(["default", STYLE])


def styled(build: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run a figure builder inside :func:`book_style`: the figure gets the book's style
    (figure dpi is read when a figure is created) and the global rcParams are left alone."""

    @functools.wraps(build)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with book_style(), glyphs_as_boxes():
            return build(*args, **kwargs)

    return wrapper


@contextlib.contextmanager
def glyphs_as_boxes() -> Iterator[None]:
    """Draw a character the font lacks as its empty box, without matplotlib's warning
    (:func:`show` names such characters under the figure)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=GLYPH_WARNING, category=UserWarning)
        yield


@functools.cache
def _charmap(font_path: str) -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(font_path).get_charmap())


def missing_glyphs(fig: plt.Figure) -> list[str]:
    """The characters of a drawn figure's texts that its font cannot draw, in order of first use."""
    from matplotlib import font_manager
    from matplotlib.text import Text

    out: dict[str, None] = {}
    for text in fig.findobj(Text):
        value = text.get_text()
        if value.isascii():
            continue
        charmap = _charmap(font_manager.findfont(text.get_fontproperties()))
        out |= {ch: None for ch in value if not ch.isspace() and ord(ch) not in charmap}
    return list(out)


def axes_for(ax: plt.Axes | None, figsize: tuple[float, float]) -> tuple[plt.Figure, plt.Axes, bool]:
    """The axes to draw on: the caller's ``ax`` (its figure left as the caller laid it out), or a
    new figure of ``figsize`` that this function owns and lays out."""
    if ax is not None:
        return ax.figure, ax, False
    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax, True


def finish(fig: plt.Figure, own: bool) -> plt.Figure:
    """Lay out a figure this function made (``own``); a caller's figure is the caller's to lay out.
    Labels from data can be too long to lay out: the figure is then drawn as it is, without the
    warning (a chapter stores no warning)."""
    if own:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Tight layout not applied")
            fig.tight_layout()
    return fig


def settle_labels(fig: plt.Figure) -> None:
    """Spare later draws matplotlib's search for where a label goes, where the last draw's
    answer holds at any resolution: an axis without a label (only its anchor point counts, in
    the tight bounding box) is pinned where that draw put it, in axes coordinates; a title that
    draw left where it starts (at the top of its axes: nothing, such as x ticks above or a y
    axis offset "1e6", pushed it up) is pinned there. A title that was pushed up is left to
    matplotlib.

    Each search measures every tick label of the axis: a forest plot of 64 studies spends about
    a tenth of a second of each draw on it. :func:`tight_bbox` calls this after its measuring
    draw, for the measuring and the SVG and PNG saves; the figure's bytes are the same
    (``tests/test_plots.py``). Call it only after a draw of the final layout."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if not axis.label.get_text():
                anchor = axis.label.get_transform().transform(axis.label.get_position())
                axis.set_label_coords(*ax.transAxes.inverted().transform(anchor))
        titled = any(ax.get_title(loc) for loc in ("left", "center", "right"))
        if titled and ax.title.get_position()[1] == 1.0:  # every title of an axes is at one height
            # set_title(y=1.0) would pin it too, but resets the title's size and padding
            ax._autotitlepos = False


def watermark(fig: plt.Figure) -> None:
    """Mark a figure drawn from an invented cohort, across its middle (kept in PNG and SVG)."""
    fig.text(0.5, 0.5, WATERMARK, transform=fig.transFigure, ha="center", va="center", rotation=25,
             fontsize=44, fontweight="bold", color="#c62828", alpha=0.18, zorder=100)  # fmt: skip


def tight_bbox(fig: plt.Figure) -> Bbox:
    """The figure's tight bounding box (inches, padded by ``savefig.pad_inches``), as
    ``savefig(bbox_inches="tight")`` computes it, but once: each such save lays the whole
    figure out again just to measure it, and a figure is saved three times (page, PNG, SVG).

    A figure laid out once (``tight_layout``: its layout engine is then a placeholder, which lays
    out nothing) is left without one, so that a save does not draw it a second time merely
    because it has an engine (``print_figure`` does). The PNG is the same; an SVG coordinate can
    move in its sixth decimal (a millionth of a point: float rounding of positions last worked
    out at the measuring draw's resolution, not the SVG's), and with it a clip path's hashed id.
    A figure with a working engine keeps it: each save lays it out at the save's resolution.
    A figure left without one also has its labels pinned where this draw placed them
    (:func:`settle_labels`: a change to the figure, so that no save searches for them again)."""
    fig.draw_without_rendering()
    if isinstance(fig.get_layout_engine(), PlaceHolderLayoutEngine):
        with plt.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
            fig.set_layout_engine(None)  # None means "from rcParams": both off here
    if fig.get_layout_engine() is None:  # laid out for good: no save moves a thing
        settle_labels(fig)
    return fig.get_tightbbox(fig.canvas.get_renderer()).padded(plt.rcParams["savefig.pad_inches"])


def page_width(bbox: Bbox) -> int:
    """A figure's width on the page, in CSS px: the size a page PNG had."""
    return round(bbox.width * STYLE["figure.dpi"])


def _figure_tag(svg: bytes, width: int, alt: str, caption: str) -> str:
    """The figure as the page shows it: its SVG (sharp at any zoom and on high-density screens)
    inside ``<figure>``, ``width`` CSS px wide (:func:`page_width`), with its alt text and
    caption (both escaped: they may quote data). An SVG in an ``<img>`` runs no script and
    fetches nothing; the SVG is rendered anyway, for download, so a page PNG (a fourth of a
    figure's cost) is not."""
    src = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
    cap = f"<figcaption>{html(caption)}</figcaption>" if caption else ""
    img = f'<img src="{src}" width="{width}" alt="{html(alt)}"/>'
    return f'<figure class="reanalysis-figure">{img}{cap}</figure>'


def show(
    fig: plt.Figure | drawing.Drawing | None,
    name: str,
    page: downloads.Page | None = None,
    *,
    alt: str,
    caption: str = "",
    synthetic: bool = False,
) -> None:
    """The one way a figure reaches a page: shown with its ``alt`` text (required: what the
    figure shows, for readers who cannot see it) and ``caption``, with PNG (300 dpi, up to an A4
    page's pixels: :func:`reanalysis.downloads.png_dpi`) and SVG
    downloads on the chapter's ``page``, then closed. A ``synthetic`` figure is watermarked
    first. ``None`` (no figure to draw) shows nothing. Shown and saved inside
    :func:`book_style` (dpi, SVG hash salt).

    A :class:`~reanalysis.drawing.Drawing` (``drawing.later(builder, *args)``) is drawn only
    when the page's previous run did not show it drawn from the same key
    (:func:`reanalysis.drawing.key`): otherwise that run's SVG and PNG are kept, the same bytes,
    without drawing, laying out or rendering anything (most of a chapter's time)."""
    if fig is None:
        return
    if not alt.strip():
        raise ValueError(f"figure '{name}' has no alt text")
    from IPython.display import HTML, display

    with book_style(), glyphs_as_boxes():
        key = kept = None
        if isinstance(fig, drawing.Drawing):
            if page is not None and page.folder is not None:
                key = drawing.key(fig, synthetic)
                kept = page.previous_figure(name, key) if key else None
            fig = None if kept else fig.draw()
            if fig is None and kept is None:
                return
        if kept is not None:
            missing = list(kept.drawn.missing)
            page_html = _figure_tag(kept.svg, kept.drawn.width, alt, caption)
            links = downloads.kept_figure_files(name, page, kept)  # type: ignore[arg-type]
        else:
            if synthetic:
                watermark(fig)
            bbox = tight_bbox(fig)
            missing = missing_glyphs(fig)  # the measuring draw drew it: tick labels hold their text
            svg = downloads.svg_bytes(fig, bbox)
            width = page_width(bbox)
            drawn = downloads.Drawn(key, downloads.sha256(svg), width, tuple(missing)) if key else None
            page_html = _figure_tag(svg, width, alt, caption)
            links = downloads.figure_files(fig, name, page, bbox, svg, drawn)
            plt.close(fig)
    note = f"<p><em>{html(_missing_note(missing))}</em></p>" if missing else ""
    display(HTML(page_html + links + note))


def _missing_note(chars: list[str]) -> str:
    """What a reader is told when labels hold characters the figure font cannot draw."""
    return (
        f"The figure's font cannot draw {' '.join(chars)} (from the labels as extracted): "
        "each shows as an empty box in the figure; the tables show them as printed."
    )
