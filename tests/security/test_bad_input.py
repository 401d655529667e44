"""RELIABILITY 18 on the customer pages: malformed or foreign parse-run ids, duplicates, 100,000
ids at once, overlong reasons, unicode and NUL bytes. Each gets a clear answer (a message, or a
4xx), never a server error, and nothing is half-created.

Note: the review/submit view answers a refused selection with a redirect back to the runs page
carrying the error message (post/redirect/get), and a refused form with the form re-rendered
and its errors; tests accept those as "a clear message" and check nothing was stored. Django
itself refuses more than DATA_UPLOAD_MAX_NUMBER_FIELDS posted fields with a 400.
"""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from deletions.models import DeletionItem, DeletionRequest, ParseRun
from tests.factories import make_runs


@pytest.fixture
def runs(workspace, customer):
    return make_runs(workspace, customer, 5, prefix="mine_")


@pytest.fixture
def foreign_runs(workspace, other_customer):
    return make_runs(workspace, other_customer, 3, prefix="theirs_")


@pytest.fixture
def client(member) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    return client


def submit(client: Client, ids, reason: str = "Contract ended", **extra):
    data = {"run": ids, "step": "submit", "reason": reason, **extra}
    return client.post(reverse("customer:new_request"), data, follow=True)


def assert_nothing_stored():
    assert DeletionRequest.objects.count() == 0
    assert DeletionItem.objects.count() == 0
    assert not ParseRun.objects.filter(open_request__isnull=False).exists()


def page_text(response: HttpResponse) -> str:
    return response.content.decode()


@pytest.mark.parametrize(
    ("bad_id", "shown"),
    [
        ("pr with spaces", "is not a valid parse-run id"),
        ("pr_\x00nul", "is not a valid parse-run id"),
        ("x" * 300, "is not a valid parse-run id"),
        ("pr_\u202eevil", "is not a valid parse-run id"),
    ],
)
def test_a_malformed_run_id_is_refused_with_a_message(client, runs, bad_id, shown):
    response = submit(client, [runs[0], bad_id])

    assert response.status_code < 500
    assert shown in page_text(response)
    assert_nothing_stored()


def test_another_customers_run_ids_are_left_out_and_nothing_is_submitted(
    client, runs, foreign_runs
):
    response = submit(client, [runs[0], *foreign_runs])

    assert response.status_code == 200
    text = page_text(response)
    assert "theirs_" not in text, "another customer's run ids must not be echoed back"
    assert_nothing_stored()


def test_only_foreign_run_ids_get_a_clear_message(client, runs, foreign_runs):
    response = submit(client, foreign_runs)

    assert "None of the selected parse runs can be deleted" in page_text(response)
    assert_nothing_stored()


def test_duplicate_run_ids_make_one_item_each(client, runs):
    response = submit(client, [runs[0], runs[0], f"  {runs[1]} ", runs[1]])

    assert response.status_code == 200
    req = DeletionRequest.objects.get()
    assert req.item_count == 2
    assert sorted(req.items.values_list("parse_run__run_id", flat=True)) == runs[:2]


def test_a_hundred_thousand_posted_ids_are_refused_with_a_400_and_nothing_stored(client, runs):
    ids = [f"pr_{i:06d}" for i in range(100_000)]

    response = client.post(
        reverse("customer:new_request"), {"run": ids, "step": "submit", "reason": "all"}
    )

    assert response.status_code == 400
    assert_nothing_stored()


def test_an_overlong_reason_is_refused_with_a_message(client, runs):
    response = submit(client, runs[:2], reason="x" * 5001)

    assert response.status_code == 400
    assert "at most 5000 characters" in page_text(response).replace(",", "")
    assert_nothing_stored()


def test_a_reason_with_a_nul_byte_is_refused_with_a_message(client, runs):
    response = submit(client, runs[:2], reason="because\x00")

    assert response.status_code == 400
    assert "Null characters are not allowed" in page_text(response)
    assert_nothing_stored()


def test_a_unicode_reason_is_kept_exactly(client, runs):
    reason = "Löschung nach Art. 17 DSGVO — 顧客の依頼 🗑️"
    submit(client, runs[:2], reason=reason)

    assert DeletionRequest.objects.get().reason == reason


@pytest.mark.parametrize(
    "query",
    [
        "?after=%00garbage",
        "?after=not-a-cursor&before=also-not",
        "?sort=drop table",
        "?created_from=2026-13-45&created_to=yesterday",
        "?q=" + "x" * 5000,
        "?q=%00",
        "?state=%F0%9F%92%A5",
        "?page=-1",
    ],
)
@pytest.mark.parametrize("page", ["customer:runs", "customer:requests"])
def test_garbage_query_parameters_never_crash_a_list_page(client, runs, page, query):
    response = client.get(reverse(page) + query)

    # A malformed keyset cursor is a page that does not exist: 404.
    assert response.status_code in (200, 400, 404)


@pytest.mark.parametrize(
    "path",
    [
        "/requests/99999999999999999999/",
        "/requests/0/",
        "/requests/99999999999999999999/items/",
        "/requests/99999999999999999999/receipt.csv",
        "/team/99999999999999999999/deactivate/",
    ],
)
def test_out_of_range_ids_in_urls_answer_404(client, customer_admin, path):
    client.force_login(customer_admin, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get(path)
    if response.status_code == 405:
        response = client.post(path)
    assert response.status_code == 404
