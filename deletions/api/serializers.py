"""What the API accepts and returns. Output is built from the same domain objects as the pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from deletions.api.errors import ApiError, PayloadTooLarge
from deletions.models import (
    Approval,
    DeletionItem,
    DeletionRequest,
    FileErasure,
    ParseRun,
)
from deletions.reporting.progress import progress_for
from deletions.requests import file_results, transitions
from deletions.requests.grounds import RefusalGround
from deletions.requests.results import Outcome, outcome_of
from deletions.requests.submission import MAX_ID_LENGTH, MAX_REASON_LENGTH

RS = DeletionRequest.Status
RUN_STATES = ("present", "pending", "deleted")
MAX_PAGE_SIZE = 200
# The largest primary key an id in a path or a body may name (PostgreSQL bigint).
PK_MAX = 2**63 - 1


class StrictIntegerField(serializers.IntegerField):
    """An integer as the schema says: DRF's own also takes ``"6.0"``, ``6.0`` and ``true``, which
    a client could not know from the schema and which hide a caller's mistake."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not (
            isinstance(data, int) or (isinstance(data, str) and data.strip().lstrip("-").isdigit())
        ):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """Takes only JSON true and false (DRF's takes "yes", 1, "on"... which the schema does not)."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class ErrorDetailSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField(child=serializers.JSONField())


class ErrorSerializer(serializers.Serializer[Any]):
    error = ErrorDetailSerializer()


class PageQuerySerializer(serializers.Serializer[Any]):
    cursor = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=200,
        help_text="next_cursor from the previous page; empty or absent for the first page.",
    )
    limit = StrictIntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE)


class RunQuerySerializer(PageQuerySerializer):
    status = serializers.CharField(
        required=False, allow_blank=True, max_length=20, help_text="Extend's status."
    )
    file_name_contains = serializers.CharField(required=False, allow_blank=True, max_length=200)
    created_from = serializers.DateField(required=False)
    created_to = serializers.DateField(required=False)
    state = serializers.ChoiceField(
        choices=RUN_STATES,
        required=False,
        help_text="present: free to delete; pending: in an open request; deleted: gone.",
    )


class RunSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(source="run_id")
    file_name = serializers.CharField()
    file_id = serializers.CharField(
        help_text="Extend's id of the uploaded file the run processed; empty if unknown. "
        "Kept after the run is deleted."
    )
    extend_status = serializers.CharField()
    created_at = serializers.DateTimeField(source="extend_created_at", allow_null=True)
    state = serializers.SerializerMethodField()
    open_request = serializers.IntegerField(source="open_request_id", allow_null=True)
    deleted_at = serializers.DateTimeField(allow_null=True)

    def get_state(self, run: ParseRun) -> str:
        if run.state != ParseRun.State.PRESENT:
            return "deleted"
        return "pending" if run.open_request_id else "present"


class RunPageSerializer(serializers.Serializer[Any]):
    results = RunSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class RunFilterSerializer(serializers.Serializer[Any]):
    status = serializers.CharField(required=False, allow_blank=True, max_length=20)
    file_name_contains = serializers.CharField(required=False, allow_blank=True, max_length=200)
    created_from = serializers.DateField(required=False, allow_null=True)
    created_to = serializers.DateField(required=False, allow_null=True)


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH},
        "maxItems": settings.MAX_RUNS_PER_REQUEST,
        "description": "Parse-run ids (scope explicit).",
    }
)
class RunIdsField(serializers.Field):  # type: ignore[type-arg]
    """A list of run ids, counted before anything else (more than the limit is a 413)."""

    def to_internal_value(self, data: Any) -> list[str]:
        if not isinstance(data, list):
            raise serializers.ValidationError("Expected a list of parse-run ids.")
        if len(data) > settings.MAX_RUNS_PER_REQUEST:
            raise PayloadTooLarge(
                f"{len(data):,} run ids were given; one request can hold at most "
                f"{settings.MAX_RUNS_PER_REQUEST:,}. Split it into several requests.",
                details={"given": len(data), "limit": settings.MAX_RUNS_PER_REQUEST},
            )
        if not all(isinstance(run_id, str) for run_id in data):
            raise serializers.ValidationError("Every parse-run id must be a string.")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class RequestCreateSerializer(serializers.Serializer[Any]):
    scope = serializers.ChoiceField(
        choices=DeletionRequest.Scope.choices, default=DeletionRequest.Scope.EXPLICIT
    )
    run_ids = RunIdsField(required=False)
    filter = RunFilterSerializer(required=False)
    kind = serializers.ChoiceField(
        choices=DeletionRequest.Kind.choices, default=DeletionRequest.Kind.STANDARD
    )
    # Not trimmed here: submit_request refuses a blank reason with its own message (422).
    reason = serializers.CharField(max_length=MAX_REASON_LENGTH, trim_whitespace=False)
    subject_ref = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=255,
        help_text="The data subject's reference (GDPR); stored pseudonymised.",
    )
    erase_files = StrictBooleanField(
        required=False,
        help_text="Also erase the runs' uploaded files (documents), each once no run outside "
        "the request uses it. Left out: yes for scope all, the customer's default otherwise. "
        "GDPR requests always erase them (false is overridden): the document is the personal "
        "data.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Well-formed but contradictory: 422, like any request that cannot be carried out."""
        scope = attrs["scope"]
        if scope == DeletionRequest.Scope.EXPLICIT and not attrs.get("run_ids"):
            raise _unprocessable("run_ids", "Give the ids to delete (scope explicit).")
        if scope != DeletionRequest.Scope.EXPLICIT and attrs.get("run_ids"):
            raise _unprocessable("run_ids", "Only an explicit scope takes ids.")
        if scope == DeletionRequest.Scope.FILTER and not any((attrs.get("filter") or {}).values()):
            raise _unprocessable("filter", "A filter scope needs a filter.")
        return attrs


