"""A figure not drawn yet, and the key of its rendering.

A figure builder (:mod:`reanalysis.plots`) is a function of its arguments, the package's code,
the plotting libraries, the style and the fonts installed. :class:`Drawing` holds a builder and
its arguments without calling it; :func:`key` digests all of those (:mod:`reanalysis.digest`).
When a page's previous run showed a figure under the same key, :func:`reanalysis.figures.show`
keeps that run's rendering (its SVG, PNG and page size) instead of drawing, laying out and
rendering the figure again: the bytes are the ones a new drawing would give
(``tests/test_drawing.py`` compares them).

An argument this module cannot digest (a function, a path, an open figure's axes) makes the
drawing unkeyed: it is drawn every time, as a plain figure is. A dataclass field marked
``metadata={"content": False}`` (where a study was read from) is not part of what is drawn.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from .digest import Unkeyed, feed

if TYPE_CHECKING:
    import matplotlib.figure

FORMAT = 1  # the key's layout: a new layout never matches an old rendering
# the libraries a figure's pixels and coordinates come from (the package's own files and the
# pandas and pandera versions are in reanalysis.data.code_digest)
LIBRARIES = ("numpy", "scipy", "matplotlib", "seaborn", "lifelines", "pillow", "fonttools")


@dataclass(frozen=True)
class Drawing:
    """A figure builder and its arguments, not yet called: ``build(*args, **kwargs)``."""

    build: Callable[..., matplotlib.figure.Figure | None]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def draw(self) -> matplotlib.figure.Figure | None:
        """The figure (None: nothing to draw)."""
        return self.build(*self.args, **self.kwargs)


def later(build: Callable[..., matplotlib.figure.Figure | None], *args: Any, **kwargs: Any) -> Drawing:
    """``build(*args, **kwargs)``, to be drawn by :func:`reanalysis.figures.show` if it must be."""
    return Drawing(build, args, dict(kwargs))


def key(drawing: Drawing, synthetic: bool = False) -> str | None:
    """The SHA-256 of everything the drawing's rendering depends on, or None when an argument
    cannot be digested. Call it inside the style the figure is shown in (every rcParam is in it)."""
    import matplotlib

    h = hashlib.sha256(f"drawing {FORMAT}\0".encode())
    try:
        feed(h, (drawing.build.__module__, drawing.build.__qualname__, drawing.args, dict(drawing.kwargs)))
    except Unkeyed:
        return None
    feed(h, (_environment(), synthetic))
    style = sorted((k, repr(v)) for k, v in dict.items(matplotlib.rcParams) if k != "backend")
    feed(h, json.dumps(style))  # one string: the style is some 300 settings
    return h.hexdigest()


@functools.cache
def _environment() -> str:
    """The digest of what every figure of this process is drawn with: the package's code, the
    libraries' versions and the fonts (worked out once: a chapter draws a dozen figures)."""
    from .data import code_digest

    def known(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return ""

    h = hashlib.sha256()
    feed(h, (code_digest(), tuple((name, known(name)) for name in LIBRARIES), _fonts()))
    return h.hexdigest()


@functools.cache
def _fonts() -> tuple[tuple[str, ...], ...]:
    """The fonts matplotlib can pick from: a font installed or removed can change a glyph.
    (File names and sizes, not paths: a key says nothing about the machine's folders.)"""
    from matplotlib import font_manager

    def size(path: str) -> int:
        try:
            return os.path.getsize(path)
        except OSError:
            return -1

    entries = {
        (f.name, f.style, f.variant, str(f.weight), f.stretch, os.path.basename(f.fname), str(size(f.fname)))
        for f in font_manager.fontManager.ttflist + font_manager.fontManager.afmlist
    }
    return tuple(sorted(entries))
