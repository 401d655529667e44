"""Which present runs use each uploaded file (deletions.inventory.files), and tombstones keeping
the file id the proof of a file's erasure needs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deletions.gdpr import retention
from deletions.inventory.files import FileUse, files_of, shared_files, users_of_files
from deletions.inventory.runs import RunRow, upsert_runs
from deletions.models import DeletionItem, ParseRun
from tests import drive
from tests.factories import new_workspace
from tests.helpers import finish, submitted_request

pytestmark = pytest.mark.django_db


def run(workspace, run_id, file_id, customer=None, state=ParseRun.State.PRESENT):
    return ParseRun.objects.create(
        workspace=workspace, run_id=run_id, file_id=file_id, customer=customer, state=state
    )


def runs_named(*run_ids):
    return ParseRun.objects.filter(run_id__in=run_ids)


def test_users_of_files_counts_present_runs_of_every_customer(workspace, customer, other_customer):
    run(workspace, "pr_1", "file_a", customer)
    run(workspace, "pr_2", "file_a", other_customer)
    run(workspace, "pr_3", "file_a")  # unassigned counts too
    run(workspace, "pr_4", "file_b", customer)

    assert users_of_files(workspace.pk, ["file_a", "file_b"]) == {"file_a": 3, "file_b": 1}


def test_deleted_and_vanished_runs_do_not_use_their_file(workspace, customer):
    run(workspace, "pr_1", "file_a", customer, state=ParseRun.State.DELETED)
    run(workspace, "pr_2", "file_a", customer, state=ParseRun.State.VANISHED)
    run(workspace, "pr_3", "file_a", customer)

    assert users_of_files(workspace.pk, ["file_a"]) == {"file_a": 1}


def test_a_file_nobody_uses_is_counted_zero_and_empty_ids_are_not_files(workspace, customer):
    run(workspace, "pr_1", "", customer)

    assert users_of_files(workspace.pk, ["file_unused", ""]) == {"file_unused": 0}
    assert users_of_files(workspace.pk, [""]) == {}


def test_the_same_file_id_in_another_workspace_is_another_file(workspace, customer):
    elsewhere = new_workspace(name="Elsewhere")
    run(workspace, "pr_1", "file_a", customer)
    run(elsewhere, "pr_2", "file_a", customer)

    assert users_of_files(workspace.pk, ["file_a"]) == {"file_a": 1}


def test_users_of_files_is_one_query_for_one_file_or_fifty(workspace, customer):
    for i in range(50):
        run(workspace, f"pr_{i}", f"file_{i}", customer)

    with CaptureQueriesContext(connection) as one:
        assert users_of_files(workspace.pk, ["file_0"]) == {"file_0": 1}
    with CaptureQueriesContext(connection) as fifty:
        counts = users_of_files(workspace.pk, [f"file_{i}" for i in range(50)])

    assert counts == {f"file_{i}": 1 for i in range(50)}
    assert len(one) == len(fifty) == 1


def test_a_file_used_only_by_the_set_is_free(workspace, customer):
    run(workspace, "pr_1", "file_a", customer)
    run(workspace, "pr_2", "file_a", customer)

    uses = files_of(runs_named("pr_1", "pr_2"))

    assert uses == {(workspace.pk, "file_a"): FileUse(workspace.pk, "file_a", 2, 0)}
    assert uses[(workspace.pk, "file_a")].free
    assert shared_files(runs_named("pr_1", "pr_2")) == {}


def test_a_file_also_used_outside_the_set_is_shared_across_customers(
    workspace, customer, other_customer
):
    run(workspace, "pr_1", "file_a", customer)
    run(workspace, "pr_2", "file_a", customer)  # the customer's own run, not in the set
    run(workspace, "pr_3", "file_a", other_customer)  # another customer's
    run(workspace, "pr_4", "file_b", customer)

    uses = files_of(runs_named("pr_1", "pr_4"))

    assert uses[(workspace.pk, "file_a")] == FileUse(workspace.pk, "file_a", 1, 2)
    assert not uses[(workspace.pk, "file_a")].free
    assert uses[(workspace.pk, "file_b")].free
    assert shared_files(runs_named("pr_1", "pr_4")) == {(workspace.pk, "file_a"): 2}


def test_runs_outside_the_set_count_only_while_present(workspace, customer):
    run(workspace, "pr_1", "file_a", customer)
    run(workspace, "pr_2", "file_a", customer, state=ParseRun.State.DELETED)
    run(workspace, "pr_3", "file_a", customer, state=ParseRun.State.VANISHED)

    assert shared_files(runs_named("pr_1")) == {}


def test_runs_in_the_set_count_in_it_whatever_their_state(workspace, customer):
    run(workspace, "pr_1", "file_a", customer, state=ParseRun.State.DELETED)
    run(workspace, "pr_2", "file_a", customer)
    run(workspace, "pr_3", "file_a", customer)

    assert files_of(runs_named("pr_1", "pr_2")) == {
        (workspace.pk, "file_a"): FileUse(workspace.pk, "file_a", 2, 1)
    }


def test_runs_without_a_file_and_other_workspaces_are_left_out(workspace, customer):
    elsewhere = new_workspace(name="Elsewhere")
    run(workspace, "pr_1", "", customer)
    run(workspace, "pr_2", "file_a", customer)
    run(elsewhere, "pr_3", "file_a", customer)

    assert files_of(runs_named("pr_1", "pr_2")) == {
        (workspace.pk, "file_a"): FileUse(workspace.pk, "file_a", 1, 0)
    }


def test_a_requests_runs_are_a_set_and_it_takes_two_queries(workspace, customer, member):
    req = submitted_request(workspace, customer, member, runs=3)
    shared_with, free_with, alone = req.items.order_by("pk").values_list("parse_run_id", flat=True)
    ParseRun.objects.filter(pk__in=[shared_with, free_with]).update(file_id="file_a")
    ParseRun.objects.filter(pk=alone).update(file_id="file_c")
    run(workspace, "pr_outside_1", "file_a", customer)
    run(workspace, "pr_outside_2", "file_a")
    for i in range(20):
        run(workspace, f"pr_more_{i}", f"file_more_{i}", customer)

    with CaptureQueriesContext(connection) as queries:
        uses = files_of(ParseRun.objects.filter(items__request=req))

    assert len(queries) == 2
    assert uses == {
        (workspace.pk, "file_a"): FileUse(workspace.pk, "file_a", 2, 2),
        (workspace.pk, "file_c"): FileUse(workspace.pk, "file_c", 1, 0),
    }
    with CaptureQueriesContext(connection) as queries:
        shared = shared_files(ParseRun.objects.filter(items__request=req))
    assert len(queries) == 1
    assert shared == {(workspace.pk, "file_a"): 2}


# -- tombstones keep the file id ----------------------------------------------------------------


def files_by_run(req):
    return dict(ParseRun.objects.filter(items__request=req).values_list("run_id", "file_id"))


@pytest.fixture
def running(workspace, customer, member, approver):
    """A running request for three runs, each with its own file; a run outside it shares the
    first one's."""
    req = submitted_request(workspace, customer, member, runs=3, prefix="tomb_")
    for i, pk in enumerate(req.items.order_by("pk").values_list("parse_run_id", flat=True)):
        ParseRun.objects.filter(pk=pk).update(file_id=f"file_{i}", metadata={"k": "v"})
    run(workspace, "pr_keeps_file_0", "file_0", customer)
    drive.approve(req, approver)
    return drive.start(req)


