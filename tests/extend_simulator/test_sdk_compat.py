"""Extend's official Python SDK works against the simulator as it would against Extend."""

from __future__ import annotations

import time

import pytest
from extend_ai import Extend, File, FilesDeleteResponse, FileSummary, FileType
from extend_ai.core.api_error import ApiError
from extend_ai.errors import (
    BadRequestError,
    NotFoundError,
    TooManyRequestsError,
    UnauthorizedError,
)

from extend_simulator import Simulator

from .conftest import API_KEY, MAIN_WS, NO_RETRIES, ORG_KEY, OTHER_WS
from .receiver import WebhookReceiver


def list_all(sdk: Extend, **filters):
    runs, token, pages = [], None, 0
    while True:
        page = sdk.parse_runs.list(next_page_token=token, request_options=NO_RETRIES, **filters)
        runs.extend(page.data)
        pages += 1
        token = page.next_page_token
        if not token:
            return runs, pages


def test_sdk_lists_every_page(simulator, sdk):
    runs, pages = list_all(sdk, max_page_size=7)

    assert len(runs) == 60
    assert pages == 9
    assert len({run.id for run in runs}) == 60
    assert runs == sorted(runs, key=lambda run: run.created_at, reverse=True)
    assert [run.id for run in runs] == simulator.run_ids()


def test_sdk_parses_every_summary_field(sdk):
    page = sdk.parse_runs.list(max_page_size=100, request_options=NO_RETRIES)

    processed = next(run for run in page.data if run.status == "PROCESSED")
    assert processed.id.startswith("pr_")
    assert processed.file.name
    assert processed.file.id.startswith("file_")
    assert processed.metrics.page_count >= 1
    assert processed.created_at <= processed.updated_at
    assert "customer_ref" in (processed.metadata or {}) or processed.metadata is None
    assert all(run.status in ("PENDING", "PROCESSING", "PROCESSED", "FAILED") for run in page.data)


def test_sdk_retrieves_a_run(simulator, sdk):
    run_id = simulator.run_ids(status="PROCESSED")[0]

    run = sdk.parse_runs.retrieve(run_id, request_options=NO_RETRIES)

    assert run.id == run_id
    assert run.status == "PROCESSED"
    assert run.output.chunks[0].content.startswith("# ")
    assert run.config.target == "markdown"


def test_sdk_deletes_then_gets_not_found(simulator, sdk):
    run_id = simulator.run_ids()[3]

    deleted = sdk.parse_runs.delete(run_id, request_options=NO_RETRIES)

    assert deleted.id == run_id
    with pytest.raises(NotFoundError) as caught:
        sdk.parse_runs.retrieve(run_id, request_options=NO_RETRIES)
    assert caught.value.body["code"] == "NOT_FOUND"
    assert caught.value.headers["x-extend-request-id"].startswith("req_")
    with pytest.raises(NotFoundError):
        sdk.parse_runs.delete(run_id, request_options=NO_RETRIES)
    assert simulator.successful_deletes() == {run_id: 1}


def test_sdk_raises_unauthorized_for_an_unknown_key(simulator):
    sdk = Extend(token="sk_test_nobody_0000", base_url=simulator.url)

    with pytest.raises(UnauthorizedError) as caught:
        sdk.parse_runs.list(request_options=NO_RETRIES)

    assert caught.value.body["code"] == "UNAUTHORIZED"


def test_sdk_raises_too_many_requests_over_the_limit():
    with Simulator(api_key=API_KEY, runs=5, rate_limit=2) as sim:
        sdk = Extend(token=API_KEY, base_url=sim.url)
        run_id = sim.run_ids()[0]
        sdk.parse_runs.retrieve(run_id, request_options=NO_RETRIES)
        sdk.parse_runs.retrieve(run_id, request_options=NO_RETRIES)

        with pytest.raises(TooManyRequestsError) as caught:
            sdk.parse_runs.retrieve(run_id, request_options=NO_RETRIES)

    assert caught.value.body["code"] == "RATE_LIMIT_EXCEEDED"
    assert caught.value.body["retryable"] is True
    assert int(caught.value.headers["retry-after"]) >= 1


