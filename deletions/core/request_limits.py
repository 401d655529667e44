"""How large a body a client says it sends, checked before the body is read (a refused request
costs no more than its headers). How often a client may try: deletions/accounts/throttle.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def declared_length(meta: Mapping[str, Any]) -> int:
    """The body's length as the client announced it in a request's *meta* (0 if it did not, or
    not as a number). Django reads no more of a body than this, so a request refused on it is
    refused unread."""
    try:
        return max(int(meta.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0