def _unprocessable(field: str, message: str) -> ApiError:
    return ApiError(
        f"{field}: {message}",
        status_code=422,
        code="unprocessable",
        details={"fields": {field: [message]}},
    )


class ApprovalSerializer(serializers.Serializer[Any]):
    approver = serializers.CharField(source="approver.username")
    decision = serializers.ChoiceField(choices=Approval.Decision.choices)
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()


class CountsSerializer(serializers.Serializer[Any]):
    total = serializers.IntegerField()
    pending = serializers.IntegerField()
    in_flight = serializers.IntegerField()
    unconfirmed = serializers.IntegerField(
        help_text="Extend answered 404 to our first DELETE; waiting for proof that they are gone."
    )
    held = serializers.IntegerField()
    deleted = serializers.IntegerField()
    already_gone = serializers.IntegerField()
    failed = serializers.IntegerField()


class EstimateSerializer(serializers.Serializer[Any]):
    percent = serializers.IntegerField()
    rate_per_second = serializers.FloatField(
        help_text="Running: the Extend organisation's deletions per second the estimate "
        "assumes. Finished: the rate achieved from start to finish. Otherwise 0."
    )
    seconds_left = serializers.FloatField(
        allow_null=True,
        help_text="Only while the request runs on a workspace that can send; null otherwise.",
    )
    text = serializers.CharField(help_text="The estimate, or why there is none.")
    duration_seconds = serializers.FloatField(
        allow_null=True, help_text="Finished requests: seconds from start to finish."
    )


class FileCountsSerializer(serializers.Serializer[Any]):
    total = serializers.IntegerField()
    erased = serializers.IntegerField(
        help_text="Deleted by our DELETE, or found already gone (a proven 404)."
    )
    kept = serializers.IntegerField(
        help_text="Not deleted on purpose: still used by runs outside the request, or a run "
        "using it was not deleted. Each file says why (GET .../files)."
    )
    failed = serializers.IntegerField()
    in_progress = serializers.IntegerField(
        help_text="Waiting for their runs, due, in flight or awaiting proof of a 404."
    )


class RequestSummarySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=RS.choices)
    kind = serializers.ChoiceField(choices=DeletionRequest.Kind.choices)
    scope = serializers.ChoiceField(choices=DeletionRequest.Scope.choices)
    erase_files = serializers.BooleanField(
        help_text="The runs' uploaded files are erased too, each once no other run uses it."
    )
    customer = serializers.CharField(source="customer.name")
    requested_by = serializers.SerializerMethodField()
    filed_via = serializers.CharField(source="source", help_text="web, api, public, …")
    reason = serializers.CharField()
    item_count = serializers.IntegerField()
    erase_files = serializers.BooleanField(
        help_text="Whether the request erases the uploaded files of its runs (when nothing "
        "else still uses them). False: uploaded files were not part of the request."
    )
    required_approvals = serializers.IntegerField()
    submitted_at = serializers.DateTimeField()
    due_on = serializers.DateField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_requested_by(self, req: DeletionRequest) -> str | None:
        return req.requested_by.username if req.requested_by else None


class RequestSerializer(RequestSummarySerializer):
    scope_filter = serializers.DictField(child=serializers.CharField())
    decision_comment = serializers.CharField()
    refusal_ground = serializers.ChoiceField(
        choices=RefusalGround.choices,
        allow_blank=True,
        help_text="A rejected GDPR erasure request's ground; empty otherwise.",
    )
    subject_ref_hint = serializers.CharField()
    received_on = serializers.DateField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    approvals = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()
    estimate = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()

    @extend_schema_field(ApprovalSerializer(many=True))
    def get_approvals(self, req: DeletionRequest) -> Any:
        return ApprovalSerializer(req.approvals.select_related("approver"), many=True).data

    @extend_schema_field(CountsSerializer)
    def get_counts(self, req: DeletionRequest) -> dict[str, int]:
        p = self._progress(req)
        return {
            "total": p.total,
            "pending": p.pending,
            "in_flight": p.in_flight,
            "unconfirmed": p.unconfirmed,
            "held": p.held,
            "deleted": p.deleted,
            "already_gone": p.already_gone,
            "failed": p.failed,
        }

    @extend_schema_field(
        FileCountsSerializer(
            allow_null=True,
            help_text="The uploaded files per outcome; null when the request does not erase "
            "them (they were not part of it). Listed when deletion starts.",
        )
    )
    def get_files(self, req: DeletionRequest) -> dict[str, int] | None:
        tally = self._progress(req).files
        return tally.as_dict() if tally is not None else None

    @extend_schema_field(EstimateSerializer)
    def get_estimate(self, req: DeletionRequest) -> dict[str, Any]:
        p = self._progress(req)
        return {
            "percent": p.percent,
            "rate_per_second": p.rate_per_second,
            "seconds_left": p.eta_seconds,
            "text": p.eta_text,
            "duration_seconds": p.duration_seconds,
        }

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_actions(self, req: DeletionRequest) -> list[str]:
        names = ("approve", "reject", "cancel", "pause", "resume", "retry")
        return [name for name in names if transitions.can(name, req)]

    def _progress(self, req: DeletionRequest) -> Any:
        cache = self.context.setdefault("progress", {})
        if req.pk not in cache:
            cache[req.pk] = progress_for(req)
        return cache[req.pk]


class RequestPageSerializer(serializers.Serializer[Any]):
    results = RequestSummarySerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class RequestQuerySerializer(PageQuerySerializer):
    status = serializers.ChoiceField(choices=RS.choices, required=False)
    kind = serializers.ChoiceField(choices=DeletionRequest.Kind.choices, required=False)


class ItemQuerySerializer(PageQuerySerializer):
    status = serializers.ChoiceField(choices=DeletionItem.Status.choices, required=False)


class FileQuerySerializer(PageQuerySerializer):
    status = serializers.ChoiceField(choices=FileErasure.Status.choices, required=False)


