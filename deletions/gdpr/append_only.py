"""The only ways out of the append-only tables (audit events and deletion attempts): the
retention purge of what is past its period.

On PostgreSQL the application cannot delete those rows itself: it calls two SECURITY DEFINER
functions owned by the ``portal_audit_purger`` role, which delete only what finished before the
cutoff and never anything younger than 28 days by the database's clock (migration 0015). On
SQLite, which has no roles, the purge inserts an exemption row that the tables' triggers read,
and removes it inside the same transaction, so it is never committed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.db import connection, transaction

from deletions.models import AuditEvent, DeletionAttempt


@contextmanager
def _sqlite_exemption(kind: str, value: str) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO portal_append_only_exemption (kind, value) VALUES (%s, %s)",
            [kind, value],
        )
        yield
        cursor.execute(
            "DELETE FROM portal_append_only_exemption WHERE kind = %s AND value = %s",
            [kind, value],
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
    """Delete the attempts of a request that finished before *cutoff*; return how many went.

    The caller has checked that the request is final and old enough (on PostgreSQL the database
    checks again and refuses otherwise)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            return _call("deletions_purge_request_attempts", request_id, cutoff)
        with _sqlite_exemption("attempt_purge", str(request_id)):
            deleted, _ = DeletionAttempt.objects.filter(item__request_id=request_id).delete()
        return deleted
