"""Every staff action of the web console is also in the API, under the same permission.

The console's URL patterns (the console, its inventory pages, and the pages around the API:
token pages and notification settings) are enumerated from the resolver. Each one that accepts
POST must be mapped in PARITY to the API operations that do the same thing, and each of those
operations must be in the OpenAPI schema. Where the API endpoint names a console permission, it
must be the console page's. So a new console action cannot be added without its API operation.

A view's methods are read from its answer to OPTIONS (``require_http_methods`` and its kin
answer 405 with an ``Allow`` header). A view that restricts no method answers as it answers a GET:
it must be listed in READ_ONLY, as a page that only reads.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import resolve, reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.permissions import OR

from deletions.api.auth import StaffWith
from deletions.views.console_auth import ADMINISTER, APPROVE
from tests.security.urlwalk import Route, all_routes

pytestmark = pytest.mark.django_db

# The URL confs of the console and of the pages around the API (token pages, notifications).
CONSOLE_NAMESPACES = ("console", "api_pages")

# Console action -> the API operations (operationId) that do the same.
PARITY: dict[str, list[str]] = {
    # Requests
    "console:bulk": ["decide_requests"],
    "console:request_approve": ["approve_request"],
    "console:request_reject": ["reject_request"],
    "console:request_cancel": ["cancel_request"],
    "console:request_pause": ["pause_request"],
    "console:request_resume": ["resume_request"],
    "console:request_retry": ["retry_request"],
    "console:request_extend": ["extend_request_deadline"],
    "console:request_deadline_pause": ["pause_request_deadline"],
    "console:request_deadline_resume": ["resume_request_deadline"],
    # GDPR intakes and requests filed on a data subject's behalf (each page previews, then acts)
    "console:intake_detail": ["preview_intake", "freeze_intake"],
    "console:intake_dismiss": ["dismiss_intake"],
    # The controller's step: approvers confirm on the customer's behalf, see clear values
    "console:intake_confirm": ["confirm_intake"],
    "console:intake_reveal": ["reveal_intake"],
    # Art. 19 recipients: kept per customer, marked informed per finished GDPR erasure
    "console:customer_recipient_add": ["create_recipient"],
    "console:recipient_remove": ["delete_recipient"],
    "console:request_recipient_informed": ["mark_recipient_informed"],
    "console:gdpr_new": ["preview_gdpr_request", "file_gdpr_request"],
    # Legal holds
    "console:hold_new": ["place_hold"],
    "console:hold_lift": ["lift_hold"],
    # Workspaces and organisations
    "console:workspace_create": ["create_workspace"],
    "console:workspace_edit": ["update_workspace"],
    "console:workspace_secrets": ["rotate_workspace_secrets"],
    "console:workspace_test": ["test_workspace_connection"],
    "console:workspace_pause": ["pause_workspace"],
    "console:workspace_resume": ["resume_workspace"],
    "console:workspace_sync": ["sync_workspace"],
    "console:organization_create": ["create_organization"],
    "console:organization_edit": ["update_organization"],
    # Customers and staff
    "console:customer_create": ["create_customer"],
    "console:customer_edit": ["update_customer"],
    "console:customer_detail": ["invite_customer_user"],
    "console:staff_list": ["invite_staff_user"],
    "console:staff_role": ["set_staff_role"],
    # Inventory: the console uploads and previews, then confirms
    "console:inventory_import": ["preview_run_import"],
    "console:inventory_import_confirm": ["import_runs"],
    "console:inventory_assign": ["assign_runs"],
    # Tokens, service accounts, notification settings
    "api_pages:console_tokens": ["create_service_account", "issue_service_account_token"],
    "api_pages:console_revoke": ["revoke_token"],
    "api_pages:console_notifications": ["set_notification_endpoint"],
    "api_pages:team_tokens": ["create_service_account", "issue_service_account_token"],
    "api_pages:team_revoke": ["revoke_token"],
    "api_pages:my_tokens": ["create_my_token"],
    "api_pages:my_revoke": ["revoke_my_token"],
    # Retention policies and the switch for all of them
    "console:policy_approve": ["approve_retention_policy"],
    "console:policy_reject": ["reject_retention_policy"],
    "console:policy_pause": ["pause_retention_policy"],
    "console:policy_resume": ["resume_retention_policy"],
    "console:retention_stop": ["set_retention_switch"],
    "console:retention_restart": ["set_retention_switch"],
}

# Console pages that only read, and the API operations that read the same (a register or a
# list a regulator or a script asks for over the API too).
READ_PARITY: dict[str, list[str]] = {
    "console:register": ["list_gdpr_register"],
    "console:register_csv": ["list_gdpr_register"],
    "console:register_json": ["list_gdpr_register"],
}

# Pages that restrict no HTTP method and only read (a POST is answered as a GET).
READ_ONLY = {
    "console:dashboard",
    "console:queue",
    "console:request_detail",
    "console:request_certificate_json",
    "console:request_certificate_pdf",
    "console:intake_list",
    "console:hold_list",
    "console:hold_detail",
    "console:workspace_list",
    "console:workspace_detail",
    "console:organization_list",
    "console:organization_detail",
    "console:customer_list",
    "console:audit_log",
    "console:audit_export",
}

# Pages that anyone may read but whose POST needs more than the page (checked in the view).
POST_PERMISSION = {
    "console:intake_detail": APPROVE,
    "api_pages:console_notifications": ADMINISTER,
}

MISSING_PK = 987654321


def _console_routes() -> list[Route]:
    return [r for r in all_routes() if r.namespace in CONSOLE_NAMESPACES]


def _url(route: Route) -> str:
    return reverse(route.name, kwargs={name: MISSING_PK for _segment, name in route.params})


@pytest.fixture
def root_client(db) -> Client:
    root = User.objects.create_superuser("root", "root@example.com", "x")
    client = Client(raise_request_exception=False)
    client.force_login(root, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _methods(client: Client, route: Route) -> set[str] | None:
    """The methods *route*'s view allows, or None if it restricts none."""
    response = client.options(_url(route))
    if response.status_code != 405:
        return None
    return {m.strip() for m in response["Allow"].split(",")}


