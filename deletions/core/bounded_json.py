"""Reading JSON that comes from outside: size and nesting are checked before anything is parsed.

Python's ``json`` parses nested arrays and objects recursively: a few thousand ``[`` in a row
raise ``RecursionError`` (a server error, and an error e-mail to the admins) however small the
text is, and a large text costs a worker for as long as it takes to read. So :func:`loads` first
refuses a text over its size limit, then measures how deeply it nests with a scan that does not
recurse, and only then parses it.

The scan runs in C: a regular expression cuts out the strings (brackets inside them do not
count), another keeps only the brackets, and the depth is the highest running sum of +1 per
opening and -1 per closing bracket (``itertools.accumulate``). It reads the text the way the
parser does up to the point where the parser would give up, so it never measures less depth than
the parser would reach.

No Django here: the Extend client, which has no Django imports, reads with it too.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

# Far deeper than anything the portal reads (API bodies, webhooks, certificates nest a few
# levels; run metadata a few more), far shallower than Python's recursion limit.
MAX_DEPTH = 64

# A string, or an unterminated one running to the end: every match that starts succeeds, so the
# scan stays linear whatever the quotes and backslashes (the parser stops at such a string).
_STRING = re.compile(r'"[^"\\]*(?:\\.?[^"\\]*)*(?:"|\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class JSONRefused(ValueError):
    """The text was not parsed; ``status`` is the HTTP answer that says why (400 or 413)."""

    status = 400


class TooLarge(JSONRefused):
    status = 413


class TooDeep(JSONRefused):
    pass


class Malformed(JSONRefused):
    pass


def depth(text: str) -> int:
    """How deeply *text* nests arrays and objects (0 for a scalar), without recursion."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _size(data: str | bytes) -> int:
    if isinstance(data, bytes) or data.isascii():
        return len(data)
    return len(data.encode("utf-8", "surrogatepass"))


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; the standard library accepts them unless told otherwise.
    raise Malformed(f"{name} is not a JSON value.")


def loads(data: str | bytes, *, max_bytes: int | None, max_depth: int = MAX_DEPTH) -> Any:
    """Parse *data* (UTF-8 bytes or text) if it is at most *max_bytes* long and nests at most
    *max_depth* levels; raise :class:`TooLarge`, :class:`TooDeep` or :class:`Malformed`
    otherwise. ``max_bytes=None`` is for text bounded before it was read, or not a client's."""
    if max_bytes is not None and _size(data) > max_bytes:
        raise TooLarge(f"The JSON is larger than {max_bytes:,} bytes.")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Malformed("The JSON is not UTF-8 text.") from None
    # A text cannot nest deeper than it has opening brackets: most stop at these two counts.
    if data.count("[") + data.count("{") > max_depth and depth(data) > max_depth:
        raise TooDeep(f"The JSON nests more than {max_depth} levels deep.")
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except JSONRefused:
        raise
    except ValueError as error:  # JSONDecodeError, or an integer of more than 4,300 digits
        raise Malformed(f"The text is not valid JSON: {error}.") from None
