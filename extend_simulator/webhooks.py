"""Signed webhook deliveries, as Extend sends them.

Signature (EXTEND_API.md, and what the official SDK's ``webhooks.verify`` checks):
``x-extend-request-signature`` = lowercase hex HMAC-SHA256, key = the signing secret as UTF-8
(``wss_`` prefix included), message = ``"v0:" + timestamp + ":" + raw body``, with the Unix
timestamp in ``x-extend-request-timestamp``.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

PARSE_RUN_EVENTS = ("parse_run.processed", "parse_run.failed")


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """Extend's signature of ``body`` sent at ``timestamp``."""
    message = b"v0:" + str(timestamp).encode() + b":" + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers of one delivery of ``body``."""
    moment = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "User-Agent": "Extend-Webhooks/1.0 (simulator)",
        "x-extend-request-timestamp": str(moment),
        "x-extend-request-signature": sign(secret, moment, body),
    }


def new_event_id() -> str:
    """A fresh event id (``evt_...``)."""
    return "evt_" + secrets.token_urlsafe(16).replace("-", "x").replace("_", "y")


def build_event(
    event_type: str, payload: Mapping[str, Any], event_id: str | None = None
) -> dict[str, Any]:
    """Extend's envelope: ``{"eventId", "eventType", "payload"}``."""
    return {
        "eventId": event_id or new_event_id(),
        "eventType": event_type,
        "payload": dict(payload),
    }


def encode_event(event: Mapping[str, Any]) -> bytes:
    """The raw body that is signed and sent (compact JSON, UTF-8)."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Delivery:
    """One POST of an event and how the receiver answered."""

    event_id: str
    event_type: str
    status: int | None  # None when the receiver could not be reached
    error: str | None
    body: str  # the exact body that was signed
    headers: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "status": self.status,
            "error": self.error,
            "body": self.body,
            "headers": self.headers,
        }


def send_event(
    url: str,
    event: Mapping[str, Any],
    secret: str,
    *,
    timestamp: int | None = None,
    duplicates: int = 0,
    tamper: bool = False,
    timeout: float = 30.0,
) -> list[Delivery]:
    """POST a signed event to ``url``, then ``duplicates`` identical re-deliveries.

    ``tamper`` changes the body after signing (a receiver must refuse it). Extend expects a 2xx
    within 30 s; anything else is reported, not retried.
    """
    body = encode_event(event)
    headers = signed_headers(secret, body, timestamp)
    if tamper:
        body = body.replace(b'"payload":{', b'"payload":{"tampered":true,', 1)
    deliveries = []
    for _ in range(1 + max(0, duplicates)):
        deliveries.append(_post(url, body, headers, event, timeout))
    return deliveries


def _post(
    url: str, body: bytes, headers: dict[str, str], event: Mapping[str, Any], timeout: float
) -> Delivery:
    # http.client rather than urllib: urllib would rewrite the header names' case.
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("webhook url must be http(s)://host/...")
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname, parts.port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    status: int | None = None
    error: str | None = None
    try:
        connection.request("POST", target, body=body, headers=headers)
        answer = connection.getresponse()
        answer.read()
        status = answer.status
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()
    return Delivery(
        event_id=str(event.get("eventId", "")),
        event_type=str(event.get("eventType", "")),
        status=status,
        error=error,
        body=body.decode("utf-8"),
        headers=headers,
    )


class SignedUrlStore:
    """Payloads served at unguessable URLs for a limited time (like presigned object URLs)."""

    def __init__(self, ttl: float = 3600.0) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._items: dict[str, tuple[float, Any]] = {}

    def put(self, payload: Any, now: float | None = None, ttl: float | None = None) -> str:
        """Store ``payload`` for ``ttl`` seconds (default: the store's); return its URL token."""
        token = secrets.token_urlsafe(24)
        expires = (time.time() if now is None else now) + (self.ttl if ttl is None else ttl)
        with self._lock:
            self._items[token] = (expires, payload)
        return token

    def revoke(self, token: str) -> None:
        """Make a URL answer as expired (its object was deleted)."""
        with self._lock:
            self._items.pop(token, None)

    def get(self, token: str, now: float | None = None) -> tuple[bool, Any]:
        """``(True, payload)`` if the token exists and has not expired, else ``(False, None)``."""
        with self._lock:
            item = self._items.get(token)
        if item is None:
            return False, None
        expires, payload = item
        if (time.time() if now is None else now) > expires:
            return False, None
        return True, payload
