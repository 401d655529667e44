"""A request's uploaded files on its console page: counts beside the runs', a page of files with
their state, why one was kept (staff read "legal hold"), each call to Extend in the timeline,
and a plain word when the request does not erase files."""

from __future__ import annotations

from django.urls import reverse

from deletions.models import FileAttempt, FileErasure
from deletions.requests import file_results
from tests.file_outcomes import erased, failed, settle, shared, started_with_files
from tests.helpers import submitted_request

FS = FileErasure.Status


def test_the_page_lists_files_beside_the_runs_with_counts_and_reasons(
    client, viewer, workspace, customer, member, approver
):
    req = started_with_files(submitted_request(workspace, customer, member, runs=5), approver)
    settle(
        req,
        {
            "file_0": erased(0),
            "file_1": shared(3),
            "file_2": {"status": FS.KEPT, "kept_reason": FileErasure.KeptReason.RUN_HELD},
            "file_3": failed(),
        },
    )
    client.force_login(viewer)
    response = client.get(reverse("console:request_detail", args=[req.pk]))
    body = response.content.decode()
    files = response.context["progress"].files
    assert files.as_dict() == {"total": 5, "erased": 1, "kept": 2, "failed": 1, "in_progress": 1}
    assert "4 / 5" in body and "uploaded files done" in body
    assert "4 of 5 files done: 1 erased, 2 kept, 1 failed, 1 in progress" in body
    assert "Still used by 3 runs not in this request" in body
    assert "A run using it is on legal hold" in body
    assert "xfile_0" in body and "Extend answered 500" in body
    assert {f.file_id for f in response.context["files_page"].objects} == {
        f"file_{n}" for n in range(5)
    }
    # Every call for a file is in the timeline, with Extend's request id.
    assert "DELETE file file_0" in body
    assert FileAttempt.objects.filter(item__request=req).count() == 2


def test_files_are_filtered_by_state_and_paged_apart_from_the_items(
    client, viewer, workspace, customer, member, approver
):
    req = started_with_files(submitted_request(workspace, customer, member, runs=60), approver)
    settle(req, {"file_7": failed()})
    client.force_login(viewer)
    url = reverse("console:request_detail", args=[req.pk])
    response = client.get(url, {"file_status": "failed"})
    assert [f.file_id for f in response.context["files_page"].objects] == ["file_7"]
    assert len(response.context["items_page"].objects) == 50

    first = client.get(url)
    assert len(first.context["files_page"].objects) == 50
    assert "file_page=2" in first.content.decode()
    second = client.get(url, {"file_page": 2})
    assert len(second.context["files_page"].objects) == 10
    assert second.context["items_page"].number == 1  # the items stay on their first page
    assert "?file_page=2&amp;page=2" in second.content.decode()  # the items keep file_page


def test_a_request_without_files_says_so(client, viewer, pending_request):
    client.force_login(viewer)
    response = client.get(reverse("console:request_detail", args=[pending_request.pk]))
    body = response.content.decode()
    assert file_results.NOT_IN_REQUEST in body
    assert "Not part of this request" in body
    assert response.context["files_page"] is None
    assert "files erased" not in body


def test_the_page_makes_as_many_queries_with_60_files_as_with_3(
    client, viewer, workspace, customer, member, approver, django_assert_max_num_queries
):
    small = started_with_files(submitted_request(workspace, customer, member, runs=3), approver)
    large = started_with_files(
        submitted_request(workspace, customer, member, runs=60, prefix="big_"), approver
    )
    for req in (small, large):
        settle(req, {"file_0": erased(0), "file_1": failed()})
    client.force_login(viewer)
    client.get(reverse("console:request_detail", args=[small.pk]))
    with django_assert_max_num_queries(40) as few:
        client.get(reverse("console:request_detail", args=[small.pk]))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("console:request_detail", args=[large.pk]))
