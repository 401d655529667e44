"""Outbound notifications: signed POSTs to a customer's URL when one of its requests changes state.

A transition hook (in :mod:`deletions.tasks.api`, which owns the delivery task) records one
:class:`NotificationDelivery` per change and enqueues its first attempt after commit. Failed
attempts are retried with exponential backoff by the periodic ``deliver_due_notifications``
task, which finds due deliveries in the database (no long countdowns in the broker), so a lost
message or a restarted worker only delays a notification.

The body is JSON; ``X-Portal-Signature: sha256=<hex>`` is the HMAC-SHA256 of the exact body
bytes under the customer's secret (stored encrypted). The body carries its own timestamp and
delivery id, so a receiver can refuse replays.

Every POST goes through the outbound URL policy (:mod:`deletions.core.outbound`), checked when the
URL is set and again at each attempt. The delivery log keeps the HTTP status or the kind of
failure, never the receiver's body: whatever answered must not put its words on staff pages.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from deletions import audit
from deletions.core import outbound
from deletions.core.errors import RuleViolation
from deletions.models import (
    Customer,
    DeletionRequest,
    NotificationDelivery,
    NotificationEndpoint,
    Source,
)

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Portal-Signature"
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
# While one attempt is being made, nobody else picks the delivery up for this long.
ATTEMPT_LEASE = timedelta(minutes=2)
DS = NotificationDelivery.Status


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for *body*."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempts: int) -> timedelta:
    """How long to wait after the *attempts*-th failure: 30 s, 1 min, 2 min, … up to an hour."""
    delay: timedelta = BACKOFF_BASE * (2 ** max(attempts - 1, 0))
    return min(delay, BACKOFF_CAP)


def set_endpoint(
    customer: Customer, url: str, *, actor: User, source: Source | str
) -> tuple[NotificationEndpoint, str]:
    """Point *customer*'s notifications at *url* with a new signing secret, audited.

    Returns the endpoint and the new raw secret (to show once). The audit record names the old
    and new URL hosts and that the secret was rotated, never the secret itself.
    """
    try:
        outbound.check_url(url)
    except outbound.OutboundURLRefused as exc:
        raise RuleViolation(str(exc)) from None
    new_secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        endpoint = (
            NotificationEndpoint.objects.select_for_update().filter(customer=customer).first()
        )
        before = None
        if endpoint is None:
            endpoint = NotificationEndpoint(customer=customer)
        else:
            before = {"url_host": _host(endpoint.url), "is_active": endpoint.is_active}
        url_changed = endpoint.url != url
        endpoint.url = url
        endpoint.is_active = True
        endpoint.set_secret(new_secret)
        endpoint.save()
        audit.record(
            "notification_endpoint.set" if before is None else "notification_endpoint.changed",
            obj=endpoint,
            actor=actor,
            source=source,
            customer=customer,
            before=before,
            after={"url_host": _host(url), "is_active": True},
            detail={"secret_rotated": before is not None, "url_changed": url_changed},
        )
    return endpoint, new_secret


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def payload_for(req: DeletionRequest, before: str, after: str) -> dict[str, object]:
    return {
        "event": "request.status_changed",
        "request": {
            "id": req.pk,
            "status": after,
            "previous_status": before,
            "kind": req.kind,
            "item_count": req.item_count,
            "deleted": req.deleted_count,
            "already_gone": req.already_gone_count,
            "failed": req.failed_count,
        },
    }


def record(req: DeletionRequest, before: str, after: str) -> NotificationDelivery | None:
    """Record the notification for a transition, if the customer has an active endpoint."""
    endpoint = NotificationEndpoint.objects.filter(
        customer_id=req.customer_id, is_active=True
    ).first()
    if endpoint is None:
        return None
    return NotificationDelivery.objects.create(
        endpoint=endpoint,
        request=req,
        event="request.status_changed",
        payload=payload_for(req, before, after),
        next_attempt_at=timezone.now(),
    )


def _claim(delivery_id: int) -> NotificationDelivery | None:
    """Take a due delivery for one attempt; None if it is not due or someone else has it."""
    now = timezone.now()
    taken = NotificationDelivery.objects.filter(
        pk=delivery_id, status=DS.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + ATTEMPT_LEASE)
    if not taken:
        return None
    return NotificationDelivery.objects.select_related("endpoint").get(pk=delivery_id)


def deliver(delivery_id: int) -> NotificationDelivery | None:
    """Make one attempt at a due delivery and record the outcome."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    now = timezone.now()
    message = {
        **delivery.payload,
        "delivery_id": delivery.pk,
        "sent_at": now.isoformat(),
    }
    body = json.dumps(message, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(endpoint.reveal_secret(), body),
        "X-Portal-Event": delivery.event,
        "X-Portal-Delivery": str(delivery.pk),
        "User-Agent": "deletion-portal-notifications/1",
    }
    status_code: int | None = None
    error = ""
    try:
        with outbound.session() as session:
            # stream=True: the receiver's body is never read, let alone kept or shown.
            response = session.post(
                endpoint.url,
                data=body,
                headers=headers,
                timeout=settings.NOTIFICATION_TIMEOUT_SECONDS,
                allow_redirects=False,
                stream=True,
            )
            response.close()
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except requests.exceptions.InvalidURL as exc:
        # The policy's refusal (requests wraps it in a plain InvalidURL), in its own words.
        error = f"Not sent: {exc}"
    except requests.RequestException as exc:
        # The kind of failure only: a transport error's text can carry what the other end said.
        error = f"{type(exc).__name__}: no answer"
    delivery.attempts += 1
    delivery.last_status_code = status_code
    delivery.last_error = error
    if not error:
        delivery.status = DS.DELIVERED
        delivery.delivered_at = timezone.now()
        delivery.next_attempt_at = None
    elif delivery.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
        delivery.status = DS.FAILED
        delivery.next_attempt_at = None
        logger.warning("Gave up notification %s after %s attempts", delivery.pk, delivery.attempts)
    else:
        delivery.next_attempt_at = timezone.now() + backoff(delivery.attempts)
    delivery.save(
        update_fields=[
            "attempts",
            "last_status_code",
            "last_error",
            "status",
            "delivered_at",
            "next_attempt_at",
        ]
    )
    return delivery


def due_deliveries(limit: int = 500) -> list[int]:
    """Ids of pending deliveries whose next attempt is due (for the periodic task)."""
    return list(
        NotificationDelivery.objects.filter(status=DS.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
