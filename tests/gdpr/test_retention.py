"""Retention of our own records: what is past its period goes; certificates stay verifiable."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deletions.gdpr import certificate_checks, certificates, intake, retention
from deletions.models import (
    AuditEvent,
    Certificate,
    DeletionAttempt,
    DeletionItem,
    DeletionRequest,
    ErasureIntake,
    FileAttempt,
    FileErasure,
)
from tests.helpers import finish, submitted_request, with_files

FS = FileErasure.Status


def test_old_finished_requests_lose_their_items_but_keep_a_verifiable_certificate(
    workspace, customer, member
):
    with time_machine.travel("2026-01-10 10:00Z"):
        old = finish(submitted_request(workspace, customer, member, prefix="old_"))
        text = certificates.signed_json(certificates.issue(old))
        unissued = finish(submitted_request(workspace, customer, member, prefix="un_"))
    recent = finish(submitted_request(workspace, customer, member, prefix="new_"))
    with time_machine.travel("2027-02-01 10:00Z"):
        result = retention.purge_expired_records()
    assert result.requests == 2
    assert result.items == 6 and result.attempts == 6
    assert not DeletionItem.objects.filter(request__in=[old, unissued]).exists()
    assert not DeletionAttempt.objects.filter(item__request__in=[old, unissued]).exists()
    assert DeletionItem.objects.filter(request=recent).count() == 3
    old.refresh_from_db()
    assert old.records_purged_at is not None
    assert old.reason == "(removed after the retention period)"
    # The certificate issued before stays verifiable; one was issued before purging the other.
    assert certificate_checks.verify(text).valid
    assert certificate_checks.verify(
        certificates.signed_json(Certificate.objects.get(request=old))
    ).valid
    assert Certificate.objects.filter(request=unissued).exists()
    assert AuditEvent.objects.filter(action="records.purged").exists()


def test_a_second_purge_finds_nothing_more(workspace, customer, member):
    with time_machine.travel("2026-01-10 10:00Z"):
        finish(submitted_request(workspace, customer, member))
    with time_machine.travel("2027-02-01 10:00Z"):
        assert retention.purge_expired_records().requests == 1
        assert retention.purge_expired_records().requests == 0


def test_old_audit_events_and_certificates_are_removed_after_their_periods(
    workspace, customer, member, settings
):
    settings.RETENTION_AUDIT_DAYS = 30
    settings.RETENTION_CERTIFICATE_DAYS = 60
    with time_machine.travel("2026-01-10 10:00Z"):
        req = finish(submitted_request(workspace, customer, member))
        certificates.issue(req)
    with time_machine.travel("2026-02-20 10:00Z"):  # 41 days later
        result = retention.purge_expired_records()
    assert result.audit_events >= 2
    assert result.certificates == 0
    assert not AuditEvent.objects.filter(at__lt=timezone.now() - timedelta(days=400)).exists()
    assert Certificate.objects.filter(request=req).exists()
    with time_machine.travel("2026-03-20 10:00Z"):
        assert retention.purge_expired_records().certificates == 1
    assert not Certificate.objects.exists()


def test_closed_intakes_are_deleted_after_the_request_period(customer):
    with time_machine.travel("2026-01-10 10:00Z"):
        expired = intake.create_intake(customer, email="a@example.org", reference="R-1")
        intake.expire_unverified(timezone.now() + timedelta(days=8))
    with time_machine.travel("2027-02-01 10:00Z"):
        fresh = intake.create_intake(customer, email="b@example.org", reference="R-2")
        assert retention.purge_expired_records().intakes == 1
    assert not ErasureIntake.objects.filter(pk=expired.pk).exists()
    assert ErasureIntake.objects.filter(pk=fresh.pk).exists()


def test_open_requests_are_never_purged(workspace, customer, member):
    with time_machine.travel("2026-01-10 10:00Z"):
        req = submitted_request(workspace, customer, member)
    with time_machine.travel("2027-06-01 10:00Z"):
        retention.purge_expired_records()
    assert DeletionItem.objects.filter(request=req).count() == 3
    assert DeletionRequest.objects.get(pk=req.pk).records_purged_at is None


def test_old_finished_requests_lose_their_files_and_the_calls_made_for_them(
    workspace, customer, member
):
    with time_machine.travel("2026-01-10 10:00Z"):
        old = finish(submitted_request(workspace, customer, member, prefix="old_"))
        with_files(old, FS.DELETED, FS.ALREADY_GONE, FS.KEPT, FS.FAILED)
    young = finish(submitted_request(workspace, customer, member, prefix="young_"))
    with_files(young, FS.DELETED)
    with time_machine.travel("2027-02-01 10:00Z"):
        result = retention.purge_expired_records()
    assert (result.requests, result.items, result.files) == (1, 3, 4)
    assert result.attempts == 3 + 4  # the runs' calls and the files'
    assert not FileErasure.objects.filter(request=old).exists()
    assert not FileAttempt.objects.filter(item__request=old).exists()
    assert FileErasure.objects.filter(request=young).count() == 1
    assert FileAttempt.objects.filter(item__request=young).count() == 1
    purged = AuditEvent.objects.get(action="records.purged")
    assert purged.detail["files"] == 4


@pytest.mark.parametrize("status", sorted(FileErasure.OPEN_STATUSES))
def test_a_request_with_a_file_still_to_erase_is_never_purged(workspace, customer, member, status):
    with time_machine.travel("2026-01-10 10:00Z"):
        req = finish(submitted_request(workspace, customer, member))
        with_files(req, FS.DELETED, status)
    with time_machine.travel("2027-06-01 10:00Z"):
        result = retention.purge_expired_records()
    assert (result.requests, result.files, result.attempts) == (0, 0, 0)
    assert DeletionRequest.objects.get(pk=req.pk).records_purged_at is None
    assert DeletionItem.objects.filter(request=req).count() == 3
    assert DeletionAttempt.objects.filter(item__request=req).count() == 3
    assert FileErasure.objects.filter(request=req).count() == 2
    assert FileAttempt.objects.filter(item__request=req).count() == 2


def test_the_command_reports_what_it_removed(workspace, customer, member):
    with time_machine.travel("2026-01-10 10:00Z"):
        finish(submitted_request(workspace, customer, member))
    out = StringIO()
    with time_machine.travel("2027-02-01 10:00Z"):
        call_command("purge_expired_records", stdout=out)
    assert "requests: 1" in out.getvalue()
    assert "items: 3" in out.getvalue()


@pytest.mark.postgres
def test_on_postgresql_the_purge_deletes_through_the_purge_roles_functions(
    workspace, customer, member, settings
):
    settings.RETENTION_AUDIT_DAYS = 30
    with time_machine.travel("2025-01-10 10:00Z"):
        req = finish(submitted_request(workspace, customer, member))
    with CaptureQueriesContext(connection) as queries:
        result = retention.purge_expired_records()
    assert result.requests == 1 and result.attempts == 3 and result.audit_events == 1
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "deletions_purge_request_attempts" in sql
    assert "deletions_purge_expired_audit" in sql
    assert "portal.audit_purge" not in sql
    assert not DeletionAttempt.objects.filter(item__request=req).exists()
