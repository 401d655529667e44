"""The unassigned-runs page and assigning runs to a customer in bulk."""

from __future__ import annotations

import pytest

from deletions.models import AuditEvent, ParseRun
from tests.factories import make_runs, new_workspace

LIST_URL = "/console/inventory/unassigned/"
ASSIGN_URL = "/console/inventory/unassigned/assign/"


@pytest.fixture
def unassigned_runs(workspace):
    ids = make_runs(workspace, None, 60, prefix="pr_un_")
    for position, run_id in enumerate(ids):
        ref = "initech" if position % 2 else None
        ParseRun.objects.filter(run_id=run_id).update(
            metadata={"customer_id": ref} if ref else {"other": "x"}
        )
    return ids


def test_staff_see_unassigned_runs_newest_first_with_keyset_pages(
    client, viewer, unassigned_runs, customer, workspace
):
    make_runs(workspace, customer, 3, prefix="pr_owned_")
    client.force_login(viewer)

    first = client.get(LIST_URL)

    assert first.status_code == 200
    assert first.context["total"] == 60
    shown = [run.run_id for run, _ in first.context["runs"]]
    assert len(shown) == 50 and not any(r.startswith("pr_owned_") for r in shown)
    after = first.context["next_after"]
    second = client.get(LIST_URL, {"after": after})
    rest = [run.run_id for run, _ in second.context["runs"]]
    assert len(rest) == 10 and not set(rest) & set(shown)
    assert second.context["next_after"] is None
    # Viewers may look but get no assignment form.
    assert b"Review the assignment" not in first.content


def test_the_page_shows_each_runs_file_id(client, viewer, unassigned_runs):
    ParseRun.objects.filter(run_id=unassigned_runs[-1]).update(file_id="file_on_page_9")
    client.force_login(viewer)

    page = client.get(LIST_URL).content.decode()

    assert '<th scope="col">File id</th>' in page
    assert "<code>file_on_page_9</code>" in page


def test_it_filters_by_workspace_and_metadata_value(
    client, staff_admin, unassigned_runs, workspace
):
    other = new_workspace()
    make_runs(other, None, 5, prefix="pr_other_")
    client.force_login(staff_admin)

    by_value = client.get(LIST_URL, {"value": "initech"})
    by_workspace = client.get(LIST_URL, {"workspace": other.pk})
    by_key = client.get(LIST_URL, {"key": "other", "value": "x"})

    assert by_value.context["total"] == 30
    assert all(value == "initech" for _, value in by_value.context["runs"])
    assert by_workspace.context["total"] == 5
    assert by_key.context["total"] == 30


def test_a_bad_metadata_key_matches_nothing_and_says_why(client, staff_admin, unassigned_runs):
    client.force_login(staff_admin)

    response = client.get(LIST_URL, {"key": "a__b", "value": "x"})

    assert response.context["total"] == 0
    assert b"Letters, digits" in response.content


def test_the_empty_state_explains_itself(client, staff_admin):
    client.force_login(staff_admin)

    response = client.get(LIST_URL)

    assert b"Every parse run belongs to a customer" in response.content


def test_assigning_selected_runs_confirms_first_then_assigns_and_audits(
    client, staff_admin, unassigned_runs, customer
):
    client.force_login(staff_admin)
    pks = list(ParseRun.objects.order_by("id").values_list("pk", flat=True)[:3])
    form = {"scope": "selected", "runs": pks, "customer": customer.pk}

    review = client.post(ASSIGN_URL, form)

    assert review.status_code == 200
    assert b"Assign 3 parse runs to Acme Health?" in review.content
    assert not ParseRun.objects.filter(customer=customer).exists()

    done = client.post(ASSIGN_URL, {**form, "confirm": "yes"})

    assert done.status_code == 302
    assert set(ParseRun.objects.filter(customer=customer).values_list("pk", flat=True)) == set(pks)
    event = AuditEvent.objects.get(action="inventory.assigned")
    assert event.actor == staff_admin and event.customer_id == customer.pk
    assert event.detail["count"] == 3 and len(event.detail["run_ids"]) == 3


def test_assigning_all_matching_runs_covers_every_page(
    client, staff_admin, unassigned_runs, customer
):
    client.force_login(staff_admin)
    form = {"scope": "all", "value": "initech", "customer": customer.pk}

    review = client.post(ASSIGN_URL, form)
    assert review.context["count"] == 30

    client.post(ASSIGN_URL, {**form, "confirm": "yes"})

    assert ParseRun.objects.filter(customer=customer).count() == 30
    assert ParseRun.objects.filter(customer__isnull=True).count() == 30
    assert AuditEvent.objects.get(action="inventory.assigned").detail["filter"] == {
        "value": "initech"
    }


def test_runs_already_assigned_meanwhile_are_left_alone(
    client, staff_admin, unassigned_runs, customer, other_customer
):
    client.force_login(staff_admin)
    pks = list(ParseRun.objects.order_by("id").values_list("pk", flat=True)[:2])
    ParseRun.objects.filter(pk=pks[0]).update(customer=other_customer)

    client.post(
        ASSIGN_URL, {"scope": "selected", "runs": pks, "customer": customer.pk, "confirm": "yes"}
    )

    assert ParseRun.objects.get(pk=pks[0]).customer == other_customer
    assert ParseRun.objects.get(pk=pks[1]).customer == customer


def test_nothing_ticked_is_an_error_and_nothing_changes(
    client, staff_admin, unassigned_runs, customer
):
    client.force_login(staff_admin)

    response = client.post(
        ASSIGN_URL, {"scope": "selected", "customer": customer.pk, "confirm": "yes"}, follow=True
    )

    assert b"Tick at least one run" in response.content
    assert not ParseRun.objects.filter(customer=customer).exists()


def test_get_never_assigns(client, staff_admin, unassigned_runs, customer):
    client.force_login(staff_admin)

    assert (
        client.get(
            ASSIGN_URL, {"scope": "all", "customer": customer.pk, "confirm": "yes"}
        ).status_code
        == 405
    )
    assert not ParseRun.objects.filter(customer=customer).exists()


@pytest.mark.parametrize("who", ["member", "customer_admin", "viewer", "approver"])
def test_customers_viewers_and_approvers_cannot_assign(
    client, request, who, unassigned_runs, customer
):
    client.force_login(request.getfixturevalue(who))

    response = client.post(ASSIGN_URL, {"scope": "all", "customer": customer.pk, "confirm": "yes"})

    assert response.status_code == 403
    assert not ParseRun.objects.filter(customer=customer).exists()


@pytest.mark.parametrize("who", ["member", "customer_admin"])
def test_customers_cannot_see_the_unassigned_list(client, request, who, unassigned_runs):
    client.force_login(request.getfixturevalue(who))

    assert client.get(LIST_URL).status_code == 403
