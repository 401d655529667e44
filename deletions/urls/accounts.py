"""URL routes for the accounts pages (mounted at /accounts/; sign-in and sign-out are in
portal/urls.py). Names follow contrib.auth's, unnamespaced, as its views expect."""

from django.urls import URLPattern, URLResolver, path

from deletions.views import accounts

urlpatterns: list[URLPattern | URLResolver] = [
    path("password_reset/", accounts.password_reset, name="password_reset"),
    path("password_reset/done/", accounts.password_reset_done, name="password_reset_done"),
    path(
        "reset/<uidb64>/<token>/",
        accounts.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path("reset/done/", accounts.password_reset_complete, name="password_reset_complete"),
    path(
        "invitation/<uidb64>/<token>/",
        accounts.accept_invitation,
        name="accept_invitation",
    ),
]
