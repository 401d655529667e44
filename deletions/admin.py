"""The Django admin: raw data for staff, read-only.

Every change to a domain record goes through the audited console or API, which call the domain
functions (transitions, holds, workspace health, the dispatch fence). An admin form that saved a
workspace's key, a run's customer or a request's status directly would bypass the gate and leave
no audit record, so the admin only shows. Secrets are never shown (only their last four).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db import models
from django.http import HttpRequest

from deletions.models import (
    Approval,
    AuditEvent,
    Customer,
    DeletionAttempt,
    DeletionItem,
    DeletionRequest,
    LegalHold,
    Membership,
    Organization,
    OwnershipConflict,
    ParseRun,
    Workspace,
)


class ReadOnlyMixin:
    """Nothing can be added, changed or deleted from the admin, not even by a superuser."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin[Any]):
    show_full_result_count = False
    # The admin still builds (read-only) forms; Django 6's URL default, already.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


# Users and staff roles (groups) too: roles are given and taken on the console's staff page and
# invitations sent from it, audited; superuser status is given by ``createsuperuser`` on the
# server and taken away with console access. The password hash is not shown.
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class ReadOnlyUserAdmin(ReadOnlyMixin, UserAdmin[User]):
    fieldsets = (
        (None, {"fields": ("username", "first_name", "last_name", "email")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )


@admin.register(Group)
class ReadOnlyGroupAdmin(ReadOnlyMixin, GroupAdmin):
    pass


@admin.register(Organization)
class OrganizationAdmin(ReadOnlyAdmin):
    list_display = ["name", "extend_organization_id", "write_rate_limit", "get_rate_limit"]
    search_fields = ["name", "extend_organization_id"]


@admin.register(Workspace)
class WorkspaceAdmin(ReadOnlyAdmin):
    list_display = ["name", "base_url", "key_scope", "rate_limit", "health", "masked_api_key"]
    exclude = ["api_key_encrypted", "webhook_secret_encrypted"]
    readonly_fields = ["masked_api_key", "masked_webhook_secret"]
    list_filter = ["health", "key_scope"]


class MembershipInline(admin.TabularInline[Membership, Customer]):
    model = Membership
    extra = 0
    can_delete = False
    raw_id_fields = ["user"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ["name", "external_ref", "slug", "is_active"]
    search_fields = ["name", "external_ref"]
    inlines = [MembershipInline]


@admin.register(ParseRun)
class ParseRunAdmin(ReadOnlyAdmin):
    list_display = ["run_id", "workspace", "customer", "file_name", "extend_status", "state"]
    list_filter = ["state", "workspace", "extend_status"]
    search_fields = ["run_id", "file_name"]
    raw_id_fields = ["customer", "open_request", "deleted_by_request"]


class ApprovalInline(admin.TabularInline[Approval, DeletionRequest]):
    model = Approval
    extra = 0
    can_delete = False
    readonly_fields = ["approver", "decision", "comment", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DeletionRequest)
class DeletionRequestAdmin(ReadOnlyAdmin):
    """Requests are read here; decisions are taken in the console or through the API."""

    list_display = ["id", "customer", "kind", "scope", "status", "item_count", "submitted_at"]
    list_filter = ["status", "kind", "scope"]
    search_fields = ["id", "customer__name", "requested_by__username"]
    inlines = [ApprovalInline]


@admin.register(DeletionItem)
class DeletionItemAdmin(ReadOnlyAdmin):
    list_display = ["id", "request", "parse_run", "status", "attempts", "last_http_status"]
    list_filter = ["status"]
    raw_id_fields = ["request", "parse_run"]


@admin.register(DeletionAttempt)
class DeletionAttemptAdmin(ReadOnlyAdmin):
    list_display = ["id", "item", "kind", "started_at", "http_status", "outcome"]


@admin.register(LegalHold)
class LegalHoldAdmin(ReadOnlyAdmin):
    list_display = ["id", "scope", "reference", "placed_at", "lifted_at"]


@admin.register(OwnershipConflict)
class OwnershipConflictAdmin(ReadOnlyAdmin):
    list_display = ["parse_run", "request", "observed_customer", "source", "seen_at", "resolved_at"]
    raw_id_fields = ["parse_run", "request"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_label", "source", "action", "object_type", "object_id"]
    list_filter = ["source", "action"]
    search_fields = ["object_id", "actor_label", "action"]
