"""A circuit breaker per workspace: when Extend (or the way to it) fails for every run, stop
spending the items' attempts and try again later, one probe at a time.

Transient failures (5xx, timeouts, connection and TLS errors) in a row across items are counted
on the workspace; a success clears the count. At ``BREAKER_FAILURES`` in a row the breaker
opens: the workspace's items are not due until ``breaker_open_until`` (doubling from
``BREAKER_OPEN_SECONDS`` up to ``BREAKER_OPEN_MAX_SECONDS`` while failures go on), and the
pages say "Extend unavailable, next try at …". When it comes, the next runner sends a single
DELETE first (the probe): a success closes the breaker and the runner goes on at full strength,
a failure opens it again for longer. Failures in a row never use up an item's attempts; an item
fails only for its own reasons (400/422, or transient errors while other runs succeed).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from deletions.models import Workspace


def note_failure(workspace_id: int) -> int:
    """Count a transient failure; open the breaker at the threshold. Returns the run length."""
    Workspace.objects.filter(pk=workspace_id).update(breaker_failures=F("breaker_failures") + 1)
    failures = int(
        Workspace.objects.filter(pk=workspace_id).values_list("breaker_failures", flat=True)[0]
    )
    if opens_at(failures):
        seconds = min(
            settings.BREAKER_OPEN_MAX_SECONDS,
            settings.BREAKER_OPEN_SECONDS * 2 ** (failures - settings.BREAKER_FAILURES),
        )
        Workspace.objects.filter(pk=workspace_id).update(
            breaker_open_until=timezone.now() + timedelta(seconds=seconds)
        )
    return failures


def note_success(workspace_id: int) -> bool:
    """A success: close the breaker. One conditional UPDATE, matching nothing when all is well."""
    return bool(
        Workspace.objects.filter(pk=workspace_id, breaker_failures__gt=0).update(
            breaker_failures=0, breaker_open_until=None
        )
    )


def opens_at(failures: int) -> bool:
    """Whether *failures* in a row (as :func:`note_failure` returned) have opened the breaker."""
    return failures >= settings.BREAKER_FAILURES


def is_open(workspace_id: int) -> bool:
    return Workspace.objects.filter(pk=workspace_id, breaker_open_until__gt=timezone.now()).exists()


def half_open(workspace: Workspace) -> bool:
    """The breaker opened and its time has come: the next DELETE is the probe."""
    return opens_at(workspace.breaker_failures)
