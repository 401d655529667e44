"""What the API's retention-policy endpoints accept and return: policies (with their preview,
approvals and recent evaluations), exemptions and the console's switch for every policy.

Strings are taken as they are (``staff_base.Text``): the domain trims them and says what a
blank or contradictory value means (422), so a body the schema accepts is never a 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from deletions.api.serializers import (
    PK_MAX,
    ApprovalSerializer,
    PageQuerySerializer,
    StrictIntegerField,
)
from deletions.api.staff_base import Flag, Text, Whole, page_of
from deletions.models import PolicyApproval, RetentionPolicy
from deletions.policies import exemptions
from deletions.policies.rules import MAX_DAYS, MAX_HOURS
from deletions.requests.submission import MAX_ID_LENGTH, MAX_REASON_LENGTH

ST = RetentionPolicy.Status
# How many of a policy's evaluations its detail shows, newest first.
RECENT_EVALUATIONS = 10
# How many workspaces one policy may name (a customer has a handful).
MAX_WORKSPACES = 100
MAX_NOTE_LENGTH = 2000


def _id(**kwargs: Any) -> Whole:
    return Whole(min_value=1, max_value=PK_MAX, **kwargs)


# --- What a client sends ---


class StrictBody(serializers.Serializer[Any]):
    """A body whose every key must be known (400 otherwise): a misspelt narrowing such as
    ``file_name_contain`` would be dropped, and the policy would select more than its author
    meant. The schema says so (``additionalProperties: false``)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class StrictBodyScheme(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    """Documents :class:`StrictBody`'s refusal of unknown keys."""

    target_class = StrictBody
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> Any:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        return schema


class PolicyFilterSerializer(StrictBody):
    """Narrowing by what a run carries; an empty string (or leaving it out) narrows nothing."""

    file_name_contains = Text(required=False, allow_blank=True, max_length=200)
    status = Text(
        required=False,
        allow_blank=True,
        max_length=20,
        help_text="Extend's status, e.g. PROCESSED.",
    )
    metadata_key = Text(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Letters, digits, '-' and '_'.",
    )
    metadata_value = Text(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="Runs whose metadata_key has this value (needs metadata_key); empty: any value.",
    )


class PolicyChangeSerializer(StrictBody):
    """A policy's values. On a change, only those given change; a period given replaces the
    policy's period (older_than_days or hours_after_processed) as a whole."""

    name = Text(max_length=200)
    older_than_days = Whole(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_DAYS,
        help_text="Runs expire this many days after Extend created them. Give this or "
        "hours_after_processed (422 for both or neither).",
    )
    hours_after_processed = Whole(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=MAX_HOURS,
        help_text="Runs expire this many hours after they were processed (0: as soon as they are).",
    )
    workspace = _id(
        required=False,
        allow_null=True,
        help_text="Only runs in this workspace (its id); one that holds none of the customer's "
        "runs is a 422.",
    )
    workspaces = serializers.ListField(
        child=_id(),
        required=False,
        max_length=MAX_WORKSPACES,
        help_text="Only runs in these workspaces (with workspace, if given too). An empty list "
        "on a change: every workspace.",
    )
    filter = PolicyFilterSerializer(required=False)
    erase_files = Flag(
        required=False,
        help_text="Whether the runs' uploaded files are erased too, when no other run uses them. "
        "Part of what the policy selects: changing it is a new version, approved again. "
        "Default on a proposal: the customer's erase_files_default.",
    )
    reason = Text(
        max_length=MAX_REASON_LENGTH,
        help_text="Why the runs may go: the contract or duty the policy follows.",
    )


class PolicyCreateSerializer(PolicyChangeSerializer):
    customer = _id(
        required=False,
        help_text="The customer's id. Staff tokens must give it; a customer admin's token "
        "proposes for its own customer (another one is a 403).",
    )


class PolicyCommentSerializer(StrictBody):
    comment = Text(required=False, allow_blank=True, max_length=MAX_NOTE_LENGTH)


class PolicyRejectSerializer(StrictBody):
    reason = Text(
        max_length=MAX_NOTE_LENGTH,
        help_text="Why it is refused; the proposer sees it. A blank one is a 403.",
    )


class PolicyNoteSerializer(StrictBody):
    reason = Text(
        required=False, allow_blank=True, max_length=MAX_NOTE_LENGTH, help_text="Optional; audited."
    )


class CustomerQuerySerializer(PageQuerySerializer):
    customer = StrictIntegerField(
        required=False,
        min_value=1,
        max_value=PK_MAX,
        help_text="Staff: one customer's only (its id). A customer token sees its own only.",
    )


class PolicyQuerySerializer(CustomerQuerySerializer):
    status = serializers.ChoiceField(choices=ST.choices, required=False)


class ExemptionCreateSerializer(StrictBody):
    run_id = Text(max_length=MAX_ID_LENGTH, help_text="Extend's parse-run id.")
    reason = Text(
        max_length=exemptions.MAX_REASON_LENGTH, help_text="Why the run is kept; audited."
    )
    policy = _id(
        required=False,
        allow_null=True,
        help_text="The customer's policy whose notice led to the exemption, if any.",
    )
    customer = _id(
        required=False,
        help_text="The run's customer's id. Staff tokens must give it; customer tokens exempt "
        "their own customer's runs.",
    )


class RetentionSwitchWriteSerializer(StrictBody):
    stopped = Flag(
        help_text="true: stop every retention policy now (their running requests pause); "
        "false: let active policies act again."
    )
    reason = Text(
        required=False,
        allow_blank=True,
        max_length=MAX_NOTE_LENGTH,
        help_text="Why every policy is stopped: needed to stop (422 without it).",
    )


# --- What the API answers ---


class PolicyFilterOutSerializer(serializers.Serializer[Any]):
    file_name_contains = serializers.CharField()
    status = serializers.CharField(source="extend_status")
    metadata_key = serializers.CharField()
    metadata_value = serializers.CharField()


class PolicySerializer(serializers.Serializer[Any]):
    """A policy as the lists show it."""

    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    customer_name = serializers.CharField(source="customer.name")
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=ST.choices)
    basis = serializers.ChoiceField(choices=RetentionPolicy.Basis.choices)
    older_than_days = serializers.IntegerField(allow_null=True)
    hours_after_processed = serializers.IntegerField(allow_null=True)
    rule = serializers.CharField(source="rule_text", help_text="The rule in a sentence.")
    workspaces = serializers.SerializerMethodField()
    filter = PolicyFilterOutSerializer(source="*")
    erase_files = serializers.BooleanField(
        help_text="Its requests erase the runs' uploaded files too (when no other run uses them)."
    )
    reason = serializers.CharField()
    version = serializers.IntegerField(
        help_text="Bumped by every change of what the policy selects; approvals name it."
    )
    required_approvals = serializers.IntegerField()
    approvals_given = serializers.IntegerField(help_text="Approvals of the current version so far.")
    proposed_by = serializers.CharField(
        source="proposed_by.username", help_text="Who proposed (or last changed) this version."
    )
    proposed_at = serializers.DateTimeField()
    approved_at = serializers.DateTimeField(allow_null=True)
    decision_comment = serializers.CharField(help_text="The reason given on rejection.")
    paused_at = serializers.DateTimeField(allow_null=True)
    paused_by = serializers.SerializerMethodField()
    pause_reason = serializers.CharField()
    first_action_at = serializers.DateTimeField(
        allow_null=True,
        help_text="Nothing is deleted before this: the customer's admins are told first.",
    )
    next_evaluation_at = serializers.DateTimeField(allow_null=True)
    last_evaluated_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(
        serializers.ListField(
            child=serializers.IntegerField(),
            help_text="The workspaces it is narrowed to (ids); empty: every workspace.",
        )
    )
    def get_workspaces(self, policy: RetentionPolicy) -> list[int]:
        return sorted(w.pk for w in policy.workspaces.all())

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_paused_by(self, policy: RetentionPolicy) -> str | None:
        return policy.paused_by.username if policy.paused_by else None


