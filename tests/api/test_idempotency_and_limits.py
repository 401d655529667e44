from __future__ import annotations

import pytest

from deletions.models import DeletionItem, DeletionRequest, IdempotencyKey
from tests.factories import make_runs
from tests.helpers import at_once, client_for

pytestmark = pytest.mark.django_db


def test_the_same_key_and_body_give_the_same_answer_once(member_api, workspace, customer):
    ids = make_runs(workspace, customer, 2)
    body = {"run_ids": ids, "reason": "r"}
    first = member_api.post("/api/v1/requests", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = member_api.post("/api/v1/requests", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert DeletionRequest.objects.count() == 1
    assert IdempotencyKey.objects.get().key == "k-1"


def test_the_same_key_with_another_body_is_refused(member_api, workspace, customer):
    ids = make_runs(workspace, customer, 2)
    member_api.post(
        "/api/v1/requests",
        {"run_ids": ids[:1], "reason": "r"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-2",
    )
    other = member_api.post(
        "/api/v1/requests",
        {"run_ids": ids[1:], "reason": "r"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-2",
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert DeletionRequest.objects.count() == 1


def test_keys_belong_to_one_token(member, workspace, customer):
    ids = make_runs(workspace, customer, 2)
    one, two = client_for(member), client_for(member)
    a = one.post(
        "/api/v1/requests",
        {"run_ids": ids[:1], "reason": "r"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="same",
    )
    b = two.post(
        "/api/v1/requests",
        {"run_ids": ids[1:], "reason": "r"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="same",
    )
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


def test_a_refused_request_does_not_use_up_its_key(member_api, workspace, customer):
    ids = make_runs(workspace, customer, 1)
    refused = member_api.post(
        "/api/v1/requests", {"run_ids": ids}, format="json", HTTP_IDEMPOTENCY_KEY="k-3"
    )
    assert refused.status_code == 400
    assert not IdempotencyKey.objects.exists()


def test_more_ids_than_a_request_may_hold_are_refused_and_nothing_is_created(
    member_api, workspace, customer, settings
):
    assert settings.MAX_RUNS_PER_REQUEST == 100_000
    make_runs(workspace, customer, 3)
    ids = [f"pr_{i:07d}" for i in range(100_001)]
    response = member_api.post("/api/v1/requests", {"run_ids": ids, "reason": "r"}, format="json")
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["details"] == {"given": 100_001, "limit": 100_000}
    assert "at most 100,000" in error["message"]
    assert not DeletionRequest.objects.exists()
    assert not DeletionItem.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_calls_with_one_key_create_one_request(workspace, customer, member):
    ids = make_runs(workspace, customer, 50)
    client = client_for(member)
    body = {"run_ids": ids, "reason": "r"}

    def call() -> tuple[int, int]:
        response = client.post("/api/v1/requests", body, format="json", HTTP_IDEMPOTENCY_KEY="race")
        return response.status_code, response.json()["id"]

    answers = at_once(call, call)
    assert len(answers) == 2
    assert {status for status, _id in answers} == {201}
    assert len({request_id for _status, request_id in answers}) == 1
    assert DeletionRequest.objects.count() == 1
