"""What the API's staff endpoints for legal holds and workspace pauses accept and return."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from deletions.api.errors import ApiError
from deletions.api.serializers import PK_MAX, PageQuerySerializer, StrictIntegerField
from deletions.forms.holds import MAX_RUN_IDS
from deletions.models import Customer, LegalHold, ParseRun, Workspace
from deletions.requests.submission import MAX_ID_LENGTH

# A hold's reason and reference: the console form's limits.
MAX_HOLD_REASON_LENGTH = 2_000
MAX_HOLD_REFERENCE_LENGTH = 200
# How many unknown run ids the error message quotes (details lists them all).
QUOTED_UNKNOWN = 10
HOLD_STATES = ("active", "lifted")


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
