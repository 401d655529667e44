"""The audit trail cannot be changed after the fact, not even with SQL."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from deletions.models import AuditEvent
from tests.helpers import submitted_request


@pytest.fixture
def event(workspace, customer, member):
    submitted_request(workspace, customer, member)
    return AuditEvent.objects.get(action="request.submitted")


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE deletions_auditevent SET action = 'forged' WHERE id = %s",
        "DELETE FROM deletions_auditevent WHERE id = %s",
    ],
)
def test_the_database_refuses_to_change_audit_rows(event, sql):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [event.pk])
    event.refresh_from_db()
    assert event.action == "request.submitted"


def test_the_model_refuses_to_save_or_delete_an_existing_event(event):
    event.action = "forged"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


@pytest.mark.postgres
def test_truncate_is_refused_on_postgresql(event):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        # Only the test database turns TRUNCATE on (so transactional tests can flush); a real
        # database has no such setting.
        cursor.execute("SET LOCAL portal.allow_truncate = off")
        cursor.execute("TRUNCATE deletions_auditevent")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_submission_is_audited_with_actor_and_source(event, member):
    assert event.actor_id == member.pk
    assert event.actor_label == member.username
    assert event.source == "web"
    assert event.detail["items"] == 3
