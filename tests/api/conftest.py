"""API fixtures: a token per cast member, and a client that sends it."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from deletions import service_accounts
from deletions.api import tokens
from deletions.models import ApiToken, Source


def bearer(raw: str) -> APIClient:
    """A client that sends the raw token *raw*."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.raw_token = raw
    return client


def client_for(user) -> APIClient:
    """A client with a token *user* made for themselves."""
    _token, raw = ApiToken.issue(user, name=f"{user.username}'s token", created_by=user)
    return bearer(raw)


def service_client_for(issuer, customer=None, name="Robot") -> APIClient:
    """A client with a token of a new service account of *customer* (None: the operator), which
    *issuer* created and issued the token of, as the token pages do."""
    account = service_accounts.create(
        name=name, customer=customer, issued_by=issuer, source=Source.WEB
    )
    _token, raw = tokens.issue(account.user, name=name, created_by=issuer, source=Source.WEB)
    client = bearer(raw)
    client.user = account.user
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


@pytest.fixture
def customer_service_api(customer_admin, customer):
    """A service token of customer A, created by its admin."""
    return service_client_for(customer_admin, customer)


@pytest.fixture
def operator_service_api(staff_admin):
    """A service token of the operator, created by a console admin."""
    return service_client_for(staff_admin)
