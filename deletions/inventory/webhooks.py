"""Extend's webhooks: signature checks, parsing, deduplication and what each event does.

The receiving view only verifies, parses and records (fast, no calls to Extend). Anything that
needs Extend (a ``signed_data_url`` payload, a run's file name and file id) happens in a task
that calls ``process_event``. See EXTEND_API.md, "Webhooks".
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from django.db import IntegrityError, transaction
from django.utils import timezone

from deletions import signals
from deletions.core import bounded_json
from deletions.extend_client import ExtendError, NotFound, RateLimited
from deletions.inventory.runs import MAX_RUN_ID, run_row, upsert_runs
from deletions.models import OwnershipConflict, ParseRun, WebhookEvent, Workspace
from deletions.workspaces import ratelimit
from deletions.workspaces.extend_connection import client_for

logger = logging.getLogger(__name__)

TIMESTAMP_HEADER = "x-extend-request-timestamp"
SIGNATURE_HEADER = "x-extend-request-signature"
MAX_AGE_SECONDS = 300
MAX_FUTURE_SECONDS = 60
PARSE_RUN_EVENTS = frozenset({"parse_run.processed", "parse_run.failed"})
MAX_EVENT_ID = 255
MAX_EVENT_TYPE = 100
# A signed-URL payload is a parse-run status, not a document: refuse anything larger. The same
# for a delivery itself (larger payloads come as a signed URL).
MAX_SIGNED_PAYLOAD_BYTES = 1_000_000
MAX_BODY_BYTES = 1_000_000
# Attempts at fetching a signed payload or run details before the event is marked failed.
MAX_ATTEMPTS = 5
# How long fetching a run's details waits for a slot of the organisation's GET limit.
SLOT_WAIT_SECONDS = 30.0


class WebhookRefused(Exception):
    """The delivery is refused; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Event:
    """A parsed envelope."""

    event_id: str
    event_type: str
    payload: dict[str, Any]

    @property
    def is_parse_run_event(self) -> bool:
        return self.event_type in PARSE_RUN_EVENTS

    @property
    def is_signed_url(self) -> bool:
        return self.payload.get("object") == "signed_data_url"


def verify_signature(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    now: float | None = None,
) -> None:
    """Raise ``WebhookRefused(401)`` unless *signature* is Extend's signature of *body*."""
    if not secret:
        raise WebhookRefused(401, "no signing secret is configured for this workspace")
    if not timestamp or not signature:
        raise WebhookRefused(401, "missing signature headers")
    try:
        sent_at = int(timestamp.strip())
    except ValueError:
        raise WebhookRefused(401, "malformed timestamp") from None
    current = time.time() if now is None else now
    if sent_at < current - MAX_AGE_SECONDS:
        raise WebhookRefused(401, "timestamp too old")
    if sent_at > current + MAX_FUTURE_SECONDS:
        raise WebhookRefused(401, "timestamp in the future")
    message = b"v0:" + str(sent_at).encode() + b":" + body
    expected = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise WebhookRefused(401, "bad signature")


