"""Certificates of erasure: content, versions that follow the request's outcome, integrity code,
tamper detection (page and command), downloads for the customer and staff, and isolation."""

from __future__ import annotations

import json
import re
import zlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from deletions import signals
from deletions.core.errors import RuleViolation
from deletions.gdpr import certificate_checks, certificate_keys, certificate_render, certificates
from deletions.models import (
    Approval,
    AuditEvent,
    Certificate,
    DeletionItem,
    DeletionRequest,
    LegalHold,
    Source,
)
from deletions.requests import holds, transitions
from deletions.tasks import gdpr as gdpr_tasks
from tests.gdpr.conftest import SUBJECT
from tests.helpers import at_once, finish, force_status, submitted_request

IS = DeletionItem.Status
RS = DeletionRequest.Status


def pdf_text(data: bytes) -> str:
    """The text a PDF draws: fpdf2 writes core-font text as literal strings in deflated streams."""
    assert data.startswith(b"%PDF")
    chunks: list[str] = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        for text in re.findall(rb"\(((?:[^()\\]|\\.)*)\) ?Tj", content):
            chunks.append(re.sub(rb"\\(.)", rb"\1", text).decode("latin-1"))
    return " ".join(" ".join(chunks).split())


@pytest.fixture
def issue_at_once(monkeypatch):
    """Run the certificate task as soon as it is enqueued (as a worker would, after commit)."""
    monkeypatch.setattr(
        gdpr_tasks.issue_certificate_task, "delay", gdpr_tasks.issue_certificate_task
    )


def settle(req: DeletionRequest, outcomes: dict[str, dict[str, object]]) -> DeletionRequest:
    """Give *req*'s items (by run id) the fields the engine would have left, keep its counters
    in step, and mark it finished as the engine does (the transition and its hooks run)."""
    for run_id, fields in outcomes.items():
        DeletionItem.objects.filter(request=req, parse_run__run_id=run_id).update(**fields)
    items = DeletionItem.objects.filter(request=req)
    DeletionRequest.objects.filter(pk=req.pk).update(
        deleted_count=items.filter(status=IS.DELETED).count(),
        already_gone_count=items.filter(status=IS.ALREADY_GONE).count(),
        failed_count=items.filter(status=IS.FAILED).count(),
        held_count=items.filter(status=IS.HELD).count(),
    )
    req.refresh_from_db()
    return req


