"""URL routes for Extend's webhooks (mounted under /webhooks/)."""

from django.urls import URLPattern, URLResolver, path

from deletions.views import webhooks

urlpatterns: list[URLPattern | URLResolver] = [
    path("extend/<uuid:token>/", webhooks.extend_webhook, name="extend_webhook"),
]