def parse_event(body: bytes) -> Event:
    """The envelope in *body*; raise ``WebhookRefused`` (413 if it is too large, 400 if it is
    malformed or nested too deeply)."""
    try:
        data = bounded_json.loads(body, max_bytes=MAX_BODY_BYTES)
    except bounded_json.TooLarge:
        raise WebhookRefused(413, "the body is too large") from None
    except bounded_json.TooDeep:
        raise WebhookRefused(400, "the body is nested too deeply") from None
    except bounded_json.JSONRefused:
        raise WebhookRefused(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise WebhookRefused(400, "the body is not a JSON object")
    event_id, event_type, payload = data.get("eventId"), data.get("eventType"), data.get("payload")
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= MAX_EVENT_ID:
        raise WebhookRefused(400, "eventId is missing or invalid")
    if not isinstance(event_type, str) or not 1 <= len(event_type) <= MAX_EVENT_TYPE:
        raise WebhookRefused(400, "eventType is missing or invalid")
    if not isinstance(payload, dict):
        raise WebhookRefused(400, "payload is missing or not an object")
    event = Event(event_id, event_type, payload)
    if event.is_parse_run_event:
        run_id = payload.get("id")
        if not isinstance(run_id, str) or not 1 <= len(run_id) <= MAX_RUN_ID:
            raise WebhookRefused(400, "the parse run id is missing or invalid")
        if event.is_signed_url and not _is_http_url(payload.get("data")):
            raise WebhookRefused(400, "signed_data_url without a URL")
    return event


def _is_http_url(value: object) -> bool:
    if not isinstance(value, str) or len(value) > 4096:
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def receive(
    workspace: Workspace, headers: Mapping[str, str], body: bytes, *, now: float | None = None
) -> tuple[WebhookEvent | None, bool]:
    """Verify, parse and record one delivery; return ``(event, created)``.

    ``created`` is False for a repeated ``eventId`` (nothing is done again). A parse-run event
    with a plain status payload updates the inventory at once; fetching (signed payloads, file
    names) is left to ``process_event`` in a task, enqueued after commit.
    """
    verify_signature(
        workspace.reveal_webhook_secret(),
        headers.get(TIMESTAMP_HEADER),
        headers.get(SIGNATURE_HEADER),
        body,
        now=now,
    )
    event = parse_event(body)
    known = event.is_parse_run_event
    record = WebhookEvent(
        workspace=workspace,
        event_id=event.event_id,
        event_type=event.event_type,
        run_id=str(event.payload.get("id", ""))[:MAX_RUN_ID] if known else "",
        status=WebhookEvent.Status.RECEIVED if known else WebhookEvent.Status.IGNORED,
        data_url=str(event.payload["data"]) if known and event.is_signed_url else "",
    )
    try:
        with transaction.atomic():
            record.save()
            if known and not event.is_signed_url:
                _apply_status(workspace, event.payload)
            if known:
                event_pk = record.pk
                transaction.on_commit(lambda: _enqueue(event_pk))
    except IntegrityError:
        # The same eventId again (or two deliveries racing): already recorded once.
        return WebhookEvent.objects.filter(
            workspace=workspace, event_id=event.event_id
        ).first(), False
    return record, True


def _enqueue(event_pk: int) -> None:
    signals.announce_webhook_received(event_pk)


def _apply_status(
    workspace: Workspace, payload: Mapping[str, Any], *, learned_at: datetime | None = None
) -> None:
    """Upsert the run a ``parse_run_status`` payload describes (its customer from metadata).

    *learned_at*: when the event was delivered (default now); a processed run was processed by
    then, the payload carrying no date of its own.
    """
    now = timezone.now()
    row = run_row(workspace, payload, learned_at=learned_at or now)
    if row is not None:
        upsert_runs(workspace, [row], now=now, source=OwnershipConflict.Seen.WEBHOOK)


def process_event(event: WebhookEvent, *, session: requests.Session | None = None) -> None:
    """Do the fetching part of a parse-run event: its signed payload, then missing details.

    Idempotent: an event already processed (or ignored) is left alone. Failures are counted
    and the event stays ``received`` for the next attempt until ``MAX_ATTEMPTS``.
    """
    if event.status != WebhookEvent.Status.RECEIVED:
        return
    workspace = event.workspace
    try:
        if event.data_url:
            payload = _fetch_signed_payload(event.data_url, session=session)
            payload_id = payload.get("id")
            if payload_id != event.run_id:
                raise ValueError("the signed payload describes a different run")
            _apply_status(workspace, payload, learned_at=event.received_at)
        _fetch_missing_details(workspace, event.run_id)
    except (ExtendError, requests.RequestException, ValueError) as error:
        event.attempts += 1
        event.error = str(error)[:1000]
        if event.attempts >= MAX_ATTEMPTS:
            event.status = WebhookEvent.Status.FAILED
            event.data_url = ""
        event.save(update_fields=["attempts", "error", "status", "data_url"])
        logger.warning("webhook event %s: %s", event.pk, event.error)
        return
    event.status = WebhookEvent.Status.PROCESSED
    event.processed_at = timezone.now()
    event.data_url = ""  # a bearer link to the payload: not kept once used
    event.error = ""
    event.save(update_fields=["status", "processed_at", "data_url", "error"])


def _fetch_signed_payload(url: str, *, session: requests.Session | None) -> dict[str, Any]:
    getter = session or requests
    response = getter.get(url, timeout=(3.05, 15), allow_redirects=False, stream=True)
    try:
        if response.status_code != 200:
            raise ValueError(f"the signed URL answered {response.status_code}")
        raw = response.raw.read(MAX_SIGNED_PAYLOAD_BYTES + 1, decode_content=True)
    finally:
        response.close()
    # Refusals are ValueErrors: counted as a failed attempt like any other bad payload.
    data = bounded_json.loads(raw, max_bytes=MAX_SIGNED_PAYLOAD_BYTES)
    if not isinstance(data, dict):
        raise ValueError("the signed payload is not a JSON object")
    return data


def _fetch_missing_details(workspace: Workspace, run_id: str) -> None:
    """GET the run when the inventory lacks its file name or file id (webhooks carry neither)."""
    run = ParseRun.objects.filter(workspace=workspace, run_id=run_id).first()
    if run is None or run.state != ParseRun.State.PRESENT or (run.file_name and run.file_id):
        return
    with client_for(workspace) as client:
        # A GET like any other: it takes a slot of the organisation's limit, and a 429 pushes
        # back every GET caller of the organisation (the event is retried on its next attempt).
        deadline = time.monotonic() + SLOT_WAIT_SECONDS
        if not ratelimit.acquire_for(workspace, ratelimit.GET, deadline=deadline):
            raise ValueError("no rate-limit slot for the run's details in time; retried later")
        try:
            full = client.get_parse_run(run_id, response_type="url")
        except NotFound:
            return  # deleted since; the next full sync will notice
        except RateLimited as error:
            ratelimit.block_for(workspace, ratelimit.GET, max(error.retry_after, 1.0))
            raise
    now = timezone.now()
    row = run_row(workspace, full, learned_at=now)
    if row is not None:
        upsert_runs(workspace, [row], now=now, source=OwnershipConflict.Seen.WEBHOOK)
