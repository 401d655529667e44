"""A retention policy says whether its runs' uploaded files go too: set on proposal (the
customer's default unless told), part of what it selects (a change is a new version, approved
again), shown on its pages and over the API, and carried into the requests it makes."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from deletions.accounts import roles
from deletions.models import AuditEvent, DeletionRequest, RetentionPolicy, Source
from deletions.policies import rules
from tests.factories import staff_user
from tests.helpers import client_for
from tests.policies.pages import evaluated_policy, narrow_policy, text

pytestmark = pytest.mark.django_db

ST = RetentionPolicy.Status
POLICIES = "/api/v1/retention-policies"


def _values(**kw):
    kw.setdefault("name", "Thirty days")
    kw.setdefault("reason", "Contract clause 7.2")
    kw.setdefault("older_than_days", 30)
    kw.setdefault("file_name_contains", "doc")
    return rules.PolicyValues(**kw)


def _propose(customer, actor, **kw):
    return rules.propose_policy(customer, _values(**kw), actor=actor, source=Source.WEB)


def _box(body: str) -> str:
    found = re.search(r'<input type="checkbox" name="erase_files"[^>]*>', body)
    assert found, "the form has no box for the uploaded files"
    return found.group(0)


def _files_fact(body: str) -> str:
    found = re.search(r'<dd id="policy-files">(.*?)</dd>', body, re.S)
    assert found
    return re.sub(r"<[^>]+>", "", found.group(1))


def test_a_proposal_takes_the_customers_default_unless_told(acme, acme_admin):
    assert not _propose(acme, acme_admin).erase_files
    acme.erase_files_default = True
    acme.save()
    assert _propose(acme, acme_admin, name="Two").erase_files
    told = _propose(acme, acme_admin, name="Three", erase_files=False)
    assert not told.erase_files
    event = AuditEvent.objects.filter(action="policy.proposed").latest("at")
    assert (event.after or {})["erase_files"] is False


def test_changing_it_is_a_new_version_approved_again(acme, acme_admin, approvers):
    policy = narrow_policy(acme, acme_admin, approvers)
    assert (policy.status, policy.version, policy.erase_files) == (ST.ACTIVE, 1, False)
    # Values that do not say keep the policy's choice (and its approval).
    same = rules.change_policy(policy, _values(), actor=acme_admin, source=Source.WEB)
    assert (same.status, same.version, same.erase_files) == (ST.ACTIVE, 1, False)

    changed = rules.change_policy(
        policy, _values(erase_files=True), actor=acme_admin, source=Source.WEB
    )
    assert (changed.status, changed.version, changed.erase_files) == (ST.PENDING_APPROVAL, 2, True)
    event = AuditEvent.objects.filter(action="policy.changed").latest("at")
    assert ((event.before or {})["erase_files"], (event.after or {})["erase_files"]) == (
        False,
        True,
    )
    assert event.detail["needs_approval"] is True


@pytest.mark.parametrize("erase", [True, False])
def test_its_requests_erase_the_files_as_the_policy_says(ws, acme, acme_admin, approvers, erase):
    _, evaluated = evaluated_policy(ws, acme, acme_admin, approvers, [40], erase_files=erase)
    req = DeletionRequest.objects.get(pk=evaluated.request_id)
    assert req.erase_files is erase
    event = AuditEvent.objects.get(action="request.submitted", request=req)
    assert event.detail["erase_files"] is erase


def test_the_proposal_form_is_preset_from_the_customers_default(client, acme, acme_admin):
    client.force_login(acme_admin)
    url = reverse("customer:policy_new")
    assert "checked" not in _box(text(client.get(url)))
    acme.erase_files_default = True
    acme.save()
    assert "checked" in _box(text(client.get(url)))

    # A posted form says it either way: unticked is no.
    client.post(
        url,
        {
            "name": "Invoices",
            "basis": "age",
            "number": "30",
            "file_name_contains": "doc",
            "reason": "Contract clause 7.2",
        },
    )
    assert not RetentionPolicy.objects.get(name="Invoices").erase_files


def test_the_change_form_shows_and_changes_the_policys_choice(client, acme, acme_admin, approvers):
    policy = narrow_policy(acme, acme_admin, approvers, erase_files=True)
    client.force_login(acme_admin)
    url = reverse("customer:policy_change", args=[policy.pk])
    page = text(client.get(url))
    assert "checked" in _box(page)
    assert "or whether the uploaded documents are erased" in page
    form = {
        "name": policy.name,
        "basis": "age",
        "number": "30",
        "file_name_contains": "doc",
        "reason": policy.reason,
    }
    client.post(url, form)  # the box unticked
    policy.refresh_from_db()
    assert (policy.erase_files, policy.status, policy.version) == (False, ST.PENDING_APPROVAL, 2)


def test_the_policy_pages_say_whether_the_files_go(client, acme, acme_admin, approvers):
    erasing = narrow_policy(acme, acme_admin, approvers, erase_files=True)
    keeping = narrow_policy(acme, acme_admin, approvers, name="Keep files")
    client.force_login(acme_admin)
    page = text(client.get(reverse("customer:policy", args=[erasing.pk])))
    assert _files_fact(page) == "erased with the runs (when no other run uses them)"
    page = text(client.get(reverse("customer:policy", args=[keeping.pk])))
    assert _files_fact(page) == "kept (only the parse runs are deleted)"
    client.force_login(staff_user(roles.VIEWER, username="files-viewer"))
    page = text(client.get(reverse("console:policy_detail", args=[erasing.pk])))
    assert _files_fact(page) == "erased with the runs (when no other run uses them)"


def test_the_api_proposes_reads_and_changes_it(acme, acme_admin, approvers):
    api = client_for(acme_admin)
    body = {"name": "Thirty days", "reason": "Contract 7.2", "older_than_days": 30}
    body["filter"] = {"file_name_contains": "doc"}
    default = api.post(POLICIES, body, format="json")
    assert default.status_code == 201, default.json()
    assert default.json()["erase_files"] is False
    told = api.post(POLICIES, {**body, "name": "Erasing", "erase_files": True}, format="json")
    assert told.json()["erase_files"] is True
    assert api.post(POLICIES, {**body, "erase_files": "yes"}, format="json").status_code == 400

    policy = RetentionPolicy.objects.get(pk=default.json()["id"])
    rules.approve_policy(policy, actor=approvers[0], source=Source.WEB)
    url = f"{POLICIES}/{policy.pk}"
    renamed = api.patch(url, {"name": "Renamed"}, format="json").json()
    assert (renamed["needs_approval"], renamed["erase_files"]) == (False, False)
    changed = api.patch(url, {"erase_files": True}, format="json").json()
    assert (changed["needs_approval"], changed["status"], changed["version"]) == (
        True,
        "pending_approval",
        2,
    )
    assert changed["erase_files"] is True
    listed = api.get(POLICIES).json()["results"]
    assert {p["name"]: p["erase_files"] for p in listed} == {"Renamed": True, "Erasing": True}


def test_the_schema_documents_it(client):
    schemas = client.get("/api/v1/schema").json()["components"]["schemas"]
    asked = schemas["PolicyCreateRequest"]["properties"]["erase_files"]
    assert asked["type"] == "boolean"
    assert "approved again" in asked["description"]
    assert schemas["PolicyDetail"]["properties"]["erase_files"]["type"] == "boolean"
