"""Hourly limits on the forms anyone may post without signing in: the public erasure form and
password reset.

Counters live in the cache (Redis in production, shared by every web process), one per client
address (``deletions.core.client_address``, so one client's requests never close a form for another)
or per e-mail address (under a keyed hash, so the cache holds no address in clear). Callers count
only submissions that passed validation: a mistyped form costs nothing.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from deletions.core import crypto
from deletions.core.client_address import client_ip

WINDOW_SECONDS = 3600


def over_limit(key: str, limit: int) -> bool:
    """Count one hit on *key* in the current window; True if the limit is exceeded."""
    cache.add(key, 0, WINDOW_SECONDS)
    try:
        hits = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, WINDOW_SECONDS)
        hits = 1
    return hits > limit


def client_over_limit(scope: str, request: HttpRequest, limit: int) -> bool:
    """Count one hit of *request*'s client on form *scope*; True past *limit* this window."""
    return over_limit(f"{scope}:ip:{client_ip(request) or 'unknown'}", limit)


def email_over_limit(scope: str, address: str, limit: int) -> bool:
    """Count one hit for e-mail *address* on form *scope*; True past *limit* this window."""
    digest = crypto.keyed_hash(address.strip().lower(), purpose=f"{scope}-email")
    return over_limit(f"{scope}:email:{digest}", limit)


def too_many(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """The 429 page: *template* says what to do, and when to come back."""
    response = render(request, template, {**context, "minutes": WINDOW_SECONDS // 60}, status=429)
    response["Retry-After"] = str(WINDOW_SECONDS)
    return response
