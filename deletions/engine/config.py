"""The engine's tunables, read from Django settings (README, Configuration), and its backoff."""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class EngineSettings:
    """Tunables, from Django settings (see README, Configuration)."""

    lease_seconds: float
    max_attempts: int
    backoff_base: float
    backoff_cap: float
    not_found_burst: int
    runner_seconds: float
    runner_threads: int
    read_timeout: float
    runner_lease_seconds: float
    slot_wait: float

    @classmethod
    def current(cls) -> EngineSettings:
        return cls(
            lease_seconds=settings.ITEM_LEASE_SECONDS,
            max_attempts=settings.MAX_DELETE_ATTEMPTS,
            backoff_base=settings.RETRY_BACKOFF_BASE_SECONDS,
            backoff_cap=settings.RETRY_BACKOFF_CAP_SECONDS,
            not_found_burst=settings.NOT_FOUND_BURST_THRESHOLD,
            runner_seconds=settings.RUNNER_SECONDS,
            runner_threads=settings.RUNNER_THREADS,
            read_timeout=settings.EXTEND_READ_TIMEOUT_SECONDS,
            runner_lease_seconds=settings.RUNNER_LEASE_SECONDS,
            slot_wait=settings.GATE_SLOT_WAIT_SECONDS,
        )


def backoff_delay(attempt: int, cfg: EngineSettings) -> float:
    """Exponential backoff with jitter: about base * 2^(attempt-1), capped, never below half."""
    ceiling: float = min(cfg.backoff_cap, cfg.backoff_base * 2.0 ** max(attempt - 1, 0))
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (jitter, not security)
