"""URL routes. Every object URL resolves the object through an ownership helper (404 if foreign)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from deletions.views import home

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
    path("admin/", admin.site.urls),
]
