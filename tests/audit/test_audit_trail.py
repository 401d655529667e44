"""The audit trail and the attempt log cannot be changed after the fact, not even with SQL, on
either database; only the retention purge removes what is past its period, and on PostgreSQL
only through the functions the purge-owner role owns."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from deletions.gdpr import append_only
from deletions.models import AuditEvent, DeletionAttempt, DeletionItem, Source
from tests.helpers import finish, submitted_request

# The session switch that let any PostgreSQL session delete audit rows until migration 0015.
OLD_SWITCH = "SET LOCAL portal.audit_purge = 'on'"


@pytest.fixture
def event(workspace, customer, member):
    submitted_request(workspace, customer, member)
    return AuditEvent.objects.get(action="request.submitted")


@pytest.fixture
def attempt(workspace, customer, member):
    req = finish(submitted_request(workspace, customer, member, runs=1))
    return DeletionAttempt.objects.get(item__request=req)


def _old_event(days: int) -> AuditEvent:
    return AuditEvent.objects.create(
        at=timezone.now() - timedelta(days=days),
        source=Source.SYSTEM,
        action="test.aged",
        object_type="test",
        object_id=str(days),
    )


def _refused(*statements: tuple[str, list[Any]]) -> None:
    """Every statement runs in one transaction, which the database must refuse."""
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE deletions_auditevent SET action = 'forged' WHERE id = %s",
        "DELETE FROM deletions_auditevent WHERE id = %s",
    ],
)
def test_the_database_refuses_to_change_audit_rows(event, sql):
    _refused((sql, [event.pk]))
    event.refresh_from_db()
    assert event.action == "request.submitted"


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE deletions_deletionattempt SET outcome = 'deleted', http_status = 200 WHERE id = %s",
        "UPDATE deletions_deletionattempt SET outcome = 'sending' WHERE id = %s",
        "DELETE FROM deletions_deletionattempt WHERE id = %s",
    ],
)
def test_the_database_refuses_to_change_a_recorded_attempt(attempt, sql):
    before = DeletionAttempt.objects.filter(pk=attempt.pk).values().get()
    _refused((sql, [attempt.pk]))
    assert DeletionAttempt.objects.filter(pk=attempt.pk).values().get() == before


def test_the_gate_completes_or_withdraws_its_own_sending_row(workspace, customer, member):
    req = submitted_request(workspace, customer, member, runs=2)
    first, second = DeletionItem.objects.filter(request=req).order_by("id")
    sent = DeletionAttempt.objects.create(item=first, outcome=DeletionAttempt.SENDING)
    unsent = DeletionAttempt.objects.create(item=second, outcome=DeletionAttempt.SENDING)

    DeletionAttempt.objects.filter(pk=sent.pk).update(outcome="deleted", http_status=200)
    DeletionAttempt.objects.filter(pk=unsent.pk).delete()

    assert DeletionAttempt.objects.get(pk=sent.pk).outcome == "deleted"
    assert not DeletionAttempt.objects.filter(pk=unsent.pk).exists()
    # A sending row cannot be moved to another item on the way.
    again = DeletionAttempt.objects.create(item=first, outcome=DeletionAttempt.SENDING)
    _refused(
        ("UPDATE deletions_deletionattempt SET item_id = %s WHERE id = %s", [second.pk, again.pk])
    )


def test_the_model_refuses_to_save_or_delete_an_existing_event(event):
    event.action = "forged"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


def test_the_purge_removes_only_audit_rows_older_than_its_cutoff(db):
    old, recent = _old_event(days=100), _old_event(days=40)

    removed = append_only.purge_audit_before(timezone.now() - timedelta(days=60))

    assert removed == 1
    assert not AuditEvent.objects.filter(pk=old.pk).exists()
    assert AuditEvent.objects.filter(pk=recent.pk).exists()
    # Outside the purge, the same rows are as protected as before.
    _refused(("DELETE FROM deletions_auditevent WHERE id = %s", [recent.pk]))


def test_the_purge_of_a_requests_attempts_removes_that_requests_only(workspace, customer, member):
    purged = finish(submitted_request(workspace, customer, member, runs=2, prefix="a_"))
    kept = finish(submitted_request(workspace, customer, member, runs=2, prefix="b_"))
    cutoff = timezone.now() + timedelta(seconds=1)
    if connection.vendor == "postgresql":
        cutoff = timezone.now() - timedelta(days=31)
        type(purged).objects.filter(pk=purged.pk).update(updated_at=cutoff - timedelta(days=1))

    assert append_only.purge_request_attempts(purged.pk, cutoff) == 2

    assert not DeletionAttempt.objects.filter(item__request=purged).exists()
    assert DeletionAttempt.objects.filter(item__request=kept).count() == 2


# --- PostgreSQL: roles, not session switches ------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE deletions_auditevent SET action = 'forged' WHERE id = %s",
        "DELETE FROM deletions_auditevent WHERE id = %s",
    ],
)
def test_the_old_purge_switch_no_longer_opens_the_audit_trail(event, sql):
    # The test connection is a superuser's, as in `make run` and CI: still refused.
    _refused((OLD_SWITCH, []), (sql, [event.pk]))
    event.refresh_from_db()
    assert event.action == "request.submitted"


@pytest.mark.postgres
def test_the_old_purge_switch_no_longer_opens_the_attempt_log(attempt):
    _refused(
        (OLD_SWITCH, []), ("DELETE FROM deletions_deletionattempt WHERE id = %s", [attempt.pk])
    )
    assert DeletionAttempt.objects.filter(pk=attempt.pk).exists()


@pytest.mark.postgres
def test_truncate_is_refused_unless_the_database_itself_allows_it(event):
    name = connection.settings_dict["NAME"]
    _refused(
        # Only the test database carries the setting (so transactional tests can be flushed);
        # a real database has none, and a session's SET does not count.
        (f'ALTER DATABASE "{name}" RESET portal.allow_truncate', []),
        ("SET LOCAL portal.allow_truncate = on", []),
        ("TRUNCATE deletions_auditevent", []),
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.postgres
def test_the_purge_functions_belong_to_the_purge_role_and_run_as_it(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.proname, pg_get_userbyid(p.proowner), p.prosecdef FROM pg_proc p "
            "WHERE p.proname LIKE 'deletions_purge_%%' ORDER BY p.proname"
        )
        functions = cursor.fetchall()
    assert functions == [
        ("deletions_purge_expired_audit", "portal_audit_purger", True),
        ("deletions_purge_request_attempts", "portal_audit_purger", True),
    ]


@pytest.mark.postgres
def test_the_audit_purge_function_refuses_to_remove_anything_recent(db):
    recent = _old_event(days=27)
    _refused(("SELECT deletions_purge_expired_audit(now())", []))
    _refused(("SELECT deletions_purge_expired_audit(now() - interval '27 days')", []))
    assert AuditEvent.objects.filter(pk=recent.pk).exists()


@pytest.mark.postgres
def test_the_audit_purge_function_deletes_only_expired_rows(db):
    expired, young = _old_event(days=400), _old_event(days=29)
    with connection.cursor() as cursor:
        cursor.execute("SELECT deletions_purge_expired_audit(now() - interval '365 days')")
        (removed,) = cursor.fetchone()
    assert removed == 1
    assert not AuditEvent.objects.filter(pk=expired.pk).exists()
    assert AuditEvent.objects.filter(pk=young.pk).exists()


@pytest.mark.postgres
def test_the_attempt_purge_function_refuses_a_request_still_running(workspace, customer, member):
    req = submitted_request(workspace, customer, member, runs=1)
    item = DeletionItem.objects.get(request=req)
    DeletionAttempt.objects.create(item=item, outcome="failed", http_status=500)
    type(req).objects.filter(pk=req.pk).update(updated_at=timezone.now() - timedelta(days=400))
    _refused(
        (
            "SELECT deletions_purge_request_attempts(%s, now() - interval '365 days')",
            [req.pk],
        )
    )
    assert DeletionAttempt.objects.filter(item=item).exists()


def test_submission_is_audited_with_actor_and_source(event, member):
    assert event.actor_id == member.pk
    assert event.actor_label == member.username
    assert event.source == "web"
    assert event.detail["items"] == 3