@pytest.mark.parametrize(
    ("target", "extra"),
    [
        (DeletionItem.Status.DELETED, {}),
        (DeletionItem.Status.DELETED, {"answer_lost": True}),
        (DeletionItem.Status.ALREADY_GONE, {}),
    ],
    ids=["deleted", "deleted-answer-lost", "already-gone"],
)
def test_a_deleted_run_keeps_its_file_id_and_forgets_the_rest(running, target, extra):
    before = files_by_run(running)
    assert sorted(before.values()) == ["file_0", "file_1", "file_2"]

    drive.complete(running, 3, target, **extra)

    tombstones = ParseRun.objects.filter(items__request=running)
    assert {(t.state, t.file_name, str(t.metadata)) for t in tombstones} == {
        (ParseRun.State.DELETED, "", "{}")
    }
    assert files_by_run(running) == before


def test_a_deleted_run_no_longer_uses_its_file(running, workspace):
    drive.complete(running, 3)

    assert users_of_files(workspace.pk, ["file_0", "file_1"]) == {"file_0": 1, "file_1": 0}
    assert shared_files(ParseRun.objects.filter(items__request=running)) == {
        (workspace.pk, "file_0"): 1
    }


def test_a_sync_listing_a_tombstone_again_leaves_its_file_id(running, workspace, customer):
    before = files_by_run(running)
    drive.complete(running, 3)
    rows = [
        RunRow(
            run_id=run_id,
            customer_ref=customer.external_ref,
            file_name="scan.pdf",
            extend_status="PROCESSED",
            extend_created_at=datetime(2026, 1, 1, tzinfo=UTC),
            metadata={"k": "v"},
            file_id=file_id,
        )
        for run_id, file_id in before.items()
    ]

    upsert_runs(workspace, rows, now=timezone.now())

    tombstones = ParseRun.objects.filter(items__request=running)
    assert {(t.file_name, str(t.metadata)) for t in tombstones} == {("", "{}")}
    assert files_by_run(running) == before


def test_the_purge_of_old_tombstones_keeps_their_file_ids(workspace, customer, member):
    # tests.helpers.finish marks runs deleted directly, as releases before tombstones forgot did.
    req = finish(submitted_request(workspace, customer, member, runs=2, prefix="old_"))
    ParseRun.objects.filter(items__request=req).update(file_id="file_old", metadata={"k": "v"})

    assert retention.purge_expired_records().tombstones_forgotten == 2

    tombstones = ParseRun.objects.filter(items__request=req)
    assert [(t.metadata, t.file_id) for t in tombstones] == [({}, "file_old")] * 2
