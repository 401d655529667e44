"""The PDF of a certificate of erasure: a rendering of its JSON (totals and the first
``CERTIFICATE_PDF_MAX_RUNS`` runs) with the signed JSON, all runs included, attached for the
verify page and the verify link printed."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from deletions.gdpr.certificates import (
    ALREADY_GONE,
    DELETED,
    DELETED_ANSWER_LOST,
    FAILED,
    NOT_YET_VERIFIED,
    RETAINED,
    file_name,
    keys_url,
    signed_json,
    superseded_notice,
    verify_page_url,
)
from deletions.models import Certificate
from deletions.requests.holds import CUSTOMER_NOTICE

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
    if policy := req.get("retention_policy"):
        line(
            "Retention policy",
            f"#{policy['id']} {policy['name']} (version {policy['version']}): {policy['rule']}, "
            f"runs before {policy.get('cut_off') or '-'}",
        )
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
