"""Verification: after a DELETE that Extend acknowledged, a GET (its own budget at Extend) that
should now answer 404. Until it has, the certificate says "deletion acknowledged, not yet
verified"; a run still there sends its item back to be deleted again."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from deletions import signals
from deletions.engine import targets
from deletions.extend_client import ExtendClient, ExtendError, NotFound, RateLimited
from deletions.models import DeletionAttempt, DeletionItem, FileErasure, Workspace
from deletions.workspaces import ratelimit
from deletions.workspaces.alerts import alert_verification_failed

log = logging.getLogger(__name__)

IS = DeletionItem.Status


def _verify_record(
    item: targets.Work,
    started: datetime,
    t0: float,
    outcome: str,
    *,
    http_status: int | None,
    request_id: str | None = None,
    error: str = "",
) -> None:
    targets.of(item).attempts.objects.create(
        item_id=item.pk,
        kind=DeletionAttempt.Kind.VERIFY,
        started_at=started,
        duration_ms=int((time.monotonic() - t0) * 1000),
        http_status=http_status,
        outcome=outcome,
        extend_request_id=request_id or "",
        error=error[:2000],
    )


# Verifications that find the run still there before the item fails, and how long a
# verification that could not run waits before it is tried again.
MAX_VERIFY_FAILURES = 3
VERIFY_RETRY_SECONDS = 60


def _verify_later(item: targets.Work) -> None:
    targets.of(item).model.objects.filter(pk=item.pk, status=IS.DELETED).update(
        verify_due_at=timezone.now() + timedelta(seconds=VERIFY_RETRY_SECONDS)
    )


def verify_deleted(item: targets.Work, workspace: Workspace, client: ExtendClient) -> bool:
    """Confirm with a GET (its own budget at Extend) that a deleted run (or file) now answers
    404.

    A run still there sends the item back (its DELETE is sent again) with a "verification
    failed" attempt, and fails it after ``MAX_VERIFY_FAILURES`` with staff alerted. A
    verification that could not run (no GET slot, an error) is due again later; until it ran,
    the certificate says "deletion acknowledged, not yet verified".
    """
    if not ratelimit.acquire_for(workspace, ratelimit.GET, deadline=time.monotonic() + 30):
        _verify_later(item)
        return False
    target = targets.of(item)
    started, t0 = timezone.now(), time.monotonic()
    try:
        target.get(client, target.resource_id(item))
    except NotFound as exc:
        with transaction.atomic():
            _verify_record(
                item, started, t0, "confirmed_gone", http_status=404, request_id=exc.request_id
            )
            target.model.objects.filter(pk=item.pk).update(
                verified_at=timezone.now(), verify_due_at=None
            )
            # A verification that comes in after the request finished changes its certificate.
            signals.announce_outcome_changed([item.request_id])
        return True
    except RateLimited as exc:
        ratelimit.block_for(workspace, ratelimit.GET, max(exc.retry_after, 1.0))
        _verify_record(
            item, started, t0, "verify_error", http_status=429, request_id=exc.request_id,
            error=str(exc),
        )  # fmt: skip
        _verify_later(item)
        return False
    except ExtendError as exc:
        _verify_record(
            item, started, t0, "verify_error", http_status=exc.status, request_id=exc.request_id,
            error=str(exc),
        )  # fmt: skip
        _verify_later(item)
        return False
    failures = item.verify_failures + 1
    give_up = failures >= MAX_VERIFY_FAILURES
    with transaction.atomic():
        _verify_record(
            item,
            started,
            t0,
            "verification_failed",
            http_status=200,
            error=f"Extend still returns the {target.noun} after a successful DELETE of it.",
        )
        moved = target.unverify(item, give_up=give_up)
    log.warning(
        "%s %s still present after delete (%s)", target.noun, target.resource_id(item), item
    )
    if moved and give_up and target is targets.RUNS:
        transaction.on_commit(lambda: alert_verification_failed(item.pk))
    return False


def retry_verifications(workspace: Workspace, client: ExtendClient, *, limit: int = 50) -> int:
    """Run the verifications of *workspace* that are due (they could not run before)."""
    wanted = {
        "workspace_id": workspace.pk,
        "status": IS.DELETED,
        "verified_at__isnull": True,
        "verify_due_at__lte": timezone.now(),
    }
    due: list[targets.Work] = list(
        DeletionItem.objects.filter(**wanted).select_related("parse_run")[:limit]
    )
    due += FileErasure.objects.filter(**wanted)[: max(limit - len(due), 0)]
    for item in due:
        verify_deleted(item, workspace, client)
    return len(due)
