"""Forms of the staff console: queue and audit filters, decisions, workspaces, customers, staff."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from deletions.accounts import customers, roles
from deletions.models import (
    Customer,
    DeletionRequest,
    Membership,
    Organization,
    Source,
    Workspace,
)
from deletions.requests import bulk_decisions
from deletions.requests.grounds import GROUND_REQUIRED, RefusalGround
from deletions.workspaces import changes as workspaces

CUSTOM_REGION = "custom"


class QueueFilterForm(forms.Form):
    """Filters of the request queue. An empty status means "awaiting a decision"."""

    ANY = "any"

    status = forms.ChoiceField(
        required=False,
        choices=[("", "Awaiting a decision"), (ANY, "Any status"), *DeletionRequest.Status.choices],
    )
    customer = forms.ModelChoiceField(
        required=False, queryset=Customer.objects.all(), empty_label="All customers"
    )
    kind = forms.ChoiceField(
        required=False, choices=[("", "Any kind"), *DeletionRequest.Kind.choices]
    )
    workspace = forms.ModelChoiceField(
        required=False, queryset=Workspace.objects.all(), empty_label="All workspaces"
    )
    overdue = forms.BooleanField(required=False, label="Overdue GDPR only")
    q = forms.CharField(
        required=False,
        max_length=150,
        label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "#id or requester"}),
    )


class ApproveForm(forms.Form):
    comment = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional; kept in the request's history.",
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Required. The requester will see this reason in the portal and by e-mail.",
        error_messages={"required": "Please say why; the requester will see this reason."},
    )


class GdprRejectForm(RejectForm):
    """Refusing a GDPR erasure request: the Art. 17(3) ground first, then the explanation."""

    ground = forms.ChoiceField(
        label="Ground for refusal",
        choices=[("", "Choose a ground…"), *RefusalGround.choices],
        help_text="Required for a GDPR erasure request; recorded in the register of erasure "
        "requests.",
        error_messages={"required": GROUND_REQUIRED},
    )
    reason = forms.CharField(
        label="Explanation",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Required. Why the ground applies; the requester will see it.",
        error_messages={"required": "Explain why the ground applies; the requester will see it."},
    )

    field_order = ["ground", "reason"]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        required=False, max_length=500, help_text="Optional; kept in the audit trail."
    )


class BulkForm(forms.Form):
    ACTIONS = [("approve", "Approve"), ("reject", "Reject")]

    action = forms.ChoiceField(choices=ACTIONS)
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=[])
    reason = forms.CharField(required=False, max_length=2000, widget=forms.Textarea)
    # Rejecting GDPR erasure requests needs one (deletions.requests.grounds); standard ones take
    # none.
    ground = forms.ChoiceField(required=False, choices=[("", ""), *RefusalGround.choices])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        raw = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        # Any integer is acceptable here; each request is looked up and checked one by one.
        ids = self.fields["ids"]
        assert isinstance(ids, forms.TypedMultipleChoiceField)
        ids.choices = [(v, v) for v in raw if str(v).isdigit()][: bulk_decisions.MAX_REQUESTS]
        ids.error_messages["required"] = "Select at least one request."


class WorkspaceForm(forms.ModelForm[Workspace]):
    """Everything about a workspace except its secrets, which have their own form.

    Editing, it also takes the API key again: a new base URL is only accepted with the key
    re-entered, so a stored key is never sent to an address it was not entered for.
    """

    region = forms.ChoiceField(
        choices=[*Workspace.Region.choices, (CUSTOM_REGION, "Custom URL (e.g. a local simulator)")],
        help_text="Where the workspace lives at Extend.",
    )
    custom_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Custom URL",
        help_text="Only with a custom region, e.g. http://127.0.0.1:8100.",
    )

    class Meta:
        model = Workspace
        fields = list(workspaces.SETTINGS_FIELDS)
        labels = {
            "api_version": "API version",
            "extend_workspace_id": "Extend workspace id",
            "organization": "Extend organisation",
            "rate_limit": "Own delete rate limit (per second)",
            "get_rate_limit": "Own read rate limit (per second)",
            "verify_deletions": "Verify each deletion with a follow-up GET",
        }
        help_texts = {
            "organization": "Extend's rate limits are per organisation: every workspace of one "
            "organisation shares its limits. Leave empty if this workspace is the only one of "
            "its organisation that the portal uses.",
            "rate_limit": "DELETEs per second. Used only without an organisation; with one, the "
            "organisation's limit applies and this is ignored.",
            "get_rate_limit": "GETs per second (sync, verification, connection tests). Used only "
            "without an organisation; with one, the organisation's limit applies and this is "
            "ignored.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        organization = self.fields["organization"]
        assert isinstance(organization, forms.ModelChoiceField)
        organization.empty_label = "None: this workspace has its own limits"
        base = self.instance.base_url if self.instance.pk else Workspace.Region.US
        if base in Workspace.Region.values:
            self.fields["region"].initial = base
        else:
            self.fields["region"].initial = CUSTOM_REGION
            self.fields["custom_url"].initial = base
        if self.instance.pk:
            self.fields["api_key"] = forms.CharField(
                required=False,
                max_length=500,
                label="API key",
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                help_text="Required when the region or URL changes: the stored key is never "
                "sent to a new address. Otherwise leave empty to keep the current key.",
            )

    def clean(self) -> dict[str, Any]:
        """Field by field, the rules :mod:`deletions.workspaces.changes` applies again when it
        saves."""
        data = super().clean() or {}
        region = data.get("region")
        if region == CUSTOM_REGION:
            if not data.get("custom_url"):
                self.add_error("custom_url", "Enter the URL of the custom region.")
            else:
                data["base_url"] = data["custom_url"].rstrip("/")
                if problem := workspaces.base_url_problem(data["base_url"]):
                    self.add_error("custom_url", problem)
        elif region:
            data["base_url"] = region
        key = data.get("api_key") or ""
        if key and (problem := workspaces.secret_problem(key)):
            self.add_error("api_key", problem)
        if "base_url" in data and workspaces.needs_key_reentry(
            self.instance, data["base_url"], key
        ):
            self.add_error("api_key", workspaces.KEY_REENTRY_MESSAGE)
        if data.get("key_scope") == Workspace.KeyScope.ORGANIZATION and not data.get(
            "extend_workspace_id"
        ):
            self.add_error("extend_workspace_id", workspaces.ORGANIZATION_KEY_MESSAGE)
        return data

    def values(self) -> dict[str, Any]:
        """The cleaned settings, as :func:`deletions.workspaces.changes.update_workspace` takes
        them."""
        return {name: self.cleaned_data[name] for name in workspaces.AUDITED_FIELDS}


class OrganizationForm(forms.ModelForm[Organization]):
    """An Extend organisation and the rate limits all its workspaces share."""

    class Meta:
        model = Organization
        fields = ["name", "extend_organization_id", "write_rate_limit", "get_rate_limit"]
        labels = {
            "extend_organization_id": "Extend organisation id",
            "write_rate_limit": "Delete rate limit (per second)",
            "get_rate_limit": "Read rate limit (per second)",
        }
        help_texts = {
            "extend_organization_id": "Optional (org_...); for reference. No two organisations "
            "may have the same one.",
            "write_rate_limit": "DELETEs per second (Extend's WRITE category), shared by every "
            "workspace of this organisation.",
            "get_rate_limit": "GETs per second (sync, verification, webhook follow-ups, connection "
            "tests), shared by every workspace of this organisation.",
        }

    def clean_extend_organization_id(self) -> str:
        value: str = self.cleaned_data.get("extend_organization_id") or ""
        return value.strip()


class SecretsForm(forms.Form):
    """Enter or rotate the API key and the webhook signing secret. Never rendered back."""

    api_key = forms.CharField(
        required=False,
        max_length=500,
        label="New API key",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Leave empty to keep the current key.",
    )
    webhook_secret = forms.CharField(
        required=False,
        max_length=500,
        label="New webhook signing secret",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Extend's signing secret (wss_...). Leave empty to keep the current one.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("api_key") and not data.get("webhook_secret"):
            raise ValidationError("Enter a new API key, a new webhook secret, or both.")
        for name in ("api_key", "webhook_secret"):
            value = data.get(name) or ""
            if value and (problem := workspaces.secret_problem(value)):
                self.add_error(name, problem)
        return data


class CustomerForm(forms.ModelForm[Customer]):
    class Meta:
        model = Customer
        fields = list(customers.FIELDS)
        labels = {
            "external_ref": "External reference",
            "is_active": "Active",
            "cooling_off_hours": "Cooling-off window (hours)",
            "erase_files_default": "Erase uploaded files by default",
        }
        help_texts = {
            "erase_files_default": "Whether its new requests for selected or filtered runs, and "
            "its new retention policies, erase the runs' uploaded files too, unless the "
            "requester says otherwise. GDPR requests always erase them; requests for all runs "
            "do unless the requester unticks it.",
        }

    cooling_off_hours = forms.IntegerField(
        min_value=0,
        max_value=168,
        initial=0,
        required=False,
        label="Cooling-off window (hours)",
        help_text="After approval, the customer's requests wait this many hours (0 to 168, a "
        "week) before anything is sent to Extend, and can still be cancelled meanwhile. "
        "0 starts them at once.",
    )

    time_zone = forms.ChoiceField(
        required=False,
        label="Time zone",
        choices=[("", "The portal's own")] + [(z, z) for z in customers.time_zones()],
        help_text="Its retention policies are evaluated at RETENTION_POLICY_EVALUATION_HOUR "
        "o'clock in this zone, and its e-mails about them give times in it.",
    )

    def clean_cooling_off_hours(self) -> int:
        hours = self.cleaned_data.get("cooling_off_hours")
        return 0 if hours is None else int(hours)


class InviteForm(forms.Form):
    """A new user, invited by e-mail to set their own password."""

    email = forms.EmailField()
    username = forms.CharField(
        max_length=150,
        required=False,
        help_text="Leave empty to use the e-mail address.",
    )
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)

    def clean_username(self) -> str:
        return str(self.cleaned_data.get("username") or "").strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        username = data.get("username") or data.get("email") or ""
        data["username"] = username
        user_model = get_user_model()
        if username and user_model.objects.filter(username__iexact=username).exists():
            self.add_error(
                "username" if self.data.get("username") else "email",
                (f"There is already a user called {username}."),
            )
        email = data.get("email")
        if email and user_model.objects.filter(email__iexact=email).exists():
            self.add_error("email", "A user with this e-mail address already exists.")
        return data


class CustomerInviteForm(InviteForm):
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)


STAFF_ROLE_CHOICES = [
    (roles.VIEWER, "Viewer: reads everything"),
    (roles.APPROVER, "Approver: also decides, pauses, resumes and retries"),
    (roles.ADMIN, "Admin: also workspaces, customers and users"),
]


class StaffInviteForm(InviteForm):
    role = forms.ChoiceField(choices=STAFF_ROLE_CHOICES, initial=roles.VIEWER)


class StaffRoleForm(forms.Form):
    NONE = "none"

    role = forms.ChoiceField(choices=[*STAFF_ROLE_CHOICES, (NONE, "No console access")])


class AuditFilterForm(forms.Form):
    action = forms.CharField(
        required=False, max_length=60, help_text="e.g. request.approved or workspace."
    )
    actor = forms.CharField(required=False, max_length=150, label="Actor (username)")
    source = forms.ChoiceField(required=False, choices=[("", "Any source"), *Source.choices])
    customer = forms.ModelChoiceField(
        required=False, queryset=Customer.objects.all(), empty_label="All customers"
    )
    request_id = forms.IntegerField(required=False, min_value=1, label="Request id")
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )


def user_label(user: User | None) -> str:
    """How a user is shown in the console."""
    if user is None:
        return "—"
    full = user.get_full_name()
    return f"{full} ({user.get_username()})" if full else user.get_username()