def test_sdk_with_organisation_key_needs_the_workspace_header(simulator):
    sdk = Extend(token=ORG_KEY, base_url=simulator.url)

    with pytest.raises(BadRequestError):
        sdk.parse_runs.list(request_options=NO_RETRIES)
    page = sdk.parse_runs.list(extend_workspace_id=OTHER_WS, request_options=NO_RETRIES)

    assert len(page.data) == 10


def test_sdk_sees_gateway_errors_as_plain_api_errors(simulator, sdk):
    simulator.set_faults({"error_rates": {"502": 1.0}})

    with pytest.raises(ApiError) as caught:
        sdk.parse_runs.list(request_options=NO_RETRIES)

    assert caught.value.status_code == 502
    assert "<html>" in caught.value.body


def test_sdk_verifies_simulator_webhook_signatures(simulator, sdk):
    with WebhookReceiver() as receiver:
        simulator.send_webhook(receiver.url, event_type="parse_run.processed")
        received = receiver.wait(1)
    body, headers = received[0]
    secret = simulator.webhook_secret

    assert sdk.webhooks.verify(body, headers, secret)
    event = sdk.webhooks.verify_and_parse(body, headers, secret)
    assert event.event_type == "parse_run.processed"
    assert event.payload.status == "PROCESSED"
    assert event.payload.id in simulator.run_ids()


def test_sdk_rejects_tampered_bodies_and_stale_or_future_timestamps(simulator, sdk):
    secret = simulator.webhook_secret
    with WebhookReceiver() as receiver:
        simulator.send_webhook(receiver.url, tamper=True)
        simulator.send_webhook(receiver.url, timestamp=int(time.time()) - 301)
        simulator.send_webhook(receiver.url, timestamp=int(time.time()) + 120)
        simulator.send_webhook(receiver.url, timestamp=int(time.time()) - 200)
        deliveries = receiver.wait(4)

    results = [sdk.webhooks.verify(body, headers, secret) for body, headers in deliveries]
    assert results == [False, False, False, True]
    body, headers = deliveries[3]
    assert not sdk.webhooks.verify(body, headers, "wss_some_other_secret")


def test_sdk_fetches_signed_url_payloads_from_the_simulator(simulator, sdk):
    run_id = simulator.run_ids(status="FAILED")[0]
    with WebhookReceiver() as receiver:
        simulator.send_webhook(
            receiver.url, event_type="parse_run.failed", run_id=run_id, signed_url=True
        )
        body, headers = receiver.wait(1)[0]

    event = sdk.webhooks.verify_and_parse(
        body, headers, simulator.webhook_secret, allow_signed_url=True
    )
    assert sdk.webhooks.is_signed_url_event(event)
    full = sdk.webhooks.fetch_signed_payload_sync(event)
    assert full.event_type == "parse_run.failed"
    assert full.payload.id == run_id
    assert full.payload.status == "FAILED"
    assert full.payload.failure_reason


def test_sdk_returns_unknown_event_types_as_raw_dicts(simulator, sdk):
    with WebhookReceiver() as receiver:
        simulator.send_webhook(
            receiver.url, event_type="parse_run.reticulated", payload={"object": "x", "id": "y"}
        )
        body, headers = receiver.wait(1)[0]

    event = sdk.webhooks.verify_and_parse(body, headers, simulator.webhook_secret)
    assert event == {
        "eventId": event["eventId"],
        "eventType": "parse_run.reticulated",
        "payload": {"object": "x", "id": "y"},
    }


def list_all_files(sdk: Extend, **options):
    files, token, pages = [], None, 0
    while True:
        page = sdk.files.list(next_page_token=token, request_options=NO_RETRIES, **options)
        files.extend(page.data)
        pages += 1
        token = page.next_page_token
        if not token:
            return files, pages


