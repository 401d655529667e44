"""Claiming due items under a lease and a claim token, and giving back what a dead runner held."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from deletions.engine.config import EngineSettings
from deletions.engine.due import due_items
from deletions.models import DeletionItem

IS = DeletionItem.Status


def claim_item(workspace_id: int, version: int, cfg: EngineSettings) -> DeletionItem | None:
    """Take the next due item of *workspace_id* under a fresh claim token and a lease.

    *version* is the workspace's ``credentials_version`` the runner's client was built with;
    the gate refuses the claim if it has changed by the time the DELETE would be sent.
    """
    now = timezone.now()
    with transaction.atomic():
        item = (
            due_items(workspace_id, now)
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at", "id")
            .select_related("parse_run")
            .first()
        )
        if item is None:
            return None
        item.status = IS.IN_FLIGHT
        item.attempts += 1
        item.lease_expires_at = now + timedelta(seconds=cfg.lease_seconds)
        item.claim_token = uuid.uuid4()
        item.claim_version = version
        item.save(
            update_fields=["status", "attempts", "lease_expires_at", "claim_token", "claim_version"]
        )
        return item


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
    return _give_back(
        DeletionItem.objects.filter(status=IS.IN_FLIGHT, lease_expires_at__lt=now), now
    )


def release_orphans(workspace_id: int, now: datetime | None = None) -> int:
    """A runner just took *workspace_id* over: whatever is still in flight there belonged to a
    runner that is gone (one runner per workspace), so it is re-examined at once."""
    now = now or timezone.now()
    return _give_back(
        DeletionItem.objects.filter(workspace_id=workspace_id, status=IS.IN_FLIGHT), now
    )
