"""A deleted run forgets what was erased: its tombstone keeps the run id, workspace, customer,
state, dates, the request that deleted it and a keyed hash of the subject's reference, nothing
else; the file name lives on in the request's item (receipt, certificate) until its purge."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deletions.gdpr import certificates, intake, retention
from deletions.inventory.runs import RunRow, upsert_runs
from deletions.models import DeletionItem, DeletionRequest, ParseRun
from deletions.requests import transitions
from tests import drive
from tests.helpers import finish, submitted_request

IS = DeletionItem.Status
SUBJECT = "SUBJ-TOMB-0042"


@pytest.fixture
def running(workspace, customer, member, approver):
    """A running GDPR request for four runs that carry the subject's reference in their
    metadata."""
    req = submitted_request(
        workspace,
        customer,
        member,
        runs=4,
        prefix="tomb_",
        kind=DeletionRequest.Kind.GDPR,
        subject_ref=SUBJECT,
    )
    ParseRun.objects.filter(items__request=req).update(
        metadata={"subject_ref": SUBJECT, "team": "claims"}
    )
    drive.approve(req, approver)
    return drive.start(req)


def tombstone(run_id: str) -> ParseRun:
    return ParseRun.objects.get(run_id=run_id)


def names_by_run(req: DeletionRequest) -> dict[str, str]:
    return dict(
        DeletionItem.objects.filter(request=req).values_list("parse_run__run_id", "file_name")
    )


@pytest.mark.parametrize(
    ("target", "extra"),
    [(IS.DELETED, {}), (IS.DELETED, {"answer_lost": True}), (IS.ALREADY_GONE, {})],
    ids=["deleted", "deleted-answer-lost", "already-gone"],
)
def test_every_deleted_outcome_keeps_only_the_proof(running, customer, workspace, target, extra):
    item = DeletionItem.objects.filter(request=running).select_related("parse_run").first()
    name = item.parse_run.file_name
    assert drive.complete(running, 1, target, **extra) == 1

    run = tombstone(item.parse_run.run_id)
    assert run.state == ParseRun.State.DELETED
    assert (run.workspace_id, run.customer_id) == (workspace.pk, customer.pk)
    assert run.deleted_by_request_id == running.pk and run.deleted_at is not None
    assert run.extend_created_at is not None
    assert run.file_name == "" and run.metadata == {}
    assert run.subject_ref_hash == intake.subject_hash(SUBJECT)
    # The hash the subject's request stores: the two can be matched, never the reference.
    assert run.subject_ref_hash == running.subject_ref_hash
    item.refresh_from_db()
    assert item.file_name == name
    assert item.last_request_id == f"xreq_{item.pk}"


def test_the_statement_that_marks_a_run_deleted_clears_its_name_and_metadata(running):
    with CaptureQueriesContext(connection) as queries:
        drive.complete(running, 1)
    run_updates = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('UPDATE "deletions_parserun"')
    ]
    assert len(run_updates) == 1
    assert all(f'"{field}" =' in run_updates[0] for field in ("state", "file_name", "metadata"))


def test_a_failed_run_is_not_deleted_and_keeps_what_it_had(running):
    item = DeletionItem.objects.filter(request=running).select_related("parse_run").first()
    drive.complete(running, 1, IS.FAILED)
    run = tombstone(item.parse_run.run_id)
    assert run.state == ParseRun.State.PRESENT
    assert run.file_name == item.parse_run.file_name
    assert run.metadata == {"subject_ref": SUBJECT, "team": "claims"}
    assert run.subject_ref_hash == ""


def test_a_run_without_a_subject_reference_gets_no_hash(workspace, customer, member, approver):
    req = submitted_request(workspace, customer, member, runs=1, prefix="plain_")
    drive.run_to_the_end(req, approver)
    run = ParseRun.objects.get(items__request=req)
    assert (run.file_name, run.metadata, run.subject_ref_hash) == ("", {}, "")


def test_unconfirmed_runs_confirmed_in_bulk_are_forgotten_too(running, workspace):
    pending = list(DeletionItem.objects.filter(request=running).order_by("id"))
    names = {i.pk: i.parse_run.file_name for i in pending}
    DeletionItem.objects.filter(request=running).update(
        status=IS.UNCONFIRMED, claim_version=1, unconfirmed_at=timezone.now()
    )
    assert transitions.confirm_unconfirmed(workspace.pk, version=1, proven_at=timezone.now()) == 4
    for run in ParseRun.objects.filter(items__request=running):
        assert run.state == ParseRun.State.DELETED
        assert (run.file_name, run.metadata) == ("", {})
        assert run.subject_ref_hash == intake.subject_hash(SUBJECT)
    assert {i.pk: i.file_name for i in DeletionItem.objects.filter(request=running)} == names


def test_the_receipt_and_certificate_still_name_the_files(
    client, member, running, approver, settings
):
    settings.CERTIFICATE_INCLUDE_FILE_NAMES = True
    expected = {
        i.parse_run.run_id: i.parse_run.file_name
        for i in DeletionItem.objects.filter(request=running).select_related("parse_run")
    }
    drive.complete(running, 4)
    req = drive.finish(running)
    assert not ParseRun.objects.filter(items__request=req).exclude(file_name="").exists()

    client.force_login(member)
    page = client.get(reverse("customer:receipt", args=[req.pk])).content.decode()
    assert all(f"<td>{name}</td>" in page for name in expected.values())
    body = b"".join(client.get(reverse("customer:receipt_csv", args=[req.pk])).streaming_content)
    rows = csv.DictReader(io.StringIO(body.decode()))
    assert {r["run_id"]: r["file_name"] for r in rows} == expected

    doc = json.loads(certificates.signed_json(certificates.issue(req)))
    assert {r["run_id"]: r["file_name"] for r in doc["runs"]} == expected


def test_a_sync_or_webhook_that_still_lists_a_deleted_run_brings_nothing_back(
    running, workspace, customer
):
    drive.complete(running, 4)
    ids = list(ParseRun.objects.filter(items__request=running).values_list("run_id", flat=True))
    rows = [
        RunRow(
            run_id=run_id,
            customer_ref=customer.external_ref,
            file_name="scan-of-passport.pdf",
            extend_status="PROCESSED",
            extend_created_at=datetime(2026, 1, 1, tzinfo=UTC),
            metadata={"subject_ref": SUBJECT},
        )
        for run_id in ids
    ]
    upsert_runs(workspace, rows, now=timezone.now())
    for run in ParseRun.objects.filter(run_id__in=ids):
        assert run.state == ParseRun.State.DELETED
        assert (run.file_name, run.metadata) == ("", {})


def test_a_run_found_still_there_gets_its_file_name_back(running):
    item = (
        DeletionItem.objects.filter(request=running).select_related("parse_run").order_by("id")[0]
    )
    name = item.parse_run.file_name
    drive.complete(running, 1)
    item.refresh_from_db()
    assert transitions.unverify_item(item, give_up=False)
    run = tombstone(item.parse_run.run_id)
    assert run.state == ParseRun.State.PRESENT and run.file_name == name


def test_the_purge_forgets_tombstones_left_from_before_the_rule(workspace, customer, member):
    # tests.helpers.finish marks runs deleted directly, as releases before this rule did.
    req = finish(submitted_request(workspace, customer, member, runs=3, prefix="old_"))
    ParseRun.objects.filter(items__request=req).update(metadata={"subject_ref": SUBJECT})
    names = {
        i.parse_run.run_id: i.parse_run.file_name
        for i in DeletionItem.objects.filter(request=req).select_related("parse_run")
    }
    result = retention.purge_expired_records()
    assert result.tombstones_forgotten == 3
    for run in ParseRun.objects.filter(items__request=req):
        assert (run.file_name, run.metadata) == ("", {})
        assert run.subject_ref_hash == intake.subject_hash(SUBJECT)
    assert names_by_run(req) == names
    assert retention.purge_expired_records().tombstones_forgotten == 0
