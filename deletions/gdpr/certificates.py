"""Certificates of erasure: a JSON document of what was deleted, when, and on whose approval,
signed with Ed25519 over its canonical form (sorted keys, compact separators, UTF-8). The
signature and its key id travel with the document; the public keys are published
(:mod:`deletions.gdpr.certificate_keys`), so anyone can verify a certificate without the portal.
Certificates issued before that carry an integrity code (HMAC-SHA256 under
``CERTIFICATE_SIGNING_KEY``) and still verify here.

A certificate follows the truth: a request has versions 1, 2, ... A new version is issued when
the request has finished with an outcome that the latest version does not state (failed runs
retried and deleted, a legal hold lifted, a verification that came in late); otherwise issuing
returns the latest version. Each version is stored (:class:`~deletions.models.Certificate`), so it
stays verifiable after the request's items and attempts are purged, and an issued document never
changes: the successor's document names the version it supersedes, and the old version's link to
its successor is kept beside it, outside what the integrity code covers.

Per run, a certificate keeps apart what Extend told us: deleted (Extend answered our DELETE),
deleted with the answer lost (Extend answered 404 to a retry of our DELETE), already gone; runs
retained under a legal hold (with the customers' wording only, never the hold's reason) and failed
runs. A request that still has unconfirmed runs (a 404 to our first DELETE, evidence and not
proof) is never certified. No document contents are named, and file names only when
``CERTIFICATE_INCLUDE_FILE_NAMES`` is on. People are named by role, never by username, and no free
text goes in (no extension reason): a certificate is handed to third parties and kept for years.
The PDF is a rendering of the JSON (totals and the first ``CERTIFICATE_PDF_MAX_RUNS`` runs) that
carries the signed JSON, all runs included, as an attachment the verify page reads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Min
from django.urls import reverse
from django.utils import timezone

from deletions import audit
from deletions.core import bounded_json
from deletions.core.errors import RuleViolation
from deletions.gdpr import certificate_keys, certificate_pdf, certificate_roles
from deletions.models import (
    Approval,
    Certificate,
    DeletionAttempt,
    DeletionItem,
    DeletionRequest,
    ErasureIntake,
    Source,
)
from deletions.requests.holds import CUSTOMER_NOTICE

# v3: signed with Ed25519; roles instead of usernames; no extension reason.
FORMAT = "extend-deletion-portal/certificate-of-erasure/v3"
FINISHED = frozenset(
    {DeletionRequest.Status.COMPLETED, DeletionRequest.Status.COMPLETED_WITH_FAILURES}
)
# Members of a downloaded certificate that the signature does not cover: the signature (or a
# legacy certificate's integrity code) itself, and the notice that a later version superseded this
# one (added after the document was issued).
UNSIGNED = ("signature", "integrity", "superseded_by")
IS = DeletionItem.Status

# What each run's outcome means, written into every certificate.
DELETED = "deleted"
DELETED_ANSWER_LOST = "deleted_answer_lost"
ALREADY_GONE = "already_gone"
RETAINED = "retained"
FAILED = "failed"
NOT_YET_VERIFIED = "not_yet_verified"
VERIFIED = "verified"
OUTCOMES = {
    DELETED: "Deleted: Extend answered our DELETE with success.",
    DELETED_ANSWER_LOST: "Deleted, answer lost: our DELETE was sent, its answer was lost, and "
    "Extend answered 404 when it was sent again.",
    ALREADY_GONE: "Already gone: Extend answered our first DELETE with 404 (not found), in a "
    "workspace shown to be answering correctly.",
    RETAINED: CUSTOMER_NOTICE,
    FAILED: "Failed: not deleted (Extend refused the DELETE, or it kept failing); the run may "
    "still exist.",
}
VERIFICATIONS = {
    VERIFIED: "Verified absent: a later GET of the run answered 404.",
    NOT_YET_VERIFIED: "Deletion acknowledged, not yet verified: a GET of the run is scheduled.",
}


class UnconfirmedRuns(RuleViolation):
    """The request still has runs whose absence is not proven: it cannot be certified yet."""


def canonical(doc: dict[str, Any]) -> str:
    """The one serialisation the signature covers (signed as UTF-8)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def integrity_code(doc: dict[str, Any]) -> str:
    """The HMAC of certificates issued before Ed25519 signatures (verification only)."""
    key = settings.CERTIFICATE_SIGNING_KEY.encode()
    return hmac.new(key, canonical(doc).encode(), hashlib.sha256).hexdigest()


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _outcome(item: DeletionItem) -> str:
    if item.status == IS.DELETED:
        return DELETED_ANSWER_LOST if item.answer_lost else DELETED
    if item.status == IS.HELD:
        return RETAINED
    return str(item.status)


