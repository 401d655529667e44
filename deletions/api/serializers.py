"""What the API accepts and returns. Output is built from the same domain objects as the pages."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from deletions.api.errors import ApiError, PayloadTooLarge
from deletions.forms.holds import MAX_RUN_IDS
from deletions.models import (
    Approval,
    Customer,
    DeletionItem,
    DeletionRequest,
    LegalHold,
    ParseRun,
    Workspace,
)
from deletions.reporting.progress import progress_for
from deletions.requests import transitions
from deletions.requests.grounds import RefusalGround
from deletions.requests.results import Outcome, outcome_of
from deletions.requests.submission import MAX_ID_LENGTH, MAX_REASON_LENGTH

RS = DeletionRequest.Status
RUN_STATES = ("present", "pending", "deleted")
MAX_PAGE_SIZE = 200


class StrictIntegerField(serializers.IntegerField):
    """An integer as the schema says: DRF's own also takes ``"6.0"``, ``6.0`` and ``true``, which
    a client could not know from the schema and which hide a caller's mistake."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not (
            isinstance(data, int) or (isinstance(data, str) and data.strip().lstrip("-").isdigit())
        ):
            self.fail("invalid")
        return super().to_internal_value(data)


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


class RequestSummarySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=RS.choices)
    kind = serializers.ChoiceField(choices=DeletionRequest.Kind.choices)
    scope = serializers.ChoiceField(choices=DeletionRequest.Scope.choices)
    customer = serializers.CharField(source="customer.name")
    requested_by = serializers.SerializerMethodField()
    filed_via = serializers.CharField(source="source", help_text="web, api, public, …")
    reason = serializers.CharField()
    item_count = serializers.IntegerField()
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


class CommentSerializer(serializers.Serializer[Any]):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000)


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


# --- Legal holds and workspaces (staff) ---

# A hold's reason and reference: the console form's limits.
MAX_HOLD_REASON_LENGTH = 2_000
MAX_HOLD_REFERENCE_LENGTH = 200
# How many unknown run ids the error message quotes (details lists them all).
QUOTED_UNKNOWN = 10
HOLD_STATES = ("active", "lifted")
PK_MAX = 2**63 - 1