def test_sdk_retrieves_a_runs_file(simulator, sdk):
    run = sdk.parse_runs.retrieve(simulator.run_ids(status="PROCESSED")[0])

    file = sdk.files.retrieve(run.file.id, request_options=NO_RETRIES)

    assert isinstance(file, File)
    assert file.id == run.file.id
    assert file.name == run.file.name
    assert isinstance(file.type, FileType) and file.type.value != "__FILETYPE_UNKNOWN__"
    assert file.metadata.page_count == run.metrics.page_count
    assert file.created_at == run.file.created_at
    assert file.presigned_url.startswith(simulator.url)
    assert file.model_extra in (None, {})


def test_sdk_lists_every_file_page_by_page(simulator, sdk):
    files, pages = list_all_files(sdk, max_page_size=7)
    oldest_first, _ = list_all_files(sdk, sort_dir="asc", max_page_size=50)
    named = sdk.files.list(name_contains=files[0].name[:5], request_options=NO_RETRIES).data

    assert all(isinstance(file, FileSummary) for file in files)
    # Every field the simulator sends is one the SDK knows.
    assert all(file.model_extra in (None, {}) for file in files)
    assert [file.id for file in files] == simulator.file_ids()
    assert pages == -(-len(files) // 7)
    assert [file.id for file in oldest_first] == [file.id for file in reversed(files)]
    assert files[0].id in {file.id for file in named}
    assert all(files[0].name[:5].casefold() in file.name.casefold() for file in named)


def test_sdk_deletes_a_file_then_gets_not_found(simulator, sdk):
    run_id = simulator.run_ids(status="PROCESSED")[0]
    file_id = sdk.parse_runs.retrieve(run_id).file.id

    deleted = sdk.files.delete(file_id, request_options=NO_RETRIES)

    assert isinstance(deleted, FilesDeleteResponse)
    assert deleted.id == file_id
    with pytest.raises(NotFoundError) as caught:
        sdk.files.retrieve(file_id, request_options=NO_RETRIES)
    assert caught.value.body["code"] == "NOT_FOUND"
    assert caught.value.headers["x-extend-request-id"].startswith("req_")
    with pytest.raises(NotFoundError):
        sdk.files.delete(file_id, request_options=NO_RETRIES)
    assert file_id not in {file.id for file in list_all_files(sdk, max_page_size=100)[0]}
    # The run that processed the file keeps its output and its file reference.
    run = sdk.parse_runs.retrieve(run_id, request_options=NO_RETRIES)
    assert run.file.id == file_id and run.output.chunks
    assert simulator.successful_file_deletes() == {file_id: 1}
    assert simulator.successful_deletes() == {}


def test_sdk_reaches_files_of_the_workspace_it_names(simulator):
    sdk = Extend(token=ORG_KEY, base_url=simulator.url)
    other_file = simulator.file_ids(OTHER_WS)[0]

    with pytest.raises(BadRequestError):
        sdk.files.list(request_options=NO_RETRIES)
    page = sdk.files.list(extend_workspace_id=OTHER_WS, request_options=NO_RETRIES)
    assert {file.id for file in page.data} == set(simulator.file_ids(OTHER_WS))
    assert sdk.files.retrieve(other_file, extend_workspace_id=OTHER_WS).id == other_file
    with pytest.raises(NotFoundError):
        sdk.files.delete(other_file, extend_workspace_id=MAIN_WS, request_options=NO_RETRIES)
    assert sdk.files.delete(other_file, extend_workspace_id=OTHER_WS).id == other_file


def test_sdk_sees_file_faults_as_extend_errors(simulator, sdk):
    file_id = simulator.file_ids()[0]
    simulator.set_faults({"storm_fraction": 1.0, "scope": {"path_prefix": "/files"}})

    with pytest.raises(TooManyRequestsError) as caught:
        sdk.files.delete(file_id, request_options=NO_RETRIES)

    assert caught.value.body["retryable"] is True
    assert caught.value.headers["retry-after"] == "1"
    assert sdk.parse_runs.list(request_options=NO_RETRIES).data
    assert not simulator.is_file_deleted(file_id)
