"""The API tests start with empty throttle counters (the cast's API clients are in
tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fresh_throttle(fresh_throttle):
    """Every API test starts from zero requests counted."""
