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


class ParameterError(ReanalysisError):
    """A chapter parameter is unknown, ill-typed or out of range."""
