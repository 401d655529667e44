"""RELIABILITY 23 for JSON: crafted input never gives a 500 or an error e-mail to the admins.

A thousand ``[`` made Python's parser raise RecursionError on the public verify page, the API and
a signed webhook; every JSON the portal reads is now bounded in size and nesting before it is
parsed (deletions/core/bounded_json.py). The verify page also keeps certificates under a few MB and
throttles each client.
"""

from __future__ import annotations

import base64
import json

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from deletions.models import ApiToken, DeletionRequest, WebhookEvent
from extend_simulator.webhooks import signed_headers
from tests.factories import make_runs

DEEP = "[" * 1000
VERIFY = "/certificates/verify/"
SECRET = "wss_test_secret_wxyz"  # what WorkspaceFactory sets


@pytest.fixture(autouse=True)
def _admins_and_a_fresh_throttle(settings, fresh_throttle):
    """Admins who would get an error e-mail for any 500; throttle counters from zero."""
    settings.ADMINS = [("Ops", "ops@example.com")]


@pytest.fixture
def anonymous() -> Client:
    return Client(raise_request_exception=False)


def assert_no_error_mail():
    assert [m.subject for m in mail.outbox] == []


def test_the_route_checked_here_is_the_verify_page():
    assert reverse("certificates:verify") == VERIFY


@pytest.mark.django_db
def test_a_deeply_nested_certificate_is_a_400_with_a_message(anonymous):
    response = anonymous.post(VERIFY, {"document": DEEP})

    assert response.status_code == 400
    assert "nested too deeply" in response.content.decode()
    assert_no_error_mail()


@pytest.mark.django_db
def test_a_deeply_nested_uploaded_certificate_is_a_400(anonymous):
    upload = SimpleUploadedFile("c.json", DEEP.encode() * 50, content_type="application/json")
    response = anonymous.post(VERIFY, {"file": upload})

    assert response.status_code == 400
    assert_no_error_mail()


@pytest.mark.django_db
def test_text_that_is_not_json_is_a_400(anonymous):
    response = anonymous.post(VERIFY, {"document": "{not json"})

    assert response.status_code == 400
    assert "not valid JSON" in response.content.decode()


@pytest.mark.django_db
def test_an_upload_over_the_limit_is_refused_unread_with_a_413(anonymous, settings):
    assert settings.CERTIFICATE_VERIFY_MAX_BYTES == 2 * 1024 * 1024
    big = SimpleUploadedFile("c.json", b" " * (3 * 1024 * 1024), content_type="application/json")
    response = anonymous.post(VERIFY, {"file": big})

    assert response.status_code == 413
    assert "larger than 2.0" in response.content.decode()
    assert_no_error_mail()


@pytest.mark.django_db
def test_a_pasted_certificate_over_the_limit_is_a_413(anonymous, settings):
    settings.CERTIFICATE_VERIFY_MAX_BYTES = 1000
    response = anonymous.post(VERIFY, {"document": json.dumps({"x": "a" * 2000})})

    assert response.status_code == 413
    assert "the most this page checks" in response.content.decode()


@pytest.mark.django_db
def test_the_verify_page_is_throttled_per_client(anonymous, settings):
    settings.CERTIFICATE_VERIFY_LIMIT_PER_IP = 3
    for _ in range(3):
        assert anonymous.post(VERIFY, {"document": "{}"}).status_code < 429

    refused = anonymous.post(VERIFY, {"document": "{}"})

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many certificates were checked" in refused.content.decode()
    # Another address is not held back by this one.
    other = anonymous.post(VERIFY, {"document": "{}"}, REMOTE_ADDR="203.0.113.9")
    assert other.status_code == 200
    # Reading the page is not a check.
    assert anonymous.get(VERIFY).status_code == 200


@pytest.mark.django_db
def test_the_verify_page_still_needs_its_csrf_token():
    client = Client(enforce_csrf_checks=True)
    assert client.post(VERIFY, {"document": "{}"}).status_code == 403


# --- The API --------------------------------------------------------------------------------


@pytest.fixture
def api(member) -> Client:
    _token, raw = ApiToken.issue(member, name="crafted")
    return Client(raise_request_exception=False, headers={"Authorization": f"Bearer {raw}"})


def test_a_deeply_nested_api_body_is_a_400(api, workspace, customer):
    body = '{"reason": "r", "run_ids": ' + DEEP + "}"
    response = api.post("/api/v1/requests", body, content_type="application/json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_request"
    assert "nests more than" in error["message"]
    assert not DeletionRequest.objects.exists()
    assert_no_error_mail()


def test_an_api_body_that_is_not_json_is_a_400(api):
    response = api.post("/api/v1/requests", b"\xff{", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_an_api_body_over_the_limit_is_a_413(api, settings):
    settings.API_MAX_BODY_BYTES = 100
    body = json.dumps({"reason": "r" * 200, "run_ids": ["pr_1"]})
    response = api.post("/api/v1/requests", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["error"]["details"] == {"limit_bytes": 100}


# --- A signed webhook -------------------------------------------------------------------------


def post_webhook(client: Client, workspace, body: bytes):
    headers = signed_headers(SECRET, body)
    return client.post(
        reverse("extend_webhook", args=[workspace.webhook_token]),
        data=body,
        content_type="application/json",
        headers={k: v for k, v in headers.items() if k != "Content-Type"},
    )


def test_a_signed_deeply_nested_webhook_is_a_400_and_records_nothing(anonymous, workspace):
    body = (
        b'{"eventId": "evt_deep", "eventType": "parse_run.processed", "payload": '
        + DEEP.encode()
        + b"}"
    )
    response = post_webhook(anonymous, workspace, body)

    assert response.status_code == 400
    assert response.json() == {"error": "the body is nested too deeply"}
    assert not WebhookEvent.objects.exists()
    assert_no_error_mail()


def test_a_webhook_over_the_limit_is_a_413_and_records_nothing(anonymous, workspace):
    event = {
        "eventId": "evt_big",
        "eventType": "parse_run.processed",
        "payload": {"object": "parse_run_status", "id": "pr_1", "padding": "x" * 1_100_000},
    }
    response = post_webhook(anonymous, workspace, json.dumps(event).encode())

    assert response.status_code == 413
    assert not WebhookEvent.objects.exists()


# --- Customer pages' cursors, and bodies Django refuses itself --------------------------------


def test_a_crafted_page_cursor_is_a_404_not_a_500(member, workspace, customer):
    make_runs(workspace, customer, 3)
    client = Client(raise_request_exception=False)
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    cursor = base64.urlsafe_b64encode(b"[" * 3000).decode().rstrip("=")

    response = client.get(reverse("customer:runs"), {"after": cursor})

    assert response.status_code == 404
    assert_no_error_mail()


@pytest.mark.django_db
def test_too_many_posted_fields_are_a_400_without_an_error_mail(anonymous, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    response = anonymous.post(VERIFY, {f"f{i}": "x" for i in range(20)})

    assert response.status_code == 400
    assert_no_error_mail()
