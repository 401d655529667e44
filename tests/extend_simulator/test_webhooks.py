"""Signed webhook deliveries: Extend's scheme, duplicates, signed URLs, the control endpoint."""

from __future__ import annotations

import hashlib
import hmac
import json

import requests

from extend_simulator.webhooks import SignedUrlStore, build_event, sign

from .receiver import WebhookReceiver


def test_signature_is_hmac_sha256_of_v0_timestamp_body_with_the_whole_secret():
    body = b'{"eventId":"evt_1"}'
    expected = hmac.new(b"wss_abc", b"v0:1700000000:" + body, hashlib.sha256).hexdigest()

    assert sign("wss_abc", 1_700_000_000, body) == expected
    assert sign("wss_abc", "1700000000", body) == expected


def test_duplicate_deliveries_repeat_the_same_event(simulator):
    with WebhookReceiver() as receiver:
        deliveries = simulator.send_webhook(receiver.url, duplicates=2)
        received = receiver.wait(3)

    assert [delivery.status for delivery in deliveries] == [200, 200, 200]
    bodies = {body for body, _ in received}
    assert len(bodies) == 1
    event = json.loads(bodies.pop())
    assert event["eventType"] == "parse_run.processed"
    assert event["payload"]["object"] == "parse_run_status"
    assert event["eventId"].startswith("evt_")


def test_failed_events_describe_a_failed_run(simulator):
    with WebhookReceiver() as receiver:
        simulator.send_webhook(receiver.url, event_type="parse_run.failed")
        body, headers = receiver.wait(1)[0]

    payload = json.loads(body)["payload"]
    assert payload["status"] == "FAILED"
    assert payload["failureReason"]
    assert headers["x-extend-request-signature"] == sign(
        simulator.webhook_secret, headers["x-extend-request-timestamp"], body
    )


def test_the_control_endpoint_sends_webhooks(simulator):
    run_id = simulator.run_ids()[0]
    with WebhookReceiver(status=500) as receiver:
        answer = requests.post(
            simulator.url + "/_sim/webhooks/send",
            json={"url": receiver.url, "run_id": run_id, "signed_url": True},
            timeout=10,
        )
        body, _ = receiver.wait(1)[0]

    assert answer.status_code == 200
    assert answer.json()["deliveries"][0]["status"] == 500
    payload = json.loads(body)["payload"]
    assert payload["object"] == "signed_data_url"
    assert payload["id"] == run_id
    full = requests.get(payload["data"], timeout=5).json()
    assert full["id"] == run_id and full["object"] == "parse_run_status"


def test_unreachable_receivers_are_reported(simulator):
    (delivery,) = simulator.send_webhook("http://127.0.0.1:9/hooks", timeout=2)

    assert delivery.status is None
    assert delivery.error


def test_signed_urls_expire_after_an_hour():
    store = SignedUrlStore(ttl=3600)
    token = store.put({"a": 1}, now=1000.0)

    assert store.get(token, now=4599.0) == (True, {"a": 1})
    assert store.get(token, now=4601.0) == (False, None)
    assert store.get("forged", now=1000.0) == (False, None)


def test_events_use_extends_envelope():
    event = build_event("parse_run.processed", {"object": "parse_run_status", "id": "pr_1"})

    assert set(event) == {"eventId", "eventType", "payload"}
