"""The log of calls made for uploaded files is as append-only as the runs' attempt log, on either
database: the gate completes or withdraws its own ``sending`` row, nothing else changes a
recorded call, and only the retention purge removes a finished request's file calls (on
PostgreSQL through the purge role's function, which also refuses while a file is still open)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from deletions.gdpr import append_only
from deletions.models import DeletionAttempt, DeletionRequest, FileAttempt, FileErasure
from tests.helpers import finish, submitted_request, with_files

FS = FileErasure.Status
OLD_SWITCH = "SET LOCAL portal.audit_purge = 'on'"
FINAL_STATUSES = sorted(set(FS) - FileErasure.OPEN_STATUSES)


@pytest.fixture
def file_attempt(workspace, customer, member) -> FileAttempt:
    (erasure,) = with_files(
        finish(submitted_request(workspace, customer, member, runs=1)), FS.DELETED
    )
    return FileAttempt.objects.get(item=erasure)


def _refused(*statements: tuple[str, list[Any]], why: str = "is append-only") -> None:
    """Every statement runs in one transaction, which the database must refuse, saying *why*."""
    with (
        pytest.raises(DatabaseError, match=why),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        for sql, params in statements:
            cursor.execute(sql, params)


def _aged(req: DeletionRequest) -> datetime:
    """A cutoff *req* finished before, as far back as the PostgreSQL function demands."""
    cutoff = timezone.now() - timedelta(days=31)
    DeletionRequest.objects.filter(pk=req.pk).update(updated_at=cutoff - timedelta(days=1))
    return cutoff


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE deletions_fileattempt SET outcome = 'failed', http_status = 500 WHERE id = %s",
        "UPDATE deletions_fileattempt SET outcome = 'sending' WHERE id = %s",
        "UPDATE deletions_fileattempt SET extend_request_id = 'forged' WHERE id = %s",
        "DELETE FROM deletions_fileattempt WHERE id = %s",
    ],
)
def test_the_database_refuses_to_change_a_recorded_file_call(file_attempt, sql):
    before = FileAttempt.objects.filter(pk=file_attempt.pk).values().get()
    _refused((sql, [file_attempt.pk]))
    assert FileAttempt.objects.filter(pk=file_attempt.pk).values().get() == before


def test_removing_the_file_erasure_does_not_take_its_calls_with_it(file_attempt):
    with pytest.raises(DatabaseError, match="is append-only"), transaction.atomic():
        FileErasure.objects.filter(pk=file_attempt.item_id).delete()
    assert FileAttempt.objects.filter(pk=file_attempt.pk).exists()


def test_the_gate_completes_or_withdraws_its_own_sending_file_row(workspace, customer, member):
    req = finish(submitted_request(workspace, customer, member, runs=1))
    first, second = (
        FileErasure.objects.create(request=req, workspace=workspace, file_id=f"file_{n}")
        for n in range(2)
    )
    sent = FileAttempt.objects.create(item=first, outcome=FileAttempt.SENDING)
    unsent = FileAttempt.objects.create(item=second, outcome=FileAttempt.SENDING)

    FileAttempt.objects.filter(pk=sent.pk).update(outcome="deleted", http_status=200)
    FileAttempt.objects.filter(pk=unsent.pk).delete()

    assert FileAttempt.objects.get(pk=sent.pk).outcome == "deleted"
    assert not FileAttempt.objects.filter(pk=unsent.pk).exists()
    # Completed once: the answer recorded stays.
    _refused(("UPDATE deletions_fileattempt SET http_status = 404 WHERE id = %s", [sent.pk]))
    # A sending row can be moved neither to another file nor to another kind of call.
    again = FileAttempt.objects.create(item=first, outcome=FileAttempt.SENDING)
    _refused(("UPDATE deletions_fileattempt SET item_id = %s WHERE id = %s", [second.pk, again.pk]))
    _refused(("UPDATE deletions_fileattempt SET kind = 'verify' WHERE id = %s", [again.pk]))


def test_the_purge_of_a_requests_attempts_removes_its_file_calls_only(workspace, customer, member):
    purged = finish(submitted_request(workspace, customer, member, runs=2, prefix="a_"))
    kept = finish(submitted_request(workspace, customer, member, runs=2, prefix="b_"))
    with_files(purged, FS.DELETED, FS.KEPT, FS.FAILED)
    with_files(kept, FS.DELETED)
    cutoff = _aged(purged)

    # Two run attempts and three file attempts.
    assert append_only.purge_request_attempts(purged.pk, cutoff) == 5

    assert not FileAttempt.objects.filter(item__request=purged).exists()
    assert not DeletionAttempt.objects.filter(item__request=purged).exists()
    assert FileAttempt.objects.filter(item__request=kept).count() == 1
    # Outside the purge, the other request's file calls are as protected as before.
    (other,) = FileAttempt.objects.filter(item__request=kept)
    _refused(("DELETE FROM deletions_fileattempt WHERE id = %s", [other.pk]))
    if connection.vendor == "sqlite":
        # The exemptions went with the purge's transaction.
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM portal_append_only_exemption")
            assert cursor.fetchone() == (0,)


# --- PostgreSQL: the purge role's function -------------------------------------------------


@pytest.mark.postgres
def test_the_old_purge_switch_does_not_open_the_file_call_log(file_attempt):
    _refused(
        (OLD_SWITCH, []), ("DELETE FROM deletions_fileattempt WHERE id = %s", [file_attempt.pk])
    )
    assert FileAttempt.objects.filter(pk=file_attempt.pk).exists()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql", ["TRUNCATE deletions_fileattempt", "TRUNCATE deletions_fileerasure CASCADE"]
)
def test_truncating_the_file_call_log_is_refused_unless_the_database_allows_it(file_attempt, sql):
    name = connection.settings_dict["NAME"]
    _refused(
        (f'ALTER DATABASE "{name}" RESET portal.allow_truncate', []),
        ("SET LOCAL portal.allow_truncate = on", []),
        # The fixture's foreign-key checks first (TRUNCATE refuses pending ones on its own).
        ("SET CONSTRAINTS ALL IMMEDIATE", []),
        (sql, []),
        why="deletions_fileattempt is append-only: TRUNCATE refused",
    )
    assert FileAttempt.objects.filter(pk=file_attempt.pk).exists()


@pytest.mark.postgres
@pytest.mark.parametrize("status", sorted(FileErasure.OPEN_STATUSES))
def test_the_attempt_purge_function_refuses_a_request_with_an_open_file(
    workspace, customer, member, status
):
    req = finish(submitted_request(workspace, customer, member, runs=1))
    with_files(req, FS.DELETED, status)
    cutoff = _aged(req)

    _refused(
        ("SELECT deletions_purge_request_attempts(%s, %s)", [req.pk, cutoff]),
        why="is not finished before",
    )

    assert FileAttempt.objects.filter(item__request=req).count() == 2
    assert DeletionAttempt.objects.filter(item__request=req).count() == 1


@pytest.mark.postgres
@pytest.mark.parametrize("status", FINAL_STATUSES)
def test_the_attempt_purge_function_removes_the_calls_of_every_final_file(
    workspace, customer, member, status
):
    req = finish(submitted_request(workspace, customer, member, runs=1))
    with_files(req, status)
    cutoff = _aged(req)

    with connection.cursor() as cursor:
        cursor.execute("SELECT deletions_purge_request_attempts(%s, %s)", [req.pk, cutoff])
        assert cursor.fetchone() == (2,)

    assert not FileAttempt.objects.filter(item__request=req).exists()


@pytest.mark.postgres
def test_the_attempt_purge_function_refuses_a_young_requestwith_files(file_attempt):
    req_id = file_attempt.item.request_id
    _refused(
        ("SELECT deletions_purge_request_attempts(%s, now() - interval '365 days')", [req_id]),
        why="is not finished before",
    )
    assert FileAttempt.objects.filter(pk=file_attempt.pk).exists()
