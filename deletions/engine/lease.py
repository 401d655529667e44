"""The runner lease: one runner per workspace, kept alive by a heartbeat.

A row per workspace says who runs it and until when. The runner renews it every third of its
lifetime; a worker that dies stops renewing, the lease lapses within ``RUNNER_LEASE_SECONDS``,
and the watch (:func:`deletions.engine.reconciler.watch_runners`) wakes another worker, whose
runner takes the workspace over and re-examines the dead runner's in-flight items at once.
Taking and renewing are conditional updates, atomic on every database.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from deletions.models import RunnerLease


def take(workspace_id: int, owner: str, seconds: float) -> bool:
    """Take *workspace_id*'s lease for *owner* if nobody holds a live one."""
    now = timezone.now()
    if not RunnerLease.objects.filter(workspace_id=workspace_id).exists():
        try:
            with transaction.atomic():
                RunnerLease.objects.create(workspace_id=workspace_id)
        except IntegrityError:
            pass  # created by a concurrent runner: the update below decides
    return bool(
        RunnerLease.objects.filter(workspace_id=workspace_id)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__lt=now) | Q(owner=owner))
        .update(owner=owner, expires_at=now + timedelta(seconds=seconds))
    )


def renew(workspace_id: int, owner: str, seconds: float) -> bool:
    """Extend *owner*'s lease; False if it was lost (lapsed and taken by another runner)."""
    return bool(
        RunnerLease.objects.filter(workspace_id=workspace_id, owner=owner).update(
            expires_at=timezone.now() + timedelta(seconds=seconds)
        )
    )


def give_up(workspace_id: int, owner: str) -> None:
    RunnerLease.objects.filter(workspace_id=workspace_id, owner=owner).update(
        owner="", expires_at=None
    )


def live_workspaces() -> set[int]:
    """Workspaces whose runner's lease is alive."""
    return set(
        RunnerLease.objects.filter(expires_at__gte=timezone.now()).values_list(
            "workspace_id", flat=True
        )
    )


class Heartbeat(threading.Thread):
    """Renews a lease until stopped; sets *lost* if the lease was taken over meanwhile."""

    def __init__(self, workspace_id: int, owner: str, seconds: float) -> None:
        super().__init__(name=f"heartbeat-{workspace_id}", daemon=True)
        self.workspace_id, self.owner, self.seconds = workspace_id, owner, seconds
        self.stopped = threading.Event()
        self.lost = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.seconds / 3):
                if not renew(self.workspace_id, self.owner, self.seconds):
                    self.lost.set()
                    return
        except Exception:
            # A database that cannot be reached renews nothing: the runner stops, its lease
            # lapses and another runner takes over once it can.
            self.lost.set()
        finally:
            connection.close()
            close_old_connections()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=self.seconds)
