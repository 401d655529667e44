"""API fixtures: a token per cast member, and a client that sends it."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from deletions.models import ApiToken


def client_for(user) -> APIClient:
    _token, raw = ApiToken.issue(user, name=f"{user.username}'s token")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.raw_token = raw
    return client


@pytest.fixture(autouse=True)
def _fresh_throttle():
    """Throttle counters live in the cache, shared across tests: start each test from zero."""
    cache.clear()
    yield


@pytest.fixture
def api_for():
    return client_for


@pytest.fixture
def member_api(member):
    return client_for(member)


@pytest.fixture
def admin_api(customer_admin):
    return client_for(customer_admin)


@pytest.fixture
def outsider_api(outsider):
    return client_for(outsider)


@pytest.fixture
def viewer_api(viewer):
    return client_for(viewer)


@pytest.fixture
def approver_api(approver):
    return client_for(approver)


@pytest.fixture
def second_approver_api(second_approver):
    return client_for(second_approver)


@pytest.fixture
def staff_admin_api(staff_admin):
    return client_for(staff_admin)