def _verification(item: DeletionItem, outcome: str) -> str | None:
    if item.verified_at is not None:
        return VERIFIED
    if outcome in (DELETED, DELETED_ANSWER_LOST) and item.verify_due_at is not None:
        return NOT_YET_VERIFIED
    return None


def build_document(req: DeletionRequest) -> dict[str, Any]:
    """The certificate's content for finished request *req*, without the version it is issued
    as (see :func:`issue`) and without its integrity code."""
    items = (
        DeletionItem.objects.filter(request=req)
        .select_related("parse_run__workspace")
        .order_by("id")
    )
    with_names = settings.CERTIFICATE_INCLUDE_FILE_NAMES
    runs: list[dict[str, Any]] = []
    for item in items.iterator(chunk_size=2000):
        outcome = _outcome(item)
        run: dict[str, Any] = {
            "run_id": item.parse_run.run_id,
            "workspace": item.parse_run.workspace.name,
            "outcome": outcome,
            "deleted_at": _iso(item.confirmed_at),
            "extend_request_id": item.last_request_id or None,
            "verification": _verification(item, outcome),
            "verified_absent_at": _iso(item.verified_at),
        }
        if with_names:
            run["file_name"] = item.run_file_name
        runs.append(run)
    approvals = Approval.objects.filter(request=req, decision=Approval.Decision.APPROVE)
    attempts = DeletionAttempt.objects.filter(
        item__request=req, kind=DeletionAttempt.Kind.DELETE
    ).aggregate(first=Min("started_at"), last=Max("started_at"))
    first, last = attempts["first"], attempts["last"]
    intake = ErasureIntake.objects.filter(request=req).first()
    requested_by = certificate_roles.requester_role(
        req.requested_by, from_public_form=intake is not None
    )

    def count(key: str, value: str) -> int:
        return sum(1 for r in runs if r[key] == value)

    return {
        "format": FORMAT,
        "issuer": settings.SITE_NAME,
        "request": {
            "id": req.pk,
            "kind": req.kind,
            "status": req.status,
            "scope": req.scope,
            "data_subject": req.subject_ref_hint or None,
            "requested_by": requested_by,
        },
        "customer": {"name": req.customer.name, "reference": req.customer.external_ref},
        "dates": {
            "received_on": _iso(req.received_on),
            "submitted_at": _iso(req.submitted_at),
            "verified_at": _iso(intake.verified_at) if intake is not None else None,
            "approved_at": _iso(req.approved_at),
            "started_at": _iso(req.started_at),
            "completed_at": _iso(req.finished_at),
            "due_on": _iso(req.due_on),
            # Whether and until when the deadline was extended; its reason is free text, kept
            # in the request's record and told to the data subject, not in the certificate.
            "extended_due_on": _iso(req.extended_due_on),
        },
        "approvers": [
            {
                "role": certificate_roles.approver_role(a.approver),
                "approved_at": _iso(a.created_at),
            }
            for a in approvals.select_related("approver").prefetch_related("approver__groups")
        ],
        "recipients_notified": [
            {
                "recipient": "Extend (processor)",
                "article": "GDPR Art. 19",
                "means": "DELETE /parse_runs/{id}",
                "first_attempt_at": _iso(first),
                "last_attempt_at": _iso(last),
                "statement": (
                    "Extend (processor), notified by DELETE /parse_runs/{id} at "
                    f"{_iso(first) or '-'}..{_iso(last) or '-'}"
                ),
            }
        ],
        "outcomes": {**OUTCOMES, **VERIFICATIONS},
        "totals": {
            "runs": len(runs),
            DELETED: count("outcome", DELETED),
            DELETED_ANSWER_LOST: count("outcome", DELETED_ANSWER_LOST),
            ALREADY_GONE: count("outcome", ALREADY_GONE),
            RETAINED: count("outcome", RETAINED),
            FAILED: count("outcome", FAILED),
            "verified_absent": count("verification", VERIFIED),
            NOT_YET_VERIFIED: count("verification", NOT_YET_VERIFIED),
        },
        "runs": runs,
        "includes_file_names": with_names,
        "verify_at": {"page": verify_page_url(), "keys": keys_url()},
    }


