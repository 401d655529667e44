"""The only ways out of the append-only tables (audit events, and the attempts made for runs
and for files): the retention purge of what is past its period.

On PostgreSQL the application cannot delete those rows itself: it calls two SECURITY DEFINER
functions owned by the ``portal_audit_purger`` role, which delete only what finished before the
cutoff and never anything younger than 28 days by the database's clock (migrations 0015 and
0025). On SQLite, which has no roles, the purge inserts an exemption row that the tables'
triggers read, and removes it inside the same transaction, so it is never committed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.db import connection, transaction

from deletions.models import AuditEvent, DeletionAttempt, FileAttempt, FileErasure


@contextmanager
def _sqlite_exemption(kind: str, *values: str) -> Iterator[None]:
    rows = [[kind, value] for value in values]
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO portal_append_only_exemption (kind, value) VALUES (%s, %s)", rows
        )
        yield
        cursor.executemany(
            "DELETE FROM portal_append_only_exemption WHERE kind = %s AND value = %s", rows
        )


def _call(function: str, *args: int | datetime) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}({', '.join(['%s'] * len(args))})", list(args))
        return int(cursor.fetchone()[0])


def purge_audit_before(cutoff: datetime) -> int:
    """Delete the audit events older than *cutoff*; return how many went."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            return _call("deletions_purge_expired_audit", cutoff)
        value = connection.ops.adapt_datetimefield_value(cutoff)
        with _sqlite_exemption("audit_purge", str(value)):
            deleted, _ = AuditEvent.objects.filter(at__lt=cutoff).delete()
        return deleted


def purge_request_attempts(request_id: int, cutoff: datetime) -> int:
    """Delete the attempts of a request that finished before *cutoff*, for its runs and for its
    files; return how many went (both together).

    The caller has checked that the request is final and old enough, and that none of its items
    or files is still open (on PostgreSQL the database checks again and refuses otherwise)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            return _call("deletions_purge_request_attempts", request_id, cutoff)
        with _sqlite_exemption("attempt_purge", str(request_id)):
            runs, _ = DeletionAttempt.objects.filter(item__request_id=request_id).delete()
        # The file attempts' trigger reads no other table: each file erasure is exempted.
        erasures = FileErasure.objects.filter(request_id=request_id).values_list("pk", flat=True)
        with _sqlite_exemption("file_attempt_purge", *(str(pk) for pk in erasures)):
            files, _ = FileAttempt.objects.filter(item__request_id=request_id).delete()
        return runs + files
