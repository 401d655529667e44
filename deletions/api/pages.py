"""HTML pages around the API: every signed-in user's own tokens; service accounts and their
tokens, with every token of their scope to revoke (console admins: the operator's and all;
customer admins: their customer's); the outbound-notification settings and delivery log.

Credentials are personal: nobody is shown a working token of another person. A new token is
shown once, on the page that answers the POST, to the person who created it; only its hash is
kept.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from deletions.accounts import service_accounts
from deletions.accounts.roles import is_staff_user, membership_of
from deletions.api import tokens
from deletions.core import outbound
from deletions.core.errors import DomainError
from deletions.models import (
    ApiToken,
    Customer,
    NotificationDelivery,
    NotificationEndpoint,
    ServiceAccount,
    Source,
)
from deletions.notifications import signed_posts as notifications
from deletions.views.console_auth import ADMINISTER, VIEW, console_required, render_console
from deletions.views.customer import CustomerRequest, customer_admin_required

LIST_LIMIT = 200


class TokenForm(forms.Form):
    name = forms.CharField(label="Label", max_length=100, help_text="What the token is for.")


class ServiceAccountForm(forms.Form):
    account_name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="The program that will use it, e.g. “Nightly clean-up”.",
    )


class ServiceTokenForm(TokenForm):
    account = forms.ModelChoiceField(
        queryset=ServiceAccount.objects.none(),
        label="Service account",
        help_text="One you created: you stand behind what it does.",
    )

    field_order = ["account", "name"]


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


# --- Shared by the console's and the team's token pages ---


def _token_rows(tokens_: QuerySet[ApiToken]) -> list[ApiToken]:
    return list(
        tokens_.select_related("user__service_account__issued_by", "customer").order_by(
            "revoked_at", "-created_at"
        )[:LIST_LIMIT]
    )


def _service_accounts_page(request: HttpRequest, customer: Customer | None) -> dict[str, Any]:
    """The service-account half of a token page: POST ``what=account`` creates a service
    account of *customer* (None: the operator), any other POST issues a token of one the
    signed-in person created."""
    person = _user(request)
    what = request.POST.get("what", "token") if request.method == "POST" else ""
    account_form = ServiceAccountForm(request.POST if what == "account" else None)
    token_form = ServiceTokenForm(request.POST if what == "token" else None)
    created: tuple[ApiToken, str] | None = None
    if what == "account" and account_form.is_valid():
        try:
            account = service_accounts.create(
                name=account_form.cleaned_data["account_name"],
                customer=customer,
                issued_by=person,
                source=Source.WEB,
            )
            messages.success(
                request, f"Service account {account.name} ({account.user.username}) is created."
            )
            account_form = ServiceAccountForm()
        except DomainError as exc:
            account_form.add_error("account_name", str(exc))
    mine = service_accounts.issued_by(person, customer)
    token_form.fields["account"].queryset = mine  # type: ignore[attr-defined]
    if what == "token" and token_form.is_valid():
        try:
            created = tokens.issue(
                token_form.cleaned_data["account"].user,
                name=token_form.cleaned_data["name"],
                created_by=person,
                source=Source.WEB,
            )
            token_form = ServiceTokenForm()
            token_form.fields["account"].queryset = mine  # type: ignore[attr-defined]
        except DomainError as exc:
            token_form.add_error("account", str(exc))
    accounts = ServiceAccount.objects.select_related("user", "issued_by")
    accounts = (
        accounts.filter(customer__isnull=True)
        if customer is None
        else accounts.filter(customer=customer)
    )
    return {
        "account_form": account_form,
        "token_form": token_form,
        "created": created,
        "service_accounts": accounts,
    }


# --- Console ---


@require_http_methods(["GET", "POST"])
@console_required(ADMINISTER)
def console_tokens(request: HttpRequest) -> HttpResponse:
    """Every token, to revoke; the operator's service accounts and their tokens."""
    ctx = _service_accounts_page(request, None)
    ctx["tokens"] = _token_rows(ApiToken.objects.all())
    return render_console(request, "console/api/tokens.html", ctx, section="api")


