"""The webhook receiver: Extend's signature, refusals, deduplication and what events do."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from deletions.inventory import webhooks
from deletions.models import ParseRun, WebhookEvent
from deletions.tasks import inventory
from extend_simulator.webhooks import sign, signed_headers
from tests.factories import make_runs, new_workspace

SECRET = "wss_test_secret_wxyz"  # what WorkspaceFactory sets


@pytest.fixture
def enqueued(monkeypatch):
    """Task messages the receiver sends (after commit), instead of a broker."""
    sent: list[int] = []
    monkeypatch.setattr(inventory.process_webhook_event_task, "delay", sent.append)
    return sent


def url_for(workspace):
    return reverse("extend_webhook", args=[workspace.webhook_token])


def envelope(event_type="parse_run.processed", run_id="pr_hook_1", event_id="evt_1", **payload):
    body = {"object": "parse_run_status", "id": run_id, "status": "PROCESSED", **payload}
    return {"eventId": event_id, "eventType": event_type, "payload": body}


def post(client, workspace, event, *, secret=SECRET, timestamp=None, headers=None, raw=None):
    body = raw if raw is not None else json.dumps(event).encode()
    sent_headers = headers if headers is not None else signed_headers(secret, body, timestamp)
    return client.post(
        url_for(workspace),
        data=body,
        content_type="application/json",
        headers={k: v for k, v in sent_headers.items() if k != "Content-Type"},
    )


def test_a_signed_processed_event_records_it_and_upserts_the_run(
    client, workspace, customer, enqueued, django_capture_on_commit_callbacks
):
    event = envelope(metadata={"customer_id": customer.external_ref})

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, workspace, event)

    assert response.status_code == 200
    assert response.json() == {"ok": True, "duplicate": False}
    record = WebhookEvent.objects.get()
    assert (record.event_id, record.event_type, record.run_id) == (
        "evt_1",
        "parse_run.processed",
        "pr_hook_1",
    )
    assert record.status == WebhookEvent.Status.RECEIVED
    run = ParseRun.objects.get(run_id="pr_hook_1")
    assert run.customer == customer and run.extend_status == "PROCESSED"
    assert enqueued == [record.pk]


def test_a_failed_event_updates_the_status_of_a_known_run_and_keeps_its_file_name(
    client, workspace, enqueued
):
    [run_id] = make_runs(workspace, None, 1)
    event = envelope(
        "parse_run.failed", run_id=run_id, status="FAILED", failureReason="CORRUPT_FILE"
    )

    assert post(client, workspace, event).status_code == 200

    run = ParseRun.objects.get(run_id=run_id)
    assert run.extend_status == "FAILED"
    assert run.file_name == "invoice-00000.pdf"


def test_an_event_without_a_file_keeps_the_stored_file_id(client, workspace, enqueued):
    [run_id] = make_runs(workspace, None, 1)
    ParseRun.objects.filter(run_id=run_id).update(file_id="file_kept")

    assert post(client, workspace, envelope(run_id=run_id)).status_code == 200
    assert (
        post(client, workspace, envelope(run_id=run_id, event_id="evt_2", file=None)).status_code
        == 200
    )

    run = ParseRun.objects.get(run_id=run_id)
    assert run.extend_status == "PROCESSED" and run.file_id == "file_kept"


def test_an_event_that_carries_a_file_records_its_id(client, workspace, enqueued):
    event = envelope(file={"object": "file", "id": "file_from_hook", "name": "a.pdf"})

    assert post(client, workspace, event).status_code == 200

    assert ParseRun.objects.get(run_id="pr_hook_1").file_id == "file_from_hook"


def test_a_run_without_a_known_reference_is_stored_unassigned(client, workspace, enqueued):
    post(client, workspace, envelope(metadata={"customer_id": "unknown-ref"}))

    assert ParseRun.objects.get(run_id="pr_hook_1").customer is None


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing signature headers"),
        ({"x-extend-request-timestamp": "{now}"}, "missing signature headers"),
        (
            {"x-extend-request-timestamp": "{now}", "x-extend-request-signature": "00" * 32},
            "bad signature",
        ),
        (
            {"x-extend-request-timestamp": "yesterday", "x-extend-request-signature": "ab"},
            "malformed timestamp",
        ),
    ],
)
def test_a_missing_or_bad_signature_is_refused_and_nothing_stored(
    client, workspace, enqueued, headers, reason
):
    now = str(int(time.time()))
    headers = {k: v.replace("{now}", now) for k, v in headers.items()}

    response = post(client, workspace, envelope(), headers=headers)

    assert response.status_code == 401
    assert response.json()["error"] == reason
    assert not WebhookEvent.objects.exists() and not ParseRun.objects.exists()
    assert enqueued == []


def test_a_body_changed_after_signing_is_refused(client, workspace, enqueued):
    body = json.dumps(envelope()).encode()
    headers = signed_headers(SECRET, body)

    response = post(
        client, workspace, None, raw=body.replace(b"PROCESSED", b"FAILED"), headers=headers
    )

    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_a_signature_made_with_another_secret_is_refused(client, workspace, enqueued):
    response = post(client, workspace, envelope(), secret="wss_someone_else")

    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(("offset", "reason"), [(-301, "too old"), (61, "in the future")])
def test_stale_or_future_timestamps_are_refused(client, workspace, enqueued, offset, reason):
    # The clock stands still: the boundary is exact however long the request takes.
    with time_machine.travel(1_800_000_000, tick=False):
        response = post(client, workspace, envelope(), timestamp=int(time.time()) + offset)

    assert response.status_code == 401
    assert reason in response.json()["error"]
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("offset", [-290, 50])
def test_timestamps_within_the_window_are_accepted(client, workspace, enqueued, offset):
    response = post(client, workspace, envelope(), timestamp=int(time.time()) + offset)

    assert response.status_code == 200


def test_a_workspace_without_a_signing_secret_refuses_everything(client, workspace, enqueued):
    workspace.webhook_secret_encrypted = ""
    workspace.save()

    assert post(client, workspace, envelope()).status_code == 401
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe\x00binary",
        b"[1, 2]",
        b'{"eventType": "parse_run.processed", "payload": {"id": "pr_1"}}',
        b'{"eventId": "evt_1", "payload": {"id": "pr_1"}}',
        b'{"eventId": "evt_1", "eventType": "parse_run.processed", "payload": "x"}',
        b'{"eventId": "evt_1", "eventType": "parse_run.processed", "payload": {}}',
        b'{"eventId": "evt_1", "eventType": "parse_run.processed", "payload": {"id": 42}}',
        json.dumps(envelope(run_id="x" * 256)).encode(),
        json.dumps(envelope(event_id="e" * 256)).encode(),
        b'{"eventId":"e","eventType":"parse_run.processed","payload":'
        b'{"object":"signed_data_url","id":"pr_1","data":"file:///etc/passwd"}}',
    ],
)
def test_a_malformed_signed_body_is_a_400_and_nothing_stored(client, workspace, enqueued, raw):
    response = post(client, workspace, None, raw=raw, headers=signed_headers(SECRET, raw))

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists() and not ParseRun.objects.exists()


def test_an_unknown_token_is_a_404(client, workspace, enqueued):
    body = json.dumps(envelope()).encode()

    response = client.post(
        "/webhooks/extend/00000000-0000-4000-8000-000000000000/",
        data=body,
        content_type="application/json",
        headers=signed_headers(SECRET, body),
    )

    assert response.status_code == 404
    assert not WebhookEvent.objects.exists()


def test_get_is_not_allowed(client, workspace):
    assert client.get(url_for(workspace)).status_code == 405


def test_a_repeated_event_id_is_accepted_once(client, workspace, enqueued):
    first = post(client, workspace, envelope())
    second = post(client, workspace, envelope(status="FAILED"))

    assert first.status_code == second.status_code == 200
    assert second.json()["duplicate"] is True
    assert WebhookEvent.objects.count() == 1
    assert ParseRun.objects.get().extend_status == "PROCESSED"  # the replay changed nothing


def test_the_same_event_id_in_two_workspaces_is_two_events(client, workspace, enqueued):
    other = new_workspace()
    post(client, workspace, envelope())
    post(client, other, envelope())

    assert WebhookEvent.objects.count() == 2


def test_an_unknown_event_type_is_accepted_and_ignored(client, workspace, enqueued):
    event = {"eventId": "evt_x", "eventType": "workflow_run.completed", "payload": {"id": "wr_1"}}

    response = post(client, workspace, event)

    assert response.status_code == 200
    record = WebhookEvent.objects.get()
    assert record.status == WebhookEvent.Status.IGNORED and record.run_id == ""
    assert not ParseRun.objects.exists()
    assert enqueued == []


def test_no_document_contents_are_stored_with_the_event(client, workspace, enqueued):
    post(client, workspace, envelope(metadata={"customer_id": "c", "note": "secret contents"}))

    record = WebhookEvent.objects.values().get()
    assert "secret contents" not in json.dumps(record, default=str)


def test_verify_signature_matches_the_simulators_signing():
    body = b'{"a":1}'
    now = 1_800_000_000

    webhooks.verify_signature(SECRET, str(now), sign(SECRET, now, body), body, now=now)
    with pytest.raises(webhooks.WebhookRefused):
        webhooks.verify_signature(
            SECRET, str(now), sign(SECRET, now, body).upper()[:-1], body, now=now
        )


# --- When a run was processed (for "N hours after processing" retention policies) ---

DELIVERED = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def test_a_processed_event_dates_the_run_processed_when_it_was_delivered(
    client, workspace, customer, enqueued
):
    event = envelope(metadata={"customer_id": customer.external_ref})

    with time_machine.travel(DELIVERED, tick=False):
        assert post(client, workspace, event).status_code == 200

    assert ParseRun.objects.get(run_id="pr_hook_1").processed_at == DELIVERED


def test_a_processed_payload_with_its_own_date_is_dated_by_it(client, workspace, enqueued):
    event = envelope(updatedAt="2026-12-02T08:15:00.000Z")

    with time_machine.travel(DELIVERED, tick=False):
        post(client, workspace, event)

    run = ParseRun.objects.get(run_id="pr_hook_1")
    assert run.processed_at == datetime(2026, 12, 2, 8, 15, tzinfo=UTC)


def test_failed_and_unfinished_runs_have_no_processing_time(client, workspace, enqueued):
    with time_machine.travel(DELIVERED, tick=False):
        post(
            client,
            workspace,
            envelope("parse_run.failed", run_id="pr_failed", status="FAILED", event_id="e1"),
        )
        post(client, workspace, envelope(run_id="pr_busy", status="PROCESSING", event_id="e2"))

    assert list(ParseRun.objects.values_list("processed_at", flat=True)) == [None, None]


def test_later_events_neither_clear_nor_move_the_processing_time(client, workspace, enqueued):
    with time_machine.travel(DELIVERED, tick=False):
        post(client, workspace, envelope(event_id="first", metadata={"customer_id": "a"}))
    # Hours later: the same run again with changed metadata and a date of its own, then a
    # (mistaken) failed event. The run's hours after processing still count from the first.
    with time_machine.travel(DELIVERED + timedelta(hours=5), tick=False):
        post(
            client,
            workspace,
            envelope(
                event_id="metadata-changed",
                metadata={"customer_id": "b"},
                updatedAt="2026-12-02T14:00:00.000Z",
            ),
        )
        post(client, workspace, envelope("parse_run.failed", status="FAILED", event_id="late"))

    run = ParseRun.objects.get(run_id="pr_hook_1")
    assert run.metadata == {"customer_id": "b"} and run.extend_status == "FAILED"
    assert run.processed_at == DELIVERED


def test_an_earlier_date_arriving_later_does_not_bring_the_processing_time_forward(
    client, workspace, enqueued
):
    with time_machine.travel(DELIVERED, tick=False):
        post(client, workspace, envelope(event_id="first"))
    with time_machine.travel(DELIVERED + timedelta(hours=1), tick=False):
        post(client, workspace, envelope(event_id="again", updatedAt="2026-12-01T00:00:00Z"))

    assert ParseRun.objects.get(run_id="pr_hook_1").processed_at == DELIVERED
