"""Inventory tasks: periodic sync from Extend and fetching run details for webhooks.

The inventory asks for them through :mod:`deletions.signals` (``sync_requested``,
``webhook_received``); the receivers at the bottom enqueue them.

Thin: the sync state and the webhook events live in the database, so a lost message only delays
work; the periodic ``sync_all_workspaces`` task picks up abandoned syncs and unprocessed events.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from deletions.inventory import sync, webhooks
from deletions.models import WebhookEvent, Workspace, WorkspaceSync
from deletions.signals import sync_requested, webhook_received

logger = logging.getLogger(__name__)

# Webhook events not processed this long after arrival are enqueued again by the periodic task.
WEBHOOK_REDELIVERY_AFTER = timedelta(minutes=2)


@shared_task(name="deletions.sync_workspace", ignore_result=True)
def sync_workspace_task(workspace_id: int, mode: str = WorkspaceSync.Mode.FULL) -> None:
    """Sync one workspace for up to the time budget, then hand over to a fresh task."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return
    try:
        outcome = sync.sync_workspace(workspace, mode=mode, time_budget=sync.TIME_BUDGET_SECONDS)
    except sync.SyncBusy:
        return
    if not outcome.finished:
        # Short tasks: continue in a new one (a lost message is caught by the periodic task).
        sync_workspace_task.delay(workspace_id, mode)


@shared_task(name="deletions.sync_all_workspaces", ignore_result=True)
def sync_all_workspaces_task() -> None:
    """Periodic: sync every active workspace, and retry webhook events left unprocessed."""
    for workspace in sync.syncable_workspaces():
        if sync.is_held(sync.state_for(workspace)):
            continue
        sync_workspace_task.delay(workspace.pk, sync.due_mode(workspace))
    stale = timezone.now() - WEBHOOK_REDELIVERY_AFTER
    pending = WebhookEvent.objects.filter(
        status=WebhookEvent.Status.RECEIVED, received_at__lt=stale
    ).values_list("pk", flat=True)[:1000]
    for event_pk in pending:
        process_webhook_event_task.delay(event_pk)


@shared_task(name="deletions.process_webhook_event", ignore_result=True)
def process_webhook_event_task(event_pk: int) -> None:
    """Fetch what a webhook event left out (signed payload, file name)."""
    event = WebhookEvent.objects.select_related("workspace").filter(pk=event_pk).first()
    if event is not None:
        webhooks.process_event(event)


def _on_sync_requested(sender: object, *, workspace_id: int, mode: str, **kwargs: object) -> None:
    sync_workspace_task.delay(workspace_id, mode)


def _on_webhook_received(sender: object, *, event_id: int, **kwargs: object) -> None:
    process_webhook_event_task.delay(event_id)


sync_requested.connect(_on_sync_requested, dispatch_uid="sync-on-request")
webhook_received.connect(_on_webhook_received, dispatch_uid="webhook-follow-up")
