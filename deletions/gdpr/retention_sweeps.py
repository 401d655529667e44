"""The daily purge of the tables that are not a request's records: tombstones, webhook events,
idempotency keys, notification deliveries, sign-in records, sessions, the admin's log, ended
holds, resolved ownership conflicts, revoked API tokens and idle rate-limit slots.

Each period is a setting (see :mod:`deletions.gdpr.retention_rules` for every table's rule).
Deletes go in chunks, so a first purge after a long time does not hold one huge transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.sessions.models import Session
from django.db.models import Exists, Model, OuterRef, Q, QuerySet

from deletions.models import (
    ApiToken,
    DeletionItem,
    IdempotencyKey,
    LegalHold,
    NotificationDelivery,
    OwnershipConflict,
    ParseRun,
    RateLimitSlot,
    RecipientNotice,
    WebhookEvent,
)
from deletions.requests import tombstones

CHUNK = 5000


def _delete_in_chunks(rows: QuerySet[Model]) -> int:
    """Delete *rows* a chunk at a time; return how many rows of that model went."""
    model = rows.model
    total = 0
    while True:
        pks = list(rows.order_by("pk").values_list("pk", flat=True)[:CHUNK])
        if not pks:
            return total
        _, per_model = model._default_manager.filter(pk__in=pks).delete()
        total += per_model.get(model._meta.label, 0)


def _days(name: str) -> timedelta:
    return timedelta(days=int(getattr(settings, name)))


def _hours(name: str) -> timedelta:
    return timedelta(hours=int(getattr(settings, name)))


def _tombstones(now: datetime) -> QuerySet[ParseRun]:
    cutoff = now - _days("RETENTION_TOMBSTONE_DAYS")
    deleted = Q(state=ParseRun.State.DELETED) & (
        Q(deleted_at__lt=cutoff) | Q(deleted_at__isnull=True, last_seen_at__lt=cutoff)
    )
    vanished = Q(state=ParseRun.State.VANISHED, last_seen_at__lt=cutoff)
    # An item (its request's records not purged yet) or a hold still names the run: later.
    return (
        ParseRun.objects.filter(deleted | vanished, open_request__isnull=True)
        .exclude(Exists(DeletionItem.objects.filter(parse_run=OuterRef("pk"))))
        .exclude(Exists(LegalHold.runs.through.objects.filter(parserun_id=OuterRef("pk"))))
    )


def _ended_holds(now: datetime) -> QuerySet[LegalHold]:
    cutoff = now - _days("RETENTION_ENDED_HOLD_DAYS")
    return LegalHold.objects.filter(
        Q(lifted_at__lt=cutoff) | Q(lifted_at__isnull=True, ends_on__lt=cutoff.date())
    )


def _login_records(now: datetime) -> int:
    cutoff = now - _days("RETENTION_LOGIN_RECORD_DAYS")
    return sum(
        _delete_in_chunks(model.objects.filter(attempt_time__lt=cutoff))
        for model in (AccessAttempt, AccessFailureLog, AccessLog)
    )


def _forget_remembering_tombstones() -> int:
    total = 0
    while count := tombstones.forget_remembering_tombstones(CHUNK):
        total += count
    return total


def purge_other_records(now: datetime) -> dict[str, int]:
    """Apply every period but the requests', audit events' and certificates'; return the counts
    by kind (the names of :class:`deletions.gdpr.retention.PurgeResult`'s fields)."""
    idle_slot = _hours("RETENTION_RATE_LIMIT_SLOT_HOURS")
    sweeps: dict[str, Callable[[], int]] = {
        "tombstones_forgotten": _forget_remembering_tombstones,
        # Holds first: a run an ended hold listed can then go in the same purge.
        "ended_holds": lambda: _delete_in_chunks(_ended_holds(now)),
        "tombstones": lambda: _delete_in_chunks(_tombstones(now)),
        "webhook_events": lambda: _delete_in_chunks(
            WebhookEvent.objects.filter(received_at__lt=now - _days("RETENTION_WEBHOOK_EVENT_DAYS"))
        ),
        "idempotency_keys": lambda: _delete_in_chunks(
            IdempotencyKey.objects.filter(
                created_at__lt=now - _hours("RETENTION_IDEMPOTENCY_KEY_HOURS")
            )
        ),
        "notification_deliveries": lambda: _delete_in_chunks(
            NotificationDelivery.objects.exclude(status=NotificationDelivery.Status.PENDING).filter(
                created_at__lt=now - _days("RETENTION_NOTIFICATION_DAYS")
            )
        ),
        "login_records": lambda: _login_records(now),
        "sessions": lambda: _delete_in_chunks(Session.objects.filter(expire_date__lt=now)),
        "admin_log_entries": lambda: _delete_in_chunks(
            LogEntry.objects.filter(action_time__lt=now - _days("RETENTION_AUDIT_DAYS"))
        ),
        "ownership_conflicts": lambda: _delete_in_chunks(
            OwnershipConflict.objects.filter(resolved_at__lt=now - _days("RETENTION_REQUEST_DAYS"))
        ),
        "revoked_tokens": lambda: _delete_in_chunks(
            ApiToken.objects.filter(revoked_at__lt=now - _days("RETENTION_REVOKED_TOKEN_DAYS"))
        ),
        "recipient_notices": lambda: _delete_in_chunks(
            RecipientNotice.objects.filter(
                informed_on__lt=(now - _days("RETENTION_CERTIFICATE_DAYS")).date()
            )
        ),
        "rate_limit_slots": lambda: _delete_in_chunks(
            RateLimitSlot.objects.filter(next_free__lt=(now - idle_slot).timestamp())
        ),
    }
    return {name: sweep() for name, sweep in sweeps.items()}
