"""URL routes, one module per audience. Every object URL resolves its object through an ownership
helper, so a user of another customer gets 404."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from deletions.views import errors, home

admin.site.site_header = "Deletion portal: raw data"
admin.site.site_title = "Deletion portal admin"

urlpatterns = [
    path("", home.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="accounts/login.html"),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("deletions.urls.accounts")),
    path("console/", include("deletions.urls.console")),
    path("webhooks/", include("deletions.urls.webhooks")),
    path("api/v1/", include("deletions.api.urls")),
    path("", include("deletions.api.page_urls")),
    path("erasure/", include("deletions.urls.public")),
    path("certificates/", include("deletions.urls.certificates")),
    path(".well-known/", include("deletions.urls.well_known")),
    path("health/", include("deletions.urls.health")),
    path("admin/", admin.site.urls),
    path("", include("deletions.urls.customer")),
]

handler403 = errors.forbidden
handler404 = errors.not_found
handler500 = errors.server_error
