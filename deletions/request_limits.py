"""Limits on what one client may send: how large a body, and how many tries in a window.

Both are checked before a request's body is read, so a refused request costs no more than its
headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.cache import cache


def declared_length(meta: Mapping[str, Any]) -> int:
    """The body's length as the client announced it in a request's *meta* (0 if it did not, or
    not as a number). Django reads no more of a body than this, so a request refused on it is
    refused unread."""
    try:
        return max(int(meta.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def over_limit(key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit on *key* in its window (a cache counter shared by every web process);
    True once there have been more than *limit*."""
    cache.add(key, 0, window_seconds)
    try:
        hits = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window_seconds)
        hits = 1
    return hits > limit
