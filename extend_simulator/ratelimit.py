"""Extend's rate limits: per organisation, per category (GET, WRITE), as token buckets.

A bucket holds at most ``burst`` tokens and refills at ``rate`` tokens per second; a call takes
one token or is refused with the whole seconds until one is available (at least 1, as Extend's
``Retry-After`` is whole seconds).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

GET = "GET"
WRITE = "WRITE"


def category_of(method: str) -> str:
    """GET for reads; every other method (DELETE included) is a WRITE."""
    return GET if method in ("GET", "HEAD") else WRITE


@dataclass
class TokenBucket:
    """A token bucket; the caller provides the clock and the locking."""

    rate: float
    burst: float
    tokens: float
    updated: float

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 if one is there now)."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        """Take one token (call ``wait_time`` first)."""
        self._refill(now)
        self.tokens -= 1

    def reconfigure(self, rate: float, burst: float, now: float) -> None:
        """Change rate and size; a bigger bucket does not fill up by itself."""
        self._refill(now)
        self.rate, self.burst = rate, burst
        self.tokens = min(self.tokens, burst)


class RateLimiter:
    """Buckets keyed by (scope, category); a call must find a token in every bucket it uses."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, minimum_wait: int = 1) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._limits: dict[tuple[str, str], tuple[float, float]] = {}
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._minimum_wait = minimum_wait

    def configure(self, scope: str, category: str, rate: float, burst: float | None = None) -> None:
        """Set the limit of one scope (``org:<id>`` or ``ws:<id>``) and category."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        size = max(1.0, rate) if burst is None else burst
        if size < 1:
            raise ValueError("burst must be at least 1")
        with self._lock:
            self._limits[(scope, category)] = (rate, size)
            bucket = self._buckets.get((scope, category))
            if bucket is not None:
                bucket.reconfigure(rate, size, self._clock())

    def limits(self) -> dict[str, dict[str, float]]:
        """Current limits as ``{"org:x/GET": {"rate": .., "burst": ..}}``."""
        with self._lock:
            return {
                f"{scope}/{category}": {"rate": rate, "burst": burst}
                for (scope, category), (rate, burst) in self._limits.items()
            }

    def acquire(self, scopes: list[str], category: str) -> int | None:
        """Take a token from each scope's bucket, or return whole seconds to wait (>= 1).

        Either every bucket gives a token or none does, so a refused call costs nothing.
        """
        with self._lock:
            now = self._clock()
            buckets = [self._bucket(scope, category, now) for scope in scopes]
            waits = [bucket.wait_time(now) for bucket in buckets if bucket is not None]
            longest = max(waits, default=0.0)
            if longest > 0:
                return max(self._minimum_wait, math.ceil(longest))
            for bucket in buckets:
                if bucket is not None:
                    bucket.take(now)
            return None

    def reset(self) -> None:
        """Refill every bucket."""
        with self._lock:
            self._buckets.clear()

    def _bucket(self, scope: str, category: str, now: float) -> TokenBucket | None:
        limit = self._limits.get((scope, category))
        if limit is None:
            return None
        bucket = self._buckets.get((scope, category))
        if bucket is None:
            rate, burst = limit
            bucket = self._buckets[(scope, category)] = TokenBucket(rate, burst, burst, now)
        return bucket
