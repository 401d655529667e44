"""The PDF of a certificate of erasure: a rendering of its JSON (totals, the first
``CERTIFICATE_PDF_MAX_RUNS`` runs and, from v4, the uploaded files section with as many files)
with the signed JSON, all runs and files included, attached for the verify page and the verify
link printed."""

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
    words = f"{retained[:1].lower()}{retained[1:]}"
    return f"{totals['runs']:,} runs: {_outcomes_in_words(totals, RETAINED, words)}"


def _outcomes_in_words(totals: dict[str, int], kept: str, kept_words: str) -> str:
    """'4 deleted, 0 deleted (answer lost), 1 already gone, 0 <kept_words>, 0 failed;
    4 verified absent': the outcomes of runs or of files (those not deleted on purpose are
    counted under *kept*)."""
    parts = [
        f"{totals.get(DELETED, 0):,} deleted",
        f"{totals.get(DELETED_ANSWER_LOST, 0):,} deleted (answer lost)",
        f"{totals.get(ALREADY_GONE, 0):,} already gone",
        f"{totals.get(kept, 0):,} {kept_words}",
        f"{totals.get(FAILED, 0):,} failed",
    ]
    checks = f"{totals.get('verified_absent', 0):,} verified absent"
    if totals.get(NOT_YET_VERIFIED):
        checks += f", {totals[NOT_YET_VERIFIED]:,} deletion acknowledged, not yet verified"
    return f"{', '.join(parts)}; {checks}"


# How the PDF names each file outcome in its file list.
PDF_FILE_OUTCOMES = {**PDF_OUTCOMES, "kept": "kept"}


def files_sentence(doc: dict[str, Any]) -> str | None:
    """The uploaded files section in words: its totals, or that files were not part of the
    request; None for certificates issued before the section existed (v3 and earlier)."""
    files = doc.get("files")
    if not isinstance(files, dict):
        return None
    if not files.get("erased_with_runs"):
        return str(files.get("statement") or "Uploaded files were not part of this request.")
    totals: dict[str, int] = files["totals"]
    return f"{totals['files']:,} uploaded files: {_outcomes_in_words(totals, 'kept', 'kept')}"


def file_line(file: dict[str, Any]) -> str:
    """One uploaded file as a line of the PDF's list: erased with its DELETE's request id and
    times, kept with why."""
    outcome = PDF_FILE_OUTCOMES.get(file["outcome"], file["outcome"])
    head = f"{file['file_id'][:40]:<40} {outcome:<20} "
    if file["outcome"] == "kept":
        return head + (file.get("kept_why") or "-")
    return head + _when_and_request(file)


def _when_and_request(entry: dict[str, Any]) -> str:
    """'deleted <time> verified <time> req <id>', for a run or a file."""
    if entry.get("verification") == NOT_YET_VERIFIED:
        check = "not yet verified"
    else:
        check = f"verified {(entry.get('verified_absent_at') or '-')[:19]}"
    return (
        f"deleted {(entry['deleted_at'] or '-')[:19]:<19} {check:<28} "
        f"req {entry['extend_request_id'] or '-'}"
    )


def run_line(run: dict[str, Any]) -> str:
    """One run as a line of the PDF's list."""
    outcome = PDF_OUTCOMES.get(run["outcome"], run["outcome"])
    return f"{run['run_id'][:40]:<40} {outcome:<20} " + _when_and_request(run)


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
    files = doc.get("files") if isinstance(doc.get("files"), dict) else None
    if files is not None and files.get("erased_with_runs"):
        line(
            "Files deleted by",
            f"{files['means']} at {files['first_attempt_at'] or '-'}.."
            f"{files['last_attempt_at'] or '-'}",
        )
    line("Totals", totals_sentence(doc))
    if files is not None:
        line("Uploaded files", files_sentence(doc))
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
    if files is not None and files.get("erased_with_runs"):
        _file_list(pdf, files, limit)
    pdf.ln(3)
    pdf.set_font("Helvetica", "I", 8)
    if cert.signature:
        attachment = file_name(cert, "json")
        pdf.multi_cell(
            0,
            4,
            _latin(
                "This PDF carries the signed certificate, every run and file included, as the "
                f"attached file {attachment}. Anyone can verify this PDF or that file at the "
                "address below, or with the portal's published public keys "
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


def _file_list(pdf: Any, files: dict[str, Any], limit: int) -> None:
    """The uploaded files section's list: the first *limit* files, each erased (with its
    DELETE's request id and times) or kept (with why)."""
    listed = files["files"]
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 11)
    heading = f"Uploaded files ({len(listed):,})"
    if len(listed) > limit:
        heading = (
            f"Uploaded files: the first {limit:,} of {len(listed):,}; the JSON certificate "
            "lists all"
        )
    pdf.cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Courier", "", 6)
    for file in listed[:limit]:
        pdf.cell(0, 4, _latin(file_line(file))[:170], new_x="LMARGIN", new_y="NEXT")


def _latin(text: str) -> str:
    """The PDF's core fonts are Latin-1: replace what they cannot show."""
    return text.replace("•", "*").encode("latin-1", "replace").decode("latin-1")