def _operations() -> dict[str, tuple[str, str]]:
    """operationId -> (path, method) of every operation in the API's schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        op["operationId"]: (path, method)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }


def _permission(perm: Any) -> str | None:
    """The console permission an API permission stands for; None where any staff person's
    token passes and the domain function checks the role (the request transitions)."""
    if isinstance(perm, OR):
        # A staff admin or a customer admin (token pages): the staff side is the console's.
        return _permission(perm.op1) or _permission(perm.op2)
    if isinstance(perm, StaffWith):
        return perm.perm
    return None


def _api_permission(path: str, method: str) -> str | None:
    url = re.sub(r"\{\w+\}", "1", path)
    view_class = resolve(url).func.view_class
    view = view_class()
    view.request = SimpleNamespace(method=method.upper())
    found = [_permission(p) for p in view.get_permissions()]
    return next((p for p in found if p is not None), None)


def test_every_console_action_has_its_api_operations(root_client):
    unmapped, unclassified = [], []
    for route in _console_routes():
        methods = _methods(root_client, route)
        if methods is None:
            if route.name not in READ_ONLY:
                unclassified.append(route.name)
        elif "POST" in methods and route.name not in PARITY:
            unmapped.append(route.name)
    assert not unmapped, (
        "These console actions have no API operation: add the endpoint (deletions/api/) and "
        f"map it in PARITY: {unmapped}"
    )
    assert not unclassified, (
        "These console views restrict no HTTP method: decorate them (require_GET, "
        f"require_http_methods) or list them in READ_ONLY if they only read: {unclassified}"
    )


def test_the_tables_name_real_pages_and_real_operations(root_client):
    names = {route.name: route for route in _console_routes()}
    operations = _operations()
    assert set(PARITY) <= set(names), f"Stale PARITY entries: {set(PARITY) - set(names)}"
    assert set(names) >= READ_ONLY, f"Stale READ_ONLY entries: {READ_ONLY - set(names)}"
    for name in PARITY:
        assert "POST" in (_methods(root_client, names[name]) or set()), f"{name} takes no POST"
    missing = {op for ops in PARITY.values() for op in ops} - set(operations)
    assert not missing, f"Operations missing from the OpenAPI schema: {missing}"
    assert set(READ_PARITY) <= set(names), f"Stale READ_PARITY: {set(READ_PARITY) - set(names)}"
    for name in READ_PARITY:
        assert (_methods(root_client, names[name]) or set()) >= {"GET"}, f"{name} takes no GET"
    missing = {op for ops in READ_PARITY.values() for op in ops} - set(operations)
    assert not missing, f"Read operations missing from the OpenAPI schema: {missing}"
    assert {operations[op][1] for ops in READ_PARITY.values() for op in ops} == {"get"}


def test_each_api_operation_needs_the_console_pages_permission(root_client):
    operations = _operations()
    differ, compared = [], 0
    for route in _console_routes():
        if route.name not in PARITY:
            continue
        view = resolve(_url(route)).func
        console = POST_PERMISSION.get(route.name, getattr(view, "console_permission", None))
        for op in PARITY[route.name]:
            api = _api_permission(*operations[op])
            if api is not None and console is not None:
                compared += 1
                if api != console:
                    differ.append(f"{route.name} needs {console}, {op} needs {api}")
    assert not differ, "\n".join(differ)
    # The request transitions check the role in the domain; every other action here compares.
    assert compared >= 30, compared


def test_the_check_finds_an_action_without_an_operation(root_client, monkeypatch):
    """The table is what makes the check bite: without an entry, a POST page is reported."""
    monkeypatch.delitem(PARITY, "console:workspace_sync")
    with pytest.raises(AssertionError, match="console:workspace_sync"):
        test_every_console_action_has_its_api_operations(root_client)