def verify_page_url() -> str:
    return settings.SITE_URL + reverse("certificates:verify")


def keys_url() -> str:
    return settings.SITE_URL + reverse("well_known:certificate_keys")


def outcome_digest(doc: dict[str, Any]) -> str:
    """A digest of what *doc* says happened: the request's end state and every run's outcome.
    Two documents with the same digest certify the same thing (wording settings and customer
    details may differ)."""
    return _digest(
        {
            "status": doc["request"]["status"],
            "completed_at": doc["dates"]["completed_at"],
            "notified": doc["recipients_notified"],
            "totals": doc["totals"],
            "runs": [{k: v for k, v in r.items() if k != "file_name"} for r in doc["runs"]],
        }
    )


def item_states(req: DeletionRequest) -> list[dict[str, Any]]:
    """The request's items grouped by status, with what else a certificate's runs depend on,
    from one aggregate query."""
    return list(
        DeletionItem.objects.filter(request=req)
        .values("status", "answer_lost")
        .annotate(
            n=Count("id"),
            verified=Count("verified_at"),
            verify_due=Count("verify_due_at"),
            last_verified=Max("verified_at"),
            last_confirmed=Max("confirmed_at"),
        )
        .order_by("status", "answer_lost")
    )


def state_stamp(req: DeletionRequest, states: list[dict[str, Any]]) -> str:
    """A digest of the request's end state and its *states*: whatever changes a certificate's
    runs changes this (a retry or a reopened request also moves ``finished_at``, a late
    verification moves the newest ``verified_at``)."""
    return _digest([req.status, _iso(req.finished_at), states])


def versions(req: DeletionRequest) -> list[Certificate]:
    """The request's certificate versions, newest first, without their documents."""
    return list(
        Certificate.objects.filter(request=req)
        .defer("document")
        .select_related("superseded_by")
        .defer("superseded_by__document")
        .order_by("-version")
    )


def latest(req: DeletionRequest) -> Certificate | None:
    return Certificate.objects.filter(request=req).order_by("-version").first()


def get_version(req: DeletionRequest, version: int) -> Certificate | None:
    return (
        Certificate.objects.filter(request=req, version=version)
        .select_related("superseded_by")
        .first()
    )


def issue(req: DeletionRequest, *, actor: Any = None, source: str = Source.SYSTEM) -> Certificate:
    """The request's current certificate: a new version if the request has finished with an
    outcome the latest version does not state, otherwise the latest version.

    Refuses (:class:`RuleViolation`) a request that has not finished and has no version yet, or
    that has unconfirmed runs (:class:`UnconfirmedRuns`). Two concurrent calls give one version.
    """
    try:
        with transaction.atomic():
            return _issue(req, actor=actor, source=source)
    except IntegrityError:
        # Only where rows are not locked (SQLite): a concurrent call issued the same version.
        cert = latest(req)
        if cert is None:
            raise
        return cert


