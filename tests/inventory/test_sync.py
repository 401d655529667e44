"""Syncing a workspace's parse runs from the simulator's list endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from deletions.extend_client import Credentials, ExtendClient
from deletions.inventory import pages, runs, sync
from deletions.models import Organization, ParseRun, WorkspaceSync
from extend_simulator.ledger import max_in_window
from tests.factories import customer_user, make_runs
from tests.helpers import request_for
from tests.inventory.conftest import API_KEY, no_sleep

# A full sync fetches pages in a second thread, which takes its rate-limit slots with its own
# database connection on the embedded default: test data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def sim_runs(sim):
    return {run["id"]: run for run in sim.runs()}


def list_calls(sim, status=200):
    return [e for e in sim.ledger(method="GET") if e.path == "/parse_runs" and e.status == status]


def test_a_full_sync_stores_every_run_of_the_workspace(sim, sim_workspace):
    outcome = sync.sync_workspace(sim_workspace, page_size=25, sleep=no_sleep)

    expected = sim_runs(sim)
    stored = ParseRun.objects.filter(workspace=sim_workspace)
    assert outcome.finished and outcome.runs == 60
    assert set(stored.values_list("run_id", flat=True)) == set(expected)
    run = stored.get(run_id=next(iter(expected)))
    summary = expected[run.run_id]
    assert run.extend_status == summary["status"]
    assert run.file_name == ((summary.get("file") or {}).get("name") or "")
    assert run.metadata == summary.get("metadata", {})
    state = sync.state_for(sim_workspace)
    assert state.status == WorkspaceSync.Status.COMPLETED
    assert state.pages_done == 3
    assert state.page_token == ""
    assert state.last_result["runs_seen"] == 60


def test_it_maps_runs_to_customers_by_the_workspace_metadata_key(sim, sim_workspace, acme, globex):
    sync.sync_workspace(sim_workspace, sleep=no_sleep)

    for run in ParseRun.objects.filter(workspace=sim_workspace):
        ref = (run.metadata or {}).get("customer_id")
        if ref == "acme-corp":
            assert run.customer_id == acme.pk
        elif ref == "globex":
            assert run.customer_id == globex.pk
        else:
            # initech is unknown to the portal; untagged runs carry no reference at all
            assert run.customer_id is None
    refs = {(r.metadata or {}).get("customer_id") for r in ParseRun.objects.all()}
    assert {"acme-corp", "globex", "initech"} <= refs


def test_runs_without_the_key_or_with_an_unknown_reference_stay_unassigned(sim, sim_workspace):
    sim.add_runs(runs=[{"id": "pr_untagged_1", "metadata": {"other": "x"}}])
    sim.add_runs(runs=[{"id": "pr_unknown_ref", "customer": "nobody-we-know"}])

    sync.sync_workspace(sim_workspace, sleep=no_sleep)

    for run_id in ("pr_untagged_1", "pr_unknown_ref"):
        assert ParseRun.objects.get(run_id=run_id).customer is None
    assert sync.state_for(sim_workspace).last_result["unassigned"] >= 2


def test_the_workspace_metadata_key_decides_the_mapping(sim, sim_workspace, acme):
    sim.add_runs(runs=[{"id": "pr_tenant_key", "metadata": {"tenant": "acme-corp"}}])
    sim_workspace.customer_metadata_key = "tenant"
    sim_workspace.save()

    sync.sync_workspace(sim_workspace, sleep=no_sleep)

    assert ParseRun.objects.get(run_id="pr_tenant_key").customer == acme


def test_a_staff_assignment_survives_the_next_sync(sim, sim_workspace, acme):
    sim.add_runs(runs=[{"id": "pr_no_meta"}])
    sync.sync_workspace(sim_workspace, sleep=no_sleep)
    ParseRun.objects.filter(run_id="pr_no_meta").update(customer=acme)

    sync.sync_workspace(sim_workspace, sleep=no_sleep)

    assert ParseRun.objects.get(run_id="pr_no_meta").customer == acme


def fault_from_call(monkeypatch, number, fault):
    """Install a simulator fault just before the *number*-th page request."""
    real, calls = pages.fetch_page, [0]

    def fetch(client, token, page_size):
        calls[0] += 1
        if calls[0] == number:
            fault()
        return real(client, token, page_size)

    monkeypatch.setattr(pages, "fetch_page", fetch)


def test_an_interrupted_sync_resumes_from_its_saved_page_token(sim, sim_workspace, monkeypatch):
    fault_from_call(
        monkeypatch,
        3,
        lambda: sim.set_faults({"error_rates": {"500": 1.0}, "scope": {"methods": ["GET"]}}),
    )

    first = sync.sync_workspace(sim_workspace, page_size=10, sleep=no_sleep)

    state = sync.state_for(sim_workspace)
    assert first.error and "500" in first.error
    assert state.status == WorkspaceSync.Status.FAILED
    assert state.pages_done == 2 and state.page_token
    assert "HTTP 500" in state.last_error
    assert ParseRun.objects.count() == 20
    assert len(list_calls(sim, 500)) == sync.MAX_PAGE_RETRIES + 1

    sim.clear_faults()
    monkeypatch.undo()
    second = sync.sync_workspace(sim_workspace, page_size=10, sleep=no_sleep)

    assert second.finished and not second.error
    assert second.pages == 4  # pages 3 to 6 only
    assert len(list_calls(sim)) == 6  # no page was fetched twice
    assert ParseRun.objects.count() == 60
    assert sync.state_for(sim_workspace).status == WorkspaceSync.Status.COMPLETED


def test_a_killed_sync_keeps_its_token_and_the_next_run_resumes(sim, sim_workspace):
    # 30 pages of 2: the sync stores at most MAX_BATCH (10) prefetched pages at a time, so dying
    # once 3 are stored always leaves pages for the next run, however fast the prefetch is.
    def die_after_page_three(state):
        if state.pages_done >= 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sync.sync_workspace(
            sim_workspace, page_size=2, sleep=no_sleep, progress=die_after_page_three
        )
    state = sync.state_for(sim_workspace)
    assert state.status == WorkspaceSync.Status.RUNNING
    stored = state.pages_done
    assert state.lease_expires_at is None and 3 <= stored < 30
    assert ParseRun.objects.count() == stored * 2

    outcome = sync.sync_workspace(sim_workspace, page_size=2, sleep=no_sleep)

    assert outcome.pages == 30 - stored
    assert sync.state_for(sim_workspace).runs_seen == 60


def test_a_resumed_full_sync_does_not_mark_runs_of_earlier_pages_vanished(sim, sim_workspace):
    def die_after_page_one(state):
        if state.pages_done >= 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sync.sync_workspace(
            sim_workspace, page_size=20, sleep=no_sleep, progress=die_after_page_one
        )
    sync.sync_workspace(sim_workspace, page_size=20, sleep=no_sleep)

    assert ParseRun.objects.filter(state=ParseRun.State.VANISHED).count() == 0
    assert ParseRun.objects.filter(state=ParseRun.State.PRESENT).count() == 60


def test_a_sync_held_by_another_worker_is_not_started_twice(sim, sim_workspace):
    WorkspaceSync.objects.create(
        workspace=sim_workspace,
        status=WorkspaceSync.Status.RUNNING,
        started_at=timezone.now(),
        lease_expires_at=timezone.now() + timedelta(seconds=60),
    )

    with pytest.raises(sync.SyncBusy):
        sync.sync_workspace(sim_workspace, sleep=no_sleep)
    assert list_calls(sim) == []


def test_an_abandoned_sync_whose_lease_expired_is_taken_over(sim, sim_workspace):
    WorkspaceSync.objects.create(
        workspace=sim_workspace,
        status=WorkspaceSync.Status.RUNNING,
        started_at=timezone.now(),
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )

    outcome = sync.sync_workspace(sim_workspace, sleep=no_sleep)

    assert outcome.finished and ParseRun.objects.count() == 60


def test_an_incremental_sync_stops_at_the_first_page_of_known_runs(sim, sim_workspace):
    sync.sync_workspace(sim_workspace, page_size=10, sleep=no_sleep)
    sim.add_runs(count=3)
    sim.reset_ledger()

    outcome = sync.sync_workspace(
        sim_workspace, mode=WorkspaceSync.Mode.INCREMENTAL, page_size=10, sleep=no_sleep
    )

    assert outcome.finished
    assert len(list_calls(sim)) == 2  # the page with the new runs, then one of known runs only
    assert ParseRun.objects.count() == 63
    assert sync.state_for(sim_workspace).last_result["mode"] == "incremental"


def test_a_full_sync_marks_runs_deleted_outside_the_portal_as_vanished(sim, sim_workspace, acme):
    sync.sync_workspace(sim_workspace, sleep=no_sleep)
    acme_runs = list(
        ParseRun.objects.filter(customer=acme).order_by("run_id").values_list("run_id", flat=True)
    )
    gone, in_request = acme_runs[0], acme_runs[1]
    requester = customer_user(acme, username="acme-user")
    request_for(acme, requester, [in_request], reason="tidy up")
    with ExtendClient(Credentials(sim.url, API_KEY)) as client:
        client.delete_parse_run(gone)
        client.delete_parse_run(in_request)

    outcome = sync.sync_workspace(sim_workspace, sleep=no_sleep)

    assert outcome.vanished == 1
    assert ParseRun.objects.get(run_id=gone).state == ParseRun.State.VANISHED
    # In an open request: the engine owns it, the sync leaves it alone.
    assert ParseRun.objects.get(run_id=in_request).state == ParseRun.State.PRESENT
    assert ParseRun.objects.filter(state=ParseRun.State.PRESENT).count() == 59
    assert sync.state_for(sim_workspace).last_result["vanished"] == 1


def test_an_incremental_sync_never_marks_runs_vanished(sim, sim_workspace):
    sync.sync_workspace(sim_workspace, sleep=no_sleep)
    with ExtendClient(Credentials(sim.url, API_KEY)) as client:
        client.delete_parse_run(sim.run_ids()[-1])

    sync.sync_workspace(sim_workspace, mode=WorkspaceSync.Mode.INCREMENTAL, sleep=no_sleep)

    assert not ParseRun.objects.filter(state=ParseRun.State.VANISHED).exists()


def test_a_vanished_run_listed_again_is_present_and_a_deleted_one_stays_deleted(sim, sim_workspace):
    sync.sync_workspace(sim_workspace, sleep=no_sleep)
    vanished, deleted = sim.run_ids()[:2]
    ParseRun.objects.filter(run_id=vanished).update(state=ParseRun.State.VANISHED)
    ParseRun.objects.filter(run_id=deleted).update(state=ParseRun.State.DELETED)

    sync.sync_workspace(sim_workspace, sleep=no_sleep)

    assert ParseRun.objects.get(run_id=vanished).state == ParseRun.State.PRESENT
    assert ParseRun.objects.get(run_id=deleted).state == ParseRun.State.DELETED


def test_it_refuses_to_mark_most_of_the_inventory_vanished(sim, sim_workspace):
    make_runs(sim_workspace, None, 500, prefix="pr_not_at_extend_")
    ParseRun.objects.update(last_seen_at=timezone.now() - timedelta(days=1))

    outcome = sync.sync_workspace(sim_workspace, sleep=no_sleep)

    assert outcome.vanished == 0
    assert not ParseRun.objects.filter(state=ParseRun.State.VANISHED).exists()
    state = sync.state_for(sim_workspace)
    assert state.last_result["vanish_refused"] is True
    assert "workspace id" in state.last_error


def test_list_calls_never_exceed_the_workspace_get_limit_in_any_second(sim, sim_workspace):
    sim_workspace.get_rate_limit = 4

    outcome = sync.sync_workspace(sim_workspace, page_size=10, sleep=no_sleep, time_budget=None)

    assert outcome.pages == 6
    assert max_in_window((e.time for e in list_calls(sim)), 1.0) <= 4


def test_a_workspace_in_an_organisation_syncs_within_the_organisation_get_limit(sim, sim_workspace):
    sim_workspace.organization = Organization.objects.create(name="Org", get_rate_limit=3)
    sim_workspace.save()  # its own GET limit (1000/s) no longer applies

    outcome = sync.sync_workspace(sim_workspace, page_size=10, sleep=no_sleep, time_budget=None)

    assert outcome.pages == 6
    assert max_in_window((e.time for e in list_calls(sim)), 1.0) <= 3


def test_a_429_pushes_back_the_organisations_gets_and_the_same_page_is_retried(
    sim, sim_workspace, monkeypatch
):
    fault_from_call(
        monkeypatch, 2, lambda: sim.set_faults({"storm_seconds": 1, "storm_retry_after": 2})
    )

    outcome = sync.sync_workspace(sim_workspace, page_size=20, sleep=no_sleep)

    assert outcome.finished and not outcome.error
    [refused] = list_calls(sim, 429)
    ok = list_calls(sim)
    assert len(ok) == 3
    assert ParseRun.objects.count() == 60
    # The page refused is asked for again, and nothing is sent before Retry-After has passed.
    assert ok[1].query == refused.query
    assert all(not refused.time < e.time < refused.time + 2 for e in ok)


def test_a_revoked_key_fails_the_sync_with_the_reason(sim, sim_workspace):
    sim.set_faults({"revoked": True})

    outcome = sync.sync_workspace(sim_workspace, sleep=no_sleep)

    state = sync.state_for(sim_workspace)
    assert state.status == WorkspaceSync.Status.FAILED
    assert "401" in outcome.error and "401" in state.last_error
    assert API_KEY not in state.last_error


def test_a_workspace_without_a_key_fails_with_a_clear_message(sim, sim_workspace):
    sim_workspace.api_key_encrypted = ""
    sim_workspace.save()

    sync.sync_workspace(sim_workspace, sleep=no_sleep)

    assert "not configured" in sync.state_for(sim_workspace).last_error


def test_a_time_budget_hands_the_sync_over_with_its_token(sim, sim_workspace):
    ticks = iter(range(1000))

    outcome = sync.sync_workspace(
        sim_workspace, page_size=10, sleep=no_sleep, clock=lambda: next(ticks), time_budget=5
    )

    state = sync.state_for(sim_workspace)
    assert not outcome.finished and outcome.pages >= 1
    assert state.status == WorkspaceSync.Status.RUNNING and state.page_token
    assert state.lease_expires_at is None


def test_sync_status_shows_progress_and_counts(sim, sim_workspace, acme):
    sync.sync_workspace(sim_workspace, sleep=no_sleep)

    status = sync.sync_status(sim_workspace)

    assert status["status"] == "completed" and not status["is_running"]
    assert status["runs_seen"] == 60 and status["present"] == 60
    assert status["unassigned"] == ParseRun.objects.filter(customer__isnull=True).count()
    assert status["last_result"]["outcome"] == "completed"


@pytest.mark.django_db  # inside a transaction, so that on_commit waits for its end
def test_start_sync_enqueues_after_commit_and_not_while_running(
    sim_workspace, monkeypatch, django_capture_on_commit_callbacks
):
    from deletions.tasks import inventory

    sent = []
    monkeypatch.setattr(inventory.sync_workspace_task, "delay", lambda *a: sent.append(a))

    with django_capture_on_commit_callbacks(execute=True):
        assert sync.start_sync(sim_workspace) is True
        assert sent == []
    assert sent == [(sim_workspace.pk, "full")]

    WorkspaceSync.objects.filter(workspace=sim_workspace).update(
        status=WorkspaceSync.Status.RUNNING, lease_expires_at=timezone.now() + timedelta(60)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert sync.start_sync(sim_workspace) is False
    assert len(sent) == 1


def test_the_sync_task_continues_in_a_new_task_when_its_budget_is_spent(
    sim, sim_workspace, monkeypatch
):
    from deletions.tasks import inventory

    sent = []
    monkeypatch.setattr(inventory.sync_workspace_task, "delay", lambda *a: sent.append(a))
    monkeypatch.setattr(sync, "TIME_BUDGET_SECONDS", 0.0)

    inventory.sync_workspace_task(sim_workspace.pk, "full")

    assert sent == [(sim_workspace.pk, "full")]
    assert sync.state_for(sim_workspace).status == WorkspaceSync.Status.RUNNING


def test_the_sync_task_syncs_the_workspace(sim, sim_workspace, monkeypatch):
    from deletions.tasks import inventory

    inventory.sync_workspace_task(sim_workspace.pk, "full")

    assert ParseRun.objects.filter(workspace=sim_workspace).count() == 60
    assert sync.state_for(sim_workspace).status == WorkspaceSync.Status.COMPLETED


def test_the_periodic_task_enqueues_each_active_workspace_once(
    sim_workspace, workspace, monkeypatch
):
    from deletions.models import Workspace
    from deletions.tasks import inventory

    sent = []
    monkeypatch.setattr(inventory.sync_workspace_task, "delay", lambda *a: sent.append(a))
    Workspace.objects.filter(pk=workspace.pk).update(health=Workspace.Health.PAUSED)

    inventory.sync_all_workspaces_task()

    assert sent == [(sim_workspace.pk, "full")]


def test_the_periodic_sync_is_incremental_after_a_recent_full_one(sim, sim_workspace, monkeypatch):
    from deletions.tasks import inventory

    sync.sync_workspace(sim_workspace, sleep=no_sleep)
    sent = []
    monkeypatch.setattr(inventory.sync_workspace_task, "delay", lambda *a: sent.append(a))

    inventory.sync_all_workspaces_task()

    assert sent == [(sim_workspace.pk, "incremental")]


def test_the_command_syncs_a_named_workspace_and_reports(sim, sim_workspace, capsys):
    call_command("sync_parse_runs", "--workspace", "Simulated")

    out = capsys.readouterr().out
    assert "Simulated: 60 runs in 1 pages" in out
    assert ParseRun.objects.count() == 60


def test_the_command_refuses_an_unknown_workspace(db):
    with pytest.raises(CommandError, match="No workspace named"):
        call_command("sync_parse_runs", "--workspace", "Nope")


def test_the_command_fails_loudly_when_a_sync_fails(sim, sim_workspace):
    sim.set_faults({"revoked": True})

    with pytest.raises(CommandError, match="resume"):
        call_command("sync_parse_runs", "--workspace", "Simulated")


def test_processed_runs_are_dated_by_their_updated_at_and_others_not_at_all(sim, sim_workspace):
    sim.add_runs(runs=[{"id": "pr_still_busy", "status": "PROCESSING"}])

    sync.sync_workspace(sim_workspace, sleep=no_sleep)

    listed = sim_runs(sim)
    for run in ParseRun.objects.filter(workspace=sim_workspace):
        summary = listed[run.run_id]
        if summary["status"] == "PROCESSED":
            assert run.processed_at == parse_datetime(summary["updatedAt"])
        else:
            assert run.processed_at is None
    assert ParseRun.objects.get(run_id="pr_still_busy").processed_at is None


def test_a_sync_does_not_move_a_processing_time_already_known(sim, sim_workspace):
    """A webhook told the portal first: Extend's (earlier) updatedAt does not bring the run's
    deletion forward; a processed run known without a date (stored before runs were dated) is
    dated at the next sync."""
    sim.add_runs(runs=[{"id": "pr_told_by_hook", "created_at": 1_790_000_000}])
    told_at = datetime.fromtimestamp(1_790_000_000 + 3 * 3600, tz=UTC)
    sync.sync_workspace(sim_workspace, sleep=no_sleep)
    ParseRun.objects.filter(run_id="pr_told_by_hook").update(processed_at=told_at)
    undated = ParseRun.objects.filter(workspace=sim_workspace, extend_status="PROCESSED").exclude(
        run_id="pr_told_by_hook"
    )
    first = undated.first()
    ParseRun.objects.filter(pk=first.pk).update(processed_at=None)

    sync.sync_workspace(sim_workspace, sleep=no_sleep)

    assert ParseRun.objects.get(run_id="pr_told_by_hook").processed_at == told_at
    first.refresh_from_db()
    assert first.processed_at == parse_datetime(sim_runs(sim)[first.run_id]["updatedAt"])


def test_a_sync_stores_each_runs_file_id(sim, sim_workspace):
    sync.sync_workspace(sim_workspace, page_size=25, sleep=no_sleep)

    listed = sim_runs(sim)
    stored = dict(ParseRun.objects.filter(workspace=sim_workspace).values_list("run_id", "file_id"))
    assert stored == {
        run_id: (run.get("file") or {}).get("id", "") for run_id, run in listed.items()
    }
    assert sum(1 for file_id in stored.values() if file_id) > 50


def test_run_rows_take_the_file_id_loosely_and_say_when_it_was_not_carried(workspace):
    now = timezone.now()
    listed = {"id": "pr_1", "status": "PROCESSED", "file": {"object": "file", "id": "doc-9"}}
    no_file = {"id": "pr_2", "status": "FAILED", "file": None}
    too_long = {"id": "pr_3", "file": {"id": "f" * 256}}
    webhook = {"object": "parse_run_status", "id": "pr_4", "status": "PROCESSED"}

    def row(run, complete):
        return runs.run_row(workspace, run, learned_at=now, complete=complete)

    assert row(listed, True).file_id == "doc-9"  # "file_" is a convention, not a rule
    assert row(no_file, True).file_id == ""  # a full summary without a file: it has none
    assert row(too_long, True).file_id == ""
    assert row(webhook, False).file_id is None  # not carried: the stored id stays
    assert "file_id" not in row(webhook, False).known_fields()
    assert "file_id" in row(listed, True).known_fields()


def test_a_sync_replaces_a_stored_file_id_by_the_one_extend_lists(sim, sim_workspace):
    sim.add_runs(runs=[{"id": "pr_with_file"}])
    sync.sync_workspace(sim_workspace, sleep=no_sleep)
    real = ParseRun.objects.get(run_id="pr_with_file").file_id
    ParseRun.objects.filter(run_id="pr_with_file").update(file_id="file_stale")

    sync.sync_workspace(sim_workspace, sleep=no_sleep)

    assert real and ParseRun.objects.get(run_id="pr_with_file").file_id == real


def test_a_deleted_run_listed_again_keeps_its_file_id_but_not_its_file_name(sim, sim_workspace):
    sync.sync_workspace(sim_workspace, sleep=no_sleep)
    run = ParseRun.objects.exclude(file_id="").first()
    ParseRun.objects.filter(pk=run.pk).update(
        state=ParseRun.State.DELETED, file_name="", metadata={}
    )

    sync.sync_workspace(sim_workspace, sleep=no_sleep)

    tombstone = ParseRun.objects.get(pk=run.pk)
    assert tombstone.state == ParseRun.State.DELETED
    assert (tombstone.file_name, tombstone.metadata) == ("", {})
    assert tombstone.file_id == run.file_id
