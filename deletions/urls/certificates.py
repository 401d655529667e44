"""Certificate verification (public: anyone holding a certificate may check it)."""

from django.urls import URLPattern, path

from deletions.views import certificates

app_name = "certificates"

urlpatterns: list[URLPattern] = [
    path("verify/", certificates.verify_page, name="verify"),
]