def _issue(req: DeletionRequest, *, actor: Any, source: str) -> Certificate:
    # The request's row lock serialises issues: the second caller sees the first one's version.
    req = (
        DeletionRequest.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(pk=req.pk)
    )
    previous = latest(req)
    if req.records_purged_at is not None:
        if previous is not None:
            return previous
        raise RuleViolation(f"Request #{req.pk}'s records were purged before a certificate.")
    if req.status not in FINISHED:
        raise RuleViolation(
            f"Request #{req.pk} is {req.get_status_display().lower()}; a certificate is issued "
            "when it has finished."
        )
    states = item_states(req)
    unconfirmed = sum(g["n"] for g in states if g["status"] == IS.UNCONFIRMED)
    if unconfirmed:
        raise UnconfirmedRuns(
            f"Request #{req.pk} has {unconfirmed:,} run{'s' if unconfirmed != 1 else ''} that "
            "Extend answered 404 to without proof that they are gone; it is certified once "
            "they are settled."
        )
    stamp = state_stamp(req, states)
    if previous is not None and previous.state_stamp == stamp:
        return previous
    doc = build_document(req)
    digest = outcome_digest(doc)
    if previous is not None and previous.outcome_digest == digest:
        Certificate.objects.filter(pk=previous.pk).update(state_stamp=stamp)
        return previous
    issued_at = timezone.now()
    version = previous.version + 1 if previous is not None else 1
    doc["version"] = version
    doc["issued_at"] = issued_at.isoformat()
    doc["supersedes"] = _reference(previous) if previous is not None else None
    document = canonical(doc)
    kid, signature = certificate_keys.sign(document.encode())
    cert = Certificate.objects.create(
        request=req,
        request_number=req.pk,
        version=version,
        issued_at=issued_at,
        document=document,
        signature=signature,
        kid=kid,
        outcome_digest=digest,
        state_stamp=stamp,
    )
    if previous is not None:
        Certificate.objects.filter(pk=previous.pk).update(superseded_by=cert)
    audit.record(
        "certificate.issued",
        obj=cert,
        actor=actor,
        source=source,
        request=req,
        detail={
            "version": version,
            "supersedes": previous.version if previous is not None else None,
            "runs": len(doc["runs"]),
            "kid": kid,
            "signature": signature,
        },
    )
    return cert


def _reference(cert: Certificate) -> dict[str, Any]:
    """How a successor names the version it supersedes: by its signature (or, for a version
    issued before signatures, its integrity code)."""
    ref: dict[str, Any] = {"version": cert.version, "issued_at": cert.issued_at.isoformat()}
    if cert.signature:
        ref["signature"] = cert.signature
    else:
        ref["integrity_code"] = cert.hmac
    return ref


def current(req: DeletionRequest, *, actor: Any = None, source: str = Source.SYSTEM) -> Certificate:
    """The version that pages and downloads show as "the certificate": :func:`issue`'s answer,
    or the latest version while the request cannot be certified (running again, unconfirmed
    runs). Raises :class:`RuleViolation` if there is none."""
    try:
        return issue(req, actor=actor, source=source)
    except RuleViolation:
        cert = latest(req)
        if cert is None:
            raise
        return cert


def superseded_notice(cert: Certificate) -> str | None:
    """The sentence that says a later version replaced *cert*, if one did."""
    successor = cert.superseded_by
    if successor is None:
        return None
    return f"Superseded by version {successor.version} issued at {successor.issued_at.isoformat()}."


def file_name(cert: Certificate, extension: str) -> str:
    """A download's name: the request, and the version from version 2 on."""
    version = f"-v{cert.version}" if cert.version > 1 else ""
    return f"certificate-of-erasure-{cert.request_number}{version}.{extension}"