class HoldCreateSerializer(serializers.Serializer[Any]):
    """A legal hold on a customer (by its external_ref), a workspace (by its id) or listed parse
    runs (by Extend's run ids)."""

    scope = serializers.ChoiceField(choices=LegalHold.Scope.choices)
    customer = serializers.CharField(
        required=False,
        max_length=255,
        help_text="The customer's external_ref (scope customer).",
    )
    workspace = StrictIntegerField(
        required=False,
        min_value=1,
        max_value=PK_MAX,
        help_text="The workspace's id (scope workspace). With scope runs, optional: the "
        "workspace the runs are in; needed only when an id is known in several workspaces.",
    )
    run_ids = serializers.ListField(
        child=serializers.CharField(max_length=MAX_ID_LENGTH),
        required=False,
        min_length=1,
        max_length=MAX_RUN_IDS,
        help_text="Extend parse-run ids (scope runs); every one must be in the inventory.",
    )
    reason = serializers.CharField(
        max_length=MAX_HOLD_REASON_LENGTH,
        help_text="Why the runs must be kept. Staff see this; the customer only sees "
        "'Retained for legal reasons'.",
    )
    reference = serializers.CharField(
        max_length=MAX_HOLD_REFERENCE_LENGTH, help_text="The case, matter or ticket reference."
    )
    ends_on = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="The hold lifts itself after this day; absent or null: until lifted.",
    )

    def validate_ends_on(self, value: date | None) -> date | None:
        if value is not None and value < timezone.localdate():
            raise serializers.ValidationError("The end date cannot be in the past.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Only the fields of the scope; the references resolved into the objects they name."""
        scope = attrs["scope"]
        allowed = {
            LegalHold.Scope.CUSTOMER: {"customer"},
            LegalHold.Scope.WORKSPACE: {"workspace"},
            LegalHold.Scope.RUNS: {"run_ids", "workspace"},
        }[scope]
        stray = sorted(({"customer", "workspace", "run_ids"} & set(attrs)) - allowed)
        if stray:
            raise serializers.ValidationError(
                {name: [f"A hold with scope {scope} does not take {name}."] for name in stray}
            )
        needed = {
            LegalHold.Scope.CUSTOMER: "customer",
            LegalHold.Scope.WORKSPACE: "workspace",
            LegalHold.Scope.RUNS: "run_ids",
        }[scope]
        if needed not in attrs:
            raise serializers.ValidationError(
                {needed: [f"A hold with scope {scope} needs {needed}."]}
            )
        if "customer" in attrs:
            customer = Customer.objects.filter(external_ref=attrs["customer"]).first()
            if customer is None:
                raise serializers.ValidationError(
                    {"customer": [f"No customer has the external_ref {attrs['customer']!r}."]}
                )
            attrs["customer"] = customer
        if "workspace" in attrs:
            workspace = Workspace.objects.filter(pk=attrs["workspace"]).first()
            if workspace is None:
                raise serializers.ValidationError(
                    {"workspace": [f"No workspace has the id {attrs['workspace']}."]}
                )
            attrs["workspace"] = workspace
        attrs["runs"] = (
            _runs_in_inventory(attrs["run_ids"], attrs.get("workspace"))
            if scope == LegalHold.Scope.RUNS
            else []
        )
        return attrs


def _runs_in_inventory(run_ids: list[str], workspace: Workspace | None) -> list[ParseRun]:
    """The inventory's runs with these Extend ids, in the order given; a 400 naming the ids
    that are not there, or that are in several workspaces when none was said."""
    ids = list(dict.fromkeys(run_ids))
    rows = ParseRun.objects.filter(run_id__in=ids)
    if workspace is not None:
        rows = rows.filter(workspace=workspace)
    found: dict[str, list[ParseRun]] = {}
    for run in rows:
        found.setdefault(run.run_id, []).append(run)
    where = f"workspace {workspace.name}" if workspace is not None else "the inventory"
    unknown = [run_id for run_id in ids if run_id not in found]
    if unknown:
        raise _bad_run_ids(unknown, f"{_count_ids(unknown)} not in {where}", code="unknown_run_ids")
    ambiguous = [run_id for run_id in ids if len(found[run_id]) > 1]
    if ambiguous:
        raise _bad_run_ids(
            ambiguous,
            f"{_count_ids(ambiguous)} in more than one workspace; say which with workspace",
            code="ambiguous_run_ids",
        )
    return [found[run_id][0] for run_id in ids]


def _count_ids(ids: list[str]) -> str:
    return f"{len(ids):,} of these run id{'s are' if len(ids) != 1 else ' is'}"


def _bad_run_ids(ids: list[str], problem: str, *, code: str) -> ApiError:
    quoted = ", ".join(ids[:QUOTED_UNKNOWN])
    more = len(ids) - QUOTED_UNKNOWN
    message = f"{problem}: {quoted}{f' and {more:,} more' if more > 0 else ''}. Nothing was held."
    return ApiError(
        f"run_ids: {message}",
        code=code,
        details={"fields": {"run_ids": [message]}, "run_ids": ids},
    )


class HoldLiftSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        max_length=MAX_HOLD_REASON_LENGTH, help_text="Why the hold is lifted; audited."
    )


class HoldQuerySerializer(PageQuerySerializer):
    state = serializers.ChoiceField(
        choices=HOLD_STATES,
        required=False,
        help_text="active: holding now; lifted: lifted by staff or past its end date.",
    )


class HoldSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    active = serializers.BooleanField(source="is_active")
    scope = serializers.ChoiceField(choices=LegalHold.Scope.choices)
    customer = serializers.CharField(
        source="customer.external_ref", allow_null=True, help_text="Scope customer."
    )
    workspace = serializers.IntegerField(
        source="workspace_id", allow_null=True, help_text="Scope workspace."
    )
    run_count = serializers.SerializerMethodField()
    reason = serializers.CharField()
    reference = serializers.CharField()
    ends_on = serializers.DateField(allow_null=True)
    placed_by = serializers.CharField(source="placed_by.username")
    placed_at = serializers.DateTimeField()
    lifted_by = serializers.SerializerMethodField()
    lifted_at = serializers.DateTimeField(allow_null=True)
    lift_reason = serializers.CharField()

    @extend_schema_field(
        serializers.IntegerField(
            allow_null=True,
            help_text="How many runs a scope-runs hold lists; null for a customer or workspace "
            "hold (it covers all of theirs).",
        )
    )
    def get_run_count(self, hold: LegalHold) -> int | None:
        if hold.scope != LegalHold.Scope.RUNS:
            return None
        listed = getattr(hold, "runs_listed", None)
        return int(listed) if listed is not None else hold.runs.count()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_lifted_by(self, hold: LegalHold) -> str | None:
        return hold.lifted_by.username if hold.lifted_by else None


class HoldPageSerializer(serializers.Serializer[Any]):
    results = HoldSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class WorkspacePauseSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=500, help_text="Optional; audited."
    )


class WorkspaceSerializer(serializers.Serializer[Any]):
    """A workspace's identity and health; never its credentials."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    health = serializers.ChoiceField(choices=Workspace.Health.choices)
    health_reason = serializers.CharField()
    health_changed_at = serializers.DateTimeField(allow_null=True)
