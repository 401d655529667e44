"""Signals by which the domain asks for work without importing the task layer.

The domain (holds, workspace health, the inventory) says *that* work became due; the task layer
(:mod:`deletions.tasks.engine`, :mod:`deletions.tasks.gdpr`, :mod:`deletions.tasks.inventory`)
connects the receivers that wake workers, and :class:`deletions.apps.DeletionsConfig` imports
it in every process. So the domain never imports Celery tasks, and the import graph has no
cycle through them (the ``layers`` and ``domain`` import contracts in ``pyproject.toml``).

Imports nothing of the portal.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.dispatch import Signal

# Sent after commit with ``workspace_ids``: items there became due (a hold lifted, a workspace
# resumed). Receivers wake a runner for each.
work_due = Signal()

# Sent after commit with ``request_ids``: what those requests' certificates would say changed
# outside a request transition (a verification came in). Receivers issue a new certificate
# version for those that have finished.
outcome_changed = Signal()


def announce_work_due(workspace_ids: Iterable[int]) -> None:
    """Send :data:`work_due` for *workspace_ids* once the current transaction has committed."""
    ids = sorted(set(workspace_ids))
    if ids:
        transaction.on_commit(lambda: work_due.send(sender=None, workspace_ids=ids))


def announce_outcome_changed(request_ids: Iterable[int]) -> None:
    """Send :data:`outcome_changed` for *request_ids* once the current transaction has committed."""
    ids = sorted(set(request_ids))
    if ids:
        transaction.on_commit(lambda: outcome_changed.send(sender=None, request_ids=ids))


# Sent after commit with ``workspace_id`` and ``mode``: a sync of that workspace's inventory was
# asked for (staff, the API, the command line). The receiver enqueues the sync task.
sync_requested = Signal()

# Sent after commit with ``event_id``: a webhook event was recorded whose details must be
# fetched from Extend. The receiver enqueues that follow-up.
webhook_received = Signal()


def announce_sync_requested(workspace_id: int, mode: str) -> None:
    """Send :data:`sync_requested` once the current transaction has committed."""
    transaction.on_commit(
        lambda: sync_requested.send(sender=None, workspace_id=workspace_id, mode=mode)
    )


def announce_webhook_received(event_id: int) -> None:
    """Send :data:`webhook_received` now (the caller is already past its commit)."""
    webhook_received.send(sender=None, event_id=event_id)