def signed_json(cert: Certificate) -> str:
    """The downloadable JSON: the document plus its signature and key id (or, issued before
    signatures, its integrity code), indented for reading; an old version also says which
    version superseded it (a member the signature does not cover)."""
    doc = json.loads(cert.document)
    if cert.signature:
        doc["signature"] = {
            "algorithm": certificate_keys.ALG,
            "kid": cert.kid,
            "value": cert.signature,
            "encoding": "unpadded base64url",
            "covers": "the document without its 'signature', 'integrity' and 'superseded_by' "
            'members, serialised as json.dumps(doc, sort_keys=True, separators=(",", ":"), '
            "ensure_ascii=False) and encoded as UTF-8",
            "keys": keys_url(),
        }
    else:
        doc["integrity"] = {
            "algorithm": "HMAC-SHA256",
            "covers": "the document without its 'integrity' and 'superseded_by' members, "
            'serialised as json.dumps(doc, sort_keys=True, separators=(",", ":"))',
            "code": cert.hmac,
        }
    successor = cert.superseded_by
    if successor is not None:
        doc["superseded_by"] = {
            "version": successor.version,
            "issued_at": successor.issued_at.isoformat(),
            "note": f"{superseded_notice(cert)} This note is not covered by the signature; "
            "the verify page tells the current standing of any version.",
        }
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


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


# --- PDF -------------------------------------------------------------------------------------

# How the PDF names each outcome in its run list (v1 documents used the item statuses).
PDF_OUTCOMES = {
    DELETED: "deleted",
    DELETED_ANSWER_LOST: "deleted, answer lost",
    ALREADY_GONE: "already gone",
    RETAINED: "retained",
    FAILED: "failed",
    "held": "retained",
}


def totals_sentence(doc: dict[str, Any]) -> str:
    """The totals in words, every outcome kept apart."""
    totals: dict[str, int] = doc["totals"]
    retained = doc.get("outcomes", {}).get(RETAINED, CUSTOMER_NOTICE)
    parts = [
        f"{totals.get(DELETED, 0):,} deleted",
        f"{totals.get(DELETED_ANSWER_LOST, 0):,} deleted (answer lost)",
        f"{totals.get(ALREADY_GONE, 0):,} already gone",
        f"{totals.get(RETAINED, 0):,} {retained[:1].lower()}{retained[1:]}",
        f"{totals.get(FAILED, 0):,} failed",
    ]
    checks = f"{totals.get('verified_absent', 0):,} verified absent"
    if totals.get(NOT_YET_VERIFIED):
        checks += f", {totals[NOT_YET_VERIFIED]:,} deletion acknowledged, not yet verified"
    return f"{totals['runs']:,} runs: {', '.join(parts)}; {checks}"


def run_line(run: dict[str, Any]) -> str:
    """One run as a line of the PDF's list."""
    outcome = PDF_OUTCOMES.get(run["outcome"], run["outcome"])
    if run.get("verification") == NOT_YET_VERIFIED:
        check = "not yet verified"
    else:
        check = f"verified {(run.get('verified_absent_at') or '-')[:19]}"
    return (
        f"{run['run_id'][:40]:<40} {outcome:<20} "
        f"deleted {(run['deleted_at'] or '-')[:19]:<19} {check:<28} "
        f"req {run['extend_request_id'] or '-'}"
    )


