"""URL routes for the staff console. Every view is wrapped in ``console_required``; the test in
tests/console/test_permissions.py enumerates these patterns so none can be forgotten."""

from django.urls import URLPattern, URLResolver, include, path

from deletions.views import (
    certificates,
    console_audit,
    console_controller,
    console_dashboard,
    console_deadline,
    console_gdpr,
    console_holds,
    console_organizations,
    console_people,
    console_policies,
    console_recipients,
    console_register,
    console_requests,
    console_workspaces,
)

app_name = "console"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", console_dashboard.dashboard, name="dashboard"),
    # Requests
    path("requests/", console_requests.queue, name="queue"),
    path("requests/bulk/", console_requests.bulk, name="bulk"),
    path("requests/<int:pk>/", console_requests.detail, name="request_detail"),
    path("requests/<int:pk>/approve/", console_requests.request_approve, name="request_approve"),
    path("requests/<int:pk>/reject/", console_requests.request_reject, name="request_reject"),
    path("requests/<int:pk>/cancel/", console_requests.request_cancel, name="request_cancel"),
    path("requests/<int:pk>/pause/", console_requests.request_pause, name="request_pause"),
    path("requests/<int:pk>/resume/", console_requests.request_resume, name="request_resume"),
    path("requests/<int:pk>/retry/", console_requests.request_retry, name="request_retry"),
    path("requests/<int:pk>/extend/", console_gdpr.request_extend, name="request_extend"),
    path(
        "requests/<int:pk>/deadline/pause/",
        console_deadline.deadline_pause,
        name="request_deadline_pause",
    ),
    path(
        "requests/<int:pk>/deadline/resume/",
        console_deadline.deadline_resume,
        name="request_deadline_resume",
    ),
    path(
        "requests/<int:pk>/recipients/informed/",
        console_recipients.request_recipient_informed,
        name="request_recipient_informed",
    ),
    path(
        "requests/<int:pk>/certificate.json",
        certificates.console_json,
        name="request_certificate_json",
    ),
    path(
        "requests/<int:pk>/certificate.pdf",
        certificates.console_pdf,
        name="request_certificate_pdf",
    ),
    # GDPR intakes from the public form, and requests filed on a data subject's behalf
    path("gdpr/intakes/", console_gdpr.intake_list, name="intake_list"),
    path("gdpr/intakes/<int:pk>/", console_gdpr.intake_detail, name="intake_detail"),
    path("gdpr/intakes/<int:pk>/dismiss/", console_gdpr.intake_dismiss, name="intake_dismiss"),
    path(
        "gdpr/intakes/<int:pk>/confirm/", console_controller.intake_confirm, name="intake_confirm"
    ),
    path("gdpr/intakes/<int:pk>/reveal/", console_controller.intake_reveal, name="intake_reveal"),
    path("gdpr/new/", console_gdpr.file_request, name="gdpr_new"),
    # The register of erasure requests and its exports
    path("gdpr/register/", console_register.register_page, name="register"),
    path("gdpr/register.csv", console_register.register_csv, name="register_csv"),
    path("gdpr/register.json", console_register.register_json, name="register_json"),
    # Legal holds
    path("holds/", console_holds.hold_list, name="hold_list"),
    path("holds/new/", console_holds.hold_new, name="hold_new"),
    path("holds/<int:pk>/", console_holds.hold_detail, name="hold_detail"),
    path("holds/<int:pk>/lift/", console_holds.hold_lift, name="hold_lift"),
    # Retention policies: every customer's, their approvals and the switch for all of them
    path("retention/", console_policies.policy_list, name="policy_list"),
    path("retention/stop/", console_policies.retention_stop, name="retention_stop"),
    path("retention/restart/", console_policies.retention_restart, name="retention_restart"),
    path("retention/<int:pk>/", console_policies.policy_detail, name="policy_detail"),
    path("retention/<int:pk>/approve/", console_policies.policy_approve, name="policy_approve"),
    path("retention/<int:pk>/reject/", console_policies.policy_reject, name="policy_reject"),
    path("retention/<int:pk>/pause/", console_policies.policy_pause, name="policy_pause"),
    path("retention/<int:pk>/resume/", console_policies.policy_resume, name="policy_resume"),
    # Workspaces
    path("workspaces/", console_workspaces.workspace_list, name="workspace_list"),
    path("workspaces/new/", console_workspaces.workspace_create, name="workspace_create"),
    path("workspaces/<int:pk>/", console_workspaces.workspace_detail, name="workspace_detail"),
    path("workspaces/<int:pk>/edit/", console_workspaces.workspace_edit, name="workspace_edit"),
    path(
        "workspaces/<int:pk>/secrets/",
        console_workspaces.workspace_secrets,
        name="workspace_secrets",
    ),
    path("workspaces/<int:pk>/test/", console_workspaces.workspace_test, name="workspace_test"),
    path("workspaces/<int:pk>/pause/", console_workspaces.workspace_pause, name="workspace_pause"),
    path(
        "workspaces/<int:pk>/resume/",
        console_workspaces.workspace_resume,
        name="workspace_resume",
    ),
    path("workspaces/<int:pk>/sync/", console_workspaces.workspace_sync, name="workspace_sync"),
    # Extend organisations (their workspaces share their rate limits)
    path(
        "workspaces/organisations/",
        console_organizations.organization_list,
        name="organization_list",
    ),
    path(
        "workspaces/organisations/new/",
        console_organizations.organization_create,
        name="organization_create",
    ),
    path(
        "workspaces/organisations/<int:pk>/",
        console_organizations.organization_detail,
        name="organization_detail",
    ),
    path(
        "workspaces/organisations/<int:pk>/edit/",
        console_organizations.organization_edit,
        name="organization_edit",
    ),
    # Customers and staff (admins)
    path("customers/", console_people.customer_list, name="customer_list"),
    path("customers/new/", console_people.customer_create, name="customer_create"),
    path("customers/<int:pk>/", console_people.customer_detail, name="customer_detail"),
    path("customers/<int:pk>/edit/", console_people.customer_edit, name="customer_edit"),
    path(
        "customers/<int:pk>/recipients/",
        console_recipients.recipient_add,
        name="customer_recipient_add",
    ),
    path(
        "customers/recipients/<int:pk>/remove/",
        console_recipients.recipient_remove,
        name="recipient_remove",
    ),
    path("staff/", console_people.staff_list, name="staff_list"),
    path("staff/<int:pk>/role/", console_people.staff_role, name="staff_role"),
    # Audit
    path("audit/", console_audit.audit_log, name="audit_log"),
    path("audit/export.csv", console_audit.audit_export, name="audit_export"),
    path("inventory/", include("deletions.urls.inventory")),
]
