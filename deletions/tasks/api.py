"""Outbound notification tasks: one attempt per task; the periodic task retries what is due."""

from __future__ import annotations

from celery import shared_task

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


transitions.on_transition(notifications.on_request_transition)
