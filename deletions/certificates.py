"""Certificates of erasure: a JSON document of what was deleted, when, and on whose approval,
with an integrity code (HMAC-SHA256 under ``CERTIFICATE_SIGNING_KEY``) over its canonical form.

The issued document is stored (:class:`~deletions.models.Certificate`) so it stays verifiable
after the request's items and attempts are purged. It names no document contents, and file
names only when ``CERTIFICATE_INCLUDE_FILE_NAMES`` is on. The PDF is a rendering of the JSON:
totals and the first ``CERTIFICATE_PDF_MAX_RUNS`` runs; the JSON holds them all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.utils import timezone

from deletions import audit
from deletions.errors import RuleViolation
from deletions.models import (
    Approval,
    Certificate,
    DeletionAttempt,
    DeletionItem,
    DeletionRequest,
    ErasureIntake,
    Source,
)

FORMAT = "extend-deletion-portal/certificate-of-erasure/v1"
FINISHED = frozenset(
    {DeletionRequest.Status.COMPLETED, DeletionRequest.Status.COMPLETED_WITH_FAILURES}
)


def canonical(doc: dict[str, Any]) -> str:
    """The one serialisation the integrity code covers."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def integrity_code(doc: dict[str, Any]) -> str:
    key = settings.CERTIFICATE_SIGNING_KEY.encode()
    return hmac.new(key, canonical(doc).encode(), hashlib.sha256).hexdigest()


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def build_document(req: DeletionRequest) -> dict[str, Any]:
    """The certificate's content for finished request *req* (without its integrity code)."""
    items = (
        DeletionItem.objects.filter(request=req)
        .select_related("parse_run__workspace")
        .order_by("id")
    )
    with_names = settings.CERTIFICATE_INCLUDE_FILE_NAMES
    runs: list[dict[str, Any]] = []
    for item in items.iterator(chunk_size=2000):
        run: dict[str, Any] = {
            "run_id": item.parse_run.run_id,
            "workspace": item.parse_run.workspace.name,
            "outcome": item.status,
            "deleted_at": _iso(item.confirmed_at),
            "extend_request_id": item.last_request_id or None,
            "verified_absent_at": _iso(item.verified_at),
        }
        if with_names:
            run["file_name"] = item.parse_run.file_name
        runs.append(run)
    approvals = Approval.objects.filter(request=req, decision=Approval.Decision.APPROVE)
    attempts = DeletionAttempt.objects.filter(
        item__request=req, kind=DeletionAttempt.Kind.DELETE
    ).aggregate(first=Min("started_at"), last=Max("started_at"))
    first, last = attempts["first"], attempts["last"]
    intake = ErasureIntake.objects.filter(request=req).first()
    return {
        "format": FORMAT,
        "issuer": settings.SITE_NAME,
        "request": {
            "id": req.pk,
            "kind": req.kind,
            "status": req.status,
            "scope": req.scope,
            "data_subject": req.subject_ref_hint or None,
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
            "extended_due_on": _iso(req.extended_due_on),
            "extension_reason": req.extension_reason or None,
        },
        "approvers": [
            {"username": a.approver.get_username(), "approved_at": _iso(a.created_at)}
            for a in approvals.select_related("approver")
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
        "totals": {
            "runs": req.item_count,
            "deleted": req.deleted_count,
            "already_gone": req.already_gone_count,
            "failed": req.failed_count,
            "verified_absent": sum(1 for r in runs if r["verified_absent_at"]),
        },
        "runs": runs,
        "includes_file_names": with_names,
    }


def issue(req: DeletionRequest, *, actor: Any = None, source: str = Source.SYSTEM) -> Certificate:
    """The request's certificate, issued now if it has none yet (only for finished requests)."""
    existing = Certificate.objects.filter(request=req).first()
    if existing is not None:
        return existing
    if req.status not in FINISHED:
        raise RuleViolation(
            f"Request #{req.pk} is {req.get_status_display().lower()}; a certificate is issued "
            "when it has finished."
        )
    if req.records_purged_at is not None:
        raise RuleViolation(f"Request #{req.pk}'s records were purged before a certificate.")
    issued_at = timezone.now()
    doc = build_document(req)
    doc["issued_at"] = issued_at.isoformat()
    try:
        with transaction.atomic():
            cert = Certificate.objects.create(
                request=req,
                request_number=req.pk,
                issued_at=issued_at,
                document=canonical(doc),
                hmac=integrity_code(doc),
            )
            audit.record(
                "certificate.issued",
                obj=cert,
                actor=actor,
                source=source,
                request=req,
                detail={"runs": len(doc["runs"]), "hmac": cert.hmac},
            )
    except IntegrityError:  # issued concurrently
        return Certificate.objects.get(request=req)
    return cert


def signed_json(cert: Certificate) -> str:
    """The downloadable JSON: the document plus its integrity code, indented for reading."""
    doc = json.loads(cert.document)
    doc["integrity"] = {
        "algorithm": "HMAC-SHA256",
        "covers": "the document without this 'integrity' member, serialised as "
        'json.dumps(doc, sort_keys=True, separators=(",", ":"))',
        "code": cert.hmac,
    }
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class Verification:
    valid: bool
    message: str
    request_number: int | None = None
    issued_at: str | None = None


def verify(text: str | bytes) -> Verification:
    """Check a downloaded certificate: is it well-formed and does its integrity code match?"""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        doc = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        return Verification(False, "This is not a certificate: it is not valid JSON.")
    if not isinstance(doc, dict) or not isinstance(doc.get("integrity"), dict):
        return Verification(False, "This is not a certificate: it has no integrity code.")
    claimed = str(doc.pop("integrity").get("code", ""))
    expected = integrity_code(doc)
    request: dict[str, Any] = doc["request"] if isinstance(doc.get("request"), dict) else {}
    number = request["id"] if isinstance(request.get("id"), int) else None
    issued_at = doc.get("issued_at") if isinstance(doc.get("issued_at"), str) else None
    if not hmac.compare_digest(claimed, expected):
        return Verification(
            False,
            "Tampered or not issued by this portal: the integrity code does not match the content.",
            number,
            issued_at,
        )
    return Verification(True, "Valid: the content is exactly as issued.", number, issued_at)


# --- PDF -------------------------------------------------------------------------------------


def render_pdf(cert: Certificate) -> bytes:
    """A printable rendering: dates, approvers, totals and the first runs; the JSON holds all."""
    from fpdf import FPDF

    doc = json.loads(cert.document)
    limit = settings.CERTIFICATE_PDF_MAX_RUNS
    pdf = FPDF(format="A4")
    pdf.set_title(f"Certificate of erasure - request #{doc['request']['id']}")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, "Certificate of erasure", new_x="LMARGIN", new_y="NEXT")
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

    req, dates, totals = doc["request"], doc["dates"], doc["totals"]
    line("Issuer", doc["issuer"])
    line("Request", f"#{req['id']} ({req['kind']}, {req['status']})")
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
        ("extension_reason", "Extension reason"),
    ):
        if dates.get(key) or key in ("received_on", "approved_at", "completed_at"):
            line(label, dates.get(key))
    line("Approved by", ", ".join(a["username"] for a in doc["approvers"]) or "-")
    for recipient in doc["recipients_notified"]:
        line("Art. 19 notification", recipient["statement"])
    line(
        "Totals",
        f"{totals['runs']:,} runs: {totals['deleted']:,} deleted, {totals['already_gone']:,} "
        f"already gone, {totals['failed']:,} failed; {totals['verified_absent']:,} verified absent",
    )
    line("Issued", doc.get("issued_at"))
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
    pdf.set_font("Courier", "", 7.5)
    for run in shown:
        pdf.cell(
            0,
            4.5,
            _latin(
                f"{run['run_id'][:40]:<40} {run['outcome']:<13} "
                f"deleted {(run['deleted_at'] or '-')[:19]:<19} "
                f"verified {(run['verified_absent_at'] or '-')[:19]:<19} "
                f"req {run['extend_request_id'] or '-'}"
            )[:150],
            new_x="LMARGIN",
            new_y="NEXT",
        )
    pdf.ln(3)
    pdf.set_font("Helvetica", "I", 8)
    pdf.multi_cell(
        0,
        4,
        "Verify the JSON certificate at /certificates/verify/ or with "
        "'python manage.py verify_certificate FILE'. No document contents are included.",
    )
    return bytes(pdf.output())


def _latin(text: str) -> str:
    """The PDF's core fonts are Latin-1: replace what they cannot show."""
    return text.replace("•", "*").encode("latin-1", "replace").decode("latin-1")
