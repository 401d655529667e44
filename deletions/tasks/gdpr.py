"""GDPR tasks: the deadline digest and expiry of unverified requests (hourly, idempotent per
day), certificates issued when requests finish or their outcome changes (and swept hourly for any
that were missed), and the retention purge (daily)."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery

from deletions.core.errors import DomainError
from deletions.gdpr import certificates, intake, retention
from deletions.gdpr import deadlines as gdpr
from deletions.models import Certificate, DeletionItem, DeletionRequest, FileErasure
from deletions.requests import transitions
from deletions.signals import outcome_changed

logger = logging.getLogger(__name__)

# A request with unconfirmed runs is not certified: ask again this much later, so many times
# (finishing again, and the hourly sweep once they are settled, also issue it).
UNCONFIRMED_RETRY_SECONDS = 600
UNCONFIRMED_RETRIES = 12


def needing_certificate() -> QuerySet[DeletionRequest]:
    """Finished requests whose latest certificate may no longer tell the truth: none issued,
    finished again since, or a run or an uploaded file verified since (not those with
    unconfirmed runs or files still in progress)."""
    last_issued = Certificate.objects.filter(request=OuterRef("pk")).order_by("-version")
    verified_since = DeletionItem.objects.filter(
        request=OuterRef("pk"), verified_at__gt=OuterRef("last_issued")
    )
    file_verified_since = FileErasure.objects.filter(
        request=OuterRef("pk"), verified_at__gt=OuterRef("last_issued")
    )
    unconfirmed = DeletionItem.objects.filter(
        request=OuterRef("pk"), status=DeletionItem.Status.UNCONFIRMED
    )
    files_open = FileErasure.objects.filter(
        request=OuterRef("pk"), status__in=FileErasure.OPEN_STATUSES
    )
    return (
        DeletionRequest.objects.filter(
            status__in=certificates.FINISHED, records_purged_at__isnull=True
        )
        .annotate(last_issued=Subquery(last_issued.values("issued_at")[:1]))
        .filter(
            Q(last_issued__isnull=True)
            | Q(finished_at__gt=F("last_issued"))
            | Exists(verified_since)
            | Exists(file_verified_since)
        )
        .exclude(Exists(unconfirmed))
        .exclude(Exists(files_open))
        .order_by("finished_at")
    )


@shared_task(name="deletions.gdpr_daily", ignore_result=True)
def gdpr_daily_task() -> None:
    """Expire unverified intakes and requests, then send today's deadline digest (once a day)."""
    intake.expire_unverified()
    gdpr.send_deadline_digest()
    for req in needing_certificate().values_list("pk", flat=True)[:100]:
        issue_certificate_task.delay(req)


@shared_task(
    name="deletions.issue_certificate",
    bind=True,
    ignore_result=True,
    max_retries=UNCONFIRMED_RETRIES,
)
def issue_certificate_task(self: Task[Any, Any], request_id: int) -> None:
    """Issue the request's certificate, a new version if its outcome changed (idempotent)."""
    req = DeletionRequest.objects.filter(pk=request_id).select_related("customer").first()
    if req is None:
        return
    try:
        certificates.issue(req)
    except (certificates.UnconfirmedRuns, certificates.FilesInProgress) as exc:
        raise self.retry(exc=exc, countdown=UNCONFIRMED_RETRY_SECONDS) from exc
    except DomainError as exc:
        logger.info("no certificate for request %s: %s", request_id, exc)


@shared_task(name="deletions.purge_expired_records", ignore_result=True)
def purge_expired_records_task() -> None:
    result = retention.purge_expired_records()
    logger.info("retention purge: %s", result.as_dict())


def _issue_when_finished(req: DeletionRequest, before: str, after: str) -> None:
    if after in certificates.FINISHED:
        issue_certificate_task.delay(req.pk)


def _issue_when_outcome_changed(sender: object, request_ids: list[int], **kwargs: object) -> None:
    finished = DeletionRequest.objects.filter(pk__in=request_ids, status__in=certificates.FINISHED)
    for request_id in finished.values_list("pk", flat=True):
        issue_certificate_task.delay(request_id)


transitions.on_transition(_issue_when_finished)
outcome_changed.connect(_issue_when_outcome_changed, dispatch_uid="certificate-on-outcome-change")
