from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from deletions.models import NotificationDelivery, NotificationEndpoint
from deletions.notifications import signed_posts as notifications
from deletions.tasks import api as api_tasks
from tests.helpers import submitted_request
from tests.local_server import LocalServer

pytestmark = pytest.mark.django_db

SECRET = "whsec_customer_secret_1234"
DS = NotificationDelivery.Status


class Receiver(LocalServer):
    """A customer's receiver that fails (503) the first *fail_first* POSTs."""

    def __init__(self, fail_first: int = 0) -> None:
        super().__init__(status=204)
        self.fail_first = fail_first
        self.url += "/hook"

    def answer(self, number: int) -> tuple[int, bytes, dict[str, str]]:
        return (503 if number <= self.fail_first else 204), b"", {}


@pytest.fixture
def endpoint_for(customer):
    def make(url: str) -> NotificationEndpoint:
        endpoint = NotificationEndpoint(customer=customer, url=url)
        endpoint.set_secret(SECRET)
        endpoint.save()
        return endpoint

    return make


def _cancel_via_api(member_api, req, django_capture_on_commit_callbacks):
    with (
        mock.patch.object(api_tasks.deliver_notification_task, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert member_api.post(f"/api/v1/requests/{req.pk}/cancel").status_code == 200
    return delay


def test_a_state_change_records_a_delivery_and_enqueues_it(
    member_api, member, workspace, customer, endpoint_for, django_capture_on_commit_callbacks
):
    endpoint_for("http://127.0.0.1:9/hook")
    req = submitted_request(workspace, customer, member, runs=1)
    delay = _cancel_via_api(member_api, req, django_capture_on_commit_callbacks)
    delivery = NotificationDelivery.objects.get()
    delay.assert_called_once_with(delivery.pk)
    assert delivery.request == req
    assert delivery.payload["request"]["status"] == "cancelled"
    assert delivery.payload["request"]["previous_status"] == "pending_approval"


def test_nothing_is_recorded_without_an_endpoint(
    member_api, member, workspace, customer, django_capture_on_commit_callbacks
):
    req = submitted_request(workspace, customer, member, runs=1)
    delay = _cancel_via_api(member_api, req, django_capture_on_commit_callbacks)
    delay.assert_not_called()
    assert not NotificationDelivery.objects.exists()


def test_the_post_is_signed_with_the_customers_secret(
    member_api, member, workspace, customer, endpoint_for, django_capture_on_commit_callbacks
):
    req = submitted_request(workspace, customer, member, runs=1)
    with Receiver() as receiver:
        endpoint_for(receiver.url)
        _cancel_via_api(member_api, req, django_capture_on_commit_callbacks)
        delivery = notifications.deliver(NotificationDelivery.objects.get().pk)
    assert delivery is not None and delivery.status == DS.DELIVERED
    assert delivery.last_status_code == 204
    [(_path, headers, body)] = receiver.received
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Portal-Signature"] == f"sha256={expected}"
    forged = hmac.new(b"another secret", body, hashlib.sha256).hexdigest()
    assert headers["X-Portal-Signature"] != f"sha256={forged}"
    message = json.loads(body)
    assert message["request"] == {**message["request"], "id": req.pk, "status": "cancelled"}
    assert message["delivery_id"] == delivery.pk
    # The secret is stored encrypted, never in clear.
    assert SECRET not in NotificationEndpoint.objects.get().secret_encrypted


def test_failed_attempts_are_retried_with_backoff_until_delivered(
    member, workspace, customer, endpoint_for
):
    req = submitted_request(workspace, customer, member, runs=1)
    with Receiver(fail_first=2) as receiver:
        delivery = notifications.record(req, "pending_approval", "approved")
        assert delivery is None  # no endpoint yet
        endpoint_for(receiver.url)
        delivery = notifications.record(req, "pending_approval", "approved")
        assert delivery is not None

        first = notifications.deliver(delivery.pk)
        assert first.status == DS.PENDING
        assert first.attempts == 1
        assert first.last_status_code == 503
        assert first.next_attempt_at is not None
        wait = first.next_attempt_at - timezone.now()
        assert timedelta(seconds=25) < wait <= timedelta(seconds=30)
        # Not due yet: neither a direct attempt nor the periodic task sends it.
        assert notifications.deliver(delivery.pk) is None
        assert notifications.due_deliveries() == []

        for expected_attempts in (2, 3):
            NotificationDelivery.objects.filter(pk=delivery.pk).update(
                next_attempt_at=timezone.now()
            )
            with mock.patch.object(api_tasks.deliver_notification_task, "delay") as delay:
                api_tasks.deliver_due_notifications_task()
            delay.assert_called_once_with(delivery.pk)
            again = notifications.deliver(delivery.pk)
            assert again.attempts == expected_attempts
    assert again.status == DS.DELIVERED
    assert again.last_error == ""
    assert len(receiver.received) == 3
    # Every attempt carries the same delivery id, so the receiver can deduplicate.
    assert {json.loads(body)["delivery_id"] for _p, _h, body in receiver.received} == {delivery.pk}


def test_it_gives_up_after_the_last_attempt(member, workspace, customer, endpoint_for, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    req = submitted_request(workspace, customer, member, runs=1)
    with Receiver(fail_first=10) as receiver:
        endpoint_for(receiver.url)
        delivery = notifications.record(req, "approved", "running")
        notifications.deliver(delivery.pk)
        NotificationDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        last = notifications.deliver(delivery.pk)
    assert last.status == DS.FAILED
    assert last.next_attempt_at is None
    assert "HTTP 503" in last.last_error


def test_an_unreachable_endpoint_is_recorded_as_an_error(member, workspace, customer, endpoint_for):
    req = submitted_request(workspace, customer, member, runs=1)
    endpoint_for("http://127.0.0.1:9/closed")
    delivery = notifications.record(req, "approved", "running")
    outcome = notifications.deliver(delivery.pk)
    assert outcome.status == DS.PENDING
    assert outcome.last_status_code is None
    assert "ConnectionError" in outcome.last_error


def test_backoff_doubles_up_to_an_hour():
    assert [notifications.backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert notifications.backoff(20) == timedelta(hours=1)
