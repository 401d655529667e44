"""/api/v1/: the JSON API, its OpenAPI schema and a docs page rendered from the schema."""

from django.urls import path, re_path

from deletions.api import (
    bulk,
    certificates,
    controller,
    credentials,
    deadlines,
    docs,
    gdpr,
    inventory,
    notification_settings,
    organizations,
    people,
    recipients,
    register,
    retention_exemptions,
    retention_policies,
    staff,
    views,
    workspaces,
)

app_name = "api"

urlpatterns = [
    path("schema", docs.SchemaView.as_view(), name="schema"),
    path("docs", docs.docs, name="docs"),
    path("runs", views.RunList.as_view(), name="runs"),
    path("requests", views.RequestList.as_view(), name="requests"),
    path("requests/bulk", bulk.Bulk.as_view(), name="requests_bulk"),
    path("requests/<int:pk>", views.RequestDetail.as_view(), name="request"),
    path("requests/<int:pk>/items", views.ItemList.as_view(), name="items"),
    path("requests/<int:pk>/files", views.FileList.as_view(), name="files"),
    path("requests/<int:pk>/cancel", views.Cancel.as_view(), name="cancel"),
    path("requests/<int:pk>/approve", views.Approve.as_view(), name="approve"),
    path("requests/<int:pk>/reject", views.Reject.as_view(), name="reject"),
    path("requests/<int:pk>/retry", views.Retry.as_view(), name="retry"),
    path("requests/<int:pk>/pause", views.Pause.as_view(), name="pause"),
    path("requests/<int:pk>/resume", views.Resume.as_view(), name="resume"),
    path(
        "requests/<int:pk>/certificate", certificates.CertificateJson.as_view(), name="certificate"
    ),
    path(
        "requests/<int:pk>/certificate.pdf",
        certificates.CertificatePdf.as_view(),
        name="certificate_pdf",
    ),
    path("requests/<int:pk>/deadline", deadlines.Deadline.as_view(), name="deadline"),
    path(
        "requests/<int:pk>/deadline/extend",
        deadlines.DeadlineExtend.as_view(),
        name="deadline_extend",
    ),
    path(
        "requests/<int:pk>/deadline/pause", deadlines.DeadlinePause.as_view(), name="deadline_pause"
    ),
    path(
        "requests/<int:pk>/deadline/resume",
        deadlines.DeadlineResume.as_view(),
        name="deadline_resume",
    ),
    path(
        "requests/<int:pk>/recipients",
        recipients.RequestRecipients.as_view(),
        name="request_recipients",
    ),
    path(
        "requests/<int:pk>/recipients/informed",
        recipients.RequestRecipientInformed.as_view(),
        name="request_recipient_informed",
    ),
    path("queue", views.Queue.as_view(), name="queue"),
    path("gdpr/intakes", gdpr.IntakeList.as_view(), name="intakes"),
    path("gdpr/intakes/<int:pk>", gdpr.IntakeDetail.as_view(), name="intake"),
    path("gdpr/intakes/<int:pk>/preview", gdpr.IntakePreview.as_view(), name="intake_preview"),
    path("gdpr/intakes/<int:pk>/freeze", gdpr.IntakeFreeze.as_view(), name="intake_freeze"),
    path("gdpr/intakes/<int:pk>/dismiss", gdpr.IntakeDismiss.as_view(), name="intake_dismiss"),
    path(
        "gdpr/intakes/<int:pk>/confirm", controller.IntakeConfirm.as_view(), name="intake_confirm"
    ),
    path("gdpr/intakes/<int:pk>/refuse", controller.IntakeRefuse.as_view(), name="intake_refuse"),
    path("gdpr/intakes/<int:pk>/reveal", controller.IntakeReveal.as_view(), name="intake_reveal"),
    path("gdpr/confirmations", controller.Confirmations.as_view(), name="intake_confirmations"),
    path("gdpr/requests", gdpr.OnBehalf.as_view(), name="gdpr_requests"),
    path("gdpr/register", register.Register.as_view(), name="gdpr_register"),
    path("gdpr/requests/preview", gdpr.OnBehalfPreview.as_view(), name="gdpr_request_preview"),
    path("holds", staff.HoldList.as_view(), name="holds"),
    path("holds/<int:pk>/lift", staff.HoldLift.as_view(), name="hold_lift"),
    path("workspaces", workspaces.WorkspaceList.as_view(), name="workspaces"),
    path("workspaces/<int:pk>", workspaces.WorkspaceDetail.as_view(), name="workspace"),
    path(
        "workspaces/<int:pk>/secrets",
        workspaces.WorkspaceSecrets.as_view(),
        name="workspace_secrets",
    ),
    path("workspaces/<int:pk>/test", workspaces.WorkspaceTest.as_view(), name="workspace_test"),
    path("workspaces/<int:pk>/sync", workspaces.WorkspaceSync.as_view(), name="workspace_sync"),
    path("workspaces/<int:pk>/pause", staff.WorkspacePause.as_view(), name="workspace_pause"),
    path("workspaces/<int:pk>/resume", staff.WorkspaceResume.as_view(), name="workspace_resume"),
    path("organisations", organizations.OrganizationList.as_view(), name="organizations"),
    path("organisations/<int:pk>", organizations.OrganizationDetail.as_view(), name="organization"),
    path("customers", people.CustomerList.as_view(), name="customers"),
    path("customers/<int:pk>", people.CustomerDetail.as_view(), name="customer"),
    path("customers/<int:pk>/users", people.CustomerUsers.as_view(), name="customer_users"),
    path(
        "customers/<int:pk>/recipients",
        recipients.CustomerRecipients.as_view(),
        name="customer_recipients",
    ),
    path(
        "recipients/<int:pk>/remove", recipients.RecipientRemove.as_view(), name="recipient_remove"
    ),
    path("staff", people.StaffList.as_view(), name="staff"),
    path("staff/<int:pk>/role", people.StaffRole.as_view(), name="staff_role"),
    path("inventory/unassigned", inventory.Unassigned.as_view(), name="unassigned"),
    path("inventory/unassigned/assign", inventory.Assign.as_view(), name="assign"),
    path("inventory/imports", inventory.Import.as_view(), name="imports"),
    path("inventory/imports/preview", inventory.ImportPreview.as_view(), name="import_preview"),
    path("me/tokens", credentials.MyTokens.as_view(), name="my_tokens"),
    path(
        "me/tokens/<int:token_id>/revoke",
        credentials.MyTokenRevoke.as_view(),
        name="my_token_revoke",
    ),
    path("tokens", credentials.Tokens.as_view(), name="tokens"),
    path("tokens/<int:pk>/revoke", credentials.TokenRevoke.as_view(), name="token_revoke"),
    path("service-accounts", credentials.ServiceAccounts.as_view(), name="service_accounts"),
    path(
        "service-accounts/<int:pk>/tokens",
        credentials.ServiceAccountTokens.as_view(),
        name="service_account_tokens",
    ),
    path(
        "notifications/endpoints",
        notification_settings.Endpoints.as_view(),
        name="notification_endpoints",
    ),
    path(
        "notifications/deliveries",
        notification_settings.Deliveries.as_view(),
        name="notification_deliveries",
    ),
    path("retention-policies", retention_policies.PolicyList.as_view(), name="retention_policies"),
    path("retention-policies/switch", retention_policies.Switch.as_view(), name="retention_switch"),
    path(
        "retention-policies/<int:pk>",
        retention_policies.PolicyDetail.as_view(),
        name="retention_policy",
    ),
    path(
        "retention-policies/<int:pk>/approve",
        retention_policies.Approve.as_view(),
        name="retention_policy_approve",
    ),
    path(
        "retention-policies/<int:pk>/reject",
        retention_policies.Reject.as_view(),
        name="retention_policy_reject",
    ),
    path(
        "retention-policies/<int:pk>/pause",
        retention_policies.Pause.as_view(),
        name="retention_policy_pause",
    ),
    path(
        "retention-policies/<int:pk>/resume",
        retention_policies.Resume.as_view(),
        name="retention_policy_resume",
    ),
    path(
        "retention-policies/<int:pk>/retire",
        retention_policies.Retire.as_view(),
        name="retention_policy_retire",
    ),
    path(
        "retention-exemptions",
        retention_exemptions.ExemptionList.as_view(),
        name="retention_exemptions",
    ),
    path(
        "retention-exemptions/<int:pk>",
        retention_exemptions.ExemptionDetail.as_view(),
        name="retention_exemption",
    ),
    re_path(r"^(?P<path>[\s\S]*)$", views.not_found),
]