PolicyPageSerializer = page_of(PolicySerializer)


class PolicyApprovalSerializer(ApprovalSerializer):
    """A decision on one version of a policy, shaped as a request's approval."""

    version = serializers.IntegerField(help_text="The version of the policy decided on.")
    decision = serializers.ChoiceField(choices=PolicyApproval.Decision.choices)


class PolicyEvaluationSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    evaluated_at = serializers.DateTimeField()
    cut_off = serializers.DateTimeField(
        help_text="Runs created (or processed) before this expired."
    )
    selected = serializers.IntegerField(help_text="Runs taken into its request.")
    deferred = serializers.IntegerField(help_text="Expired runs the cap left for later days.")
    skipped_open = serializers.IntegerField(help_text="Left: in another open request.")
    skipped_held = serializers.IntegerField(help_text="Left: under a legal hold.")
    skipped_exempt = serializers.IntegerField(help_text="Left: exempted.")
    request = serializers.IntegerField(
        source="request_id", allow_null=True, help_text="The retention request it created."
    )
    request_status = serializers.SerializerMethodField()
    noticed = serializers.BooleanField(
        help_text="The customer's admins were sent a large-evaluation notice."
    )

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_request_status(self, evaluation: Any) -> str | None:
        return evaluation.request.status if evaluation.request_id else None


class PolicyPreviewRunSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(source="run_id", help_text="Extend's parse-run id.")
    workspace = serializers.IntegerField(source="workspace_id")
    file_name = serializers.CharField()
    created_at = serializers.DateTimeField(source="extend_created_at", allow_null=True)
    processed_at = serializers.DateTimeField(allow_null=True)


class PolicySkippedSerializer(serializers.Serializer[Any]):
    exempt = serializers.IntegerField()
    open_request = serializers.IntegerField(help_text="In another open request.")
    held = serializers.IntegerField(help_text="Under a legal hold.")