class CertificateQuerySerializer(serializers.Serializer[Any]):
    version = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        required=False,
        help_text="An earlier version of the certificate (1, 2, ...); without it, the latest. "
        "An earlier version says which version superseded it.",
    )


class ItemSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    run_id = serializers.CharField(source="parse_run.run_id")
    file_name = serializers.CharField(source="run_file_name")
    status = serializers.ChoiceField(choices=DeletionItem.Status.choices)
    attempts = serializers.IntegerField()
    last_http_status = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    verified_at = serializers.DateTimeField(allow_null=True)
    outcome = serializers.SerializerMethodField()

    @extend_schema_field(
        serializers.ChoiceField(
            choices=Outcome.choices,
            help_text="deleted: Extend confirmed our DELETE. deleted_answer_lost: our DELETE "
            "reached Extend but its answer was lost; Extend confirms the run is gone. "
            "already_gone: the run no longer existed at Extend. unconfirmed: Extend answered "
            "404 to our first DELETE; not yet proven gone. failed: not deleted. retained: "
            "retained for legal reasons. pending: not finished yet (pending or in flight).",
        )
    )
    def get_outcome(self, item: DeletionItem) -> str:
        return outcome_of(item).value


class ItemPageSerializer(serializers.Serializer[Any]):
    results = ItemSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class FileSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    file_id = serializers.CharField(help_text="Extend's id of the uploaded file.")
    runs = serializers.IntegerField(
        source="run_count", help_text="Runs of this request that used the file."
    )
    status = serializers.ChoiceField(choices=FileErasure.Status.choices)
    outcome = serializers.SerializerMethodField()
    kept_reason = serializers.ChoiceField(
        choices=FileErasure.KeptReason.choices,
        allow_blank=True,
        help_text="Why a kept file was kept; empty otherwise.",
    )
    kept_why = serializers.SerializerMethodField()
    used_outside = serializers.IntegerField(
        allow_null=True,
        help_text="A file kept because it is shared: the present runs outside the request that "
        "still used it when it was due.",
    )
    attempts = serializers.IntegerField()
    last_http_status = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    extend_request_id = serializers.CharField(
        source="last_request_id",
        help_text="Extend's request id of the last DELETE: for an erased file, the one that "
        "erased it.",
    )
    confirmed_at = serializers.DateTimeField(allow_null=True)
    verified_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(
        serializers.ChoiceField(
            choices=list(file_results.OUTCOME_LABELS.items()),
            help_text="deleted: Extend confirmed our DELETE. deleted_answer_lost: our DELETE "
            "reached Extend but its answer was lost; Extend confirms the file is gone. "
            "already_gone: the file no longer existed at Extend. kept: not deleted on purpose "
            "(see kept_why). failed: not deleted. in_progress: not finished yet.",
        )
    )
    def get_outcome(self, erasure: FileErasure) -> str:
        return file_results.outcome(erasure)

    @extend_schema_field(
        serializers.CharField(
            help_text='Why it was kept, in words ("Still used by 2 runs not in '
            'this request"); empty unless kept.'
        )
    )
    def get_kept_why(self, erasure: FileErasure) -> str:
        return file_results.kept_why(erasure)


class FilePageSerializer(serializers.Serializer[Any]):
    results = FileSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class CommentSerializer(serializers.Serializer[Any]):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class CancelSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Why it is cancelled. Required for a GDPR erasure request (403 without it): "
        "staff see it, and the data subject is told it if they gave an address.",
    )


class ReasonSerializer(serializers.Serializer[Any]):
    # Not trimmed here: reject_request refuses a blank reason with its own message.
    reason = serializers.CharField(max_length=5000, trim_whitespace=False)


class RejectSerializer(ReasonSerializer):
    ground = serializers.ChoiceField(
        choices=RefusalGround.choices,
        required=False,
        help_text="Why a GDPR erasure request is refused: Art. 17(3)(a)-(e), or an identity that "
        "could not be verified; `reason` then explains it. Required for GDPR erasure requests "
        "(422 without it), refused for standard requests (422).",
    )


class PauseSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=5000)
