from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from deletions.models import ApiToken, AuditEvent, NotificationDelivery, NotificationEndpoint
from tests.helpers import submitted_request, token_works

pytestmark = pytest.mark.django_db


def test_the_command_prints_a_working_token_once(member):
    out, err = StringIO(), StringIO()
    call_command("issue_api_token", "alice", "--name", "backoffice", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    token = ApiToken.objects.get()
    assert raw.startswith("dpk_") and token.name == "backoffice"
    assert token.prefix in err.getvalue() and raw not in err.getvalue()
    assert token_works(raw)
    assert AuditEvent.objects.filter(action="api_token.issued", source="cli").exists()


def test_the_command_refuses_unknown_users_and_users_without_a_role(db):
    with pytest.raises(CommandError, match="No user"):
        call_command("issue_api_token", "nobody", stdout=StringIO())
    from tests.factories import UserFactory

    UserFactory(username="plain")
    with pytest.raises(CommandError, match="neither a customer membership nor a staff role"):
        call_command("issue_api_token", "plain", stdout=StringIO())


@pytest.mark.parametrize("who", ["viewer", "approver", "member"])
def test_only_console_admins_manage_tokens_and_notification_urls(who, request, client, customer):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/console/api/tokens/").status_code == 403
    posted = client.post(
        "/console/api/notifications/", {"customer": customer.pk, "url": "https://x.example/"}
    )
    assert posted.status_code == 403
    assert not NotificationEndpoint.objects.exists()


@pytest.mark.parametrize("who", ["viewer", "approver"])
def test_all_staff_see_the_delivery_log_without_the_form(who, request, client):
    client.force_login(request.getfixturevalue(who))
    page = client.get("/console/api/notifications/")
    assert page.status_code == 200
    assert b"Delivery log" in page.content
    assert b"Save and make a new secret" not in page.content


def test_customers_cannot_see_the_delivery_log(client, member):
    client.force_login(member)
    assert client.get("/console/api/notifications/").status_code == 403


def test_console_admins_set_a_notification_url_and_see_the_log(
    client, staff_admin, customer, member, workspace, dns
):
    dns["hooks.example"] = ["93.184.215.14"]
    client.force_login(staff_admin)
    page = client.post(
        "/console/api/notifications/", {"customer": customer.pk, "url": "https://hooks.example/x"}
    )
    secret = page.context["new_secret"]
    endpoint = NotificationEndpoint.objects.get()
    assert endpoint.reveal_secret() == secret
    assert secret.encode() in page.content
    req = submitted_request(workspace, customer, member, runs=1)
    NotificationDelivery.objects.create(
        endpoint=endpoint,
        request=req,
        event="request.status_changed",
        payload={"request": {"previous_status": "approved", "status": "running"}},
        last_status_code=503,
        last_error="HTTP 503: busy",  # as kept before the log stopped keeping the body
        attempts=2,
    )
    log = client.get("/console/api/notifications/", {"customer": customer.pk})
    assert b"HTTP 503" in log.content
    assert b"busy" not in log.content  # the receiver's words are never shown
    assert b"approved \xe2\x86\x92 running" in log.content
    assert secret.encode() not in log.content


def test_the_docs_page_lists_every_endpoint_without_inline_scripts(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    for text in (b"/api/v1/requests/{id}/approve", b"create_request", b"Idempotency-Key"):
        assert text in page.content
    assert b"<script" not in page.content
    assert b'style="' not in page.content


def test_the_schema_is_public_openapi_3(client):
    schema = client.get("/api/v1/schema").json()
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_every_operation_documents_its_answers(client):
    """A summary, a success answer with its body's schema (none only for 204), and every error
    answer in the one error shape; every body it takes has a schema."""
    schema = client.get("/api/v1/schema").json()
    operations = [
        (f"{method.upper()} {path}", op)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
    ]
    assert "GET /api/v1/retention-policies/{id}" in dict(operations)
    for name, op in operations:
        assert op.get("summary"), name
        answers = op["responses"]
        successes = [code for code in answers if code.startswith("2")]
        assert successes, name
        for code in successes:
            if code != "204":
                assert all("schema" in body for body in answers[code]["content"].values()), name
        for code in (code for code in answers if code[0] in "45"):
            error = answers[code]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/Error"}, f"{name} {code}"
        for body in op.get("requestBody", {}).get("content", {}).values():
            assert "schema" in body, name


def test_unknown_api_paths_answer_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_pages_are_linked_from_the_console_menu_and_the_team_page(
    client, staff_admin, customer_admin
):
    client.force_login(staff_admin)
    assert b'href="/console/api/tokens/"' in client.get("/console/").content
    client.logout()
    client.force_login(customer_admin)
    assert b'href="/team/api-tokens/"' in client.get("/team/").content
