"""A figure not drawn yet, and the key of its rendering.

A figure builder (:mod:`reanalysis.plots`) is a function of its arguments, the package's code,
the plotting libraries, the style and the fonts installed. :class:`Drawing` holds a builder and
its arguments without calling it; :func:`key` digests all of those. When a page's previous run
showed a figure under the same key, :func:`reanalysis.plots.show` keeps that run's rendering
(its SVG, PNG and page size) instead of drawing, laying out and rendering the figure again:
the bytes are the ones a new drawing would give (``tests/test_drawing.py`` compares them).

An argument this module cannot digest (a function, a path, an open figure's axes) makes the
drawing unkeyed: it is drawn every time, as a plain figure is. A dataclass field marked
``metadata={"content": False}`` (where a study was read from) is not part of what is drawn.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import matplotlib.figure

FORMAT = 1  # the key's layout: a new layout never matches an old rendering
# the libraries a figure's pixels and coordinates come from (the package's own files and the
# pandas and pandera versions are in reanalysis.data.code_digest)
LIBRARIES = ("numpy", "scipy", "matplotlib", "seaborn", "lifelines", "pillow", "fonttools")


# values whose repr is exact and holds no line break: a column of them is digested in one piece
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _plain(value: object) -> bool:
    return type(value) in _PLAIN or (type(value) is tuple and all(type(v) in _PLAIN for v in value))


class Unkeyed(TypeError):
    """An argument whose content this module cannot digest: the figure is drawn every time."""


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
    """``build(*args, **kwargs)``, to be drawn by :func:`reanalysis.plots.show` if it must be."""
    return Drawing(build, args, dict(kwargs))


def key(drawing: Drawing, synthetic: bool = False) -> str | None:
    """The SHA-256 of everything the drawing's rendering depends on, or None when an argument
    cannot be digested. Call it inside the style the figure is shown in (every rcParam is in it)."""
    import matplotlib

    h = hashlib.sha256(f"drawing {FORMAT}\0".encode())
    try:
        _feed(h, (drawing.build.__module__, drawing.build.__qualname__, drawing.args, dict(drawing.kwargs)))
    except Unkeyed:
        return None
    _feed(h, (_environment(), synthetic))
    style = sorted((k, repr(v)) for k, v in dict.items(matplotlib.rcParams) if k != "backend")
    _feed(h, json.dumps(style))  # one string: the style is some 300 settings
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
    _feed(h, (code_digest(), tuple((name, known(name)) for name in LIBRARIES), _fonts()))
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


def _feed(h: Any, value: object) -> None:
    """Add a value to the digest: its type and content, unambiguously (lengths and type names
    delimit every part), or raise :class:`Unkeyed`."""
    import numpy as np
    import pandas as pd

    def put(tag: str, data: bytes = b"") -> None:
        h.update(f"{tag}:{len(data)}:".encode())
        h.update(data)

    if value is None or isinstance(value, (bool, int, float, str, bytes, np.generic, datetime.date)):
        put(type(value).__name__, repr(value).encode())
    elif value is pd.NA or value is pd.NaT:
        put("missing", repr(value).encode())
    elif isinstance(value, Enum):
        put(f"enum {type(value).__qualname__}", repr(value.value).encode())
    elif isinstance(value, (tuple, list)):
        put(f"{type(value).__name__} {len(value)}")
        for item in value:
            _feed(h, item)
    elif isinstance(value, Mapping):  # in order: a builder may draw in the order it is given
        put(f"mapping {len(value)}")
        for k, v in value.items():
            _feed(h, k)
            _feed(h, v)
    elif isinstance(value, pd.DataFrame):
        put(f"frame {value.shape}")
        _feed(h, [str(t) for t in value.dtypes])
        _feed(h, list(value.columns))
        _feed(h, value.index)
        for _, column in value.items():
            _feed(h, column.array)
    elif isinstance(value, pd.MultiIndex):
        put(f"multiindex {len(value)}")
        _feed(h, list(value.names))
        _feed(h, value.tolist())
    elif isinstance(value, (pd.Series, pd.Index)):
        put(f"{type(value).__name__} {value.dtype} {len(value)}")
        _feed(h, value.name)
        if isinstance(value, pd.Series):
            _feed(h, value.index)
        _feed(h, value.array)
    elif isinstance(value, (np.ndarray, pd.api.extensions.ExtensionArray)):
        array = np.asarray(value)
        put(f"array {array.dtype} {array.shape}")
        if array.dtype.hasobject:
            items = array.ravel().tolist()
            if all(_plain(item) for item in items):  # one update, not two an item
                text = "\n".join(f"{type(item).__name__}:{item!r}" for item in items)
                put("plain", text.encode("utf-8", "surrogatepass"))
            else:
                for item in items:
                    _feed(h, item)
        else:
            h.update(np.ascontiguousarray(array).tobytes())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        put(f"dataclass {type(value).__module__}.{type(value).__qualname__}")
        for f in dataclasses.fields(value):
            if f.metadata.get("content", True):
                _feed(h, f.name)
                _feed(h, getattr(value, f.name))
    else:
        raise Unkeyed(type(value).__qualname__)
