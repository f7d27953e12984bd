"""Errors the package raises on bad input: each names where the problem is."""

from __future__ import annotations


class ReanalysisError(Exception):
    """Base class: the command line prints the message and exits non-zero."""


class DataError(ReanalysisError):
    """A data file is missing, unreadable or violates its schema.

    The message names the file, the CSV line (header = line 1) and the column, so the
    person fixing the extraction can go straight to the cell.
    """

    def __init__(self, file: str, message: str, *, row: int | None = None, column: str | None = None) -> None:
        self.file, self.row, self.column = file, row, column
        where = file
        if row is not None:
            where += f", line {row}"
        if column is not None:
            where += f", column '{column}'"
        super().__init__(f"{where}: {message}")

    @classmethod
    def from_entries(cls, file: str, entries: list[tuple[int | None, str | None, str]]) -> DataError:
        """One error for many (line, column, message) findings: the first located in the
        message head, up to ten listed one per line, then how many more."""
        entries = sorted(entries, key=lambda e: (e[0] is None, e[0] or 0))
        lines = [
            ", ".join(x for x in (f"line {r}" if r else "", f"column '{c}'" if c else "") if x) + f": {m}"
            for r, c, m in entries[:10]
        ]
        more = f"\n  … and {len(entries) - 10} more" if len(entries) > 10 else ""
        row, column, first = entries[0] if entries else (None, None, "schema violation")
        rest = "\n  " + "\n  ".join(lines[1:]) if len(lines) > 1 else ""
        return cls(file, first + rest + more, row=row, column=column)


class ParameterError(ReanalysisError):
    """A chapter parameter is unknown, ill-typed or out of range."""


class Interrupted(ReanalysisError):
    """A run stopped by SIGINT or SIGTERM; the message says what it changed before it stopped."""
