"""Retention of the portal's own records: what is past its period is removed or anonymised.

- Finished requests older than ``RETENTION_REQUEST_DAYS`` whose items and files are all final (a
  held or pending item, or a file still waiting or being erased, keeps its request: that erasure
  is still owed): their items, files and the attempts of both are deleted (a certificate is
  issued first if the request completed and has none), the free text on the request is blanked
  and the converted intake's encrypted address erased. The request row stays, as the anchor of
  the certificate and of the audit trail.
- Closed intakes older than ``RETENTION_REQUEST_DAYS`` are deleted.
- Audit events older than ``RETENTION_AUDIT_DAYS`` are deleted. The audit and attempt tables (the
  runs' and the files') are append-only at the database: both purges go through
  :mod:`deletions.gdpr.append_only`.
- Certificates older than ``RETENTION_CERTIFICATE_DAYS`` are deleted; every kept one remains
  verifiable, since it is self-contained.
- Every other table has its own period (:mod:`deletions.gdpr.retention_sweeps`); the rule of
  each table the portal writes is in :mod:`deletions.gdpr.retention_rules`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from deletions import audit
from deletions.core.errors import DomainError
from deletions.gdpr import append_only, certificates, retention_sweeps
from deletions.models import (
    Approval,
    AuditEvent,
    Certificate,
    DeletionItem,
    DeletionRequest,
    ErasureIntake,
    FileErasure,
    ParseRun,
    Source,
)

logger = logging.getLogger(__name__)

CHUNK = 5000


@dataclass
class PurgeResult:
    requests: int = 0
    items: int = 0
    files: int = 0
    # The calls made for the requests' runs and files, together.
    attempts: int = 0
    intakes: int = 0
    audit_events: int = 0
    certificates: int = 0
    # The other tables (retention_sweeps.purge_other_records).
    tombstones_forgotten: int = 0
    ended_holds: int = 0
    tombstones: int = 0
    webhook_events: int = 0
    idempotency_keys: int = 0
    notification_deliveries: int = 0
    login_records: int = 0
    sessions: int = 0
    admin_log_entries: int = 0
    ownership_conflicts: int = 0
    revoked_tokens: int = 0
    rate_limit_slots: int = 0
    recipient_notices: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def purge_expired_records(now: datetime | None = None) -> PurgeResult:
    """Remove or anonymise every record past its retention period; return the counts."""
    now = now or timezone.now()
    result = PurgeResult()
    request_cutoff = now - timedelta(days=settings.RETENTION_REQUEST_DAYS)
    # A request that still has unfinished items (held, pending, in flight) or open files is never
    # old enough: purging it would drop an erasure that is still owed, e.g. once a legal hold is
    # lifted.
    unfinished = DeletionItem.objects.filter(request=OuterRef("pk")).exclude(
        status__in=DeletionItem.TERMINAL_STATUSES
    )
    open_files = FileErasure.objects.filter(
        request=OuterRef("pk"), status__in=FileErasure.OPEN_STATUSES
    )
    old_requests = (
        DeletionRequest.objects.filter(
            status__in=DeletionRequest.FINAL_STATUSES,
            records_purged_at__isnull=True,
            updated_at__lt=request_cutoff,
        )
        .exclude(Exists(unfinished))
        .exclude(Exists(open_files))
        .order_by("id")
    )
    for req in old_requests.iterator():
        if req.status in certificates.FINISHED:
            try:
                certificates.issue(req)
            except DomainError:
                logger.warning("no certificate for request %s before its purge", req.pk)
        with transaction.atomic():
            attempts = append_only.purge_request_attempts(req.pk, request_cutoff)
            ParseRun.objects.filter(open_request=req).update(open_request=None)
            _, per_model = DeletionItem.objects.filter(request=req).delete()
            items = per_model.get(DeletionItem._meta.label, 0)
            _, per_model = FileErasure.objects.filter(request=req).delete()
            files = per_model.get(FileErasure._meta.label, 0)
            DeletionRequest.objects.filter(pk=req.pk).update(
                reason="(removed after the retention period)",
                decision_comment="",
                extension_reason="",
                scope_filter={},
                records_purged_at=now,
            )
            Approval.objects.filter(request=req).update(comment="")
            ErasureIntake.objects.filter(request=req).update(
                email_encrypted="", subject_ref_encrypted=""
            )
            result.requests += 1
            result.items += items
            result.files += files
            result.attempts += attempts
    intakes, _ = ErasureIntake.objects.filter(
        status__in=[
            ErasureIntake.Status.EXPIRED,
            ErasureIntake.Status.DISMISSED,
            ErasureIntake.Status.REFUSED,
        ],
        created_at__lt=request_cutoff,
    ).delete()
    result.intakes = intakes
    cert_cutoff = now - timedelta(days=settings.RETENTION_CERTIFICATE_DAYS)
    result.certificates, _ = Certificate.objects.filter(issued_at__lt=cert_cutoff).delete()
    audit_cutoff = now - timedelta(days=settings.RETENTION_AUDIT_DAYS)
    result.audit_events = append_only.purge_audit_before(audit_cutoff)
    for kind, count in retention_sweeps.purge_other_records(now).items():
        setattr(result, kind, count)
    if any(result.as_dict().values()):
        AuditEvent.objects.create(
            actor_label=audit.actor_label(None),
            source=Source.SYSTEM,
            action="records.purged",
            object_type="retention",
            object_id=now.date().isoformat(),
            detail=result.as_dict(),
        )
    return result
