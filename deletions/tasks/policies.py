"""Retention policy tasks: beat's tick (the notices before first action, then every due policy
evaluated, large evaluations announced) and the hourly check for last month's summaries.

Both are safe to run twice at once: a notice is claimed in the transaction that sends it, an
evaluation locks its policy and gives way to one committed since the tick read it
(``evaluate(..., once=True)``), and a summary is sent under its customer's row lock.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from deletions.notifications import retention_emails
from deletions.policies import evaluation

logger = logging.getLogger(__name__)


@shared_task(name="deletions.evaluate_retention_policies", ignore_result=True)
def evaluate_retention_policies_task() -> None:
    """Beat's tick: the notices before first action, then every due policy (none acts before
    its first action, ``RETENTION_POLICY_NOTICE_DAYS`` after the approval that the notice
    follows within a tick)."""
    now = timezone.now()
    noticed = retention_emails.send_first_action_notices(now)
    outcomes = evaluation.evaluate_due(now)
    announced = retention_emails.announce_large_evaluations(outcomes)
    acted = [o for o in outcomes if o.evaluation is not None]
    if noticed or acted or announced:
        logger.info(
            "retention tick: %s notices, %s evaluations (%s runs), %s large-evaluation notices",
            noticed,
            len(acted),
            sum(o.selected for o in acted),
            announced,
        )


@shared_task(name="deletions.send_retention_summaries", ignore_result=True)
def send_retention_summaries_task() -> None:
    """Hourly: in the first days of a month, last month's summary to each customer, once."""
    sent = retention_emails.send_monthly_summaries()
    if sent:
        logger.info("retention summaries: %s messages", sent)
