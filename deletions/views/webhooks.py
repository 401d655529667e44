"""Extend's webhook receiver: one URL per workspace, identified by its unguessable token."""

from __future__ import annotations

import logging
from uuid import UUID

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from deletions.core.request_limits import declared_length
from deletions.inventory import webhooks
from deletions.models import Workspace

logger = logging.getLogger(__name__)


@csrf_exempt  # Extend cannot send a CSRF token; the HMAC signature authenticates instead.
@require_POST
def extend_webhook(request: HttpRequest, token: UUID) -> HttpResponse:
    """Verify and record one delivery; fetching happens in a task, so the reply is fast."""
    workspace = get_object_or_404(Workspace, webhook_token=token)
    if declared_length(request.META) > webhooks.MAX_BODY_BYTES:
        # Refused unread (parse_event bounds the body again, for callers other than this view).
        return JsonResponse({"error": "the body is too large"}, status=413)
    try:
        _event, created = webhooks.receive(workspace, request.headers, request.body)
    except webhooks.WebhookRefused as refused:
        # The reason only: never the body or headers (a signature is as good as a secret).
        logger.info("webhook for workspace %s refused: %s", workspace.pk, refused.reason)
        return JsonResponse({"error": refused.reason}, status=refused.status)
    return JsonResponse({"ok": True, "duplicate": not created})
