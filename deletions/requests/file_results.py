"""What a request's uploaded files came to, wherever it is shown: receipts, pages, the API,
e-mails and certificates.

A file is *erased* when Extend confirmed its DELETE (``deleted``, perhaps with the answer lost)
or answered that it was already gone; *kept* when something still needed it (the reason is
always given); *failed* when it could not be deleted; *in progress* while it waits for its runs,
is due, in flight, or awaits proof of a 404. A request that does not erase files has no file
rows at all: every place says so plainly (:data:`NOT_IN_REQUEST`) rather than "0 erased".

Customers see a kept file's reason in their words: a run on legal hold is only "retained for
legal reasons", as for the run itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from deletions.models import DeletionRequest, FileErasure
from deletions.requests import files
from deletions.requests.holds import CUSTOMER_NOTICE

FS = FileErasure.Status
Reason = FileErasure.KeptReason

NOT_IN_REQUEST = (
    "Uploaded files were not part of this request: only the parse runs were deleted, and the "
    "files uploaded to Extend were left as they were."
)

NOT_LISTED_YET = (
    "The uploaded files of these runs are erased with them unless something else still needs "
    "them; they are listed when deletion starts."
)
NONE_KNOWN = "The request erases uploaded files, but none of its runs had a known uploaded file."

# Outcomes of a file, as receipts, the API and certificates name them.
DELETED = "deleted"
DELETED_ANSWER_LOST = "deleted_answer_lost"
ALREADY_GONE = "already_gone"
KEPT = "kept"
FAILED = "failed"
IN_PROGRESS = "in_progress"
OUTCOME_LABELS = {
    DELETED: "Deleted",
    DELETED_ANSWER_LOST: "Deleted (answer lost)",
    ALREADY_GONE: "Already gone",
    KEPT: "Kept",
    FAILED: "Failed",
    IN_PROGRESS: "In progress",
}
# What each outcome means, for legends and certificates.
MEANINGS = {
    DELETED: "Extend answered our DELETE of the file with success.",
    DELETED_ANSWER_LOST: "Our DELETE of the file was sent, its answer was lost, and Extend "
    "answered 404 when it was sent again.",
    ALREADY_GONE: "Extend answered 404 (not found) for the file, in a workspace shown to be "
    "answering correctly.",
    KEPT: "Not deleted on purpose: something still needed the file; the reason is given for each.",
    FAILED: "The file could not be deleted and may still exist.",
}

# A kept file's reason in the customers' words (a legal hold is never named to them).
CUSTOMER_REASONS = {Reason.RUN_HELD: f"A run using it is {CUSTOMER_NOTICE.lower()}"}


@dataclass(frozen=True)
class FileTally:
    """A request's files per outcome."""

    total: int
    erased: int
    kept: int
    failed: int
    in_progress: int
    # Of ``erased``: deleted by our DELETE, and already gone.
    deleted: int
    already_gone: int

    @property
    def done(self) -> int:
        return self.total - self.in_progress

    @property
    def progress_text(self) -> str:
        """'3 of 5 files done'."""
        return f"{self.done:,} of {self.total:,} file{'' if self.total == 1 else 's'} done"

    @property
    def outcome_text(self) -> str:
        """'4 erased, 1 kept, 0 failed, of 5 uploaded files' (in progress only when some are)."""
        parts = [f"{self.erased:,} erased", f"{self.kept:,} kept", f"{self.failed:,} failed"]
        if self.in_progress:
            parts.append(f"{self.in_progress:,} in progress")
        noun = "uploaded file" if self.total == 1 else "uploaded files"
        return f"{', '.join(parts)}, of {self.total:,} {noun}"

    def as_dict(self) -> dict[str, int]:
        return {
            "total": self.total,
            "erased": self.erased,
            "kept": self.kept,
            "failed": self.failed,
            "in_progress": self.in_progress,
        }


def tally_of(by_status: dict[str, int]) -> FileTally:
    """The tally of a status -> count mapping (:func:`deletions.requests.files.counts`)."""
    deleted, gone = by_status.get(FS.DELETED, 0), by_status.get(FS.ALREADY_GONE, 0)
    return FileTally(
        total=sum(by_status.values()),
        erased=deleted + gone,
        kept=by_status.get(FS.KEPT, 0),
        failed=by_status.get(FS.FAILED, 0),
        in_progress=sum(by_status.get(s, 0) for s in FileErasure.OPEN_STATUSES),
        deleted=deleted,
        already_gone=gone,
    )


def tally(req: DeletionRequest) -> FileTally | None:
    """*req*'s files per outcome (one grouped query), or None when it does not erase files."""
    if not req.erase_files:
        return None
    return tally_of(files.counts(req.pk))


def files_text(req: DeletionRequest, tally: FileTally | None) -> str:
    """The request's files in one sentence: their outcomes so far, or why there are none."""
    if tally is None:
        return NOT_IN_REQUEST
    if not tally.total:
        return NONE_KNOWN if req.started_at is not None else NOT_LISTED_YET
    return f"{tally.progress_text}: {tally.outcome_text}."


def outcome(erasure: FileErasure) -> str:
    """The file's outcome code (see the module's docstring)."""
    if erasure.status == FS.DELETED:
        return DELETED_ANSWER_LOST if erasure.answer_lost else DELETED
    if erasure.status == FS.ALREADY_GONE:
        return ALREADY_GONE
    if erasure.status == FS.KEPT:
        return KEPT
    if erasure.status == FS.FAILED:
        return FAILED
    return IN_PROGRESS


def label(erasure: FileErasure) -> str:
    """The file's result in words; a file not done keeps its state ("Waiting for its runs",
    "In flight", ...)."""
    code = outcome(erasure)
    if code == IN_PROGRESS:
        return str(erasure.get_status_display())
    return OUTCOME_LABELS[code]


def kept_why(erasure: FileErasure, *, staff: bool = False) -> str:
    """Why a kept file was kept ("Still used by 2 runs not in this request"); empty otherwise.
    Customers never read "legal hold"."""
    if erasure.status != FS.KEPT:
        return ""
    if not staff and erasure.kept_reason in CUSTOMER_REASONS:
        return CUSTOMER_REASONS[Reason(erasure.kept_reason)]
    return erasure.kept_why


def reason_text(reason: str) -> str:
    """A kept reason in the customers' words, for counts by reason ("Still used by runs not
    in this request")."""
    if reason in CUSTOMER_REASONS:
        return CUSTOMER_REASONS[Reason(reason)]
    return str(Reason(reason).label) if reason in Reason.values else "Kept"


def kept_by_reason(req: DeletionRequest) -> list[tuple[str, int]]:
    """The request's kept files counted per reason, in the customers' words (one query)."""
    rows = (
        FileErasure.objects.filter(request=req, status=FS.KEPT)
        .order_by()
        .values_list("kept_reason")
        .annotate(n=Count("pk"))
    )
    return sorted((reason_text(reason), n) for reason, n in rows)
