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
proof) is never certified. From v4, an "uploaded files" section says which of the request's
files were erased, kept and why, or that files were not part of the request
(:mod:`.certificate_files`); a request whose files are still in progress is never certified.
No document contents are named, and file names only when ``CERTIFICATE_INCLUDE_FILE_NAMES`` is
on. People are named by role, never by username, and no free text goes in (no extension
reason): a certificate is handed to third parties and kept for years.
This module builds the document and keeps its versions (one thing: what a version says and when
a new one is due are decided together). Checking a certificate is :mod:`.certificate_checks`;
its PDF, a rendering of the JSON (totals and the first ``CERTIFICATE_PDF_MAX_RUNS`` runs) that
carries the signed JSON, all runs included, as an attachment the verify page reads, is
:mod:`.certificate_render`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.urls import reverse
from django.utils import timezone

from deletions import audit
from deletions.core.errors import RuleViolation
from deletions.gdpr import (
    certificate_files,
    certificate_keys,
    certificate_roles,
    certificate_states,
)
from deletions.gdpr.certificate_files import FilesInProgress as FilesInProgress
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

# v3: signed with Ed25519; roles instead of usernames; no extension reason. v4: the uploaded
# files section ("files").
FORMAT = "extend-deletion-portal/certificate-of-erasure/v4"
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

    request_block: dict[str, Any] = {
        "id": req.pk,
        "kind": req.kind,
        "status": req.status,
        "scope": req.scope,
        "data_subject": req.subject_ref_hint or None,
        "requested_by": requested_by,
    }
    if req.retention_policy_id is not None:
        # A retention request was asked for by no one: its policy, approved in advance, is why.
        policy = req.retention_policy
        assert policy is not None
        request_block["retention_policy"] = {
            "id": policy.pk,
            "name": policy.name,
            "version": req.policy_version,
            "rule": policy.rule_text,
            "cut_off": req.scope_filter.get("cut_off"),
        }
    return {
        "format": FORMAT,
        "issuer": settings.SITE_NAME,
        "request": request_block,
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
        "files": certificate_files.section(req),
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
    details may differ). A request without files digests as before they were certified."""
    said: dict[str, Any] = {
        "status": doc["request"]["status"],
        "completed_at": doc["dates"]["completed_at"],
        "notified": doc["recipients_notified"],
        "totals": doc["totals"],
        "runs": [{k: v for k, v in r.items() if k != "file_name"} for r in doc["runs"]],
    }
    files = certificate_files.digest_part(doc)
    if files is not None:
        said["files"] = files
    return _digest(said)


def item_states(req: DeletionRequest) -> list[dict[str, Any]]:
    """The request's items grouped by status, with what else a certificate's runs depend on,
    from one aggregate query."""
    return certificate_states.grouped(
        DeletionItem.objects.filter(request=req), "status", "answer_lost"
    )


def state_stamp(
    req: DeletionRequest,
    states: list[dict[str, Any]],
    file_states: list[dict[str, Any]] | None = None,
) -> str:
    """A digest of the request's end state, its *states* and, when it erases files, its
    *file_states*: whatever changes a certificate's runs or files changes this (a retry or a
    reopened request also moves ``finished_at``, a late verification moves the newest
    ``verified_at``). Without files it is what it was before files were certified."""
    if file_states is None:
        return _digest([req.status, _iso(req.finished_at), states])
    return _digest([req.status, _iso(req.finished_at), states, file_states])


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
    that has unconfirmed runs (:class:`UnconfirmedRuns`) or uploaded files still in progress
    (:class:`FilesInProgress`). Two concurrent calls give one version.
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
    file_states = certificate_files.states(req) if req.erase_files else None
    if file_states is not None:
        certificate_files.check(req, file_states)
    stamp = state_stamp(req, states, file_states)
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
            **({"files": len(doc["files"]["files"])} if req.erase_files else {}),
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
    runs, files in progress). Raises :class:`RuleViolation` if there is none."""
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
