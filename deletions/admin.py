"""The Django admin: raw data for staff. Audit records are read-only; secrets are write-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from deletions import organizations, transitions
from deletions.errors import DomainError
from deletions.models import (
    Approval,
    AuditEvent,
    Customer,
    DeletionAttempt,
    DeletionItem,
    DeletionRequest,
    Membership,
    Organization,
    ParseRun,
    Source,
    Workspace,
)


class WorkspaceForm(forms.ModelForm[Workspace]):
    """Secrets can be entered or replaced, never read back: the fields always render empty."""

    base_url = forms.URLField(
        assume_scheme="https",
        initial=Workspace.Region.US,
        help_text="Extend region (US, US2, EU1) or any URL, e.g. a local simulator.",
    )
    api_key = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Leave empty to keep the current key.",
    )
    webhook_secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Extend's webhook signing secret (wss_...). Leave empty to keep the current one.",
    )

    class Meta:
        model = Workspace
        fields = [
            "name",
            "base_url",
            "api_version",
            "key_scope",
            "extend_workspace_id",
            "organization",
            "customer_metadata_key",
            "rate_limit",
            "get_rate_limit",
            "verify_deletions",
            "health",
            "health_reason",
        ]

    def save(self, commit: bool = True) -> Workspace:
        workspace = super().save(commit=False)
        if self.cleaned_data.get("api_key"):
            workspace.set_api_key(self.cleaned_data["api_key"])
        if self.cleaned_data.get("webhook_secret"):
            workspace.set_webhook_secret(self.cleaned_data["webhook_secret"])
        if commit:
            workspace.save()
        return workspace


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin[Workspace]):
    form = WorkspaceForm
    list_display = [
        "name",
        "base_url",
        "key_scope",
        "organization",
        "rate_limit",
        "health",
        "masked_api_key",
    ]
    readonly_fields = ["masked_api_key", "masked_webhook_secret", "webhook_token", "created_at"]
    list_filter = ["health", "key_scope", "organization"]
    list_select_related = ["organization"]


class OrganizationWorkspaceInline(admin.TabularInline[Workspace, Organization]):
    model = Workspace
    fields = ["name", "base_url", "health"]
    readonly_fields = ["name", "base_url", "health"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin[Organization]):
    """Extend organisations; their limits apply to every workspace in them."""

    list_display = ["name", "extend_organization_id", "write_rate_limit", "get_rate_limit"]
    search_fields = ["name", "extend_organization_id"]
    readonly_fields = ["created_at"]
    inlines = [OrganizationWorkspaceInline]

    def save_model(
        self,
        request: HttpRequest,
        obj: Organization,
        form: forms.ModelForm[Organization],
        change: bool,
    ) -> None:
        # Its limits decide how fast every workspace in it calls Extend: changes are audited.
        with transaction.atomic():
            before = organizations.snapshot(Organization.objects.get(pk=obj.pk)) if change else None
            super().save_model(request, obj, form, change)
            if before is None:
                organizations.record_created(obj, actor=request.user, source=Source.ADMIN)
            else:
                organizations.record_updated(obj, before, actor=request.user, source=Source.ADMIN)


class MembershipInline(admin.TabularInline[Membership, Customer]):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin[Customer]):
    list_display = ["name", "external_ref", "slug", "is_active"]
    search_fields = ["name", "external_ref"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(ParseRun)
class ParseRunAdmin(admin.ModelAdmin[ParseRun]):
    list_display = ["run_id", "workspace", "customer", "file_name", "extend_status", "state"]
    list_filter = ["state", "workspace", "extend_status"]
    search_fields = ["run_id", "file_name"]
    raw_id_fields = ["customer", "open_request", "deleted_by_request"]
    show_full_result_count = False


class ApprovalInline(admin.TabularInline[Approval, DeletionRequest]):
    model = Approval
    extra = 0
    can_delete = False
    readonly_fields = ["approver", "decision", "comment", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DeletionRequest)
class DeletionRequestAdmin(admin.ModelAdmin[DeletionRequest]):
    """Requests are read here; decisions go through the domain functions (actions below)."""

    list_display = ["id", "customer", "kind", "scope", "status", "item_count", "submitted_at"]
    list_filter = ["status", "kind", "scope"]
    search_fields = ["id", "customer__name", "requested_by__username"]
    inlines = [ApprovalInline]
    actions = ["approve_selected"]
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in DeletionRequest._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Approve selected requests (as you)")
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[DeletionRequest]) -> None:
        for req in queryset:
            try:
                transitions.approve_request(req, actor=request.user, source=Source.ADMIN)
            except DomainError as exc:
                self.message_user(request, f"#{req.pk}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"#{req.pk}: approval recorded.", messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Nothing can be added, changed or deleted from the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DeletionItem)
class DeletionItemAdmin(ReadOnlyAdmin):
    list_display = ["id", "request", "parse_run", "status", "attempts", "last_http_status"]
    list_filter = ["status"]
    raw_id_fields = ["request", "parse_run"]
    show_full_result_count = False


@admin.register(DeletionAttempt)
class DeletionAttemptAdmin(ReadOnlyAdmin):
    list_display = ["id", "item", "kind", "started_at", "http_status", "outcome"]
    show_full_result_count = False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_label", "source", "action", "object_type", "object_id"]
    list_filter = ["source", "action"]
    search_fields = ["object_id", "actor_label", "action"]
    show_full_result_count = False
