"""Done means: a client that knows only the OpenAPI schema and its tokens files a request, has it
approved by staff tokens, and follows it to completion, with the real engine deleting the runs
at an in-process Extend simulator."""

from __future__ import annotations

import json
import time

import pytest
from rest_framework.test import APIClient

from deletions.engine import runner
from deletions.models import ApiToken, Customer
from deletions.tasks.engine import start_request_task
from tests.factories import customer_user, staff_user
from tests.helpers import empty_simulator, simulated_runs, simulated_workspace

KEY = "sk_api_e2e_key_0001"


class SchemaClient:
    """Calls operations by their operationId, with paths taken from the served schema only."""

    def __init__(self, raw_token: str) -> None:
        self.http = APIClient()
        self.http.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_token}")
        schema = APIClient().get("/api/v1/schema").json()
        self.ops: dict[str, tuple[str, str]] = {
            op["operationId"]: (method, path)
            for path, item in schema["paths"].items()
            for method, op in item.items()
        }

    def call(self, operation: str, body: dict | None = None, **path_params):
        method, path = self.ops[operation]
        url = path.format(**path_params)
        if method == "get":
            response = self.http.get(url, body or {})
        else:
            response = self.http.generic(
                method.upper(),
                url,
                data=json.dumps(body or {}),
                content_type="application/json",
            )
        assert response.status_code < 300, (operation, response.status_code, response.json())
        return response.json()


def token_for(user) -> str:
    return ApiToken.issue(user, name="e2e")[1]


@pytest.fixture
def sim():
    with empty_simulator(KEY) as simulator:
        yield simulator


@pytest.mark.django_db(transaction=True)
def test_a_schema_only_client_files_gets_approval_and_follows_to_completion(sim, settings):
    settings.RUNNER_SECONDS = 3.0
    workspace = simulated_workspace(sim, KEY)
    customer = Customer.objects.create(name="Ops Co", external_ref="cust_e2e", slug="ops-co")
    run_ids = simulated_runs(sim, workspace, customer, 6)
    customer_client = SchemaClient(token_for(customer_user(customer, username="ops-bot")))
    first_approver = SchemaClient(token_for(staff_user("approver", username="ann")))
    second_approver = SchemaClient(token_for(staff_user("approver", username="arthur")))

    listed = customer_client.call("list_runs", {"state": "present", "limit": 200})
    assert sorted(r["id"] for r in listed["results"]) == sorted(run_ids)

    # "All runs" needs two approvers (four eyes).
    filed = customer_client.call("create_request", {"scope": "all", "reason": "offboarding"})
    request_id = filed["id"]
    assert filed["status"] == "pending_approval"
    assert filed["required_approvals"] == 2

    queue = first_approver.call("list_queue")
    assert request_id in [r["id"] for r in queue["results"]]
    once = first_approver.call("approve_request", {"comment": "ok"}, id=request_id)
    assert once["status"] == "pending_approval"
    twice = second_approver.call("approve_request", {"comment": "ok too"}, id=request_id)
    assert twice["status"] == "approved"

    # The worker's part, in process: start the request, then run the workspace's engine.
    start_request_task(request_id)
    deadline = time.monotonic() + 60
    status = ""
    while time.monotonic() < deadline:
        runner.run_workspace(workspace.pk)
        status = customer_client.call("get_request", id=request_id)["status"]
        if status == "completed":
            break
    assert status == "completed"

    done = customer_client.call("get_request", id=request_id)
    assert done["counts"]["deleted"] == 6
    assert done["counts"]["failed"] == 0
    assert [a["approver"] for a in done["approvals"]] == ["ann", "arthur"]
    items = customer_client.call("list_request_items", {"limit": 200}, id=request_id)
    assert {i["status"] for i in items["results"]} == {"deleted"}
    assert sorted(i["run_id"] for i in items["results"]) == sorted(run_ids)
    assert customer_client.call("list_runs", {"state": "present"})["results"] == []
    deleted_at_extend = {e.run_id for e in sim.ledger(method="DELETE") if e.applied}
    assert deleted_at_extend == set(run_ids)
