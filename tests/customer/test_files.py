"""The uploaded files a request erases, as the customer sees them: counts and progress on the
request's page, the files page, the receipt (HTML and CSV) and the completion e-mail. A request
that does not erase files says so plainly everywhere, never "0 erased"."""

from __future__ import annotations

import csv
import io

import pytest
from django.core import mail
from django.urls import reverse

from deletions.models import DeletionRequest, FileErasure
from deletions.requests import file_results
from tests import drive
from tests.factories import customer_user
from tests.file_outcomes import (
    erased,
    failed,
    finished_with_files,
    settle,
    shared,
    started_with_files,
)
from tests.helpers import submitted_request

FS = FileErasure.Status
NOT_IN_REQUEST = file_results.NOT_IN_REQUEST


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def with_files(workspace, customer, member, approver):
    """Five runs, each with a file of its own, all deleted; their files settled: three erased,
    one kept because two runs outside the request still use it, one still due."""
    req = started_with_files(submitted_request(workspace, customer, member, runs=5), approver)
    settle(
        req,
        {
            "file_0": erased(0),
            "file_1": erased(1),
            "file_2": erased(2, status=FS.ALREADY_GONE, verified_at=None),
            "file_3": shared(2),
        },
    )
    return req


def body(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_the_request_page_shows_files_in_progress_and_why_one_was_kept(client, member, with_files):
    client.force_login(member)
    page = body(client, reverse("customer:request", args=[with_files.pk]))
    assert "4 of 5 files done: 3 erased, 1 kept, 0 failed, 1 in progress" in page
    assert "Still used by 2 runs not in this request" in page
    assert "<code>file_0</code>" in page and "<code>file_4</code>" in page
    assert "Extend request xfile_0" in page
    assert reverse("customer:files", args=[with_files.pk]) in page
    # The polled fragment keeps the count live.
    fragment = body(client, reverse("customer:progress", args=[with_files.pk]))
    assert "4 of 5 files done" in fragment


def test_while_files_are_erased_the_estimate_says_so(client, member, with_files):
    client.force_login(member)
    progress = client.get(reverse("customer:progress", args=[with_files.pk])).context["progress"]
    assert progress.eta_text == (
        "All runs are done; erasing their uploaded files (4 of 5 files done)"
    )


def test_a_request_without_files_says_they_were_not_part_of_it(client, member, approver, req):
    client.force_login(member)
    for url in (
        reverse("customer:request", args=[req.pk]),
        reverse("customer:progress", args=[req.pk]),
        reverse("customer:files", args=[req.pk]),
    ):
        page = body(client, url)
        assert NOT_IN_REQUEST in page or "Not part of this request" in page, url
        assert "0 erased" not in page, url
        assert "files done" not in page, url
    finished = drive.run_to_the_end(req, approver)
    receipt = body(client, reverse("customer:receipt", args=[finished.pk]))
    assert receipt.count(NOT_IN_REQUEST) == 2  # in the facts and under its heading
    assert "0 erased" not in receipt
    response = client.get(reverse("customer:receipt_csv", args=[finished.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 3
    assert {r["record"] for r in rows} == {"run"}
    assert {r["uploaded_files"] for r in rows} == {"not part of this request"}


def test_the_files_page_pages_and_filters_by_state(client, member, workspace, customer, approver):
    req = started_with_files(submitted_request(workspace, customer, member, runs=60), approver)
    settle(req, {f"file_{n}": shared(1) for n in range(5)})
    client.force_login(member)
    url = reverse("customer:files", args=[req.pk])
    first = client.get(url)
    assert len(first.context["rows"]) == 50
    page = first.content.decode()
    assert "5 of 60 files done" in page
    assert 'rel="next"' in page
    second = client.get(url, {"after": first.context["page"].next_cursor})
    shown = [f.file_id for f, *_ in first.context["rows"] + second.context["rows"]]
    assert sorted(shown) == sorted(f"file_{n}" for n in range(60))
    assert 'rel="prev"' in second.content.decode()
    kept = client.get(url, {"status": "kept"})
    assert [why for *_, why, _ in kept.context["rows"]] == [
        "Still used by 1 run not in this request"
    ] * 5


def test_the_detail_and_files_pages_make_as_many_queries_with_60_files_as_with_3(
    client, member, workspace, customer, approver, django_assert_max_num_queries
):
    small = started_with_files(submitted_request(workspace, customer, member, runs=3), approver)
    large = started_with_files(
        submitted_request(workspace, customer, member, runs=60, prefix="big_"), approver
    )
    client.force_login(member)
    for name in ("request", "files", "progress"):
        client.get(reverse(f"customer:{name}", args=[small.pk]))  # warm caches
        with django_assert_max_num_queries(40) as few:
            client.get(reverse(f"customer:{name}", args=[small.pk]))
        with django_assert_max_num_queries(len(few.captured_queries)):
            client.get(reverse(f"customer:{name}", args=[large.pk]))


def test_customers_never_read_legal_hold_for_a_kept_file(client, member, with_files):
    FileErasure.objects.filter(request=with_files, file_id="file_4").update(
        status=FS.KEPT, kept_reason=FileErasure.KeptReason.RUN_HELD
    )
    client.force_login(member)
    for url in (
        reverse("customer:request", args=[with_files.pk]),
        reverse("customer:files", args=[with_files.pk]),
        reverse("customer:files", args=[with_files.pk]) + "?status=kept",
    ):
        page = body(client, url)
        assert "A run using it is retained for legal reasons" in page, url
        assert "legal hold" not in page.lower(), url


def test_another_customer_or_a_colleague_gets_404_on_the_files_page(
    client, outsider, customer, with_files
):
    url = reverse("customer:files", args=[with_files.pk])
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(customer_user(customer, username="bob"))
    assert client.get(url).status_code == 404


def test_the_receipt_lists_each_file_with_its_delete_and_why_one_was_kept(
    client, member, workspace, customer, approver
):
    req = finished_with_files(
        submitted_request(workspace, customer, member, runs=4),
        approver,
        {"file_0": erased(0), "file_1": erased(1), "file_2": shared(2), "file_3": failed()},
    )
    assert req.status == DeletionRequest.Status.COMPLETED_WITH_FAILURES
    client.force_login(member)
    html = body(client, reverse("customer:receipt", args=[req.pk]))
    assert "4 of 4 files done: 2 erased, 1 kept, 1 failed, of 4 uploaded files." in html
    assert "<code>file_2</code></td><td>Kept</td><td>Still used by 2 runs not in this request" in (
        html
    )
    assert "xfile_0" in html and "xfile_1" in html
    assert "Extend answered our DELETE of the file with success." in html  # the legend

    response = client.get(reverse("customer:receipt_csv", args=[req.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    runs = [r for r in rows if r["record"] == "run"]
    files = {r["file_id"]: r for r in rows if r["record"] == "file"}
    assert sorted(r["file_id"] for r in runs) == ["file_0", "file_1", "file_2", "file_3"]
    assert {r["uploaded_files"] for r in rows} == {"erased with the runs"}
    assert files["file_0"]["outcome"] == "deleted"
    assert files["file_0"]["extend_request_id"] == "xfile_0"
    assert files["file_0"]["confirmed_at"]
    assert files["file_2"]["outcome"] == "kept"
    assert files["file_2"]["why_kept"] == "Still used by 2 runs not in this request"
    assert files["file_2"]["extend_request_id"] == ""
    assert files["file_3"]["outcome"] == "failed"
    assert all(r["request_id"] == str(req.pk) and r["approved_by"] == "anna" for r in rows)


def test_the_completion_email_says_which_files_were_erased_and_kept(
    workspace, customer, member, approver, committed
):
    req = started_with_files(submitted_request(workspace, customer, member, runs=3), approver)
    settle(req, {"file_0": erased(0), "file_1": erased(1), "file_2": shared(3)})
    with committed():
        drive.finish(req)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert "completed" in message.subject
    assert "The 3 uploaded files of these runs:\n- 2 erased\n" in message.body
    assert "- 1 kept: Still used by runs not in this request" in message.body
    assert "<li>1 kept: Still used by runs not in this request</li>" in (message.alternatives[0][0])


def test_a_completion_whose_only_failure_is_a_file_says_so(
    workspace, customer, member, approver, committed
):
    req = started_with_files(submitted_request(workspace, customer, member, runs=2), approver)
    settle(req, {"file_0": erased(0), "file_1": failed()})
    with committed():
        drive.finish(req)
    message = mail.outbox[0]
    assert message.subject == (
        f"Deletion request #{req.pk} finished, but 1 uploaded file could not be deleted"
    )
    assert f"/requests/{req.pk}/files/?status=failed" in message.body
    assert "items/?status=failed" not in message.body
    assert "- 1 could not be deleted" in message.body


def test_the_completion_email_of_a_request_without_files_says_they_were_not_part_of_it(
    req, approver, committed
):
    drive.approve(req, approver)
    drive.start(req)
    drive.complete(req, 3)
    with committed():
        drive.finish(req)
    message = mail.outbox[0]
    assert NOT_IN_REQUEST in message.body
    assert NOT_IN_REQUEST in message.alternatives[0][0]