class PolicyPreviewSerializer(serializers.Serializer[Any]):
    cut_off = serializers.DateTimeField()
    count = serializers.IntegerField(help_text="Runs it would take now (counted up to cap + 1).")
    more = serializers.BooleanField(
        help_text="More than the cap expired: an evaluation takes the cap, the rest on later days."
    )
    cap = serializers.IntegerField(help_text="At most this many runs per evaluation.")
    oldest = serializers.DateTimeField(allow_null=True)
    newest = serializers.DateTimeField(allow_null=True)
    first_page = PolicyPreviewRunSerializer(many=True, help_text="The oldest runs it would take.")
    skipped = PolicySkippedSerializer(help_text="Expired runs it would leave, and why.")


class PolicyDetailSerializer(PolicySerializer):
    """A policy with what it would delete now, its decisions and its recent evaluations."""

    allowed_actions = serializers.SerializerMethodField()
    not_acting_because = serializers.SerializerMethodField()
    preview = serializers.SerializerMethodField()
    approvals = serializers.SerializerMethodField()
    evaluations = serializers.SerializerMethodField()

    @extend_schema_field(
        serializers.ListField(
            child=serializers.CharField(),
            help_text="What its state allows now: change, approve, reject, pause, resume, "
            "retire (who may is another matter).",
        )
    )
    def get_allowed_actions(self, policy: RetentionPolicy) -> list[str]:
        return allowed_actions(policy)

    @extend_schema_field(
        serializers.CharField(
            help_text="Why its next evaluation would select nothing now (pending approval, "
            "paused, before its first action, all policies stopped); empty when it would act."
        )
    )
    def get_not_acting_because(self, policy: RetentionPolicy) -> str:
        return str(self.context["not_acting_because"])

    @extend_schema_field(
        PolicyPreviewSerializer(
            allow_null=True,
            help_text="What it would delete if it ran now; null once rejected or retired.",
        )
    )
    def get_preview(self, policy: RetentionPolicy) -> Any:
        found = self.context["preview"]
        return PolicyPreviewSerializer(found).data if found is not None else None

    @extend_schema_field(PolicyApprovalSerializer(many=True))
    def get_approvals(self, policy: RetentionPolicy) -> Any:
        rows = policy.approvals.select_related("approver")
        return PolicyApprovalSerializer(rows, many=True).data

    @extend_schema_field(PolicyEvaluationSerializer(many=True))
    def get_evaluations(self, policy: RetentionPolicy) -> Any:
        rows = policy.evaluations.select_related("request")[:RECENT_EVALUATIONS]
        return PolicyEvaluationSerializer(rows, many=True).data


class PolicyChangedSerializer(PolicyDetailSerializer):
    needs_approval = serializers.SerializerMethodField()

    @extend_schema_field(
        serializers.BooleanField(
            help_text="The change was to what the policy selects: it is a new version that "
            "acts only once approved again (its requests in progress stopped). A new name or "
            "reason alone needs no approval."
        )
    )
    def get_needs_approval(self, policy: RetentionPolicy) -> bool:
        return bool(self.context["needs_approval"])


def allowed_actions(policy: RetentionPolicy) -> list[str]:
    """The moves the policy's state allows (the domain refuses the others with a 409)."""
    allowed = {
        "change": policy.status not in (ST.REJECTED, ST.RETIRED),
        "approve": policy.status == ST.PENDING_APPROVAL,
        "reject": policy.status == ST.PENDING_APPROVAL,
        "pause": policy.status == ST.ACTIVE,
        "resume": policy.status == ST.PAUSED,
        "retire": policy.status in RetentionPolicy.OPEN_STATUSES,
    }
    return [name for name, ok in allowed.items() if ok]


class ExemptionSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    run_id = serializers.CharField(source="parse_run.run_id")
    workspace = serializers.IntegerField(source="parse_run.workspace_id")
    file_name = serializers.CharField(source="parse_run.file_name")
    policy = serializers.IntegerField(source="policy_id", allow_null=True)
    reason = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()


ExemptionPageSerializer = page_of(ExemptionSerializer)


class ExemptionCreatedSerializer(ExemptionSerializer):
    outcome = serializers.CharField(
        help_text="What became of a retention request that held the run (taken out of it "
        "before anything was sent, or too late for it); empty when none did."
    )


class RetentionSwitchSerializer(serializers.Serializer[Any]):
    stopped = serializers.SerializerMethodField()
    stopped_at = serializers.DateTimeField(allow_null=True)
    stopped_by = serializers.SerializerMethodField()
    reason = serializers.CharField()

    @extend_schema_field(
        serializers.BooleanField(help_text="Every retention policy is stopped (console switch).")
    )
    def get_stopped(self, switch: Any) -> bool:
        return switch.stopped_at is not None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_stopped_by(self, switch: Any) -> str | None:
        return switch.stopped_by.username if switch.stopped_by else None
