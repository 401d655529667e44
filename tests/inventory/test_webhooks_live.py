"""The simulator's webhook sender against the live receiver, and the follow-up task."""

from __future__ import annotations

import time

import pytest

from deletions.models import ParseRun, WebhookEvent
from deletions.tasks import inventory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def enqueued(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(inventory.process_webhook_event_task, "delay", sent.append)
    return sent


@pytest.fixture
def hook_url(live_server, sim_workspace):
    return f"{live_server.url}/webhooks/extend/{sim_workspace.webhook_token}/"


def test_a_delivery_from_the_simulator_is_accepted_and_the_task_fetches_the_file_name(
    sim, sim_workspace, hook_url, acme, enqueued
):
    [added] = sim.add_runs(
        runs=[{"id": "pr_live_1", "customer": "acme-corp", "file_name": "ü.pdf"}]
    )

    [delivery] = sim.send_webhook(hook_url, event_type="parse_run.processed", run_id="pr_live_1")

    assert delivery.status == 200
    run = ParseRun.objects.get(run_id="pr_live_1")
    assert run.customer == acme and run.file_name == ""
    [event_pk] = enqueued
    inventory.process_webhook_event_task(event_pk)
    run.refresh_from_db()
    assert run.file_name == added["file"]["name"] == "ü.pdf"
    assert run.file_id == added["file"]["id"] != ""
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED
    gets = [e for e in sim.ledger(method="GET") if e.run_id == "pr_live_1"]
    assert len(gets) == 1


def test_the_task_fetches_the_file_id_of_a_run_known_by_its_file_name_only(
    sim, sim_workspace, hook_url, enqueued
):
    """Runs imported or stored before file ids were recorded learn theirs at their next event."""
    [added] = sim.add_runs(runs=[{"id": "pr_live_2", "file_name": "known.pdf"}])
    ParseRun.objects.create(workspace=sim_workspace, run_id="pr_live_2", file_name="known.pdf")

    sim.send_webhook(hook_url, event_type="parse_run.processed", run_id="pr_live_2")
    [event_pk] = enqueued
    inventory.process_webhook_event_task(event_pk)

    assert ParseRun.objects.get(run_id="pr_live_2").file_id == added["file"]["id"] != ""


def test_a_run_whose_file_name_and_id_are_known_is_not_fetched(
    sim, sim_workspace, hook_url, enqueued
):
    sim.add_runs(runs=[{"id": "pr_live_3"}])
    ParseRun.objects.create(
        workspace=sim_workspace, run_id="pr_live_3", file_name="known.pdf", file_id="file_known"
    )

    sim.send_webhook(hook_url, event_type="parse_run.processed", run_id="pr_live_3")
    [event_pk] = enqueued
    inventory.process_webhook_event_task(event_pk)

    assert ParseRun.objects.get(run_id="pr_live_3").file_id == "file_known"
    assert not [e for e in sim.ledger(method="GET") if e.run_id == "pr_live_3"]


def test_duplicate_deliveries_are_all_acknowledged_and_stored_once(
    sim, sim_workspace, hook_url, enqueued
):
    deliveries = sim.send_webhook(hook_url, event_type="parse_run.failed", duplicates=3)

    assert [d.status for d in deliveries] == [200] * 4
    assert WebhookEvent.objects.count() == 1
    assert len(enqueued) == 1


def test_a_tampered_delivery_is_refused(sim, sim_workspace, hook_url, enqueued):
    [delivery] = sim.send_webhook(hook_url, tamper=True)

    assert delivery.status == 401
    assert not WebhookEvent.objects.exists() and not ParseRun.objects.exists()


@pytest.mark.parametrize("offset", [-400, 120])
def test_an_old_or_future_delivery_is_refused(sim, sim_workspace, hook_url, enqueued, offset):
    [delivery] = sim.send_webhook(hook_url, timestamp=int(time.time()) + offset)

    assert delivery.status == 401
    assert not WebhookEvent.objects.exists()


def test_an_unknown_event_type_from_the_simulator_is_ignored(
    sim, sim_workspace, hook_url, enqueued
):
    [delivery] = sim.send_webhook(hook_url, event_type="batch_parse_run.processed")

    assert delivery.status == 200
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.IGNORED
    assert enqueued == []


def test_a_signed_url_payload_is_fetched_by_the_task_not_the_request(
    sim, sim_workspace, hook_url, acme, enqueued
):
    sim.add_runs(runs=[{"id": "pr_signed_1", "customer": "acme-corp"}])

    [delivery] = sim.send_webhook(
        hook_url, event_type="parse_run.processed", run_id="pr_signed_1", signed_url=True
    )

    assert delivery.status == 200
    event = WebhookEvent.objects.get()
    assert event.data_url.startswith(sim.url)
    assert not ParseRun.objects.exists()  # nothing fetched during the request

    inventory.process_webhook_event_task(event.pk)

    run = ParseRun.objects.get(run_id="pr_signed_1")
    assert run.customer == acme and run.extend_status == "PROCESSED"
    assert run.file_name == "upload_60.pdf"
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED and event.data_url == ""


def test_an_expired_signed_url_is_retried_then_marked_failed(
    sim, sim_workspace, hook_url, enqueued
):
    sim.add_runs(runs=[{"id": "pr_signed_2"}])
    sim.send_webhook(hook_url, run_id="pr_signed_2", signed_url=True)
    event = WebhookEvent.objects.get()
    WebhookEvent.objects.filter(pk=event.pk).update(data_url=f"{sim.url}/_sim/signed/expired")

    for _ in range(5):
        inventory.process_webhook_event_task(event.pk)

    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.FAILED
    assert event.attempts == 5 and "403" in event.error
    assert not ParseRun.objects.exists()


def test_the_periodic_task_enqueues_events_left_unprocessed(
    sim, sim_workspace, hook_url, enqueued, monkeypatch
):
    from datetime import timedelta

    from django.utils import timezone

    monkeypatch.setattr(inventory.sync_workspace_task, "delay", lambda *a: None)
    sim.send_webhook(hook_url, event_type="parse_run.processed")
    event = WebhookEvent.objects.get()
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(minutes=5))
    enqueued.clear()

    inventory.sync_all_workspaces_task()

    assert enqueued == [event.pk]


def test_a_signed_url_payload_fetched_later_dates_the_run_when_the_event_came(
    sim, sim_workspace, hook_url, enqueued
):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    sim.add_runs(runs=[{"id": "pr_signed_3", "customer": "acme-corp"}])
    sim.send_webhook(hook_url, run_id="pr_signed_3", signed_url=True)
    event = WebhookEvent.objects.get()

    # Within the signed URL's hour of validity, but well after the delivery.
    with time_machine.travel(timezone.now() + timedelta(minutes=40)):
        inventory.process_webhook_event_task(event.pk)

    assert ParseRun.objects.get(run_id="pr_signed_3").processed_at == event.received_at
