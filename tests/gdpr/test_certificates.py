"""Certificates of erasure: content, integrity code, tamper detection (page and command),
downloads for the customer and staff, and isolation."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from deletions import certificates
from deletions.errors import RuleViolation
from deletions.models import AuditEvent, Certificate, DeletionRequest
from tests.gdpr.conftest import SUBJECT, finish
from tests.helpers import submitted_request


def test_a_finished_request_gets_a_certificate_with_everything_the_proof_needs(
    finished_request, approver
):
    from deletions.models import Approval

    Approval.objects.create(request=finished_request, approver=approver, decision="approve")
    cert = certificates.issue(finished_request)
    doc = json.loads(cert.document)
    assert doc["request"]["id"] == finished_request.pk
    assert doc["request"]["kind"] == "gdpr"
    assert doc["request"]["data_subject"] == "••••7731"
    assert doc["customer"]["name"] == finished_request.customer.name
    assert doc["dates"]["received_on"] == finished_request.received_on.isoformat()
    assert doc["dates"]["due_on"] == finished_request.due_on.isoformat()
    assert doc["dates"]["completed_at"] is not None
    assert doc["approvers"][0]["username"] == approver.username
    assert doc["totals"] == {
        "runs": 4,
        "deleted": 4,
        "already_gone": 0,
        "failed": 0,
        "verified_absent": 4,
    }
    assert len(doc["runs"]) == 4
    run = doc["runs"][0]
    assert set(run) == {
        "run_id",
        "workspace",
        "outcome",
        "deleted_at",
        "extend_request_id",
        "verified_absent_at",
    }
    assert run["extend_request_id"] == "req_0000"
    art19 = doc["recipients_notified"][0]
    assert art19["recipient"] == "Extend (processor)"
    assert art19["statement"].startswith(
        "Extend (processor), notified by DELETE /parse_runs/{id} at "
    )
    assert ".." in art19["statement"]
    assert cert.hmac == certificates.integrity_code(doc)
    assert SUBJECT not in cert.document
    assert AuditEvent.objects.filter(action="certificate.issued").count() == 1


def test_file_names_are_left_out_unless_the_operator_turns_them_on(
    workspace, customer, member, settings
):
    req = finish(submitted_request(workspace, customer, member, prefix="a_"))
    assert "invoice-" not in certificates.issue(req).document
    settings.CERTIFICATE_INCLUDE_FILE_NAMES = True
    other = finish(submitted_request(workspace, customer, member, prefix="b_"))
    doc = json.loads(certificates.issue(other).document)
    assert doc["runs"][0]["file_name"].startswith("invoice-")
    assert doc["includes_file_names"] is True


def test_issuing_twice_returns_the_same_certificate(finished_request):
    first = certificates.issue(finished_request)
    assert certificates.issue(finished_request).pk == first.pk
    assert Certificate.objects.count() == 1


def test_an_unfinished_request_gets_no_certificate(workspace, customer, member):
    req = submitted_request(workspace, customer, member)
    with pytest.raises(RuleViolation, match="when it has finished"):
        certificates.issue(req)


def test_failures_are_counted_and_shown(workspace, customer, member):
    req = finish(submitted_request(workspace, customer, member, runs=3), failed=1)
    doc = json.loads(certificates.issue(req).document)
    assert doc["request"]["status"] == DeletionRequest.Status.COMPLETED_WITH_FAILURES
    assert doc["totals"]["failed"] == 1
    assert doc["runs"][0]["deleted_at"] is None


def test_the_downloaded_json_verifies_and_a_changed_byte_does_not(finished_request):
    text = certificates.signed_json(certificates.issue(finished_request))
    assert certificates.verify(text).valid
    tampered = text.replace('"deleted": 4', '"deleted": 5', 1)
    assert tampered != text
    result = certificates.verify(tampered)
    assert not result.valid
    assert "Tampered" in result.message
    one_byte = text.replace("req_0001", "req_0002", 1)
    assert not certificates.verify(one_byte).valid
    assert not certificates.verify("{not json").valid
    assert not certificates.verify(json.dumps({"request": {}})).valid


def test_a_code_forged_under_another_key_fails(finished_request, settings):
    text = certificates.signed_json(certificates.issue(finished_request))
    settings.CERTIFICATE_SIGNING_KEY = "another-key"
    assert not certificates.verify(text).valid


def test_the_verify_page_says_valid_or_tampered(client, finished_request):
    text = certificates.signed_json(certificates.issue(finished_request))
    url = reverse("certificates:verify")
    assert client.get(url).status_code == 200
    valid = client.post(url, {"document": text}).content.decode()
    assert "Valid: the content is exactly as issued." in valid
    assert f"Request #{finished_request.pk}" in valid
    tampered = client.post(url, {"document": text.replace("req_0000", "req_9999")})
    assert "Tampered" in tampered.content.decode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("c.json", text.encode(), content_type="application/json")
    assert "Valid:" in client.post(url, {"file": upload}).content.decode()
    empty = client.post(url, {}).content.decode()
    assert "Paste the certificate or choose its file." in empty


def test_the_command_checks_a_file(tmp_path, finished_request):
    path = tmp_path / "certificate.json"
    text = certificates.signed_json(certificates.issue(finished_request))
    path.write_text(text)
    out = StringIO()
    call_command("verify_certificate", str(path), stdout=out)
    assert "Valid" in out.getvalue()
    path.write_bytes(text.encode().replace(b"req_0003", b"req_0004"))
    with pytest.raises(CommandError, match="Tampered") as excinfo:
        call_command("verify_certificate", str(path))
    assert excinfo.value.returncode == 1
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("verify_certificate", str(tmp_path / "missing.json"))


def test_the_pdf_lists_totals_and_the_first_runs(finished_request, settings):
    settings.CERTIFICATE_PDF_MAX_RUNS = 2
    pdf = certificates.render_pdf(certificates.issue(finished_request))
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 1000


def test_the_customer_downloads_the_certificate_of_their_finished_request(
    client_of, member, finished_request
):
    client = client_of(member)
    response = client.get(reverse("customer:certificate_json", args=[finished_request.pk]))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert certificates.verify(response.content).valid
    pdf = client.get(reverse("customer:certificate_pdf", args=[finished_request.pk]))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    page = client.get(reverse("customer:request", args=[finished_request.pk])).content.decode()
    assert "Certificate (PDF)" in page and "Certificate (JSON)" in page


def test_a_user_of_another_customer_gets_404(client_of, outsider, finished_request):
    client = client_of(outsider)
    for name in ("customer:certificate_json", "customer:certificate_pdf"):
        assert client.get(reverse(name, args=[finished_request.pk])).status_code == 404
    assert not Certificate.objects.exists()


def test_an_unfinished_request_has_no_certificate_to_download(
    client_of, member, approver, workspace, customer
):
    req = submitted_request(workspace, customer, member)
    assert (
        client_of(member).get(reverse("customer:certificate_json", args=[req.pk])).status_code
        == 404
    )
    staff = client_of(approver)
    assert staff.get(reverse("console:request_certificate_pdf", args=[req.pk])).status_code == 404
    page = staff.get(reverse("console:request_detail", args=[req.pk])).content.decode()
    assert "Certificate (PDF)" not in page


def test_staff_download_from_the_console(client_of, viewer, finished_request):
    client = client_of(viewer)
    page = client.get(reverse("console:request_detail", args=[finished_request.pk]))
    assert "Certificate (JSON)" in page.content.decode()
    response = client.get(reverse("console:request_certificate_json", args=[finished_request.pk]))
    assert response.status_code == 200
    assert certificates.verify(response.content).valid


def test_finishing_a_request_enqueues_its_certificate(
    workspace, customer, member, monkeypatch, django_capture_on_commit_callbacks
):
    from deletions import transitions
    from deletions.models import DeletionItem, Source
    from deletions.tasks import gdpr as gdpr_tasks

    issued: list[int] = []
    monkeypatch.setattr(gdpr_tasks.issue_certificate_task, "delay", issued.append)
    req = submitted_request(workspace, customer, member, runs=1)
    DeletionRequest.objects.filter(pk=req.pk).update(status=DeletionRequest.Status.RUNNING)
    DeletionItem.objects.filter(request=req).update(status=DeletionItem.Status.DELETED)
    DeletionRequest.objects.filter(pk=req.pk).update(deleted_count=1)
    with django_capture_on_commit_callbacks(execute=True):
        transitions.finish_request(req, actor=None, source=Source.WORKER)
    assert issued == [req.pk]
    gdpr_tasks.issue_certificate_task(req.pk)
    assert Certificate.objects.filter(request=req).exists()
