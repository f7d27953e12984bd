"""Every ``printed`` string must occur in the study's source text, when that text is at hand.

A transcription error (a typo in an extracted cell) would otherwise be blamed on the authors.
Matching ignores whitespace and the kind of dash (hyphen, en dash, minus, …), since text
extraction changes both; a printed string holding several table cells joined by `` | `` is
checked cell by cell. The source folder is ``../shared/seeds`` beside the repository, or
``REANALYSIS_SOURCES``; when it or a source file is absent, nothing is checked and the caller
says so.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .data import REPO_ROOT, Study, _rel, line_of
from .errors import DataError
from .schema import TABLE_ORDER

SOURCES_DIR = Path(os.environ.get("REANALYSIS_SOURCES", REPO_ROOT.parent / "shared" / "seeds"))
DASHES = re.compile(r"[\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d]")
SPACE = re.compile(r"\s+")
CELL_SEPARATOR = " | "


def normalise(text: str) -> str:
    """Text with every dash as ``-`` and no whitespace (extraction moves both)."""
    return SPACE.sub("", DASHES.sub("-", text.replace("\u00a0", " ")))


def cells(printed: str) -> list[str]:
    """The cells of a printed string (table cells joined by `` | ``), each checked alone."""
    return [c for c in printed.split(CELL_SEPARATOR) if c.strip()]


def missing_printed(
    study: Study, sources: Path | None = None
) -> tuple[list[tuple[str, int, str]], int, list[str]]:
    """(file, CSV line, printed cell) of every printed cell not in its source, the number of
    printed strings checked, and the source files that are not at hand (not checked)."""
    sources = Path(sources or SOURCES_DIR)
    texts: dict[str, str | None] = {}

    def text_of(name: str) -> str | None:
        if name not in texts:
            path = sources / name
            texts[name] = normalise(path.read_text(encoding="utf-8")) if path.is_file() else None
        return texts[name]

    default = str(study.meta.get("source") or "")
    missing: list[tuple[str, int, str]] = []
    absent: set[str] = set()
    checked = 0
    for table in TABLE_ORDER:
        frame = study.tables.get(table)
        if frame is None or frame.empty or "printed" not in frame:
            continue
        for idx, row in frame.iterrows():
            printed = row["printed"]
            if not isinstance(printed, str):
                continue
            name = row.get("source") if isinstance(row.get("source"), str) else default
            text = text_of(name)
            if text is None:
                absent.add(name)
                continue
            checked += 1
            for cell in cells(printed):
                if normalise(cell) not in text:
                    missing.append((f"{table}.csv", line_of(frame, idx) or 0, cell))
    return missing, checked, sorted(absent)


def check_printed(study: Study, sources: Path | None = None) -> tuple[int, list[str]]:
    """Raise a DataError naming file, line and column ``printed`` for the printed cells not in
    the source (those of the first file with any, then how many elsewhere); else return
    (strings checked, source files not at hand)."""
    missing, checked, absent = missing_printed(study, sources)
    if missing:
        first = missing[0][0]
        entries = [
            (line, "printed", f"{cell!r} does not occur in the source text")
            for f, line, cell in missing
            if f == first
        ]
        others = len(missing) - len(entries)
        if others:
            entries.append((None, None, f"and {others} more in other files of this study"))
        raise DataError.from_entries(_rel((study.folder or Path(study.id)) / first), entries)
    return checked, absent
