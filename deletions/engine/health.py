"""How the execution engine is doing, for the staff dashboard and the health endpoint."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from deletions.models import DeletionItem, DeletionRequest
from portal import embedded_broker

WORKER_SEEN_KEY = "engine:worker_seen"
LAST_RECONCILE_KEY = "engine:last_reconcile"


def note_worker_alive() -> None:
    """Called from inside a worker (the reconciler task), so its age is the worker heartbeat."""
    cache.set(WORKER_SEEN_KEY, time.time(), timeout=None)


def queue_depth() -> int | None:
    """Messages waiting in the default Celery queue, or None if the broker cannot say."""
    try:
        if settings.REDIS_URL:
            client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
            return int(client.llen("celery"))
        return embedded_broker.queue_depth(
            embedded_broker.path_from_url(settings.CELERY_BROKER_URL)
        )
    except (redis.RedisError, sqlite3.Error, ValueError):
        return None


def _age(key: str) -> float | None:
    seen = cache.get(key)
    return None if seen is None else max(time.time() - float(seen), 0.0)


def snapshot() -> dict[str, Any]:
    """Worker heartbeat age (s), queue depth, last reconciler run and the items' situation."""
    now = timezone.now()
    last = cache.get(LAST_RECONCILE_KEY)
    return {
        "source": "engine",
        "worker_heartbeat_age": _age(WORKER_SEEN_KEY),
        "queue_depth": queue_depth(),
        "last_reconciler_run": (
            datetime.fromtimestamp(float(last), tz=timezone.get_current_timezone()).strftime(
                "%Y-%m-%d %H:%M:%S"
            )
            if last
            else None
        ),
        "waiting_to_retry": DeletionItem.objects.filter(
            status=DeletionItem.Status.PENDING, attempts__gt=0, next_attempt_at__gt=now
        ).count(),
        "in_flight": DeletionItem.objects.filter(status=DeletionItem.Status.IN_FLIGHT).count(),
        "running_requests": DeletionRequest.objects.filter(
            status=DeletionRequest.Status.RUNNING
        ).count(),
    }


def is_healthy(max_heartbeat_age: float | None = None) -> bool:
    """A worker ran the reconciler recently (three periods, by default)."""
    limit = max_heartbeat_age or 3 * settings.RECONCILE_INTERVAL_SECONDS
    age = _age(WORKER_SEEN_KEY)
    return age is not None and age <= limit
