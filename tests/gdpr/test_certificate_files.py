"""The certificate's "uploaded files" section (format v4): files erased with Extend's request id
and the times, files kept and why, inside the signed content; never issued while files are in
progress; and certificates issued before the section still verify and are not re-issued for it."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from deletions.gdpr import certificate_checks, certificate_keys, certificate_render, certificates
from deletions.models import AuditEvent, Certificate, DeletionRequest, FileErasure
from deletions.requests import file_results
from deletions.tasks.gdpr import needing_certificate
from tests.file_outcomes import erased, failed, finished_with_files, shared
from tests.gdpr.test_certificates import pdf_text
from tests.helpers import finish, submitted_request

FS = FileErasure.Status


@pytest.fixture
def with_files(workspace, customer, member, approver):
    """Seven runs, two by two sharing a file: four files, erased, already gone, kept (shared
    with two runs outside the request) and failed."""
    return finished_with_files(
        submitted_request(workspace, customer, member, runs=7, kind=DeletionRequest.Kind.GDPR),
        approver,
        {
            "file_0": erased(0),
            "file_1": erased(1, status=FS.ALREADY_GONE, verified_at=None),
            "file_2": shared(2),
            "file_3": failed(),
        },
        shared_by=2,
    )


def test_the_certificate_states_each_file_erased_or_kept_and_why(with_files, workspace):
    cert = certificates.issue(with_files)
    doc = json.loads(cert.document)
    files = doc["files"]
    assert files["erased_with_runs"] is True
    assert files["means"] == "DELETE /files/{id}"
    assert files["first_attempt_at"] and files["last_attempt_at"]
    assert files["totals"] == {
        "files": 4,
        "already_gone": 1,
        "deleted": 1,
        "deleted_answer_lost": 0,
        "kept": 1,
        "failed": 1,
        "verified_absent": 1,
        "not_yet_verified": 0,
    }
    by_id = {f["file_id"]: f for f in files["files"]}
    assert by_id["file_0"]["outcome"] == "deleted"
    assert by_id["file_0"]["runs"] == 2
    assert by_id["file_0"]["extend_request_id"] == "xfile_0"
    assert by_id["file_0"]["deleted_at"] is not None
    assert by_id["file_0"]["verification"] == "verified"
    assert by_id["file_0"]["verified_absent_at"] is not None
    assert by_id["file_1"]["outcome"] == "already_gone"
    assert by_id["file_2"] == {
        "file_id": "file_2",
        "workspace": workspace.name,
        "runs": 2,
        "outcome": "kept",
        "deleted_at": None,
        "extend_request_id": None,
        "verification": None,
        "verified_absent_at": None,
        "kept_reason": "shared",
        "kept_why": "Still used by 2 runs not in this request",
    }
    assert set(files["outcomes"]) >= {"deleted", "already_gone", "kept", "failed", "verified"}
    # Inside the signed content: the signature covers the section as issued.
    assert certificate_keys.check(cert.kid, cert.signature, cert.document.encode()) is None
    assert by_id["file_3"]["outcome"] == "failed"
    assert AuditEvent.objects.get(action="certificate.issued").detail["files"] == 4


def test_a_failed_file_is_certified_as_failed_never_as_erased(
    workspace, customer, member, approver
):
    req = finished_with_files(
        submitted_request(workspace, customer, member, runs=2),
        approver,
        {"file_0": erased(0), "file_1": failed()},
    )
    assert req.status == DeletionRequest.Status.COMPLETED_WITH_FAILURES
    files = json.loads(certificates.issue(req).document)["files"]
    failure = next(f for f in files["files"] if f["file_id"] == "file_1")
    assert (failure["outcome"], failure["deleted_at"], failure["verification"]) == (
        "failed",
        None,
        None,
    )
    assert (files["totals"]["failed"], files["totals"]["deleted"]) == (1, 1)


@pytest.mark.parametrize("status", [FS.WAITING, FS.PENDING, FS.IN_FLIGHT, FS.UNCONFIRMED])
def test_a_request_with_a_file_in_progress_is_not_certified(status, with_files):
    FileErasure.objects.filter(request=with_files, file_id="file_1").update(status=status)
    with pytest.raises(certificates.FilesInProgress, match="1 uploaded file being erased"):
        certificates.issue(with_files)
    assert not Certificate.objects.filter(request=with_files).exists()
    assert with_files not in needing_certificate()


def test_a_file_is_certified_erased_only_from_an_erased_status(with_files):
    erasure = FileErasure.objects.get(request=with_files, file_id="file_0")
    erasure.status = FS.PENDING
    with pytest.raises(certificates.FilesInProgress):
        certificates.certificate_files.entry(erasure)


def test_a_file_verified_late_gives_a_new_version(workspace, customer, member, approver):
    req = finished_with_files(
        submitted_request(workspace, customer, member, runs=1),
        approver,
        {
            "file_0": erased(
                0, verified_at=None, verify_due_at=timezone.now() + timedelta(minutes=5)
            )
        },
    )
    first = certificates.issue(req)
    entry = json.loads(first.document)["files"]["files"][0]
    assert entry["verification"] == "not_yet_verified"
    FileErasure.objects.filter(request=req).update(verified_at=timezone.now(), verify_due_at=None)
    assert req in needing_certificate()
    second = certificates.issue(req)
    assert second.version == 2
    assert json.loads(second.document)["files"]["totals"]["verified_absent"] == 1
    assert certificates.issue(req).pk == second.pk


def test_a_changed_file_entry_does_not_verify(with_files):
    text = certificates.signed_json(certificates.issue(with_files))
    assert certificate_checks.verify(text).valid
    forged = text.replace('"outcome": "kept"', '"outcome": "deleted"', 1)
    assert forged != text
    assert not certificate_checks.verify(forged).valid


def test_the_pdf_and_the_verify_page_show_the_files(client, with_files):
    cert = certificates.issue(with_files)
    text = pdf_text(certificate_render.render_pdf(cert))
    assert "Uploaded files (4)" in text
    assert (
        "4 uploaded files: 1 deleted, 0 deleted (answer lost), 1 already gone, 1 kept, 1 failed; "
        "1 verified absent"
    ) in text
    assert re.search(r"file_0 +deleted +deleted \S+ +verified \S+ +req xfile_0", text)
    assert re.search(r"file_2 +kept +Still used by 2 runs not in this request", text)
    assert "Files deleted by DELETE /files/{id} at " in text

    page = client.post(
        reverse("certificates:verify"), {"document": certificates.signed_json(cert)}
    ).content.decode()
    assert "Valid, version 1" in page
    assert "<dt>Uploaded files</dt><dd>4 uploaded files: 1 deleted" in page


def test_a_request_without_files_says_so_in_the_pdf(finished_request):
    # A standard request left its files; a GDPR one (as this fixture) always erases them.
    DeletionRequest.objects.filter(pk=finished_request.pk).update(
        kind=DeletionRequest.Kind.STANDARD, erase_files=False
    )
    finished_request.refresh_from_db()
    text = pdf_text(certificate_render.render_pdf(certificates.issue(finished_request)))
    assert "Uploaded files were not part of this request" in text
    assert "Uploaded files (" not in text


def _as_v3(cert: Certificate) -> Certificate:
    """*cert* as the portal signed it before the files section: no "files", format v3."""
    doc = json.loads(cert.document)
    del doc["files"]
    doc["format"] = "extend-deletion-portal/certificate-of-erasure/v3"
    document = certificates.canonical(doc)
    kid, signature = certificate_keys.sign(document.encode())
    Certificate.objects.filter(pk=cert.pk).update(document=document, kid=kid, signature=signature)
    cert.refresh_from_db()
    return cert


def test_a_certificate_issued_before_the_files_section_still_verifies_and_renders(
    client, finished_request
):
    old = _as_v3(certificates.issue(finished_request))
    result = certificate_checks.verify(certificates.signed_json(old))
    assert result.valid
    assert result.files is None
    text = pdf_text(certificate_render.render_pdf(old))
    assert "Uploaded files" not in text
    page = client.post(
        reverse("certificates:verify"), {"document": certificates.signed_json(old)}
    ).content.decode()
    assert "The content is exactly as issued." in page
    assert "<dt>Uploaded files</dt>" not in page


def test_a_request_without_files_is_not_issued_again_for_the_new_section(finished_request):
    old = _as_v3(certificates.issue(finished_request))
    assert certificates.issue(finished_request).pk == old.pk
    # Even when its state must be looked at again, the outcome is the same: same version.
    Certificate.objects.filter(pk=old.pk).update(state_stamp="")
    assert certificates.issue(finished_request).pk == old.pk
    assert Certificate.objects.filter(request=finished_request).count() == 1


def test_the_statement_for_a_request_without_files_is_the_pages_one(workspace, customer, member):
    req = finish(submitted_request(workspace, customer, member, runs=1))
    files = json.loads(certificates.issue(req).document)["files"]
    assert files == {"erased_with_runs": False, "statement": file_results.NOT_IN_REQUEST}
