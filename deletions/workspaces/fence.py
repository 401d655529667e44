"""The dispatch fence: what makes a hold, a pause or a cancel bind from the moment it commits.

Every DELETE is sent *inside* the fence of its workspace, held shared from just before the gate
checks the item until Extend's answer is back (:func:`sending`). Whatever may stop a DELETE
(placing a hold, pausing or stopping a workspace, changing its credentials, cancelling or pausing
a request) takes the fence exclusively in its own transaction (:func:`closing`) before touching
anything. So either the change commits first, and the gate then sees it; or the DELETE was
already past the gate, and the change waits until its answer is back: no DELETE reaches Extend
after the change committed.

PostgreSQL: advisory locks (shared, per session, for senders; exclusive, per transaction, for
changes: released exactly at commit or rollback). SQLite, the embedded default: ``flock`` on one
file per workspace, with a turnstile so that a waiting change is not starved by senders.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

# First half of the two-integer advisory lock key: "DF" (dispatch fence).
_PG_CLASS = 0x4446


def _folder() -> Path:
    path = Path(settings.VAR_DIR) / "fence"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _open(name: str) -> int:
    return os.open(_folder() / name, os.O_RDWR | os.O_CREAT, 0o600)


def _flock(workspace_id: int, mode: int) -> tuple[int, int]:
    """Take *workspace_id*'s fence file in *mode* behind its turnstile; closing the two
    descriptors returned releases both. A sender (shared) passes the turnstile at once; a change
    (exclusive) keeps it while it waits and holds, so new senders queue behind it."""
    turnstile, fence = _open(f"{workspace_id}.turnstile"), _open(f"{workspace_id}.lock")
    fcntl.flock(turnstile, fcntl.LOCK_EX)
    fcntl.flock(fence, mode)
    if mode == fcntl.LOCK_SH:
        fcntl.flock(turnstile, fcntl.LOCK_UN)
    return turnstile, fence


@contextmanager
def sending(workspace_id: int) -> Iterator[None]:
    """Hold *workspace_id*'s fence shared: from the gate until the DELETE's answer is back."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock_shared(%s, %s)", [_PG_CLASS, workspace_id])
        try:
            yield
        finally:
            with suppress(Exception), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_unlock_shared(%s, %s)", [_PG_CLASS, workspace_id]
                )
        return
    fds = _flock(workspace_id, fcntl.LOCK_SH)
    try:
        yield
    finally:
        for fd in fds:
            os.close(fd)


@contextmanager
def closed(workspace_ids: Iterable[int]) -> Iterator[None]:
    """Run the block in a transaction with the fences of *workspace_ids* closed.

    Use it as the change's own transaction (``with fence.closed(ids): ...``) and do everything
    the change does inside it: the fences are taken first, before any row is locked, always in
    id order, so no sender ever waits on a row this transaction holds.
    """
    ids = sorted(set(workspace_ids))
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                for workspace_id in ids:
                    cursor.execute(
                        "SELECT pg_advisory_xact_lock(%s, %s)", [_PG_CLASS, workspace_id]
                    )
            yield  # released by PostgreSQL exactly when the transaction ends
        return
    # SQLite: released when the block's transaction has ended. (Nested inside an outer
    # transaction, that is before the outer commit: the embedded default's changes are made
    # by views and tasks that do not wrap them.)
    fds: list[int] = []
    try:
        for workspace_id in ids:
            fds += _flock(workspace_id, fcntl.LOCK_EX)
        with transaction.atomic():
            yield
    finally:
        for fd in fds:
            os.close(fd)
