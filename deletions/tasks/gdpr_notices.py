"""The data subject's completion notice (sent once the request's certificate can be issued),
and the hourly watch over paused deadlines and final notices that could not be sent."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from deletions.gdpr import certificates, pause_watch, subject_notices
from deletions.models import DeletionRequest
from deletions.requests import transitions

logger = logging.getLogger(__name__)

# Like the certificate task: a request with unconfirmed runs is certified (and its subject told)
# later; the hourly sweep catches any left over.
RETRY_SECONDS = 600
RETRIES = 12


@shared_task(
    name="deletions.notify_subject_completed", bind=True, ignore_result=True, max_retries=RETRIES
)
def notify_subject_completed_task(self: Task[Any, Any], request_id: int) -> None:
    req = DeletionRequest.objects.filter(pk=request_id).first()
    if req is None:
        return
    try:
        subject_notices.notify_completed(req)
    except (certificates.UnconfirmedRuns, certificates.FilesInProgress) as exc:
        raise self.retry(exc=exc, countdown=RETRY_SECONDS) from exc


@shared_task(name="deletions.gdpr_pauses_and_notices", ignore_result=True)
def gdpr_pauses_and_notices_task() -> None:
    """Remind staff of pauses nearing their maximum, end those past it, and send again the
    final notices to data subjects that could not be sent."""
    reminded = pause_watch.remind_pauses_ending()
    ended = pause_watch.end_overlong_pauses()
    resent = subject_notices.send_pending_final_notices()
    if reminded or ended or resent:
        logger.info("pauses reminded %s, ended %s; final notices sent %s", reminded, ended, resent)


def _notify_when_finished(req: DeletionRequest, before: str, after: str) -> None:
    if req.kind == DeletionRequest.Kind.GDPR and after in certificates.FINISHED:
        notify_subject_completed_task.delay(req.pk)


transitions.on_transition(_notify_when_finished)
