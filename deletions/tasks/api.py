"""Outbound notification tasks: one attempt per task; the periodic task retries what is due."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from deletions.models import DeletionRequest
from deletions.notifications import signed_posts as notifications
from deletions.requests import transitions


@shared_task(name="deletions.deliver_notification", ignore_result=True)
def deliver_notification_task(delivery_id: int) -> None:
    notifications.deliver(delivery_id)


@shared_task(name="deletions.deliver_due_notifications", ignore_result=True)
def deliver_due_notifications_task() -> None:
    """Periodic: attempt every delivery whose backoff has passed (lost messages included)."""
    for delivery_id in notifications.due_deliveries():
        deliver_notification_task.delay(delivery_id)


def on_request_transition(req: DeletionRequest, before: str, after: str) -> None:
    """The transition hook (runs after the transition committed): record the notification and
    enqueue its first attempt after commit."""
    delivery = notifications.record(req, before, after)
    if delivery is not None:
        transaction.on_commit(lambda: deliver_notification_task.delay(delivery.pk))


transitions.on_transition(on_request_transition)
