"""Certificates anyone can verify: Ed25519 signatures with key ids, the published key list, key
rotation and revocation, legacy HMAC certificates, the PDF's attached signed JSON on the verify
page, the stand-alone script of docs/, and certificates that name roles and hold no free text."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from deletions.gdpr import (
    certificate_checks,
    certificate_keys,
    certificate_pdf,
    certificate_render,
    certificates,
)
from deletions.gdpr import deadlines as gdpr
from deletions.models import (
    AuditEvent,
    Certificate,
    CertificateKey,
    DeletionRequest,
    Source,
)
from deletions.requests import transitions
from portal import ed25519_keys
from tests.factories import customer_user, staff_user
from tests.gdpr.conftest import SUBJECT
from tests.gdpr.test_certificates import pdf_text
from tests.helpers import finish, submitted_request

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "verify_certificate.py"
KEYS_URL = "/.well-known/erasure-certificate-keys.json"
VERIFY_URL = "/certificates/verify/"


def new_key() -> tuple[str, Ed25519PrivateKey]:
    """A fresh signing key: (its setting value, the key)."""
    key = Ed25519PrivateKey.generate()
    return base64.b64encode(key.private_bytes_raw()).decode(), key


def download(client, req: DeletionRequest, extension: str) -> bytes:
    name = "customer:certificate_json" if extension == "json" else "customer:certificate_pdf"
    response = client.get(reverse(name, args=[req.pk]))
    assert response.status_code == 200
    return bytes(response.content)


def upload(client, name: str, data: bytes, content_type: str):
    return client.post(VERIFY_URL, {"file": SimpleUploadedFile(name, data, content_type)})


def legacy_certificate(req: DeletionRequest, *, detached: bool = False) -> Certificate:
    """A certificate as the portal issued them before signatures: v2, HMAC, usernames; of *req*,
    or (*detached*) of a request whose records are gone."""
    number = req.pk + 1000 if detached else req.pk
    doc = certificates.build_document(req)
    del doc["verify_at"], doc["request"]["requested_by"]
    doc["request"]["id"] = number
    doc["format"] = "extend-deletion-portal/certificate-of-erasure/v2"
    doc["approvers"] = [{"username": "anna", "approved_at": "2026-01-01T00:00:00+00:00"}]
    doc["dates"]["extension_reason"] = None
    doc.update(version=1, issued_at="2026-01-02T00:00:00+00:00", supersedes=None)
    return Certificate.objects.create(
        request=None if detached else req,
        request_number=number,
        document=certificates.canonical(doc),
        hmac=certificates.integrity_code(doc),
    )


def test_a_certificate_is_signed_with_the_current_key_and_verifies(finished_request):
    cert = certificates.issue(finished_request)
    current = certificate_keys.signing_key()
    assert cert.kid == current.kid == ed25519_keys.key_id(current.public_raw)
    assert len(cert.kid) == 16
    signed = json.loads(certificates.signed_json(cert))
    assert signed["signature"]["algorithm"] == "Ed25519"
    assert signed["signature"]["kid"] == cert.kid
    assert signed["signature"]["keys"].endswith(KEYS_URL)
    # The signature is over the canonical JSON of the document, as issued.
    document = {k: v for k, v in signed.items() if k != "signature"}
    assert certificates.canonical(document) == cert.document
    result = certificate_checks.verify(certificates.signed_json(cert))
    assert result.valid
    assert (result.algorithm, result.kid, result.key_status) == ("Ed25519", cert.kid, "current")
    # The key that signed is on record (audited once), so it stays verifiable after a rotation.
    assert CertificateKey.objects.get(kid=cert.kid).public_key == current.public_key
    assert AuditEvent.objects.filter(action="certificate_key.recorded").count() == 1
    certificates.issue(DeletionRequest.objects.get(pk=finished_request.pk))
    assert AuditEvent.objects.filter(action="certificate_key.recorded").count() == 1


def test_a_changed_byte_or_a_swapped_signature_does_not_verify(finished_request, workspace):
    text = certificates.signed_json(certificates.issue(finished_request))
    run_id = json.loads(text)["runs"][0]["run_id"]
    tampered = certificate_checks.verify(text.replace(run_id, run_id[:-1] + "X", 1))
    assert not tampered.valid
    assert "signature does not match" in tampered.message
    doc = json.loads(text)
    doc["signature"]["value"] = doc["signature"]["value"][::-1]
    assert not certificate_checks.verify(json.dumps(doc)).valid
    doc = json.loads(text)
    doc["signature"]["algorithm"] = "none"
    assert "not Ed25519" in certificate_checks.verify(json.dumps(doc)).message


def test_a_retired_key_still_verifies_after_rotation_and_a_revoked_one_does_not(
    finished_request, workspace, customer, member, settings, client
):
    old = certificates.issue(finished_request)
    old_text = certificates.signed_json(old)
    settings.CERTIFICATE_ED25519_KEY, _ = new_key()
    new = certificates.issue(finish(submitted_request(workspace, customer, member, prefix="n_")))
    assert new.kid != old.kid
    retired = certificate_checks.verify(old_text)
    assert retired.valid and (retired.kid, retired.key_status) == (old.kid, "retired")
    assert certificate_checks.verify(certificates.signed_json(new)).key_status == "current"
    page = client.post(VERIFY_URL, {"document": old_text}).content.decode()
    assert f"Ed25519, key <code>{old.kid}</code> (retired)" in page

    keys = {k["kid"]: k["status"] for k in client.get(KEYS_URL).json()["keys"]}
    assert keys == {old.kid: "retired", new.kid: "current"}

    # A key that leaked is revoked: what it signed no longer verifies, and the list says so.
    settings.CERTIFICATE_REVOKED_KEY_IDS = [old.kid]
    revoked = certificate_checks.verify(old_text)
    assert not revoked.valid and "revoked" in revoked.message
    keys = {k["kid"]: k["status"] for k in client.get(KEYS_URL).json()["keys"]}
    assert keys == {old.kid: "revoked", new.kid: "current"}


def test_a_certificate_signed_with_a_key_the_portal_never_had_does_not_verify(finished_request):
    doc = json.loads(certificates.signed_json(certificates.issue(finished_request)))
    forged = resigned(doc, Ed25519PrivateKey.generate())
    result = certificate_checks.verify(json.dumps(forged))
    assert not result.valid
    assert "not one of this portal's keys" in result.message


def resigned(doc: dict, key: Ed25519PrivateKey) -> dict:
    """*doc* signed again with *key*, as a forger holding their own key would."""
    body = {k: v for k, v in doc.items() if k not in certificates.UNSIGNED}
    kid = ed25519_keys.key_id(ed25519_keys.public_bytes(key))
    value = ed25519_keys.b64url(key.sign(certificates.canonical(body).encode()))
    return {**body, "signature": {**doc["signature"], "kid": kid, "value": value}}


def test_the_keys_endpoint_answers_anonymously_with_the_current_key(db, client):
    response = client.get(KEYS_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "public" in response["Cache-Control"] and "max-age=3600" in response["Cache-Control"]
    assert response["Access-Control-Allow-Origin"] == "*"
    current = certificate_keys.signing_key()
    # Published before any certificate was issued, as the raw key in unpadded base64url.
    assert response.json()["keys"] == [
        {
            "kid": current.kid,
            "alg": "Ed25519",
            "public_key": ed25519_keys.b64url(current.public_raw),
            "status": "current",
        }
    ]
    assert len(response.json()["keys"][0]["public_key"]) == 43
    assert client.head(KEYS_URL).status_code == 200
    assert client.post(KEYS_URL).status_code == 405
    assert "Cookie" not in response.get("Vary", "")


def test_a_legacy_hmac_certificate_still_verifies_on_the_verify_page(client, finished_request):
    text = certificates.signed_json(legacy_certificate(finished_request))
    assert json.loads(text)["integrity"]["algorithm"] == "HMAC-SHA256"
    page = client.post(VERIFY_URL, {"document": text}).content.decode()
    assert f"Valid, version 1 of request #{finished_request.pk}." in page
    assert "HMAC-SHA256 (issued before certificates were signed)" in page
    tampered = client.post(VERIFY_URL, {"document": text.replace("anna", "anne")})
    assert "Not valid" in tampered.content.decode()
    assert "integrity code does not match" in tampered.content.decode()
    # Its successor, issued now, is signed and names it by its integrity code.
    successor = certificates.issue(finished_request)
    assert successor.version == 2 and successor.signature
    assert (
        json.loads(successor.document)["supersedes"]["integrity_code"]
        == (json.loads(text)["integrity"]["code"])
    )


def test_the_pdf_carries_the_signed_json_and_the_verify_link(client_of, member, finished_request):
    client = client_of(member)
    pdf = download(client, finished_request, "pdf")
    attached = certificate_pdf.embedded_certificate(pdf, max_bytes=10**6)
    assert attached == download(client, finished_request, "json")
    assert certificate_checks.verify(attached).valid
    text = pdf_text(pdf)
    assert f"Verify: {certificates.verify_page_url()}" in text
    cert = Certificate.objects.get(request=finished_request)
    assert f"Ed25519, key {cert.kid}" in text
    assert f"certificate-of-erasure-{finished_request.pk}.json" in text
    # The link is a real link annotation, not only printed text.
    assert b"/URI (" + certificates.verify_page_url().encode() + b")" in pdf


def test_the_verify_page_accepts_the_pdf_and_refuses_a_tampered_one(
    client_of, member, finished_request
):
    pdf = download(client_of(member), finished_request, "pdf")
    anonymous = client_of(None)
    page = upload(anonymous, "certificate.pdf", pdf, "application/pdf")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"Valid, version 1 of request #{finished_request.pk}." in html
    assert "The signed certificate attached to the PDF" in html
    assert finished_request.customer.name in html
    assert "4 runs: 4 deleted" in html

    # Someone changes a run id in the certificate and makes the PDF again around it.
    cert = Certificate.objects.get(request=finished_request)
    run_id = json.loads(cert.document)["runs"][0]["run_id"]
    forged = Certificate(
        request_number=cert.request_number,
        version=cert.version,
        issued_at=cert.issued_at,
        document=cert.document.replace(run_id, run_id[:-1] + "X", 1),
        signature=cert.signature,
        kid=cert.kid,
    )
    tampered = upload(
        anonymous, "certificate.pdf", certificate_render.render_pdf(forged), "application/pdf"
    )
    assert tampered.status_code == 200
    assert "Not valid" in tampered.content.decode()
    assert "signature does not match" in tampered.content.decode()


def test_a_pdf_without_a_certificate_or_not_a_pdf_at_all_is_refused(client, finished_request):
    legacy_pdf = certificate_render.render_pdf(legacy_certificate(finished_request))
    no_attachment = upload(client, "old.pdf", legacy_pdf, "application/pdf")
    assert no_attachment.status_code == 400
    assert "This PDF carries no certificate" in no_attachment.content.decode()
    broken = upload(client, "x.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 50, "application/pdf")
    assert broken.status_code == 400
    assert "This PDF cannot be read" in broken.content.decode()


def test_the_size_limit_applies_to_the_pdf_and_to_the_json_inside_it(
    client, finished_request, settings
):
    # Runs only (a GDPR request's files section makes the JSON outweigh fpdf2's fonts).
    DeletionRequest.objects.filter(pk=finished_request.pk).update(
        kind=DeletionRequest.Kind.STANDARD, erase_files=False
    )
    finished_request.refresh_from_db()
    cert = certificates.issue(finished_request)
    pdf, attached = certificate_render.render_pdf(cert), certificates.signed_json(cert).encode()
    # The attached JSON is compressed inside the PDF: a small PDF can carry a large JSON.
    settings.CERTIFICATE_VERIFY_MAX_BYTES = len(attached) - 1
    assert len(pdf) > settings.CERTIFICATE_VERIFY_MAX_BYTES  # fpdf2's fonts weigh more
    assert upload(client, "c.pdf", pdf, "application/pdf").status_code == 413
    with pytest.raises(certificate_pdf.TooLarge):
        certificate_pdf.embedded_certificate(pdf, max_bytes=len(attached) - 1)
    assert len(certificate_pdf.embedded_certificate(pdf, max_bytes=len(attached))) == len(attached)


def test_the_command_checks_a_pdf(tmp_path, finished_request):
    cert = certificates.issue(finished_request)
    path = tmp_path / "certificate.pdf"
    path.write_bytes(certificate_render.render_pdf(cert))
    out = StringIO()
    call_command("verify_certificate", str(path), stdout=out)
    assert f"Valid, version 1 of request #{finished_request.pk}." in out.getvalue()
    path.write_bytes(
        certificate_render.render_pdf(legacy_certificate(finished_request, detached=True))
    )
    with pytest.raises(CommandError, match="carries no certificate"):
        call_command("verify_certificate", str(path))


def test_certificates_name_roles_and_hold_no_usernames_and_no_free_text(
    workspace, customer, client_of, django_capture_on_commit_callbacks
):
    requester = customer_user(
        customer, username="requester-kw73p", email="requester-kw73p@example.com"
    )
    approver = staff_user("approver", username="approver-zq81x", email="zq81x@example.com")
    req = submitted_request(
        workspace,
        customer,
        requester,
        runs=2,
        prefix="nt_",
        kind=DeletionRequest.Kind.GDPR,
        subject_ref=SUBJECT,
        reason="REQUEST-REASON-FREE-TEXT-4410",
    )
    with django_capture_on_commit_callbacks(execute=True):
        gdpr.extend_deadline(
            req,
            months=1,
            reason="EXTENSION-REASON-FREE-TEXT-9921",
            actor=approver,
            source=Source.WEB,
        )
        transitions.approve_request(
            req, actor=approver, source=Source.WEB, comment="APPROVAL-COMMENT-FREE-TEXT-3371"
        )
    req = finish(DeletionRequest.objects.get(pk=req.pk))
    assert req.extension_reason == "EXTENSION-REASON-FREE-TEXT-9921"

    client = client_of(requester)
    signed = download(client, req, "json").decode()
    pdf = download(client, req, "pdf")
    attached = certificate_pdf.embedded_certificate(pdf, max_bytes=10**6).decode()
    printed = pdf_text(pdf)
    distinctive = (
        "requester-kw73p",
        "approver-zq81x",
        "zq81x@example.com",
        "EXTENSION-REASON-FREE-TEXT-9921",
        "APPROVAL-COMMENT-FREE-TEXT-3371",
        "REQUEST-REASON-FREE-TEXT-4410",
        SUBJECT,
    )
    for text in (signed, attached, printed, pdf.decode("latin-1")):
        for value in distinctive:
            assert value not in text, value
    doc = json.loads(signed)
    assert [a["role"] for a in doc["approvers"]] == ["operator approver"]
    assert doc["request"]["requested_by"] == "customer member"
    assert doc["dates"]["extended_due_on"] == req.extended_due_on.isoformat()
    assert "extension_reason" not in doc["dates"]
    assert "Approved by operator approver" in printed
    assert "Requested by customer member" in printed


def run_script(tmp_path: Path, certificate: bytes, keys: bytes) -> subprocess.CompletedProcess[str]:
    (tmp_path / "certificate.json").write_bytes(certificate)
    (tmp_path / "keys.json").write_bytes(keys)
    return subprocess.run(
        [sys.executable, str(SCRIPT), "certificate.json", "keys.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_stand_alone_script_verifies_with_only_the_published_keys(
    tmp_path, client_of, member, finished_request
):
    client = client_of(member)
    # Through the real issuance path: the customer downloads the certificate, which issues it.
    certificate = download(client, finished_request, "json")
    keys = client_of(None).get(KEYS_URL).content

    valid = run_script(tmp_path, certificate, keys)
    assert valid.stdout.split(":")[0] == "valid", valid.stdout + valid.stderr
    assert valid.returncode == 0
    assert f"request #{finished_request.pk}, version 1" in valid.stdout
    # The JSON attached to the PDF is the same certificate.
    attached = certificate_pdf.embedded_certificate(
        download(client, finished_request, "pdf"), max_bytes=10**6
    )
    assert run_script(tmp_path, attached, keys).stdout.startswith("valid:")

    # One byte of a run id changed.
    run_id = json.loads(certificate)["runs"][0]["run_id"].encode()
    tampered = certificate.replace(run_id, run_id[:-1] + b"X", 1)
    assert tampered != certificate
    result = run_script(tmp_path, tampered, keys)
    assert result.stdout.split(":")[0] == "invalid" and result.returncode == 1
    assert "does not match the content" in result.stdout

    # Signed with a key that is not in the published list.
    forged = json.dumps(resigned(json.loads(certificate), Ed25519PrivateKey.generate()))
    result = run_script(tmp_path, forged.encode(), keys)
    assert result.stdout.split(":")[0] == "invalid" and result.returncode == 1
    assert "which the key list does not hold" in result.stdout

    # A certificate issued before signatures cannot be checked without the portal.
    legacy = legacy_certificate(finished_request, detached=True)
    legacy_text = certificates.signed_json(legacy).encode()
    assert run_script(tmp_path, legacy_text, keys).stdout.startswith(
        "invalid: no Ed25519 signature"
    )


def test_the_readme_shows_the_script_that_the_tests_run():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Verifying a certificate", 1)[1].split("\n## ", 1)[0]
    assert "docs/verify_certificate.py" in section
    assert "/.well-known/erasure-certificate-keys.json" in section
    # The README's copy of the script's check is the script's own.
    script = SCRIPT.read_text()
    body = script[script.index("def check(") : script.index("def main(")].strip()
    assert body in section
