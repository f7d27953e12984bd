"""A digest of what a value says: its type and content, not where it came from.

Two keys rest on it: a figure's (:mod:`reanalysis.drawing`: the builder's arguments) and a
study's results (:mod:`reanalysis.results`: the study as loaded, so that an edit that changes
no value, such as a comment or the layout of a file, does not compute the study again).
Values are digested unambiguously: lengths and type names delimit every part, ``1`` and ``1.0``
and ``"1"`` differ, and a table is digested cell by cell with its columns' types. A dataclass
field marked ``metadata={"content": False}`` (where a study was read from) is left out.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from collections.abc import Mapping
from enum import Enum
from typing import Any

# values whose repr is exact and holds no line break: a column of them is digested in one piece
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _plain(value: object) -> bool:
    return type(value) in _PLAIN or (type(value) is tuple and all(type(v) in _PLAIN for v in value))


class Unkeyed(TypeError):
    """A value whose content this module cannot digest (a function, a path, an open figure)."""


def of(*values: object) -> str:
    """The SHA-256 of the values, in order (:func:`feed`), as hex; :class:`Unkeyed` if one of
    them cannot be digested."""
    h = hashlib.sha256()
    feed(h, values)
    return h.hexdigest()


def feed(h: Any, value: object) -> None:
    """Add a value to the digest ``h`` (a :mod:`hashlib` object): its type and content,
    unambiguously, or raise :class:`Unkeyed`."""
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
            feed(h, item)
    elif isinstance(value, Mapping):  # in order: a builder may draw in the order it is given
        put(f"mapping {len(value)}")
        for k, v in value.items():
            feed(h, k)
            feed(h, v)
    elif isinstance(value, pd.DataFrame):
        put(f"frame {value.shape}")
        feed(h, [str(t) for t in value.dtypes])
        feed(h, list(value.columns))
        feed(h, value.index)
        for _, column in value.items():
            feed(h, column.array)
    elif isinstance(value, pd.MultiIndex):
        put(f"multiindex {len(value)}")
        feed(h, list(value.names))
        feed(h, value.tolist())
    elif isinstance(value, (pd.Series, pd.Index)):
        put(f"{type(value).__name__} {value.dtype} {len(value)}")
        feed(h, value.name)
        if isinstance(value, pd.Series):
            feed(h, value.index)
        feed(h, value.array)
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
                    feed(h, item)
        else:
            h.update(np.ascontiguousarray(array).tobytes())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        put(f"dataclass {type(value).__module__}.{type(value).__qualname__}")
        for f in dataclasses.fields(value):
            if f.metadata.get("content", True):
                feed(h, f.name)
                feed(h, getattr(value, f.name))
    else:
        raise Unkeyed(type(value).__qualname__)
