"""The console's cast: a request waiting for a decision, made by a customer user."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.helpers import submitted_request


@pytest.fixture
def pending_request(workspace, customer, member):
    return submitted_request(workspace, customer, member, runs=3)


@pytest.fixture
def client_of():
    """A test client signed in as the given user (or anonymous for None)."""

    def make(user):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make
