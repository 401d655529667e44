"""Every CSV the portal writes goes through here: no cell reaches a spreadsheet as a formula.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula
by Excel, LibreOffice or Google Sheets (OWASP, "CSV Injection"), and file names, run ids, names
and references come from customers. Such a cell gets a leading apostrophe, which spreadsheets
take as "this is text" and do not show. Numbers are written as they are (a negative number is
not a formula). defusedcsv does the same but leaves cells starting with a tab or a carriage
return alone, hence these few lines.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | None


def neutralise(value: Cell) -> str | int | float:
    """The cell as written: text that a spreadsheet would run as a formula starts with ``'``."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Line:
    """A file-like object whose write returns the line, so rows can be streamed one by one."""

    def write(self, line: str) -> str:
        return line


def lines(rows: Iterable[Iterable[Cell]]) -> Iterator[str]:
    """The CSV text of *rows* (the header first), one line at a time, every cell neutralised."""
    writer = csv.writer(_Line())
    for row in rows:
        yield writer.writerow([neutralise(cell) for cell in row])