def render_pdf(cert: Certificate) -> bytes:
    """A printable rendering: version, dates, approvers, totals and the first runs; the signed
    JSON, attached, holds all. An old version says which version superseded it."""
    from fpdf import FPDF

    doc = json.loads(cert.document)
    limit = settings.CERTIFICATE_PDF_MAX_RUNS
    version = doc.get("version", 1)
    pdf = FPDF(format="A4")
    pdf.set_title(f"Certificate of erasure - request #{doc['request']['id']}, version {version}")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, "Certificate of erasure", new_x="LMARGIN", new_y="NEXT")
    notice = superseded_notice(cert)
    if notice is not None:
        pdf.set_font("Helvetica", "B", 11)
        pdf.set_text_color(160, 0, 0)
        pdf.multi_cell(
            0,
            6,
            _latin(f"SUPERSEDED: this is version {version}. {notice} Use the latest version."),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_text_color(0, 0, 0)
    pdf.set_font("Helvetica", "", 10)

    def line(label: str, value: object) -> None:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(55, 6, _latin(label))
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(
            0,
            6,
            _latin("-" if value in (None, "") else str(value)),
            new_x="LMARGIN",
            new_y="NEXT",
        )

    req, dates = doc["request"], doc["dates"]
    line("Issuer", doc["issuer"])
    line("Request", f"#{req['id']} ({req['kind']}, {req['status']})")
    supersedes = doc.get("supersedes")
    line(
        "Version",
        f"{version}, superseding version {supersedes['version']} issued at "
        f"{supersedes['issued_at']}"
        if supersedes
        else version,
    )
    line("Customer", f"{doc['customer']['name']} ({doc['customer']['reference']})")
    if req.get("data_subject"):
        line("Data subject", req["data_subject"])
    for key, label in (
        ("received_on", "Received"),
        ("verified_at", "Verified"),
        ("approved_at", "Approved"),
        ("completed_at", "Completed"),
        ("due_on", "Due"),
        ("extended_due_on", "Extended to"),
        # Only in certificates issued before v3, which are rendered as they were issued.
        ("extension_reason", "Extension reason"),
    ):
        if dates.get(key) or key in ("received_on", "approved_at", "completed_at"):
            line(label, dates.get(key))
    if req.get("requested_by"):
        line("Requested by", req["requested_by"])
    # By role from v3 on; certificates issued before named the approvers' usernames.
    line(
        "Approved by",
        ", ".join(str(a.get("role") or a.get("username")) for a in doc["approvers"]) or "-",
    )
    for recipient in doc["recipients_notified"]:
        line("Art. 19 notification", recipient["statement"])
    line("Totals", totals_sentence(doc))
    for code, meaning in doc.get("outcomes", {}).items():
        line(f"  {PDF_OUTCOMES.get(code, code.replace('_', ' '))}", meaning)
    line("Issued", doc.get("issued_at"))
    if cert.signature:
        line("Signature", f"Ed25519, key {cert.kid}: {cert.signature}")
    else:
        line("Integrity code", f"HMAC-SHA256 {cert.hmac}")
    pdf.ln(3)
    runs = doc["runs"]
    pdf.set_font("Helvetica", "B", 11)
    shown = runs[:limit]
    heading = f"Parse runs ({len(runs):,})"
    if len(runs) > limit:
        heading = (
            f"Parse runs: the first {limit:,} of {len(runs):,}; the JSON certificate lists all"
        )
    pdf.cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Courier", "", 6)
    for run in shown:
        pdf.cell(0, 4, _latin(run_line(run))[:170], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "I", 8)
    if cert.signature:
        attachment = file_name(cert, "json")
        pdf.multi_cell(
            0,
            4,
            _latin(
                f"This PDF carries the signed certificate, every run included, as the attached "
                f"file {attachment}. Anyone can verify this PDF or that file at the address "
                "below, or with the portal's published public keys "
                f"({keys_url()}). No document contents are included."
            ),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        # Attached as a PDF file attachment (an embedded file in the document's name tree), so
        # viewers list it and a copy of the PDF keeps it.
        pdf.embed_file(
            bytes=signed_json(cert).encode(),
            basename=attachment,
            mime_type="application/json",
            desc="Signed certificate of erasure (JSON)",
            modification_date=cert.issued_at,
            compress=True,
        )
    else:
        pdf.multi_cell(
            0,
            4,
            "Verify the JSON certificate at the address below or with "
            "'python manage.py verify_certificate FILE'. No document contents are included.",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    url = verify_page_url()
    pdf.set_font("Helvetica", "U", 9)
    pdf.set_text_color(0, 0, 160)
    pdf.cell(0, 6, _latin(f"Verify: {url}"), link=url, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    return bytes(pdf.output())


def _latin(text: str) -> str:
    """The PDF's core fonts are Latin-1: replace what they cannot show."""
    return text.replace("•", "*").encode("latin-1", "replace").decode("latin-1")
