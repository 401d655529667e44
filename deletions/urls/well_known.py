"""Well-known addresses (RFC 8615), mounted under /.well-known/: public, no sign-in."""

from django.urls import URLPattern, path

from deletions.views import certificate_keys

app_name = "well_known"

urlpatterns: list[URLPattern] = [
    path(
        "erasure-certificate-keys.json",
        certificate_keys.published_keys,
        name="certificate_keys",
    ),
]
