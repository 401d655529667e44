"""HTML pages around the API: tokens (console admins; customer admins for their own users) and
the outbound-notification settings and delivery log (console admins).

A new token is shown once, on the page that answers the POST; only its hash is kept.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from deletions import outbound
from deletions.api import notifications, tokens
from deletions.api.models import ApiToken, NotificationDelivery, NotificationEndpoint
from deletions.errors import DomainError
from deletions.models import Customer, Source
from deletions.views.console_auth import ADMINISTER, VIEW, console_required, render_console
from deletions.views.customer import CustomerRequest, customer_admin_required

LIST_LIMIT = 200


class TokenForm(forms.Form):
    username = forms.CharField(label="User", max_length=150)
    name = forms.CharField(label="Label", max_length=100, help_text="What the token is for.")


class CustomerTokenForm(forms.Form):
    user = forms.ModelChoiceField(queryset=get_user_model().objects.none(), label="User")
    name = forms.CharField(label="Label", max_length=100, help_text="What the token is for.")


class EndpointForm(forms.Form):
    customer = forms.ModelChoiceField(queryset=Customer.objects.all())
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text="https, at a public address.",
    )

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            outbound.check_url(url)
        except outbound.OutboundURLRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return url


# --- Console ---


@require_http_methods(["GET", "POST"])
@console_required(ADMINISTER)
def console_tokens(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    created: tuple[ApiToken, str] | None = None
    if request.method == "POST" and form.is_valid():
        user = get_user_model().objects.filter(username=form.cleaned_data["username"]).first()
        if user is None:
            form.add_error("username", "There is no such user.")
        else:
            try:
                created = tokens.issue(
                    user,
                    name=form.cleaned_data["name"],
                    created_by=_user(request),
                    source=Source.WEB,
                )
                form = TokenForm()
            except DomainError as exc:
                form.add_error("username", str(exc))
    rows = ApiToken.objects.select_related("user", "customer").order_by(
        "revoked_at", "-created_at"
    )[:LIST_LIMIT]
    ctx = {"form": form, "tokens": rows, "created": created}
    return render_console(request, "console/api/tokens.html", ctx, section="api")


@require_http_methods(["GET", "POST"])
@console_required(ADMINISTER)
def console_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken.objects.select_related("user", "customer"), pk=pk)
    if request.method == "POST":
        tokens.revoke(token, actor=_user(request), source=Source.WEB)
        messages.success(request, f"Token {token.prefix}… of {token.user.username} is revoked.")
        return redirect("api_pages:console_tokens")
    ctx = {"token": token, "cancel_url": "api_pages:console_tokens"}
    return render_console(request, "console/api/token_revoke.html", ctx, section="api")


@require_http_methods(["GET", "POST"])
@console_required(VIEW)
def console_notifications(request: HttpRequest) -> HttpResponse:
    """The customers' notification URLs and the delivery log (all staff); admins set a URL,
    whose new secret is shown once."""
    may_edit = request.user.has_perm(ADMINISTER)
    if request.method == "POST" and not may_edit:
        raise PermissionDenied("Only a console admin can set notification URLs.")
    form = EndpointForm(request.POST or None)
    new_secret = ""
    if request.method == "POST" and form.is_valid():
        customer = form.cleaned_data["customer"]
        try:
            endpoint, new_secret = notifications.set_endpoint(
                customer, form.cleaned_data["url"], actor=_user(request), source=Source.WEB
            )
            messages.success(request, f"Notifications for {customer} go to {endpoint.url}.")
            form = EndpointForm()
        except DomainError as exc:
            form.add_error("url", str(exc))
    customer_id = request.GET.get("customer", "")
    deliveries = NotificationDelivery.objects.select_related("endpoint__customer")
    if customer_id.isdigit():
        deliveries = deliveries.filter(endpoint__customer_id=int(customer_id))
    ctx: dict[str, Any] = {
        "form": form,
        "new_secret": new_secret,
        "endpoints": NotificationEndpoint.objects.select_related("customer").order_by(
            "customer__name"
        ),
        "deliveries": deliveries.order_by("-created_at", "-id")[:LIST_LIMIT],
        "customer_id": customer_id,
        "may_edit": may_edit,
    }
    return render_console(request, "console/api/notifications.html", ctx, section="api")


# --- Customer admins: tokens for their own users ---


def _customer_users(request: CustomerRequest) -> Any:
    return get_user_model().objects.filter(
        membership__customer_id=request.membership.customer_id, is_active=True
    )


@require_http_methods(["GET", "POST"])
@customer_admin_required
def team_tokens(request: CustomerRequest) -> HttpResponse:
    form = CustomerTokenForm(request.POST or None)
    form.fields["user"].queryset = _customer_users(request).order_by("username")  # type: ignore[attr-defined]
    created: tuple[ApiToken, str] | None = None
    if request.method == "POST" and form.is_valid():
        try:
            created = tokens.issue(
                form.cleaned_data["user"],
                name=form.cleaned_data["name"],
                created_by=request.user,
                source=Source.WEB,
            )
            form = CustomerTokenForm(initial={})
            form.fields["user"].queryset = _customer_users(request).order_by("username")  # type: ignore[attr-defined]
        except DomainError as exc:
            form.add_error("user", str(exc))
    rows = (
        ApiToken.objects.filter(customer_id=request.membership.customer_id)
        .select_related("user")
        .order_by("revoked_at", "-created_at")[:LIST_LIMIT]
    )
    ctx = {"form": form, "tokens": rows, "created": created, "nav": "team"}
    return render(request, "api/team_tokens.html", ctx)


@require_http_methods(["GET", "POST"])
@customer_admin_required
def team_revoke(request: CustomerRequest, pk: int) -> HttpResponse:
    # Ownership: only tokens of this customer; anything else is a 404.
    token = get_object_or_404(
        ApiToken.objects.select_related("user").filter(
            Q(customer_id=request.membership.customer_id)
        ),
        pk=pk,
    )
    if request.method == "POST":
        tokens.revoke(token, actor=request.user, source=Source.WEB)
        messages.success(request, f"Token {token.prefix}… of {token.user.username} is revoked.")
        return redirect("api_pages:team_tokens")
    return render(request, "api/team_token_revoke.html", {"token": token, "nav": "team"})


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user
