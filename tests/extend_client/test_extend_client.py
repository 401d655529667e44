"""The Extend client against the simulator: every answer becomes the right type, nothing leaks."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from extend_ai import Extend
from extend_ai.core.api_error import ApiError as SdkApiError
from extend_ai.errors import (
    BadRequestError,
    ForbiddenError,
    InternalServerError,
    NotFoundError,
    PaymentRequiredError,
    TooManyRequestsError,
    UnauthorizedError,
    UnprocessableEntityError,
)

from deletions.extend_client import (
    EU1_BASE_URL,
    REGION_BASE_URLS,
    US2_BASE_URL,
    US_BASE_URL,
    Credentials,
    Deleted,
    ExtendClient,
    ExtendError,
    Forbidden,
    InvalidRequest,
    NotFound,
    PaymentRequired,
    RateLimited,
    Transient,
    Unauthorized,
    Unexpected,
    UnexpectedSuccess,
    parse_retry_after,
)
from extend_simulator import Simulator
from tests.local_server import LocalServer

API_KEY = "sk_test_client_main_key_Zq42"
ORG_KEY = "sk_test_client_org_key_Xy77"
NO_RETRIES = {"max_retries": 0}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(api_key=API_KEY, runs=40, org_api_key=ORG_KEY, rate_limit=10_000) as simulator:
        yield simulator


@pytest.fixture
def client(sim: Simulator) -> Iterator[ExtendClient]:
    with ExtendClient(Credentials(sim.url, API_KEY), read_timeout=5) as extend:
        yield extend


def test_region_base_urls_are_extends():
    assert US_BASE_URL == "https://api.extend.ai"
    assert US2_BASE_URL == "https://api.us2.extend.app"
    assert EU1_BASE_URL == "https://api.eu1.extend.ai"
    assert set(REGION_BASE_URLS) == {"US", "US2", "EU1"}


def test_it_imports_nothing_of_django_or_the_rest_of_the_portal():
    # Scripts and benchmarks use the client without Django; so does the simulator's test suite.
    # (deletions.core is bounded_json's package: its __init__ is a docstring, it imports nothing)
    allowed = {"deletions", "deletions.core", "deletions.core.bounded_json"}
    code = (
        "import sys, deletions.extend_client\n"
        "for name in sorted(sys.modules):\n"
        "    if name.split('.')[0] in ('django', 'portal', 'deletions'): print(name)\n"
    )
    imported = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    outside = [
        name
        for name in imported
        if name not in allowed and not name.startswith("deletions.extend_client")
    ]
    assert "deletions.extend_client.client" in imported
    assert outside == []


def test_it_lists_every_page_sending_both_page_size_parameters(sim, client):
    pages = list(client.list_parse_runs(page_size=15))

    assert [len(page.runs) for page in pages] == [15, 15, 10]
    assert pages[-1].next_page_token is None
    assert [run["id"] for page in pages for run in page.runs] == sim.run_ids()
    first_call = sim.ledger(method="GET")[0]
    query = parse_qs(first_call.query)
    assert query["maxPageSize"] == ["15"] and query["limit"] == ["15"]
    assert first_call.version_header == "2026-02-09"
    assert first_call.workspace_header is None


def test_it_resumes_from_a_page_token(client):
    first = next(client.list_parse_runs(page_size=10))

    rest = list(client.list_parse_runs(page_size=10, page_token=first.next_page_token))

    ids = [run["id"] for page in [first, *rest] for run in page.runs]
    assert len(ids) == len(set(ids)) == 40


def test_it_sends_filters(sim, client):
    runs = list(client.iter_parse_runs(status="PROCESSED", file_name_contains="pdf"))

    assert runs
    assert all(run["status"] == "PROCESSED" for run in runs)
    assert all("pdf" in run["file"]["name"].lower() for run in runs)
    query = parse_qs(sim.ledger(method="GET")[-1].query)
    assert query["status"] == ["PROCESSED"] and query["fileNameContains"] == ["pdf"]


def test_it_refuses_bad_list_arguments_before_calling(sim, client):
    with pytest.raises(ValueError):
        next(client.list_parse_runs(page_size=101))
    with pytest.raises(ValueError):
        next(client.list_parse_runs(status="DONE"))
    assert sim.ledger() == []


def test_it_gets_and_deletes_a_run(sim, client):
    run_id = sim.run_ids()[0]

    assert client.get_parse_run(run_id)["id"] == run_id
    deleted = client.delete_parse_run(run_id)

    assert deleted == Deleted(run_id=run_id, request_id=deleted.request_id, status=200)
    assert deleted.request_id == sim.ledger(method="DELETE")[0].request_id
    with pytest.raises(NotFound) as caught:
        client.get_parse_run(run_id)
    assert caught.value.status == 404
    assert caught.value.code == "NOT_FOUND"
    assert caught.value.request_id.startswith("req_")
    assert caught.value.retryable is False


def test_it_gets_and_deletes_a_file_as_the_sdk_sees_it(sim, client):
    sdk = Extend(token=API_KEY, base_url=sim.url)
    file_id, other = sim.file_ids()[:2]

    assert client.get_file(file_id)["id"] == sdk.files.retrieve(file_id).id == file_id
    deleted = client.delete_file(file_id)

    assert deleted == Deleted(run_id=file_id, request_id=deleted.request_id, status=200)
    assert sim.successful_file_deletes() == {file_id: 1}
    with pytest.raises(NotFound):
        client.get_file(file_id)
    with pytest.raises(NotFoundError):
        sdk.files.retrieve(file_id, request_options=NO_RETRIES)
    assert sdk.files.delete(other).id == other
    with pytest.raises(NotFound):
        client.delete_file(other)


@pytest.mark.parametrize(
    "body",
    [b'{"id": "file_someone_else"}', b"", b"<html>maintenance</html>", b'["file_asked"]'],
)
def test_a_file_delete_is_deleted_only_on_an_answer_naming_that_file(body):
    with LocalServer(status=200, body=body) as server:
        client = ExtendClient(Credentials(server.url, API_KEY))
        with pytest.raises(UnexpectedSuccess):
            client.delete_file("file_asked")
        assert server.received[0][0] == "/files/file_asked"


def test_it_percent_encodes_opaque_run_ids(sim, client):
    odd_id = "pr_odd/../id with space?&#%ü"
    sim.add_runs(runs=[{"id": odd_id, "file_name": "odd.pdf"}])

    assert client.get_parse_run(odd_id)["id"] == odd_id
    assert client.delete_parse_run(odd_id).run_id == odd_id
    assert sim.successful_deletes() == {odd_id: 1}


def test_it_refuses_empty_or_overlong_ids(client):
    with pytest.raises(ValueError):
        client.delete_parse_run("")
    with pytest.raises(ValueError):
        client.delete_parse_run("x" * 256)


def test_organisation_key_sends_the_workspace_header(sim):
    credentials = Credentials(sim.url, ORG_KEY, workspace_id="ws_simulated_main", org_scoped=True)
    with ExtendClient(credentials) as client:
        assert len(list(client.iter_parse_runs())) == 40
    assert sim.ledger()[-1].workspace_header == "ws_simulated_main"


def test_workspace_key_pointed_at_another_workspace_is_forbidden(sim):
    credentials = Credentials(sim.url, API_KEY, workspace_id="ws_simulated_other")
    with ExtendClient(credentials) as client, pytest.raises(Forbidden) as caught:
        client.get_parse_run(sim.run_ids()[0])
    assert caught.value.code == "FORBIDDEN"


def test_organisation_key_needs_a_workspace():
    with pytest.raises(ValueError):
        Credentials("https://api.extend.ai", ORG_KEY, org_scoped=True)


def test_it_reports_rate_limits_with_the_delay():
    with (
        Simulator(api_key=API_KEY, runs=3, rate_limit=1) as sim,
        ExtendClient(Credentials(sim.url, API_KEY)) as client,
    ):
        first, second = sim.run_ids()[:2]
        client.delete_parse_run(first)
        with pytest.raises(RateLimited) as caught:
            client.delete_parse_run(second)
    assert caught.value.status == 429
    assert caught.value.code == "RATE_LIMIT_EXCEEDED"
    assert caught.value.retry_after == 1.0
    assert caught.value.retryable is True


def test_lost_answer_to_a_delete_is_a_transient_connection_error(sim, client):
    run_id = sim.run_ids()[0]
    sim.set_faults({"drop_rate": 1.0, "scope": {"methods": ["DELETE"]}})

    with pytest.raises(Transient) as caught:
        client.delete_parse_run(run_id)

    assert caught.value.message.startswith("connection error")
    assert caught.value.status is None
    assert sim.successful_deletes() == {run_id: 1}
    assert [entry.status for entry in sim.ledger(method="DELETE")] == [None]
    sim.clear_faults()
    with pytest.raises(NotFound):
        client.delete_parse_run(run_id)


def test_answer_slower_than_the_read_timeout_is_transient(sim):
    sim.set_faults({"slow_rate": 1.0, "slow_ms": 1500})
    credentials = Credentials(sim.url, API_KEY)
    with ExtendClient(credentials, read_timeout=0.3) as client, pytest.raises(Transient) as caught:
        client.get_parse_run(sim.run_ids()[0])
    assert caught.value.message.startswith("read timeout")
    assert caught.value.retryable is True


def test_unreachable_server_is_transient():
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
    credentials = Credentials(f"http://127.0.0.1:{port}", API_KEY)
    with ExtendClient(credentials) as client, pytest.raises(Transient) as caught:
        client.get_parse_run("pr_x")
    assert caught.value.message.startswith("connection error")


def test_the_key_never_appears_in_reprs_errors_or_logs(sim, caplog):
    caplog.set_level(logging.DEBUG)
    credentials = Credentials(sim.url, API_KEY)
    sim.set_faults({"revoked": True})
    with ExtendClient(credentials) as client:
        with pytest.raises(Unauthorized) as caught:
            client.delete_parse_run(sim.run_ids()[0])
        texts = [repr(credentials), str(credentials), repr(client), str(caught.value)]
        texts.append(repr(caught.value))
    texts.append(caplog.text)
    texts.append(repr([entry.to_dict() for entry in sim.ledger()]))

    assert all(API_KEY not in text for text in texts)
    assert "…Zq42" in repr(credentials)
    assert sim.ledger()[0].key_last4 == "Zq42"


def test_retry_after_in_seconds_dates_milliseconds_and_reset():
    now = 1_800_000_000.0
    in_7s = format_datetime(datetime.fromtimestamp(now + 7, tz=UTC), usegmt=True)

    assert parse_retry_after({"retry-after": "3"}, now=now) == 3
    assert parse_retry_after({"retry-after": in_7s}, now=now) == 7
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}, now=now) == 1.5
    assert parse_retry_after({"x-ratelimit-reset": str(int(now) + 4)}, now=now) == 4
    assert parse_retry_after({"x-ratelimit-reset": "2"}, now=now) == 2
    assert parse_retry_after({"retry-after": "3600"}, now=now) == 60
    assert parse_retry_after({"retry-after": "soon"}, now=now) is None
    assert parse_retry_after({}, now=now) is None


# -- the same answers as Extend's SDK ----------------------------------------------------------

ANSWERS = [
    # status, body format, the SDK's exception, ours
    (400, "json", BadRequestError, InvalidRequest),
    (401, "json", UnauthorizedError, Unauthorized),
    (402, "json", PaymentRequiredError, PaymentRequired),
    (403, "json", ForbiddenError, Forbidden),
    (404, "json", NotFoundError, NotFound),
    (422, "json", UnprocessableEntityError, InvalidRequest),
    (429, "json", TooManyRequestsError, RateLimited),
    (500, "json", InternalServerError, Transient),
    (502, "html", SdkApiError, Transient),
    (503, "html", SdkApiError, Transient),
    (504, "empty", SdkApiError, Transient),
    (500, "text", SdkApiError, Transient),
    (404, "html", SdkApiError, Unexpected),
    (409, "json", SdkApiError, Unexpected),
]


def sdk_field(body, name):
    """The SDK parses some error bodies into models and leaves others as dicts."""
    return body[name] if isinstance(body, dict) else getattr(body, name)


@pytest.mark.parametrize(("status", "body", "sdk_error", "our_error"), ANSWERS)
@pytest.mark.parametrize("call", ["list", "retrieve", "delete"])
def test_it_answers_like_the_sdk(sim, client, call, status, body, sdk_error, our_error):
    sdk = Extend(token=API_KEY, base_url=sim.url)
    run_id = sim.run_ids()[0]
    sim.set_faults({"error_rates": {str(status): 1.0}, "error_body": body})
    sdk_calls = {
        "list": lambda: sdk.parse_runs.list(request_options=NO_RETRIES),
        "retrieve": lambda: sdk.parse_runs.retrieve(run_id, request_options=NO_RETRIES),
        "delete": lambda: sdk.parse_runs.delete(run_id, request_options=NO_RETRIES),
    }
    our_calls = {
        "list": lambda: next(client.list_parse_runs()),
        "retrieve": lambda: client.get_parse_run(run_id),
        "delete": lambda: client.delete_parse_run(run_id),
    }

    with pytest.raises(SdkApiError) as sdk_caught:
        sdk_calls[call]()
    with pytest.raises(ExtendError) as ours_caught:
        our_calls[call]()

    theirs, ours = sdk_caught.value, ours_caught.value
    assert type(theirs) is sdk_error
    assert type(ours) is our_error
    assert theirs.status_code == ours.status == status
    if body == "json":
        assert sdk_field(theirs.body, "code") == ours.code
        assert sdk_field(theirs.body, "retryable") == ours.retryable
        assert theirs.headers["x-extend-request-id"] != ours.request_id  # two calls, two ids
        assert ours.request_id.startswith("req_")
    else:
        assert ours.code is None
        assert ours.request_id is None
    assert ours.retryable == (status == 429 or status >= 500)
    assert not sim.is_deleted(run_id)


def test_it_answers_real_errors_like_the_sdk(sim, client):
    sdk = Extend(token=API_KEY, base_url=sim.url)
    gone = sim.run_ids()[0]
    client.delete_parse_run(gone)

    with pytest.raises(NotFoundError):
        sdk.parse_runs.delete(gone, request_options=NO_RETRIES)
    with pytest.raises(NotFound):
        client.delete_parse_run(gone)

    intruder = Extend(token="sk_test_wrong_0000", base_url=sim.url)
    with pytest.raises(UnauthorizedError):
        intruder.parse_runs.list(request_options=NO_RETRIES)
    wrong = Credentials(sim.url, "sk_test_wrong_0000")
    with ExtendClient(wrong) as client, pytest.raises(Unauthorized):
        next(client.list_parse_runs())


def test_a_netrc_entry_never_replaces_the_workspace_key(sim, client, tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password sk_test_from_netrc_9999\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))

    next(client.list_parse_runs())

    assert sim.ledger()[-1].key_last4 == API_KEY[-4:]
