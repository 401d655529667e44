"""Signals by which the domain asks for work without importing the task layer.

The domain (holds, workspace health) says *that* work became due; :mod:`deletions.tasks.engine`
connects the receivers that wake workers. So the domain never imports Celery tasks, and the
import graph has no cycle through the engine.
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
