"""The one definition of "due work": every part of the engine that asks what may be sent now
(the claim, the runner's "more to do?", the reconciler, the takeover watch) uses it, so a paused
workspace or request is never due anywhere."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from deletions.models import DeletionItem, DeletionRequest, FileErasure, Workspace

# What the engine sends DELETEs for: runs' items first, then the files they leave.
Model = type[DeletionItem] | type[FileErasure]
MODELS: tuple[Model, ...] = (DeletionItem, FileErasure)


def _pending(workspace_id: int | None, model: Model = DeletionItem) -> QuerySet[Any]:
    items = model.objects.filter(
        status=DeletionItem.Status.PENDING,
        next_attempt_at__isnull=False,
        request__status=DeletionRequest.Status.RUNNING,
        workspace__health=Workspace.Health.ACTIVE,
    ).exclude(workspace__api_key_encrypted="")
    if workspace_id is not None:
        items = items.filter(workspace_id=workspace_id)
    return items


def waiting_items(workspace_id: int | None = None, model: Model = DeletionItem) -> QuerySet[Any]:
    """Pending items (or files) of running requests in runnable workspaces (breaker not open),
    due now or later."""
    return _pending(workspace_id, model).filter(
        Q(workspace__breaker_open_until__isnull=True)
        | Q(workspace__breaker_open_until__lte=timezone.now())
    )


def open_pending_items(
    workspace_id: int | None = None, *, within: QuerySet[DeletionItem] | None = None
) -> QuerySet[DeletionItem]:
    """Pending items of open requests (awaiting a decision, approved, running or paused): the
    work a workspace still has, whether or not it may be sent now. Items of rejected,
    cancelled or expired requests stay pending for the record but are nobody's work.
    *within*: only among these items."""
    items = (within if within is not None else DeletionItem.objects.all()).filter(
        status=DeletionItem.Status.PENDING, request__status__in=DeletionRequest.OPEN_STATUSES
    )
    if workspace_id is not None:
        items = items.filter(workspace_id=workspace_id)
    return items


def due_items(
    workspace_id: int | None = None, now: datetime | None = None, model: Model = DeletionItem
) -> QuerySet[Any]:
    """Items (or files) the engine may claim at *now*: waiting and past their next attempt
    time."""
    return waiting_items(workspace_id, model).filter(next_attempt_at__lte=now or timezone.now())


def has_due_work(workspace_id: int) -> bool:
    return any(due_items(workspace_id, model=model).exists() for model in MODELS)


def next_due_in(workspace_id: int) -> float | None:
    """Seconds until the workspace's next item is due (a scheduled retry, or the end of an open
    breaker), or None if nothing waits."""
    times = [
        _pending(workspace_id, model)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
        for model in MODELS
    ]
    nxt = min((t for t in times if t is not None), default=None)
    if nxt is None:
        return None
    open_until = Workspace.objects.filter(pk=workspace_id).values_list(
        "breaker_open_until", flat=True
    )[0]
    if open_until is not None and open_until > nxt:
        nxt = open_until
    return max((nxt - timezone.now()).total_seconds(), 0.0)


def workspaces_with_due_work() -> list[int]:
    return sorted(
        {
            workspace_id
            for model in MODELS
            for workspace_id in due_items(model=model)
            .values_list("workspace_id", flat=True)
            .distinct()
        }
    )
