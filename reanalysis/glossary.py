"""The glossary as data (``reanalysis/rules/glossary.yml``): the glossary page, and abbreviations spelled out
the first time a chapter's generated prose uses them.

One file serves both, so the page and the chapters never disagree: ``python -m reanalysis
glossary`` writes ``book/glossary.md`` from it (a test checks the two are in step), and a
chapter's :class:`FirstUse` turns the first "ORR" of its prose into "objective response rate
(ORR)". Nothing here knows a study or a disease: the words are the file's.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

GLOSSARY_FILE = Path(__file__).resolve().parent / "rules" / "glossary.yml"
PAGE_INTRO = "Abbreviations and terms used in the chapters, in alphabetical order."
WRAP = 100  # the page's Markdown line width (the other pages' convention)


@dataclass(frozen=True)
class Entry:
    """One glossary entry: its heading, the abbreviations it spells out, its definition."""

    term: str
    definition: str
    expand: tuple[tuple[str, str], ...] = ()


@cache
def entries(path: Path = GLOSSARY_FILE) -> tuple[Entry, ...]:
    """The glossary's entries, in the file's order."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return tuple(
        Entry(
            str(e["term"]),
            " ".join(str(e["definition"]).split()),
            tuple((str(k), str(v)) for k, v in (e.get("expand") or {}).items()),
        )
        for e in raw
    )


def markdown(path: Path = GLOSSARY_FILE) -> str:
    """The glossary page (MyST ``{glossary}`` directive), as ``book/glossary.md`` holds it."""
    blocks = []
    for e in entries(path):
        body = textwrap.fill(e.definition, WRAP, initial_indent="  ", subsequent_indent="  ")
        blocks.append(f"{e.term}\n{body}")
    return "# Glossary\n\n" + PAGE_INTRO + "\n\n```{glossary}\n" + "\n\n".join(blocks) + "\n```\n"


def _pattern(abbreviation: str) -> re.Pattern:
    """The abbreviation as a whole token: not part of a longer word ("OS" not in "DOSE", "PFS"
    not in "mPFS"), of a hyphenated or dotted name, or of a combination ("IO + T" in an arm
    called "RT + IO + T" is the arm's name, not the abbreviation)."""
    return re.compile(r"(?<![\w.-])(?<!\+ )" + re.escape(abbreviation) + r"(?![\w-])(?! \+)")


@dataclass
class FirstUse:
    """Spells out each abbreviation once per chapter, where its prose first uses it; the
    same object goes through the chapter's generated text in reading order."""

    seen: set[str] = field(default_factory=set)
    path: Path = GLOSSARY_FILE

    def expand(self, text: str) -> str:
        """``text`` with the first use in the chapter of each abbreviation spelled out, in one
        pass over the text as given (an expansion is never expanded again). An abbreviation in
        parentheses qualifies the word before it ("DCR (mRECIST)") and is left for a later use.
        Run it on plain text, before escaping (the expansions are text too)."""
        spans: list[tuple[int, int, str]] = []
        for entry in entries(self.path):
            for abbreviation, words in entry.expand:
                if abbreviation in self.seen:
                    continue
                if words.lower() in text.lower() and _pattern(abbreviation).search(text):
                    self.seen.add(abbreviation)  # the text spells it out itself
                    continue
                match = next(
                    (
                        m
                        for m in _pattern(abbreviation).finditer(text)
                        if text[max(0, m.start() - 1) : m.start()] != "("
                    ),
                    None,
                )
                if match is None:
                    continue
                self.seen.add(abbreviation)
                spans.append((match.start(), match.end(), f"{words} ({abbreviation})"))
        for start, end, replacement in sorted(spans, reverse=True):
            text = text[:start] + replacement + text[end:]
        return text
