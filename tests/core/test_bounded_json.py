"""The bounded JSON reader: size and nesting are refused before parsing, strings do not count."""

from __future__ import annotations

import json

import pytest

from deletions.core import bounded_json
from deletions.core.bounded_json import Malformed, TooDeep, TooLarge


def test_it_reads_what_json_reads():
    text = json.dumps({"a": [1, "x", {"b": None}], "c": "é"})
    assert bounded_json.loads(text, max_bytes=100) == json.loads(text)
    assert bounded_json.loads(text.encode(), max_bytes=100) == json.loads(text)


def test_a_thousand_opening_brackets_are_too_deep_not_a_recursion_error():
    with pytest.raises(TooDeep):
        bounded_json.loads("[" * 1000, max_bytes=None)
    with pytest.raises(TooDeep):
        bounded_json.loads(b'{"a":' * 100_000, max_bytes=None)


def test_the_depth_limit_is_exact():
    at_limit = "[" * bounded_json.MAX_DEPTH + "]" * bounded_json.MAX_DEPTH
    assert bounded_json.loads(at_limit, max_bytes=None) is not None
    with pytest.raises(TooDeep):
        bounded_json.loads("[" + at_limit + "]", max_bytes=None)
    with pytest.raises(TooDeep):
        bounded_json.loads('{"a": [[1]]}', max_bytes=None, max_depth=2)


def test_brackets_inside_strings_do_not_count():
    text = json.dumps(["[" * 500, "{" * 500, '\\"[[[', "]" * 500])
    assert bounded_json.depth(text) == 1
    assert bounded_json.loads(text, max_bytes=None, max_depth=1)[0] == "[" * 500


@pytest.mark.parametrize(
    "text",
    [
        '"' + '\\"' * 100_000,  # an unterminated string of escaped quotes
        '"\\' * 100_000,  # unterminated strings ending in a backslash
        '"' * 200_001,
        '["' + "[" * 100_000,  # brackets inside an unterminated string
    ],
)
def test_unterminated_strings_are_malformed_and_scanned_in_one_pass(text):
    with pytest.raises(Malformed):
        bounded_json.loads(text, max_bytes=None)


def test_the_size_limit_is_checked_in_bytes_before_anything_else():
    with pytest.raises(TooLarge) as refused:
        bounded_json.loads("[" * 101, max_bytes=100)
    assert refused.value.status == 413
    # Two bytes per "é" in UTF-8: 60 characters are 120 bytes.
    with pytest.raises(TooLarge):
        bounded_json.loads(json.dumps("é" * 60, ensure_ascii=False), max_bytes=100)


@pytest.mark.parametrize(
    "data",
    ["{not json", '{"a": NaN}', "[Infinity]", "1" * 5000, b"\xff\xfe", ""],
)
def test_what_is_not_json_is_malformed_with_a_400(data):
    with pytest.raises(Malformed) as refused:
        bounded_json.loads(data, max_bytes=None)
    assert refused.value.status == 400
    assert isinstance(refused.value, ValueError)
