"""What a request's uploaded files came to, in words: counts per outcome, each file's label and
why it was kept (customers never read "legal hold"), and what to say when there are none."""

from __future__ import annotations

from deletions.models import DeletionRequest, FileErasure
from deletions.requests import file_results
from tests.file_outcomes import erased, settle, shared, started_with_files
from tests.helpers import submitted_request

FS = FileErasure.Status
Reason = FileErasure.KeptReason


def test_the_tally_counts_erased_kept_failed_and_in_progress():
    tally = file_results.tally_of(
        {
            FS.DELETED: 3,
            FS.ALREADY_GONE: 1,
            FS.KEPT: 2,
            FS.FAILED: 1,
            FS.WAITING: 1,
            FS.IN_FLIGHT: 1,
            FS.UNCONFIRMED: 1,
        }
    )
    assert tally.as_dict() == {"total": 10, "erased": 4, "kept": 2, "failed": 1, "in_progress": 3}
    assert tally.progress_text == "7 of 10 files done"
    assert tally.outcome_text == "4 erased, 2 kept, 1 failed, 3 in progress, of 10 uploaded files"


def test_a_request_that_does_not_erase_files_has_no_tally_and_says_so(workspace, customer, member):
    req = submitted_request(workspace, customer, member, runs=2)
    assert file_results.tally(req) is None
    assert file_results.files_text(req, None) == file_results.NOT_IN_REQUEST
    assert "0 erased" not in file_results.NOT_IN_REQUEST


def test_files_are_listed_when_deletion_starts(workspace, customer, member, approver):
    req = submitted_request(workspace, customer, member, runs=2)
    DeletionRequest.objects.filter(pk=req.pk).update(erase_files=True)
    req.refresh_from_db()
    assert file_results.files_text(req, file_results.tally(req)) == file_results.NOT_LISTED_YET

    req = started_with_files(req, approver, runs_done=False)
    tally = file_results.tally(req)
    assert tally is not None
    assert (tally.total, tally.in_progress) == (2, 2)
    assert file_results.files_text(req, tally) == (
        "0 of 2 files done: 0 erased, 0 kept, 0 failed, 2 in progress, of 2 uploaded files."
    )


def test_each_file_is_labelled_and_a_kept_one_says_why(workspace, customer, member, approver):
    req = started_with_files(submitted_request(workspace, customer, member, runs=4), approver)
    settle(
        req,
        {
            "file_0": erased(0, answer_lost=True),
            "file_1": shared(2),
            "file_2": {"status": FS.KEPT, "kept_reason": Reason.RUN_HELD},
        },
    )
    by_id = {f.file_id: f for f in FileErasure.objects.filter(request=req)}
    assert file_results.outcome(by_id["file_0"]) == "deleted_answer_lost"
    assert file_results.label(by_id["file_0"]) == "Deleted (answer lost)"
    assert file_results.kept_why(by_id["file_0"]) == ""
    assert file_results.kept_why(by_id["file_1"]) == "Still used by 2 runs not in this request"
    # Customers read the hold's neutral wording; staff read what it is.
    assert file_results.kept_why(by_id["file_2"]) == (
        "A run using it is retained for legal reasons"
    )
    assert file_results.kept_why(by_id["file_2"], staff=True) == ("A run using it is on legal hold")
    assert file_results.label(by_id["file_3"]) == "Pending"
    assert file_results.outcome(by_id["file_3"]) == "in_progress"
    assert file_results.kept_by_reason(req) == [
        ("A run using it is retained for legal reasons", 1),
        ("Still used by runs not in this request", 1),
    ]
