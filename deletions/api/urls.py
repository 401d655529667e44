"""/api/v1/: the JSON API, its OpenAPI schema and a docs page rendered from the schema."""

from django.urls import path, re_path

from deletions.api import docs, staff, views

app_name = "api"

urlpatterns = [
    path("schema", docs.SchemaView.as_view(), name="schema"),
    path("docs", docs.docs, name="docs"),
    path("runs", views.RunList.as_view(), name="runs"),
    path("requests", views.RequestList.as_view(), name="requests"),
    path("requests/<int:pk>", views.RequestDetail.as_view(), name="request"),
    path("requests/<int:pk>/items", views.ItemList.as_view(), name="items"),
    path("requests/<int:pk>/cancel", views.Cancel.as_view(), name="cancel"),
    path("requests/<int:pk>/approve", views.Approve.as_view(), name="approve"),
    path("requests/<int:pk>/reject", views.Reject.as_view(), name="reject"),
    path("requests/<int:pk>/retry", views.Retry.as_view(), name="retry"),
    path("requests/<int:pk>/pause", views.Pause.as_view(), name="pause"),
    path("requests/<int:pk>/resume", views.Resume.as_view(), name="resume"),
    path("requests/<int:pk>/certificate", views.CertificateJson.as_view(), name="certificate"),
    path(
        "requests/<int:pk>/certificate.pdf",
        views.CertificatePdf.as_view(),
        name="certificate_pdf",
    ),
    path("queue", views.Queue.as_view(), name="queue"),
    path("holds", staff.HoldList.as_view(), name="holds"),
    path("holds/<int:pk>/lift", staff.HoldLift.as_view(), name="hold_lift"),
    path("workspaces/<int:pk>/pause", staff.WorkspacePause.as_view(), name="workspace_pause"),
    path("workspaces/<int:pk>/resume", staff.WorkspaceResume.as_view(), name="workspace_resume"),
    re_path(r"^(?P<path>[\s\S]*)$", views.not_found),
]
