"""The parse-runs table: only the customer's own, filters, sorting, keyset pages, states."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from deletions.models import ParseRun
from tests.factories import make_runs
from tests.helpers import submitted_request

URL = reverse("customer:runs")


def _ids(response) -> list[str]:
    return [run.run_id for run in response.context["page"].rows]


def test_it_requires_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_it_refuses_staff_users_without_a_customer(client, approver):
    client.force_login(approver)
    response = client.get(URL)
    assert response.status_code == 403
    assert "You don't have access" in response.content.decode()


def test_it_hides_other_customers_runs(client, workspace, customer, other_customer, member):
    mine = make_runs(workspace, customer, 3, prefix="mine_")
    make_runs(workspace, other_customer, 3, prefix="theirs_")
    client.force_login(member)
    response = client.get(URL)
    assert sorted(_ids(response)) == sorted(mine)
    assert "theirs_" not in response.content.decode()


def test_it_shows_an_empty_state_without_runs(client, member):
    client.force_login(member)
    response = client.get(URL)
    assert "No parse runs yet" in response.content.decode()


def test_it_searches_by_file_name(client, workspace, customer, member):
    ids = make_runs(workspace, customer, 20)
    client.force_login(member)
    response = client.get(URL, {"q": "invoice-00013"})
    assert _ids(response) == [ids[13]]


def test_it_says_when_nothing_matches(client, workspace, customer, member):
    make_runs(workspace, customer, 2)
    client.force_login(member)
    response = client.get(URL, {"q": "nothing-like-this"})
    assert "No parse runs match these filters" in response.content.decode()


def test_it_filters_by_extend_status(client, workspace, customer, member):
    ids = make_runs(workspace, customer, 4)
    ParseRun.objects.filter(run_id=ids[1]).update(extend_status="FAILED")
    client.force_login(member)
    response = client.get(URL, {"status": "FAILED"})
    assert _ids(response) == [ids[1]]


def test_it_filters_by_created_date_range(client, workspace, customer, member):
    ids = make_runs(workspace, customer, 3)
    ParseRun.objects.filter(run_id=ids[0]).update(
        extend_created_at=datetime(2025, 5, 1, tzinfo=UTC)
    )
    ParseRun.objects.filter(run_id=ids[1]).update(
        extend_created_at=datetime(2025, 6, 1, tzinfo=UTC)
    )
    client.force_login(member)
    response = client.get(URL, {"created_from": "2025-04-01", "created_to": "2025-05-31"})
    assert _ids(response) == [ids[0]]


def test_it_explains_a_reversed_date_range(client, workspace, customer, member):
    make_runs(workspace, customer, 1)
    client.force_login(member)
    response = client.get(URL, {"created_from": "2025-05-01", "created_to": "2025-04-01"})
    assert "The end date is before the start date." in response.content.decode()


def test_it_filters_by_deletion_state(client, workspace, customer, member):
    req = submitted_request(workspace, customer, member, runs=2, prefix="open_")
    free = make_runs(workspace, customer, 2, prefix="free_")
    gone = make_runs(workspace, customer, 1, prefix="gone_")
    ParseRun.objects.filter(run_id__in=gone).update(state=ParseRun.State.DELETED)
    client.force_login(member)

    assert sorted(_ids(client.get(URL, {"state": "present"}))) == sorted(free)
    pending = client.get(URL, {"state": "pending"})
    assert sorted(_ids(pending)) == sorted(
        ParseRun.objects.filter(open_request=req).values_list("run_id", flat=True)
    )
    assert "Pending deletion" in pending.content.decode()
    deleted = client.get(URL, {"state": "deleted"})
    assert _ids(deleted) == gone
    assert "status-deleted" in deleted.content.decode()


def test_runs_that_cannot_be_selected_have_no_checkbox(client, workspace, customer, member):
    submitted_request(workspace, customer, member, runs=1, prefix="open_")
    gone = make_runs(workspace, customer, 1, prefix="gone_")
    ParseRun.objects.filter(run_id__in=gone).update(state=ParseRun.State.DELETED)
    client.force_login(member)
    body = client.get(URL).content.decode()
    assert 'name="run" value="open_' not in body
    assert 'name="run" value="gone_' not in body


def test_it_sorts_by_file_name_and_created(client, workspace, customer, member):
    ids = make_runs(workspace, customer, 5)
    client.force_login(member)
    assert _ids(client.get(URL)) == list(reversed(ids))
    assert _ids(client.get(URL, {"sort": "created"})) == ids
    assert _ids(client.get(URL, {"sort": "-file_name"})) == list(reversed(ids))
    assert _ids(client.get(URL, {"sort": "file_name"})) == ids


@pytest.mark.parametrize("sort", ["-created", "created", "file_name", "-file_name"])
def test_pages_cover_every_run_once_forwards_and_backwards(
    client, workspace, customer, member, sort
):
    ids = make_runs(workspace, customer, 120)
    # Ties and missing dates must not lose or repeat rows.
    ParseRun.objects.filter(run_id__in=ids[:10]).update(extend_created_at=None)
    ParseRun.objects.filter(run_id__in=ids[10:30]).update(
        extend_created_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    client.force_login(member)
    seen: list[list[str]] = []
    response = client.get(URL, {"sort": sort})
    while True:
        seen.append(_ids(response))
        if not response.context["next_url"]:
            break
        response = client.get(URL + response.context["next_url"])
    flat = [i for page in seen for i in page]
    assert sorted(flat) == sorted(ids)
    assert len(seen) == 3
    # And back again from the last page.
    back = client.get(URL + response.context["prev_url"])
    assert _ids(back) == seen[1]
    back = client.get(URL + back.context["prev_url"])
    assert _ids(back) == seen[0]
    assert back.context["prev_url"] == ""


def test_a_bad_cursor_is_a_404(client, member):
    client.force_login(member)
    assert client.get(URL, {"after": "not-base64!!"}).status_code == 404


@pytest.mark.slow
def test_the_number_of_queries_does_not_grow_with_100000_runs(client, workspace, customer, member):
    make_runs(workspace, customer, 100, prefix="few_")
    client.force_login(member)
    client.get(URL)
    with CaptureQueriesContext(connection) as small:
        response = client.get(URL)
        client.get(URL + response.context["next_url"])
    make_runs(workspace, customer, 100_000, prefix="many_", batch_size=10_000)
    with CaptureQueriesContext(connection) as large:
        response = client.get(URL)
        client.get(URL + response.context["next_url"])
    assert len(large) == len(small)
    assert not any("COUNT(" in q["sql"].upper() for q in large.captured_queries)