@require_http_methods(["GET", "POST"])
@console_required(ADMINISTER)
def console_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken.objects.select_related("user", "customer"), pk=pk)
    if request.method == "POST":
        tokens.revoke(token, actor=_user(request), source=Source.WEB)
        messages.success(request, f"Token {token.prefix}… of {token.user.username} is revoked.")
        return redirect("api_pages:console_tokens")
    ctx = {
        "token": token,
        "cancel_url": "api_pages:console_tokens",
        "base_template": "console/base.html",
    }
    return render_console(request, "api/token_revoke.html", ctx, section="api")


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


# --- Customer admins: their customer's tokens and service accounts ---


@require_http_methods(["GET", "POST"])
@customer_admin_required
def team_tokens(request: CustomerRequest) -> HttpResponse:
    """The customer's tokens, to revoke; its service accounts and their tokens."""
    customer = request.membership.customer
    ctx = _service_accounts_page(request, customer)
    ctx.update(tokens=_token_rows(ApiToken.objects.filter(customer=customer)), nav="team")
    return render(request, "api/team_tokens.html", ctx)


@require_http_methods(["GET", "POST"])
@customer_admin_required
def team_revoke(request: CustomerRequest, pk: int) -> HttpResponse:
    # Ownership: only tokens of this customer; anything else is a 404.
    token = get_object_or_404(
        ApiToken.objects.select_related("user").filter(customer_id=request.membership.customer_id),
        pk=pk,
    )
    if request.method == "POST":
        tokens.revoke(token, actor=request.user, source=Source.WEB)
        messages.success(request, f"Token {token.prefix}… of {token.user.username} is revoked.")
        return redirect("api_pages:team_tokens")
    ctx = {
        "token": token,
        "cancel_url": "api_pages:team_tokens",
        "base_template": "customer/base.html",
        "nav": "team",
    }
    return render(request, "api/token_revoke.html", ctx)


# --- Everyone: their own tokens ---


def _render_own(request: HttpRequest, template: str, ctx: dict[str, Any]) -> HttpResponse:
    """A personal page in the layout of the user's audience: console, customer pages or plain."""
    if is_staff_user(request.user):
        return render_console(
            request, template, {**ctx, "base_template": "console/base.html"}, section="my_tokens"
        )
    membership = membership_of(request.user)
    if membership is not None and membership.customer.is_active:
        ctx.update(base_template="customer/base.html", nav="my_tokens")
    return render(request, template, {"base_template": "base.html", **ctx})


@require_http_methods(["GET", "POST"])
@login_required
def my_tokens(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own tokens: create one (shown once, here), see and revoke them."""
    user = _user(request)
    form = TokenForm(request.POST or None)
    created: tuple[ApiToken, str] | None = None
    if request.method == "POST" and form.is_valid():
        try:
            created = tokens.issue(
                user, name=form.cleaned_data["name"], created_by=user, source=Source.WEB
            )
            form = TokenForm()
        except DomainError as exc:
            form.add_error("name", str(exc))
    ctx = {"form": form, "tokens": _token_rows(user.api_tokens.all()), "created": created}
    return _render_own(request, "api/my_tokens.html", ctx)


@require_http_methods(["GET", "POST"])
@login_required
def my_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    # Ownership: only the signed-in user's own tokens; anything else is a 404.
    token = get_object_or_404(ApiToken.objects.filter(user=_user(request)), pk=token_id)
    if request.method == "POST":
        tokens.revoke(token, actor=_user(request), source=Source.WEB)
        messages.success(request, f"Your token {token.prefix}… is revoked.")
        return redirect("api_pages:my_tokens")
    return _render_own(
        request, "api/token_revoke.html", {"token": token, "cancel_url": "api_pages:my_tokens"}
    )


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user
