"""The customer pages' tests call the cast's pending request ``req``."""

from __future__ import annotations

import pytest


@pytest.fixture
def req(pending_request):
    """Three of the customer's runs, asked to be deleted by the member, awaiting a decision."""
    return pending_request
