"""Forms of the retention-policy pages: proposing or changing a policy, the decisions on it
(approve, reject, pause, retire), exempting a run and the console's switch for all policies.

The forms check the shape of what was typed; the rules (who may, four eyes, valid periods,
workspaces of the customer) are the domain's (:mod:`deletions.policies.rules`), whose errors the
pages show on the form.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Exists, OuterRef, QuerySet

from deletions.forms.customer import RunFilterForm
from deletions.models import Customer, ParseRun, RetentionPolicy, Workspace
from deletions.policies.exemptions import MAX_REASON_LENGTH as MAX_EXEMPTION_REASON
from deletions.policies.rules import MAX_DAYS, MAX_HOURS, PolicyValues
from deletions.requests.submission import MAX_REASON_LENGTH

Basis = RetentionPolicy.Basis


def customer_workspaces(customer: Customer) -> QuerySet[Workspace]:
    """The workspaces that hold at least one of *customer*'s runs (one index probe each)."""
    return Workspace.objects.filter(
        Exists(ParseRun.objects.filter(workspace=OuterRef("pk"), customer=customer))
    ).order_by("name", "pk")


class PolicyForm(forms.Form):
    """A policy as proposed or changed: the rule, the optional narrowing and the reason."""

    name = forms.CharField(
        max_length=200,
        help_text="How your team will recognise it, e.g. “Invoices: 30 days”.",
        error_messages={"required": "Please give the policy a name."},
    )
    basis = forms.ChoiceField(
        label="Which runs expire",
        choices=[
            (Basis.AGE, "Runs older than N days (by the time Extend created them)"),
            (Basis.AFTER_PROCESSING, "Runs N hours after they were processed"),
        ],
        widget=forms.RadioSelect,
        initial=Basis.AGE,
    )
    number = forms.IntegerField(
        label="N",
        min_value=0,
        max_value=MAX_HOURS,
        help_text=f"Days (1 to {MAX_DAYS:,}) or hours (0 to {MAX_HOURS:,}; 0 means as soon as "
        "a run is processed), as chosen above.",
    )
    workspaces = forms.ModelMultipleChoiceField(
        label="Only in these workspaces",
        queryset=Workspace.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every workspace that holds your runs.",
    )
    file_name_contains = forms.CharField(
        label="Only runs whose file name contains", max_length=200, required=False
    )
    extend_status = forms.ChoiceField(
        label="Only runs with this Extend status",
        choices=RunFilterForm.STATUSES,
        required=False,
    )
    metadata_key = forms.CharField(
        label="Only runs with this metadata key", max_length=200, required=False
    )
    metadata_value = forms.CharField(label="…and this value", max_length=500, required=False)
    erase_files = forms.BooleanField(
        label="Also erase the uploaded documents (files) when no other run uses them",
        required=False,
        help_text="Without it, only the parse runs are deleted and the documents stay at "
        "Extend. A file another run still uses is kept.",
    )
    reason = forms.CharField(
        max_length=MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The contract clause or duty the policy follows. The operator's staff read "
        "it before approving; it is quoted on every deletion the policy makes.",
        error_messages={
            "required": "Please give a reason: the contract or duty the policy follows."
        },
    )

    def __init__(self, *args: Any, customer: Customer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["workspaces"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = customer_workspaces(customer)
        # A new policy starts from the customer's default (initial_for gives a policy's own).
        self.fields["erase_files"].initial = customer.erase_files_default

    @staticmethod
    def initial_for(policy: RetentionPolicy) -> dict[str, Any]:
        """The form's values for changing *policy*."""
        return {
            "name": policy.name,
            "basis": policy.basis,
            "number": (
                policy.older_than_days
                if policy.basis == Basis.AGE
                else policy.hours_after_processed
            ),
            "workspaces": [w.pk for w in policy.workspaces.all()],
            "file_name_contains": policy.file_name_contains,
            "extend_status": policy.extend_status,
            "metadata_key": policy.metadata_key,
            "metadata_value": policy.metadata_value,
            "erase_files": policy.erase_files,
            "reason": policy.reason,
        }

    def values(self) -> PolicyValues:
        """What was typed, for the domain (which checks it further)."""
        data = self.cleaned_data
        age = data["basis"] == Basis.AGE
        return PolicyValues(
            name=data["name"],
            reason=data["reason"],
            older_than_days=data["number"] if age else None,
            hours_after_processed=None if age else data["number"],
            workspace_ids=[w.pk for w in data["workspaces"]],
            file_name_contains=data["file_name_contains"],
            extend_status=data["extend_status"],
            metadata_key=data["metadata_key"],
            metadata_value=data["metadata_value"],
            erase_files=data["erase_files"],
        )


def _text(
    help_text: str,
    *,
    label: str | None = None,
    required_error: str = "",
    max_length: int = 2000,
    rows: int = 3,
) -> forms.CharField:
    """A text area; required when *required_error* says what to do without it."""
    return forms.CharField(
        label=label,
        required=bool(required_error),
        max_length=max_length,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=help_text,
        error_messages={"required": required_error} if required_error else None,
    )


class OptionalReasonForm(forms.Form):
    """Pausing or retiring a policy: a reason may be given, for the audit trail."""

    reason = _text("Optional; kept in the audit trail.")


class PolicyApproveForm(forms.Form):
    comment = _text("Optional; shown with your approval on the policy's page.")


class PolicyRejectForm(forms.Form):
    reason = _text(
        "Required. The customer sees it on the policy's page.",
        required_error="Please say why; the customer will see this reason.",
        rows=4,
    )


class StopAllForm(forms.Form):
    reason = _text(
        "Required. Recorded in the audit trail and shown on the console's retention pages.",
        label="Why every policy stops",
        required_error="Please say why every retention policy is stopped.",
    )


class ExemptForm(forms.Form):
    """Keep one run whatever the customer's policies say."""

    reason = _text(
        "Required. Recorded with your name; the exemption lasts until it is removed.",
        label="Why this run is kept",
        required_error="Please say why this run is kept.",
        max_length=MAX_EXEMPTION_REASON,
    )


class PolicyFilterForm(forms.Form):
    """The console's list of every policy: by status and customer."""

    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *RetentionPolicy.Status.choices]
    )
    customer = forms.ModelChoiceField(
        required=False, queryset=Customer.objects.order_by("name"), empty_label="All customers"
    )
