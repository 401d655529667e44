"""RELIABILITY 16: every POST without a CSRF token is refused, and a GET changes nothing.

Walks every URL of the project (tests/security/urlwalk.py). Exempt from CSRF, by design:
- Extend's webhooks: called by Extend, authenticated by their HMAC signature instead;
- the JSON API (/api/v1/): authenticated by a bearer token in the Authorization header only,
  never by the session cookie, so a forged cross-site request carries no credentials.

Repeated failed sign-ins are throttled by django-axes: see tests/accounts/test_accounts.py.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from django.apps import apps
from django.test import Client

from deletions.models import AuditEvent
from tests.security.urlwalk import urls

CSRF_EXEMPT_NAMES = {"extend_webhook"}
CSRF_EXEMPT_NAMESPACES = {"api"}
# Models a GET may legitimately write: sign-in bookkeeping; certificates of erasure, issued
# (each version once, immutably) when a finished request's certificate is fetched and no version
# states its current outcome yet; a workspace's
# sync bookkeeping row, created with its defaults the first time it is shown. The audit trail is
# checked separately: a GET may only record that something was read.
WRITTEN_ON_GET = {
    "session",
    "accessattempt",
    "accesslog",
    "accessfailurelog",
    "certificate",
    # A certificate issued on download records the key that signed it, the first time.
    "certificatekey",
    "workspacesync",
    "auditevent",
}
# Reads the audit trail records on purpose: exports (of the audit log, of the register of
# erasure requests), certificates issued on download with the key that signed them, and the
# reads of intakes, certificates and receipts (issue 18, point 6).
READ_RECORDS = {
    "audit.exported",
    "certificate.issued",
    "certificate_key.recorded",
    "gdpr.register_exported",
    "intake.viewed",
    "certificate.viewed",
    "receipt.viewed",
}


def _client(user, **kwargs) -> Client:
    client = Client(raise_request_exception=False, **kwargs)
    if user is not None:
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.mark.parametrize("role", ["anonymous", "customer_admin", "staff_admin", "superuser"])
def test_every_post_without_a_csrf_token_is_refused(world, role):
    client = _client(world.users[role], enforce_csrf_checks=True)
    accepted = []
    for route, url in urls(world.objects):
        if route.name in CSRF_EXEMPT_NAMES or route.namespace in CSRF_EXEMPT_NAMESPACES:
            continue
        response = client.post(url, {"reason": "x", "confirmed": "yes"})
        if response.status_code != 403:
            accepted.append(f"POST {url} ({route.name}): {response.status_code}")
    assert not accepted, "accepted without a CSRF token:\n" + "\n".join(accepted)


def fingerprint() -> dict[str, str]:
    """A digest of every row of every model (except the ones a GET may write)."""
    digests = {}
    for model in apps.get_models():
        if model._meta.model_name in WRITTEN_ON_GET:
            continue
        rows = list(model._default_manager.order_by("pk").values())
        digests[model._meta.label] = hashlib.sha256(
            json.dumps(rows, default=str, sort_keys=True).encode()
        ).hexdigest()
    return digests


@pytest.mark.parametrize("role", ["member", "customer_admin", "approver", "staff_admin"])
def test_a_get_to_any_url_changes_nothing(world, role):
    client = _client(world.users[role])
    walk = [(route, url) for route, url in urls(world.objects)]  # creates the URLs' objects
    before = fingerprint()
    new_events = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    for route, url in walk:
        if route.name in ("logout", "admin:logout"):
            continue
        client.get(url)
    after = fingerprint()

    changed = [label for label in before if before[label] != after[label]]
    actions = list(AuditEvent.objects.filter(pk__gt=new_events).values_list("action", flat=True))
    assert not changed, f"a GET changed {changed}"
    assert set(actions) <= READ_RECORDS, f"a GET recorded {actions}"
