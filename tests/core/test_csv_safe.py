"""The one CSV writer: every cell that a spreadsheet would run as a formula is written as text."""

from __future__ import annotations

import csv
import io

import pytest

from deletions.core import csv_safe


@pytest.mark.parametrize(
    "hostile",
    ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("x")'],
)
def test_a_formula_is_written_as_text(hostile):
    assert csv_safe.neutralise(hostile) == "'" + hostile
    (line,) = csv_safe.lines([[hostile]])
    (cell,) = next(csv.reader(io.StringIO(line)))
    assert cell == "'" + hostile


@pytest.mark.parametrize("value", ["pr_123", "a=b", "report-2026.pdf", "", " =x"])
def test_other_text_is_left_alone(value):
    assert csv_safe.neutralise(value) == value


def test_numbers_are_written_as_numbers_and_none_as_nothing():
    assert csv_safe.neutralise(-5) == -5
    assert csv_safe.neutralise(2.5) == 2.5
    assert csv_safe.neutralise(None) == ""
    assert csv_safe.neutralise(True) == "True"
