from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from deletions.models import ApiToken, Membership
from deletions.models.tokens import hash_token
from tests.helpers import client_for

pytestmark = pytest.mark.django_db


def test_it_stores_only_the_hash_and_a_prefix(member):
    token, raw = ApiToken.issue(member, name="CI")
    assert raw.startswith("dpk_")
    assert token.token_hash == hash_token(raw)
    assert raw not in {token.token_hash, token.prefix}
    assert raw.startswith(token.prefix)
    assert token.customer_id == member.membership.customer_id


def test_it_refuses_calls_without_a_token(db):
    response = APIClient().get("/api/v1/requests")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"


def test_it_refuses_an_unknown_token(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer dpk_not-a-real-token")
    response = client.get("/api/v1/requests")
    assert response.status_code == 401
    assert "not valid" in response.json()["error"]["message"]


def test_it_refuses_a_revoked_token(member):
    client = client_for(member)
    ApiToken.objects.filter(user=member).update(revoked_at=timezone.now())
    assert client.get("/api/v1/requests").status_code == 401


def test_it_refuses_a_token_whose_user_left_the_customer(member, other_customer):
    client = client_for(member)
    Membership.objects.filter(user=member).update(customer=other_customer)
    assert client.get("/api/v1/requests").status_code == 401


def test_it_refuses_a_deactivated_user(member):
    client = client_for(member)
    member.is_active = False
    member.save()
    assert client.get("/api/v1/requests").status_code == 401


def test_it_records_when_a_token_was_last_used(member):
    client = client_for(member)
    token = ApiToken.objects.get(user=member)
    assert token.last_used_at is None
    client.get("/api/v1/requests")
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert timezone.now() - token.last_used_at < timedelta(seconds=10)


def test_it_throttles_each_token_with_retry_after(member, customer_admin, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    client = client_for(member)
    for _ in range(3):
        assert client.get("/api/v1/requests").status_code == 200
    response = client.get("/api/v1/requests")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "throttled"
    # Another token has its own allowance.
    assert client_for(customer_admin).get("/api/v1/requests").status_code == 200


def test_it_refuses_a_body_above_the_size_cap(member, settings):
    settings.API_MAX_BODY_BYTES = 100
    client = client_for(member)
    response = client.post("/api/v1/requests", {"reason": "x" * 200, "scope": "all"}, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
