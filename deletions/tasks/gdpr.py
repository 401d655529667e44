"""GDPR tasks: the deadline digest and expiry of unverified requests (hourly, idempotent per
day), certificates issued when requests finish, and the retention purge (daily)."""

from __future__ import annotations

import logging

from celery import shared_task

from deletions import certificates, gdpr, intake, retention, transitions
from deletions.errors import DomainError
from deletions.models import DeletionRequest

logger = logging.getLogger(__name__)


@shared_task(name="deletions.gdpr_daily", ignore_result=True)
def gdpr_daily_task() -> None:
    """Expire unverified intakes and requests, then send today's deadline digest (once a day)."""
    intake.expire_unverified()
    gdpr.send_deadline_digest()
    for req in DeletionRequest.objects.filter(
        status__in=certificates.FINISHED, certificate__isnull=True, records_purged_at__isnull=True
    ).values_list("pk", flat=True)[:100]:
        issue_certificate_task.delay(req)


@shared_task(name="deletions.issue_certificate", ignore_result=True)
def issue_certificate_task(request_id: int) -> None:
    req = DeletionRequest.objects.filter(pk=request_id).select_related("customer").first()
    if req is None:
        return
    try:
        certificates.issue(req)
    except DomainError as exc:
        logger.info("no certificate for request %s: %s", request_id, exc)


@shared_task(name="deletions.purge_expired_records", ignore_result=True)
def purge_expired_records_task() -> None:
    result = retention.purge_expired_records()
    logger.info("retention purge: %s", result.as_dict())


def _issue_when_finished(req: DeletionRequest, before: str, after: str) -> None:
    if after in certificates.FINISHED:
        issue_certificate_task.delay(req.pk)


transitions.on_transition(_issue_when_finished)
