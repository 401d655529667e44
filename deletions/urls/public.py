"""Public pages (no sign-in): the erasure form per customer and its verification link."""

from django.urls import URLPattern, path

from deletions.views import public

app_name = "public"

urlpatterns: list[URLPattern] = [
    path("", public.erasure_index, name="index"),
    path("verify/<str:token>/", public.verify, name="verify"),
    path("<slug:slug>/", public.erasure_form, name="form"),
    path("<slug:slug>/sent/", public.erasure_sent, name="sent"),
]
