"""Property-based checks of the API against its own OpenAPI schema (schemathesis).

Every documented operation gets generated requests, valid and invalid, with a real token; the
default checks apply (no server errors, documented status codes, content types and response
bodies that match the schema). Bounded: 20 examples per operation.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from deletions.models import ApiToken
from portal.wsgi import application
from tests.factories import make_runs
from tests.helpers import submitted_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def _keep_test_connection():
    """The raw WSGI app closes the database connection after each response (as in production);
    Django's test client switches that off, and so must we, or the test's transaction is lost."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# The schema endpoint is public and needs no database, so it is loaded once, at collection.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema", application)
# The test sends a real token itself; authentication failures are tested in test_auth.py.
schema.config.generation.update(with_security_parameters=False)


@pytest.fixture(params=["member", "approver"])
def bearer(request, _keep_test_connection, settings, workspace, customer, member):
    """A real token (a customer member's, then a staff approver's: every operation runs with
    both, state-changing staff ones included), with runs and an open request to find."""
    settings.API_RATE_LIMIT_PER_MINUTE = 1_000_000
    make_runs(workspace, customer, 20)
    submitted_request(workspace, customer, member, runs=2, prefix="open_")
    _token, raw = ApiToken.issue(request.getfixturevalue(request.param), name="schemathesis")
    return {"Authorization": f"Bearer {raw}"}


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_matches_its_schema(case, bearer):
    response = case.call(headers=bearer)
    # Two refusals of schema-valid requests are right, so the "valid data is accepted" check is
    # left out for them: a made-up cursor (opaque: the schema cannot tell it from ours; 400
    # bad_cursor), and a request the domain refuses (422: ids that are not the customer's, a
    # scope that contradicts its fields), and text with NUL characters (PostgreSQL cannot store
    # them; the schema has no way to say so). Every other check applies to every answer.
    refused = (
        response.status_code == 422
        or _error_code(response) == "bad_cursor"
        or "Null characters are not allowed" in response.text
    )
    excluded = [positive_data_acceptance] if refused else []
    case.validate_response(response, headers=bearer, excluded_checks=excluded)


def _error_code(response) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return ""
