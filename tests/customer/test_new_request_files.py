"""The uploaded files on the customer's new-request page: the box that erases them (preset by the
rule), what the page says about the selection's files before anything is sent, and the request's
page saying what was chosen."""

from __future__ import annotations

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from deletions.models import DeletionRequest
from tests.factories import make_runs, use_file

URL = reverse("customer:new_request")
GDPR_SENTENCE = (
    "GDPR erasure requests always erase the documents: the document is the personal data."
)


def _box(response) -> str:
    """The documents' checkbox as the page renders it."""
    found = re.search(
        r'<input type="checkbox" id="id_erase_files"[^>]*>', response.content.decode()
    )
    assert found, "the page has no box for the uploaded files"
    return found.group(0)


def _files_line(response) -> str:
    found = re.search(r'<dd id="files-preview">(.*?)</dd>', response.content.decode(), re.S)
    assert found
    return re.sub(r"<[^>]+>", "", found.group(1))


def _submit(client, **data):
    return client.post(URL, {"step": "submit", "reason": "contract ended", **data})


def test_for_selected_runs_the_box_follows_the_customers_default(
    client, workspace, customer, member
):
    ids = make_runs(workspace, customer, 3)
    client.force_login(member)
    review = client.post(URL, {"run": ids})
    assert "checked" not in _box(review)
    assert "Preset from your organisation's default." in review.content.decode()
    assert GDPR_SENTENCE in review.content.decode()

    customer.erase_files_default = True
    customer.save()
    assert "checked" in _box(client.post(URL, {"run": ids}))
    assert "checked" in _box(client.post(URL, {"match_all": "1", "q": "invoice-0000"}))


def test_for_all_runs_the_box_is_ticked_and_can_be_unticked(client, workspace, customer, member):
    make_runs(workspace, customer, 3)
    client.force_login(member)
    review = client.post(URL, {"match_all": "1"})
    assert "checked" in _box(review)
    assert "untick it to keep the documents" in review.content.decode()

    _submit(client, match_all="1", confirmation="DELETE")
    req = DeletionRequest.objects.get()
    assert req.scope == DeletionRequest.Scope.ALL
    assert not req.erase_files


def test_a_gdpr_request_erases_the_files_even_with_the_box_unticked(
    client, workspace, customer, member
):
    ids = make_runs(workspace, customer, 2)
    client.force_login(member)
    _submit(client, run=ids, is_gdpr="on", subject_ref="ticket-777")
    req = DeletionRequest.objects.get()
    assert req.kind == DeletionRequest.Kind.GDPR
    assert req.erase_files


def test_the_review_counts_the_files_that_would_go_and_those_shared_with_other_runs(
    client, workspace, customer, other_customer, member
):
    chosen = make_runs(workspace, customer, 4, prefix="chosen_")
    mine_elsewhere = make_runs(workspace, customer, 1, prefix="mine_")
    theirs = make_runs(workspace, other_customer, 1, prefix="theirs_")
    use_file(chosen[:2], "file_alone")  # two chosen runs, one file, nobody else
    use_file([chosen[2], *mine_elsewhere], "file_mine")  # also the customer's unselected run
    use_file([chosen[3], *theirs], "file_theirs")  # also another customer's run
    client.force_login(member)
    review = client.post(URL, {"run": chosen})
    files = review.context["files"]
    assert (files.used, files.would_go, files.shared) == (3, 1, 2)
    assert _files_line(review) == (
        "These runs use 3 uploaded files. If the documents are erased too, 1 would go and 2 "
        "would be kept: runs outside this selection still use them."
    )


def test_the_review_says_when_no_file_is_known_or_none_is_shared(
    client, workspace, customer, member
):
    ids = make_runs(workspace, customer, 3)
    client.force_login(member)
    assert _files_line(client.post(URL, {"run": ids})) == (
        "No uploaded file is known for these runs yet."
    )
    use_file(ids, "file_one")
    assert _files_line(client.post(URL, {"run": ids})) == (
        "These runs use 1 uploaded file. If the documents are erased too, 1 would go: no run "
        "outside this selection uses them."
    )


def test_counting_the_files_costs_the_same_queries_for_many_files(
    client, workspace, customer, member
):
    few = make_runs(workspace, customer, 3, prefix="few_")
    many = make_runs(workspace, customer, 60, prefix="many_")
    for run_id in few + many:
        use_file([run_id], f"file_{run_id}")
    client.force_login(member)

    def queries(ids):
        with CaptureQueriesContext(connection) as captured:
            review = client.post(URL, {"match_all": "1", "q": ids})
        assert review.status_code == 200
        return len(captured), review.context["files"].used

    # By file name: "invoice-00000" is one run of each set, "invoice-0000" 3 and 10 of them.
    two = queries("invoice-00000")
    thirteen = queries("invoice-0000")
    assert (two[1], thirteen[1]) == (2, 13)
    assert two[0] == thirteen[0]


def test_the_requesters_choice_is_kept_and_shown_on_the_request_page(
    client, workspace, customer, member
):
    ids = make_runs(workspace, customer, 2)
    client.force_login(member)
    _submit(client, run=ids[:1], erase_files="on")
    _submit(client, run=ids[1:])
    erased, kept = DeletionRequest.objects.order_by("pk")
    assert (erased.erase_files, kept.erase_files) == (True, False)

    def line(req):
        body = client.get(reverse("customer:request", args=[req.pk])).content.decode()
        return re.search(r'<dd id="request-files">(.*?)</dd>', body).group(1)

    assert line(erased) == "erased with the runs"
    assert line(kept) == "Not part of this request: left at Extend"
