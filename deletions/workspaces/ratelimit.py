"""A rate limiter shared by every worker process and thread: Extend's limit is per organisation.

It hands out send *slots* spaced ``1 / rate`` seconds apart (a generic cell-rate algorithm with no
burst), so no one-second window ever holds more than the limit, whichever process sends. A slot
is granted only when it has come (the caller then sends at once); otherwise the caller is told
how long to stay away and asks again then. Granting at the moment of sending, rather than
reserving a future slot and sleeping until it, keeps a caller that wakes up late from landing
right next to the one after it. A 429 pushes the next slot past the ``Retry-After`` delay for
everyone.

The state is one number per key: in Redis when ``REDIS_URL`` is set (an atomic Lua script, time
from the Redis server so all machines agree), otherwise a row in the database (the embedded
default, where all processes share one SQLite file and one clock).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import redis
from django.conf import settings
from django.db import transaction

from deletions.models import RateLimitSlot, Workspace

# Slots are spaced a little wider than 1/rate so that network jitter between the moment a
# worker sends and the moment Extend counts never pushes a one-second window over the limit.
SAFETY_FACTOR = 0.97
# A slot nobody took on time is lost, not credited to a late caller (the cell-rate algorithm
# without tolerance): all of the room the safety factor leaves (about 30 ms in any second) is
# kept for what happens between a grant and the call's arrival at Extend (a thread paused by a
# busy machine, network jitter). A tolerance bought a few per cent of throughput with that room,
# and a loaded machine then put one call over the limit in the suite's shared-limit test.


@dataclass(frozen=True)
class Reservation:
    """``granted``: sleep ``wait`` seconds, then send. Otherwise come back in ``wait`` seconds.

    ``slot``: when granted, the moment the slot was given, on the store's clock (the one every
    process shares); 0 otherwise."""

    granted: bool
    wait: float
    slot: float = 0.0


class SlotStore(Protocol):
    def reserve(self, key: str, interval: float) -> Reservation: ...

    def block(self, key: str, seconds: float) -> None: ...

    def reset(self, key: str) -> None: ...


_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(nxt, now)
local wait = slot - now
if wait > 0 then
  return {0, tostring(wait), '0'}
end
local new = slot + tonumber(ARGV[1])
redis.call('SET', KEYS[1], tostring(new), 'PX', math.ceil((new - now) * 1000) + 60000)
return {1, tostring(wait), string.format('%.6f', slot)}
"""

_BLOCK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local new = math.max(nxt, now + tonumber(ARGV[1]))
redis.call('SET', KEYS[1], tostring(new), 'PX', math.ceil((new - now) * 1000) + 60000)
return tostring(new)
"""


class RedisSlots:
    """Slots in Redis, shared by every machine that uses the same Redis."""

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._reserve = self._redis.register_script(_RESERVE)
        self._block = self._redis.register_script(_BLOCK)

    def reserve(self, key: str, interval: float) -> Reservation:
        granted, wait, slot = self._reserve(keys=[f"ratelimit:{key}"], args=[interval])
        return Reservation(bool(int(granted)), float(wait), float(slot))

    def block(self, key: str, seconds: float) -> None:
        self._block(keys=[f"ratelimit:{key}"], args=[seconds])

    def reset(self, key: str) -> None:
        self._redis.delete(f"ratelimit:{key}")


class DatabaseSlots:
    """Slots in the database, for the embedded default (one machine, one clock)."""

    def reserve(self, key: str, interval: float) -> Reservation:
        with transaction.atomic():
            row, _ = RateLimitSlot.objects.select_for_update().get_or_create(key=key)
            now = time.time()
            slot = max(row.next_free, now)
            wait = slot - now
            if wait > 0:
                return Reservation(False, wait)
            row.next_free = slot + interval
            row.save(update_fields=["next_free"])
            return Reservation(True, wait, slot)

    def block(self, key: str, seconds: float) -> None:
        with transaction.atomic():
            row, _ = RateLimitSlot.objects.select_for_update().get_or_create(key=key)
            row.next_free = max(row.next_free, time.time() + seconds)
            row.save(update_fields=["next_free"])

    def reset(self, key: str) -> None:
        RateLimitSlot.objects.filter(key=key).delete()


@cache
def _store_for(redis_url: str) -> SlotStore:
    return RedisSlots(redis_url) if redis_url else DatabaseSlots()


def store() -> SlotStore:
    """The configured slot store (Redis if ``REDIS_URL`` is set)."""
    return _store_for(settings.REDIS_URL)


def interval_for(rate_per_second: float) -> float:
    """Seconds between two slots for a limit of *rate_per_second*."""
    return 1.0 / (max(rate_per_second, 0.001) * SAFETY_FACTOR)


def reserve(key: str, rate_per_second: float) -> Reservation:
    """Take the slot under *key* if it is free now; otherwise say how long until it is (a slot
    is never booked ahead: a caller that waits takes it when it comes, or someone else does)."""
    return store().reserve(key, interval_for(rate_per_second))


def acquire(
    key: str,
    rate_per_second: float,
    *,
    deadline: float,
    cancelled: Callable[[], bool] | None = None,
) -> bool:
    """Wait for a slot under *key*, sleeping as told, until *deadline* (a ``time.monotonic()``).

    Returns True when the caller may send now, False if the deadline came first or
    *cancelled* (asked before each try, at least once a second) says to stop waiting.
    """
    return granted_slot(key, rate_per_second, deadline=deadline, cancelled=cancelled) is not None


def granted_slot(
    key: str,
    rate_per_second: float,
    *,
    deadline: float,
    cancelled: Callable[[], bool] | None = None,
) -> Reservation | None:
    """:func:`acquire`, answering with the granted reservation (its ``slot`` is when, on the
    store's clock) or None."""
    while True:
        if cancelled is not None and cancelled():
            return None
        reservation = reserve(key, rate_per_second)
        if reservation.granted:
            return reservation
        if time.monotonic() + reservation.wait >= deadline:
            return None
        time.sleep(min(reservation.wait, 1.0))


def block(key: str, seconds: float) -> None:
    """Extend said 429: nobody sends under *key* for *seconds*."""
    store().block(key, seconds)


# --- Per workspace and category: what callers use ---

WRITE = "write"  # Extend's WRITE category: DELETE
GET = "get"  # Extend's GET category: list, retrieve, verification, connection tests


def key_for(workspace: Workspace, category: str) -> str:
    """The limiter key every caller of *workspace*'s organisation shares for *category*."""
    return f"{workspace.rate_limit_key}:{category}"


def limit_for(workspace: Workspace, category: str) -> float:
    """Requests per second Extend allows *workspace*'s organisation in *category*.

    The organisation's limit when the workspace belongs to one, else the workspace's own.
    """
    if category == WRITE:
        return float(workspace.applied_write_limit)
    return float(workspace.applied_get_limit)


def acquire_for(
    workspace: Workspace,
    category: str,
    *,
    deadline: float,
    cancelled: Callable[[], bool] | None = None,
) -> bool:
    """Wait for a slot of *workspace*'s organisation in *category* (see :func:`acquire`)."""
    return acquire(
        key_for(workspace, category),
        limit_for(workspace, category),
        deadline=deadline,
        cancelled=cancelled,
    )


def block_for(workspace: Workspace, category: str, seconds: float) -> None:
    """Extend answered 429 to a call of *category*: every caller of it waits *seconds*."""
    block(key_for(workspace, category), seconds)
