"""Checking a certificate of erasure: the JSON (or the PDF that carries it) against the published
Ed25519 keys, or an older one against its integrity code; what the verify page, the API and
``manage.py verify_certificate`` answer."""

from __future__ import annotations

import dataclasses
import hmac
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Max

from deletions.core import bounded_json
from deletions.gdpr import certificate_keys, certificate_pdf
from deletions.gdpr.certificate_render import files_sentence, totals_sentence
from deletions.gdpr.certificates import UNSIGNED, canonical, integrity_code
from deletions.models import Certificate


@dataclass(frozen=True)
class Verification:
    valid: bool
    message: str
    request_number: int | None = None
    issued_at: str | None = None
    version: int | None = None
    # Which version superseded this one, when, and the request's latest version (from our
    # records: the document itself cannot know).
    superseded_by: int | None = None
    superseded_at: str | None = None
    latest_version: int | None = None
    # False when the text could not be read as JSON at all (not JSON, or nested too deeply).
    readable: bool = True
    # How it was signed: "Ed25519" with the key's id and status, or "HMAC-SHA256" (legacy).
    algorithm: str | None = None
    kid: str | None = None
    key_status: str | None = None
    # What a valid certificate says, to compare with a PDF's printed pages; and whether the
    # certificate was found inside an uploaded PDF.
    customer: str | None = None
    totals: str | None = None
    # What the uploaded files section says, in words (certificates from v4 on).
    files: str | None = None
    from_pdf: bool = False

    @property
    def summary(self) -> str:
        """One line: "Valid, version 1 of request #7; superseded by version 2 issued at ..." """
        head = "Valid" if self.valid else "Not valid"
        if self.request_number is not None:
            head += f", version {self.version or 1} of request #{self.request_number}"
        if self.superseded_by is not None:
            head += f"; superseded by version {self.superseded_by} issued at {self.superseded_at}"
            if self.latest_version and self.latest_version != self.superseded_by:
                head += f" (the latest is version {self.latest_version})"
        return f"{head}. {self.message}"


def verify(text: str | bytes) -> Verification:
    """Check a downloaded certificate: is it well-formed and does its signature (by one of the
    portal's published keys) or, issued before signatures, its integrity code match? For a valid
    one, also say whether a later version has superseded it. Its size is the caller's to bound
    (the verify page does); its nesting is bounded here."""
    try:
        doc = bounded_json.loads(text, max_bytes=None)
    except bounded_json.TooDeep:
        return Verification(
            False, "This is not a certificate: it is nested too deeply.", readable=False
        )
    except bounded_json.JSONRefused:
        return Verification(
            False, "This is not a certificate: it is not valid JSON.", readable=False
        )
    if not isinstance(doc, dict):
        return Verification(False, "This is not a certificate: it has no signature.")
    signature, integrity = doc.get("signature"), doc.get("integrity")
    for member in UNSIGNED:
        doc.pop(member, None)
    request: dict[str, Any] = doc["request"] if isinstance(doc.get("request"), dict) else {}
    number = request["id"] if isinstance(request.get("id"), int) else None
    issued_at = doc.get("issued_at") if isinstance(doc.get("issued_at"), str) else None
    # Certificates issued before versions existed are version 1.
    version = doc["version"] if isinstance(doc.get("version"), int) else 1
    if isinstance(signature, dict):
        claimed = str(signature.get("value", ""))
        kid = str(signature.get("kid", ""))
        problem = (
            f"It names the algorithm {str(signature.get('algorithm'))[:20]!r}, not Ed25519."
            if signature.get("algorithm") != certificate_keys.ALG
            else certificate_keys.check(kid, claimed, canonical(doc).encode())
        )
        algorithm, key = certificate_keys.ALG, kid[:16] or None
        record_filter: dict[str, Any] = {"signature": claimed}
    elif isinstance(integrity, dict):
        claimed = str(integrity.get("code", ""))
        problem = _legacy_problem(doc, claimed)
        algorithm, key = "HMAC-SHA256", None
        record_filter = {"hmac": claimed}
    else:
        return Verification(False, "This is not a certificate: it has no signature.")
    if problem is not None:
        return Verification(
            False, problem, number, issued_at, version, algorithm=algorithm, kid=key
        )
    successor, latest_version = None, None
    if number is not None:
        record = (
            Certificate.objects.filter(request_number=number, version=version, **record_filter)
            .select_related("superseded_by")
            .defer("document", "superseded_by__document")
            .first()
        )
        successor = record.superseded_by if record is not None else None
        if successor is not None:
            latest_version = (
                Certificate.objects.filter(request_number=number)
                .aggregate(latest=Max("version"))
                .get("latest")
            )
    return Verification(
        True,
        "The content is exactly as issued.",
        number,
        issued_at,
        version,
        successor.version if successor is not None else None,
        successor.issued_at.isoformat() if successor is not None else None,
        latest_version,
        algorithm=algorithm,
        kid=key,
        key_status=_key_status(key),
        customer=_customer(doc),
        totals=_totals(doc),
        files=_files(doc),
    )


def _legacy_problem(doc: dict[str, Any], claimed: str) -> str | None:
    """Why a certificate issued before signatures does not verify, or None if it does."""
    if not settings.CERTIFICATE_SIGNING_KEY:
        # An empty HMAC key is a key anyone can use: never accept a code made with it.
        return (
            "It was issued before certificates were signed, with an integrity code this portal "
            "can no longer check (its key, CERTIFICATE_SIGNING_KEY, is not configured)."
        )
    if not hmac.compare_digest(claimed, integrity_code(doc)):
        return (
            "Tampered or not issued by this portal: the integrity code does not match the content."
        )
    return None


def _key_status(kid: str | None) -> str | None:
    if kid is None:
        return None
    if kid == certificate_keys.signing_key().kid:
        return certificate_keys.CURRENT
    return certificate_keys.RETIRED


def _customer(doc: dict[str, Any]) -> str | None:
    customer = doc.get("customer")
    if not isinstance(customer, dict) or not isinstance(customer.get("name"), str):
        return None
    return str(customer["name"])


def _totals(doc: dict[str, Any]) -> str | None:
    try:
        return totals_sentence(doc)
    except (KeyError, TypeError, AttributeError):
        return None


def _files(doc: dict[str, Any]) -> str | None:
    try:
        return files_sentence(doc)
    except (KeyError, TypeError, AttributeError):
        return None


def verify_upload(data: bytes) -> Verification:
    """Check an uploaded file: a PDF certificate (its attached signed JSON is checked) or the
    JSON itself. The caller bounds *data* to ``CERTIFICATE_VERIFY_MAX_BYTES``; the JSON inside a
    PDF is held to the same limit (:class:`certificate_pdf.TooLarge` beyond)."""
    if not certificate_pdf.is_pdf(data):
        return verify(data)
    try:
        embedded = certificate_pdf.embedded_certificate(
            data, max_bytes=settings.CERTIFICATE_VERIFY_MAX_BYTES
        )
    except certificate_pdf.TooLarge:
        raise
    except certificate_pdf.NotReadable as exc:
        return Verification(False, str(exc), readable=False, from_pdf=True)
    result = verify(embedded)
    return dataclasses.replace(result, from_pdf=True)