def finish_again(req: DeletionRequest, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        transitions.finish_request(req, actor=None, source=Source.WORKER)


def run_ids(req: DeletionRequest) -> list[str]:
    return list(
        DeletionItem.objects.filter(request=req)
        .order_by("id")
        .values_list("parse_run__run_id", flat=True)
    )


def test_a_finished_request_gets_a_certificate_with_everything_the_proof_needs(
    finished_request, approver
):
    Approval.objects.create(request=finished_request, approver=approver, decision="approve")
    cert = certificates.issue(finished_request)
    assert cert.version == 1
    doc = json.loads(cert.document)
    assert doc["format"].endswith("/v4")
    assert doc["version"] == 1
    assert doc["supersedes"] is None
    assert doc["request"]["id"] == finished_request.pk
    assert doc["request"]["kind"] == "gdpr"
    assert doc["request"]["data_subject"] == "••••7731"
    assert doc["customer"]["name"] == finished_request.customer.name
    assert doc["dates"]["received_on"] == finished_request.received_on.isoformat()
    assert doc["dates"]["due_on"] == finished_request.due_on.isoformat()
    assert doc["dates"]["completed_at"] is not None
    # People by role, never by username.
    assert doc["approvers"][0] == {
        "role": "operator approver",
        "approved_at": doc["approvers"][0]["approved_at"],
    }
    assert doc["request"]["requested_by"] == "customer member"
    assert doc["totals"] == {
        "runs": 4,
        "deleted": 4,
        "deleted_answer_lost": 0,
        "already_gone": 0,
        "retained": 0,
        "failed": 0,
        "verified_absent": 4,
        "not_yet_verified": 0,
    }
    assert len(doc["runs"]) == 4
    run = doc["runs"][0]
    assert set(run) == {
        "run_id",
        "workspace",
        "outcome",
        "deleted_at",
        "extend_request_id",
        "verification",
        "verified_absent_at",
    }
    assert run["outcome"] == "deleted"
    assert run["verification"] == "verified"
    assert run["extend_request_id"] == "req_0000"
    assert set(doc["outcomes"]) >= {"deleted", "deleted_answer_lost", "already_gone", "retained"}
    art19 = doc["recipients_notified"][0]
    assert art19["recipient"] == "Extend (processor)"
    assert art19["statement"].startswith(
        "Extend (processor), notified by DELETE /parse_runs/{id} at "
    )
    assert ".." in art19["statement"]
    # A request that does not erase files says so (v4), rather than "0 erased".
    # A GDPR request erases its runs' files; these runs had none the inventory knew of.
    assert doc["files"]["erased_with_runs"] is True
    assert doc["files"]["totals"]["files"] == 0
    assert doc["files"]["files"] == []
    assert cert.kid == certificate_keys.signing_key().kid
    assert certificate_keys.check(cert.kid, cert.signature, cert.document.encode()) is None
    assert cert.hmac == ""
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


def test_issuing_again_with_the_same_outcome_returns_the_same_version(
    finished_request, django_assert_max_num_queries
):
    first = certificates.issue(finished_request)
    # Nothing about the runs changed: the stored version is answered without rebuilding it
    # (a GDPR request erases files: one grouped query of its files' states is part of that).
    with django_assert_max_num_queries(6):
        assert certificates.issue(finished_request).pk == first.pk
    # Details that are not the outcome (the customer's name) do not make a new version either.
    finished_request.customer.name = "Renamed Ltd"
    finished_request.customer.save()
    Certificate.objects.filter(pk=first.pk).update(state_stamp="")
    assert certificates.issue(finished_request).pk == first.pk
    assert Certificate.objects.count() == 1
    assert AuditEvent.objects.filter(action="certificate.issued").count() == 1


def test_an_unfinished_request_gets_no_certificate(workspace, customer, member):
    req = submitted_request(workspace, customer, member)
    with pytest.raises(RuleViolation, match="when it has finished"):
        certificates.issue(req)


def test_a_request_with_an_unconfirmed_run_is_not_certified(finished_request, monkeypatch):
    item = DeletionItem.objects.filter(request=finished_request).first()
    DeletionItem.objects.filter(pk=item.pk).update(status=IS.UNCONFIRMED, verified_at=None)
    with pytest.raises(certificates.UnconfirmedRuns, match="1 run that Extend answered 404"):
        certificates.issue(finished_request)
    assert not Certificate.objects.exists()
    # The task asks again later instead of giving up.
    retries: list[dict[str, object]] = []

    def retry(**kwargs):
        retries.append(kwargs)
        return RuntimeError("retry")

    monkeypatch.setattr(gdpr_tasks.issue_certificate_task, "retry", retry)
    with pytest.raises(RuntimeError, match="retry"):
        gdpr_tasks.issue_certificate_task(finished_request.pk)
    assert retries[0]["countdown"] == gdpr_tasks.UNCONFIRMED_RETRY_SECONDS
    assert not Certificate.objects.exists()
    # Nor does the hourly sweep pick it up until the run is settled.
    assert not gdpr_tasks.needing_certificate().filter(pk=finished_request.pk).exists()
    DeletionItem.objects.filter(pk=item.pk).update(status=IS.ALREADY_GONE)
    assert gdpr_tasks.needing_certificate().filter(pk=finished_request.pk).exists()
    gdpr_tasks.issue_certificate_task(finished_request.pk)
    assert Certificate.objects.filter(request=finished_request).count() == 1


def test_a_request_that_has_a_version_and_then_an_unconfirmed_run_keeps_its_latest_version(
    finished_request,
):
    cert = certificates.issue(finished_request)
    DeletionItem.objects.filter(request=finished_request).update(status=IS.UNCONFIRMED)
    with pytest.raises(RuleViolation, match="Extend answered 404"):
        certificates.issue(finished_request)
    # What the pages show as "the certificate" stays the last one issued.
    assert certificates.current(finished_request).pk == cert.pk


def test_failures_are_counted_and_shown(workspace, customer, member):
    req = finish(submitted_request(workspace, customer, member, runs=3), failed=1)
    doc = json.loads(certificates.issue(req).document)
    assert doc["request"]["status"] == RS.COMPLETED_WITH_FAILURES
    assert doc["totals"]["failed"] == 1
    assert doc["runs"][0]["outcome"] == "failed"
    assert doc["runs"][0]["deleted_at"] is None


def test_a_retry_after_failures_gives_a_new_version_and_the_old_one_points_to_its_successor(
    workspace, customer, member, staff_admin, issue_at_once, django_capture_on_commit_callbacks
):
    req = finish(submitted_request(workspace, customer, member, runs=3), failed=1)
    first = certificates.issue(req)
    old_text = certificates.signed_json(first)
    transitions.retry_failed_items(req, actor=staff_admin, source=Source.WEB)
    failed_run = run_ids(req)[0]
    now = timezone.now()
    req = settle(req, {failed_run: {"status": IS.DELETED, "confirmed_at": now, "verified_at": now}})
    finish_again(req, django_capture_on_commit_callbacks)

    second = Certificate.objects.get(request=req, version=2)
    doc = json.loads(second.document)
    assert doc["request"]["status"] == RS.COMPLETED
    assert doc["totals"]["deleted"] == 3
    assert doc["totals"]["failed"] == 0
    # The successor names what it supersedes, inside what its integrity code covers.
    assert doc["supersedes"] == {
        "version": 1,
        "issued_at": first.issued_at.isoformat(),
        "signature": first.signature,
    }
    first.refresh_from_db()
    assert first.superseded_by == second
    # The old version still verifies, and says what superseded it.
    old = certificate_checks.verify(old_text)
    assert old.valid and old.version == 1 and old.superseded_by == 2
    assert old.summary.startswith(
        f"Valid, version 1 of request #{req.pk}; superseded by version 2 issued at "
        f"{second.issued_at.isoformat()}"
    )
    redownloaded = json.loads(certificates.signed_json(first))
    assert redownloaded["superseded_by"]["version"] == 2
    assert certificate_checks.verify(certificates.signed_json(first)).valid
    assert json.loads(first.document) == {
        k: v for k, v in redownloaded.items() if k not in ("signature", "superseded_by")
    }
    new = certificate_checks.verify(certificates.signed_json(second))
    assert new.valid and new.version == 2 and new.superseded_by is None
    assert certificates.current(req).pk == second.pk
    assert AuditEvent.objects.filter(action="certificate.issued", request=req).count() == 2


def test_a_lifted_hold_whose_runs_are_then_deleted_gives_a_new_version(
    workspace, customer, member, staff_admin, issue_at_once, django_capture_on_commit_callbacks
):
    req = finish(submitted_request(workspace, customer, member, runs=3))
    held_run = run_ids(req)[2]
    hold = LegalHold.objects.create(
        scope=LegalHold.Scope.RUNS,
        reason="Litigation with ACME",
        reference="CASE-4471",
        placed_by=staff_admin,
    )
    hold.runs.set([DeletionItem.objects.get(parse_run__run_id=held_run).parse_run])
    req = settle(
        req,
        {held_run: {"status": IS.HELD, "confirmed_at": None, "verified_at": None}},
    )
    first = certificates.issue(req)
    doc = json.loads(first.document)
    assert doc["totals"]["retained"] == 1
    assert doc["totals"]["deleted"] == 2
    assert doc["outcomes"]["retained"] == holds.CUSTOMER_NOTICE
    assert [r["outcome"] for r in doc["runs"]].count("retained") == 1
    assert "ACME" not in first.document and "CASE-4471" not in first.document

    with django_capture_on_commit_callbacks(execute=True):
        holds.lift_hold(hold, actor=staff_admin, source=Source.WEB)
    req.refresh_from_db()
    assert req.status == RS.RUNNING
    now = timezone.now()
    req = settle(req, {held_run: {"status": IS.DELETED, "confirmed_at": now, "verified_at": now}})
    finish_again(req, django_capture_on_commit_callbacks)
    second = Certificate.objects.get(request=req, version=2)
    assert json.loads(second.document)["totals"]["retained"] == 0
    assert json.loads(second.document)["totals"]["deleted"] == 3
    first.refresh_from_db()
    assert first.superseded_by == second


def test_a_verification_that_comes_in_late_gives_a_new_version(
    finished_request, issue_at_once, django_capture_on_commit_callbacks
):
    late = run_ids(finished_request)[1]
    settle(
        finished_request,
        {late: {"verified_at": None, "verify_due_at": timezone.now() + timedelta(minutes=5)}},
    )
    first = certificates.issue(finished_request)
    doc = json.loads(first.document)
    assert doc["totals"]["not_yet_verified"] == 1
    assert doc["totals"]["verified_absent"] == 3
    run = next(r for r in doc["runs"] if r["run_id"] == late)
    assert (run["outcome"], run["verification"]) == ("deleted", "not_yet_verified")

    # The verification arrives (deletions.engine.verification.verify_deleted announces it).
    with django_capture_on_commit_callbacks(execute=True):
        DeletionItem.objects.filter(parse_run__run_id=late).update(
            verified_at=timezone.now(), verify_due_at=None
        )
        signals.announce_outcome_changed([finished_request.pk])
    second = Certificate.objects.get(request=finished_request, version=2)
    doc = json.loads(second.document)
    assert doc["totals"]["not_yet_verified"] == 0
    assert doc["totals"]["verified_absent"] == 4
    assert doc["dates"]["completed_at"] == json.loads(first.document)["dates"]["completed_at"]


def test_the_hourly_sweep_finds_requests_whose_certificate_is_out_of_date(finished_request):
    # finish() verifies a second after completing: here, the verifications came first.
    DeletionItem.objects.filter(request=finished_request).update(
        verified_at=timezone.now() - timedelta(minutes=1)
    )
    assert list(gdpr_tasks.needing_certificate()) == [finished_request]
    cert = certificates.issue(finished_request)
    assert not gdpr_tasks.needing_certificate().exists()
    DeletionItem.objects.filter(request=finished_request).update(
        verified_at=cert.issued_at + timedelta(seconds=1)
    )
    assert list(gdpr_tasks.needing_certificate()) == [finished_request]


@pytest.fixture
def every_outcome(workspace, customer, member, staff_admin):
    """A finished request with one run of each outcome, and one deletion not yet verified."""
    req = finish(submitted_request(workspace, customer, member, runs=6, prefix="out_"))
    ids = run_ids(req)
    later = timezone.now() + timedelta(minutes=10)
    return settle(
        req,
        {
            ids[1]: {"answer_lost": True},
            ids[2]: {"status": IS.ALREADY_GONE, "verified_at": None},
            ids[3]: {"verified_at": None, "verify_due_at": later},
            ids[4]: {"status": IS.HELD, "confirmed_at": None, "verified_at": None},
            ids[5]: {"status": IS.FAILED, "confirmed_at": None, "verified_at": None},
        },
    )


def test_the_three_outcomes_not_yet_verified_and_retained_runs_appear_in_the_json(every_outcome):
    doc = json.loads(certificates.issue(every_outcome).document)
    assert [(r["outcome"], r["verification"]) for r in doc["runs"]] == [
        ("deleted", "verified"),
        ("deleted_answer_lost", "verified"),
        ("already_gone", None),
        ("deleted", "not_yet_verified"),
        ("retained", None),
        ("failed", None),
    ]
    assert doc["totals"] == {
        "runs": 6,
        "deleted": 2,
        "deleted_answer_lost": 1,
        "already_gone": 1,
        "retained": 1,
        "failed": 1,
        "verified_absent": 2,
        "not_yet_verified": 1,
    }
    assert doc["outcomes"]["retained"] == "Retained for legal reasons"
    assert doc["outcomes"]["not_yet_verified"].startswith("Deletion acknowledged, not yet verified")


def test_the_three_outcomes_not_yet_verified_and_retained_runs_appear_in_the_pdf(every_outcome):
    text = pdf_text(certificate_render.render_pdf(certificates.issue(every_outcome)))
    assert (
        "6 runs: 2 deleted, 1 deleted (answer lost), 1 already gone, "
        "1 retained for legal reasons, 1 failed; 2 verified absent, "
        "1 deletion acknowledged, not yet verified"
    ) in text
    ids = run_ids(every_outcome)
    for run_id, words in zip(
        ids,
        [
            "deleted ",
            "deleted, answer lost",
            "already gone",
            "deleted ",
            "retained",
            "failed",
        ],
        strict=True,
    ):
        line = re.search(rf"{run_id} +(.*?) req ", text)
        assert line is not None and line.group(1).startswith(words), (run_id, text)
    assert re.search(rf"{ids[3]} +deleted +deleted \S+ +not yet verified", text)
    assert "Retained for legal reasons" in text
    assert "Version 1" in text and "SUPERSEDED" not in text


def test_the_downloaded_json_verifies_and_a_changed_byte_does_not(finished_request):
    text = certificates.signed_json(certificates.issue(finished_request))
    assert certificate_checks.verify(text).valid
    tampered = text.replace('"deleted": 4', '"deleted": 5', 1)
    assert tampered != text
    result = certificate_checks.verify(tampered)
    assert not result.valid
    assert "Tampered" in result.message
    one_byte = text.replace("req_0001", "req_0002", 1)
    assert not certificate_checks.verify(one_byte).valid
    assert not certificate_checks.verify(text.replace('"version": 1', '"version": 2', 1)).valid
    assert not certificate_checks.verify("{not json").valid
    assert not certificate_checks.verify(json.dumps({"request": {}})).valid


def test_a_forged_superseded_by_note_is_not_believed(finished_request):
    doc = json.loads(certificates.signed_json(certificates.issue(finished_request)))
    doc["superseded_by"] = {"version": 9, "issued_at": "2030-01-01T00:00:00+00:00"}
    result = certificate_checks.verify(json.dumps(doc))
    assert result.valid
    assert result.superseded_by is None


def test_a_certificate_issued_before_versions_verifies_as_version_1_and_is_superseded(
    finished_request,
):
    # The first format had no version, and one certificate per request.
    old_doc = {
        "format": "extend-deletion-portal/certificate-of-erasure/v1",
        "issuer": "Portal",
        "request": {"id": finished_request.pk},
        "issued_at": "2026-01-01T00:00:00+00:00",
    }
    old = Certificate.objects.create(
        request=finished_request,
        request_number=finished_request.pk,
        document=certificates.canonical(old_doc),
        hmac=certificates.integrity_code(old_doc),
    )
    old_text = certificates.signed_json(old)
    assert certificate_checks.verify(old_text).version == 1
    new = certificates.issue(finished_request)
    assert new.version == 2
    assert json.loads(new.document)["supersedes"]["integrity_code"] == old.hmac
    assert certificate_checks.verify(old_text).superseded_by == 2


def test_a_legacy_code_checked_under_another_key_fails(finished_request, settings):
    doc = {"format": "extend-deletion-portal/certificate-of-erasure/v2", "request": {"id": 1}}
    legacy = Certificate.objects.create(
        request_number=1,
        document=certificates.canonical(doc),
        hmac=certificates.integrity_code(doc),
    )
    text = certificates.signed_json(legacy)
    assert certificate_checks.verify(text).valid
    settings.CERTIFICATE_SIGNING_KEY = "another-key"
    assert not certificate_checks.verify(text).valid
    # Without the key (optional in production), nothing passes, not even a code made with "".
    settings.CERTIFICATE_SIGNING_KEY = ""
    result = certificate_checks.verify(text)
    assert not result.valid and "can no longer check" in result.message


def test_the_verify_page_says_valid_or_tampered(client, finished_request):
    text = certificates.signed_json(certificates.issue(finished_request))
    url = reverse("certificates:verify")
    assert client.get(url).status_code == 200
    valid = client.post(url, {"document": text}).content.decode()
    assert f"Valid, version 1 of request #{finished_request.pk}." in valid
    assert "The content is exactly as issued." in valid
    assert "Superseded" not in valid
    tampered = client.post(url, {"document": text.replace("req_0000", "req_9999")})
    assert "Tampered" in tampered.content.decode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("c.json", text.encode(), content_type="application/json")
    assert "Valid," in client.post(url, {"file": upload}).content.decode()
    empty = client.post(url, {}).content.decode()
    assert "Paste the certificate or choose its file." in empty


@pytest.fixture
def two_versions(workspace, customer, member, staff_admin):
    """A request certified with a failure, retried, and certified again: (old, new)."""
    req = finish(submitted_request(workspace, customer, member, runs=2, prefix="v_"), failed=1)
    first = certificates.issue(req)
    force_status(req, RS.RUNNING)
    now = timezone.now()
    req = settle(
        req, {run_ids(req)[0]: {"status": IS.DELETED, "confirmed_at": now, "verified_at": now}}
    )
    force_status(req, RS.COMPLETED, finished_at=now)
    second = certificates.issue(req)
    first.refresh_from_db()
    return first, second


def test_the_verify_page_says_an_old_version_was_superseded_and_the_new_one_was_not(
    client, two_versions
):
    first, second = two_versions
    url = reverse("certificates:verify")
    old = client.post(url, {"document": certificates.signed_json(first)}).content.decode()
    assert f"Valid, version 1 of request #{first.request_number}." in old
    assert "Superseded by version 2 issued at " + second.issued_at.isoformat() in old
    new = client.post(url, {"document": certificates.signed_json(second)}).content.decode()
    assert f"Valid, version 2 of request #{second.request_number}." in new
    assert "Superseded" not in new


def test_the_command_checks_a_file(tmp_path, finished_request):
    path = tmp_path / "certificate.json"
    text = certificates.signed_json(certificates.issue(finished_request))
    path.write_text(text)
    out = StringIO()
    call_command("verify_certificate", str(path), stdout=out)
    assert f"Valid, version 1 of request #{finished_request.pk}." in out.getvalue()
    path.write_bytes(text.encode().replace(b"req_0003", b"req_0004"))
    with pytest.raises(CommandError, match="Tampered") as excinfo:
        call_command("verify_certificate", str(path))
    assert excinfo.value.returncode == 1
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("verify_certificate", str(tmp_path / "missing.json"))


def test_the_command_reports_the_version_and_its_successor(tmp_path, two_versions):
    first, second = two_versions
    path = tmp_path / "old.json"
    path.write_text(certificates.signed_json(first))
    out = StringIO()
    call_command("verify_certificate", str(path), stdout=out)
    assert (
        f"Valid, version 1 of request #{first.request_number}; superseded by version 2 "
        f"issued at {second.issued_at.isoformat()}."
    ) in out.getvalue()


def test_the_pdf_lists_totals_and_the_first_runs(finished_request, settings):
    settings.CERTIFICATE_PDF_MAX_RUNS = 2
    pdf = certificate_render.render_pdf(certificates.issue(finished_request))
    text = pdf_text(pdf)
    assert "Certificate of erasure" in text
    assert "Parse runs: the first 2 of 4; the JSON certificate lists all" in text
    assert "4 runs: 4 deleted, 0 deleted (answer lost)" in text
    assert text.count(" req req_000") == 2


def test_an_old_versions_pdf_and_json_say_it_was_superseded(two_versions):
    first, second = two_versions
    old = pdf_text(certificate_render.render_pdf(first))
    assert "SUPERSEDED: this is version 1." in old
    assert f"Superseded by version 2 issued at {second.issued_at.isoformat()}." in old
    new = pdf_text(certificate_render.render_pdf(second))
    assert "SUPERSEDED" not in new
    assert f"2, superseding version 1 issued at {first.issued_at.isoformat()}" in new
    note = json.loads(certificates.signed_json(first))["superseded_by"]
    assert note["version"] == 2
    assert note["issued_at"] == second.issued_at.isoformat()
    assert "superseded_by" not in json.loads(certificates.signed_json(second))


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_issues_give_one_new_version(workspace, customer, member):
    req = finish(submitted_request(workspace, customer, member, runs=2, prefix="race_"))

    def race() -> list[object]:
        def issue() -> int:
            return certificates.issue(DeletionRequest.objects.get(pk=req.pk)).pk

        return at_once(issue, issue)

    first = race()
    assert len(set(first)) == 1 and isinstance(first[0], int), first
    DeletionItem.objects.filter(request=req).update(verified_at=timezone.now())
    second = race()
    assert len(set(second)) == 1 and isinstance(second[0], int), second
    assert sorted(Certificate.objects.filter(request=req).values_list("version", flat=True)) == [
        1,
        2,
    ]
    assert AuditEvent.objects.filter(action="certificate.issued").count() == 2


def test_the_customer_downloads_the_certificate_of_their_finished_request(
    client_of, member, finished_request
):
    client = client_of(member)
    response = client.get(reverse("customer:certificate_json", args=[finished_request.pk]))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert certificate_checks.verify(response.content).valid
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
    assert certificate_checks.verify(response.content).valid


def test_staff_see_every_version_and_the_latest_is_the_certificate(client_of, viewer, two_versions):
    first, _second = two_versions
    client = client_of(viewer)
    pk = first.request_number
    page = client.get(reverse("console:request_detail", args=[pk])).content.decode()
    assert "Certificate versions" in page
    assert "Version 2 (latest)" in page
    assert "Version 1, issued" in page and "superseded by version 2" in page
    json_url = reverse("console:request_certificate_json", args=[pk])
    assert json.loads(client.get(json_url).content)["version"] == 2
    old = client.get(json_url, {"version": 1})
    assert json.loads(old.content)["superseded_by"]["version"] == 2
    assert certificate_checks.verify(old.content).superseded_by == 2
    pdf = client.get(reverse("console:request_certificate_pdf", args=[pk]), {"version": 1})
    assert "SUPERSEDED" in pdf_text(pdf.content)
    assert client.get(json_url, {"version": 7}).status_code == 404
    assert client.get(json_url, {"version": "x"}).status_code == 404


def test_the_customer_downloads_the_latest_version(client_of, member, two_versions):
    first, _second = two_versions
    client = client_of(member)
    response = client.get(reverse("customer:certificate_json", args=[first.request_number]))
    assert json.loads(response.content)["version"] == 2
    assert "-v2.json" in response["Content-Disposition"]
    page = client.get(reverse("customer:request", args=[first.request_number])).content.decode()
    assert "Certificate versions" not in page


def test_finishing_a_request_enqueues_its_certificate(
    workspace, customer, member, monkeypatch, django_capture_on_commit_callbacks
):
    from deletions.models import DeletionItem, Source
    from deletions.requests import transitions
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
