"""The "uploaded files" section of a certificate of erasure (format v4 on), inside what the
signature covers.

A request that erases files certifies each one: *erased* only when its status says so (deleted,
perhaps with the answer lost, or already gone), with Extend's request id of the DELETE that
erased it, when it was confirmed and when a later GET found it absent; *kept* with why (in the
customers' words: a legal hold is never named); *failed*. A request whose files are still in
progress is not certified (:class:`FilesInProgress`). A request that does not erase files says
plainly that they were not part of it.

Certificates issued before v4 have no such section and verify as they were issued; their
request's state stamp and outcome digest are computed as before, so no new version is issued
for a request without files only because this section exists.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Max, Min

from deletions.core.errors import RuleViolation
from deletions.gdpr import certificate_states
from deletions.models import DeletionRequest, FileAttempt, FileErasure
from deletions.requests import file_results

FS = FileErasure.Status
MEANS = "DELETE /files/{id}"
# The same codes as a run's verification (certificates.VERIFIED, certificates.NOT_YET_VERIFIED).
VERIFIED = "verified"
NOT_YET_VERIFIED = "not_yet_verified"
VERIFICATIONS = {
    VERIFIED: "Verified absent: a later GET of the file answered 404.",
    NOT_YET_VERIFIED: "Deletion acknowledged, not yet verified: a GET of the file is scheduled.",
}
ERASED = frozenset(
    {file_results.DELETED, file_results.DELETED_ANSWER_LOST, file_results.ALREADY_GONE}
)
CERTIFIED_OUTCOMES = (*sorted(ERASED), file_results.KEPT, file_results.FAILED)


class FilesInProgress(RuleViolation):
    """The request still has uploaded files with work ahead of them: it cannot be certified."""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def states(req: DeletionRequest) -> list[dict[str, Any]]:
    """The request's files grouped by what their certificate entries depend on (one aggregate
    query): whatever changes the section changes these."""
    return certificate_states.grouped(
        FileErasure.objects.filter(request=req), "status", "answer_lost", "kept_reason"
    )


def check(req: DeletionRequest, file_states: list[dict[str, Any]]) -> None:
    """Refuse to certify a request whose files are not all done."""
    left = sum(g["n"] for g in file_states if g["status"] in FileErasure.OPEN_STATUSES)
    if left:
        raise FilesInProgress(
            f"Request #{req.pk} still has {left:,} uploaded file{'s' if left != 1 else ''} "
            "being erased; it is certified once they are done."
        )


def _outcome(erasure: FileErasure) -> str:
    """The file's certified outcome: erased only from an erased status, never a file in
    progress."""
    code = file_results.outcome(erasure)
    if code == file_results.IN_PROGRESS:
        raise FilesInProgress(
            f"File {erasure.file_id} of request #{erasure.request_id} is "
            f"{erasure.get_status_display().lower()}; it cannot be certified yet."
        )
    if (code in ERASED) != (erasure.status in FileErasure.ERASED_STATUSES):
        raise RuleViolation(f"File {erasure.file_id} cannot be certified as {code}.")
    return code


def _verification(erasure: FileErasure, outcome: str) -> str | None:
    if outcome not in ERASED:
        return None
    if erasure.verified_at is not None:
        return VERIFIED
    if erasure.verify_due_at is not None:
        return NOT_YET_VERIFIED
    return None


def entry(erasure: FileErasure) -> dict[str, Any]:
    """One file as the certificate states it."""
    outcome = _outcome(erasure)
    erased = outcome in ERASED
    return {
        "file_id": erasure.file_id,
        "workspace": erasure.workspace.name,
        "runs": erasure.run_count,
        "outcome": outcome,
        "deleted_at": _iso(erasure.confirmed_at) if erased else None,
        "extend_request_id": erasure.last_request_id or None,
        "verification": _verification(erasure, outcome),
        "verified_absent_at": _iso(erasure.verified_at) if erased else None,
        "kept_reason": erasure.kept_reason or None,
        "kept_why": file_results.kept_why(erasure) or None,
    }


def section(req: DeletionRequest) -> dict[str, Any]:
    """The certificate's "files" member for *req*."""
    if not req.erase_files:
        return {"erased_with_runs": False, "statement": file_results.NOT_IN_REQUEST}
    erasures = FileErasure.objects.filter(request=req).select_related("workspace").order_by("id")
    listed = [entry(e) for e in erasures.iterator(chunk_size=2000)]
    attempts = FileAttempt.objects.filter(
        item__request=req, kind=FileAttempt.Kind.DELETE
    ).aggregate(first=Min("started_at"), last=Max("started_at"))

    def count(key: str, value: str) -> int:
        return sum(1 for f in listed if f[key] == value)

    return {
        "erased_with_runs": True,
        "rule": "A file is deleted after the last run of this request that uses it, and only "
        "if no run outside the request still uses it; otherwise it is kept, and why is stated.",
        "means": MEANS,
        "first_attempt_at": _iso(attempts["first"]),
        "last_attempt_at": _iso(attempts["last"]),
        "outcomes": {
            **{
                code: f"{file_results.OUTCOME_LABELS[code]}: {file_results.MEANINGS[code]}"
                for code in CERTIFIED_OUTCOMES
            },
            **VERIFICATIONS,
        },
        "totals": {
            "files": len(listed),
            **{code: count("outcome", code) for code in CERTIFIED_OUTCOMES},
            "verified_absent": count("verification", VERIFIED),
            NOT_YET_VERIFIED: count("verification", NOT_YET_VERIFIED),
        },
        "files": listed,
    }


def digest_part(doc: dict[str, Any]) -> dict[str, Any] | None:
    """What the outcome digest takes from *doc*'s files: the section of a request that erases
    files; nothing otherwise (so requests without files digest as before the section existed)."""
    files = doc.get("files")
    if isinstance(files, dict) and files.get("erased_with_runs"):
        return {"totals": files["totals"], "files": files["files"]}
    return None
