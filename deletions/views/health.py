"""Health endpoints for load balancers and monitors: no sign-in, no personal data, JSON only.

``/health/`` answers 200 when the web process can reach its database; ``/health/worker/``
answers 200 when a Celery worker ran the reconciler recently (``engine_health.is_healthy``).
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from deletions.engine import health as engine_health

logger = logging.getLogger(__name__)


@never_cache
@require_safe
def web(request: HttpRequest) -> JsonResponse:
    """200 if a trivial query succeeds, 503 otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("Health check: the database is unreachable")
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@never_cache
@require_safe
def worker(request: HttpRequest) -> JsonResponse:
    """200 if a worker's heartbeat is recent, 503 otherwise."""
    if engine_health.is_healthy():
        return JsonResponse({"status": "ok", "worker": "ok"})
    return JsonResponse({"status": "error", "worker": "no recent heartbeat"}, status=503)
