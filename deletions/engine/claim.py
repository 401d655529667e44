"""Claiming due items under a lease and a claim token, and giving back what a dead runner held."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from deletions.engine import targets
from deletions.engine.config import EngineSettings
from deletions.engine.due import MODELS, Model, due_items
from deletions.models import DeletionItem

IS = DeletionItem.Status


def claim_item(workspace_id: int, version: int, cfg: EngineSettings) -> DeletionItem | None:
    """Take the next due item of *workspace_id* under a fresh claim token and a lease.

    *version* is the workspace's ``credentials_version`` the runner's client was built with;
    the gate refuses the claim if it has changed by the time the DELETE would be sent.
    """
    items = claim_items(workspace_id, version, cfg, limit=1)
    return items[0] if items else None


def claim_items(
    workspace_id: int,
    version: int,
    cfg: EngineSettings,
    *,
    limit: int,
    model: Model = DeletionItem,
) -> list[Any]:
    """Take up to *limit* due items (or, with *model* FileErasure, files) of *workspace_id* at
    once, under one claim token.

    A runner thread sends them one after the other, each through the gate: claiming a few at a
    time costs one locked SELECT and one UPDATE for all of them instead of per DELETE (the
    engine is bound by the CPU each DELETE costs). The token is shared by the batch but still
    fences: a re-claim of any of its items writes a new one. What the thread does not send goes
    back with :func:`release_unsent`.
    """
    now = timezone.now()
    token = uuid.uuid4()
    lease = now + timedelta(seconds=cfg.lease_seconds)
    due = due_items(workspace_id, now, model=model).select_for_update(
        skip_locked=True, of=("self",)
    )
    if model is DeletionItem:
        due = due.select_related("parse_run")
    with transaction.atomic():
        items = list(due.order_by("next_attempt_at", "id")[:limit])
        if not items:
            return []
        model.objects.filter(pk__in=[item.pk for item in items]).update(
            status=IS.IN_FLIGHT,
            attempts=F("attempts") + 1,
            lease_expires_at=lease,
            claim_token=token,
            claim_version=version,
        )
    for item in items:
        item.status, item.attempts = IS.IN_FLIGHT, item.attempts + 1
        item.lease_expires_at, item.claim_token, item.claim_version = lease, token, version
    return items


def release_unsent(items: list[targets.Work]) -> int:
    """Give back claimed items (or files) a runner thread stops before sending: due again at
    once, their attempt given back (nothing was sent). Items whose claim was taken over are
    left alone."""
    if not items:
        return 0
    return (
        targets.of(items[0])
        .model.objects.filter(
            pk__in=[item.pk for item in items],
            status=IS.IN_FLIGHT,
            claim_token=items[0].claim_token,
        )
        .update(
            status=IS.PENDING,
            lease_expires_at=None,
            claim_token=None,
            next_attempt_at=timezone.now(),
            attempts=F("attempts") - 1,
        )
    )


def _give_back(items: object, now: datetime) -> int:
    return items.update(  # type: ignore[attr-defined, no-any-return]
        status=IS.PENDING,
        lease_expires_at=None,
        claim_token=None,
        next_attempt_at=now,
    )


def release_expired_leases(now: datetime | None = None) -> int:
    """Items whose runner died mid-call go back to pending, due now.

    Their DELETE may have reached Extend: its outbox record (an attempt still ``sending``) makes
    the retry's 404 read as "deleted, answer lost".
    """
    now = now or timezone.now()
    return sum(
        _give_back(model.objects.filter(status=IS.IN_FLIGHT, lease_expires_at__lt=now), now)
        for model in MODELS
    )


def release_orphans(workspace_id: int, now: datetime | None = None) -> int:
    """A runner just took *workspace_id* over: whatever is still in flight there belonged to a
    runner that is gone (one runner per workspace), so it is re-examined at once."""
    now = now or timezone.now()
    return sum(
        _give_back(model.objects.filter(workspace_id=workspace_id, status=IS.IN_FLIGHT), now)
        for model in MODELS
    )
