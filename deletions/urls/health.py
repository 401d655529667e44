"""URL routes for the health endpoints (mounted under /health/)."""

from django.urls import URLPattern, URLResolver, path

from deletions.views import health

app_name = "health"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", health.web, name="web"),
    path("worker/", health.worker, name="worker"),
]
