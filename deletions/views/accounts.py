"""Account pages beyond sign-in: password reset by e-mail and accepting an invitation.

Invitation links are signed and expire (``PASSWORD_RESET_TIMEOUT``) like password-reset links,
but with their own token salt, so one kind of link never works as the other. GET shows the
page; only POST sets the password.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import urlsafe_base64_decode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from deletions.accounts import throttle
from deletions.accounts.invitations import invitation_token
from deletions.tasks.accounts import send_password_reset_task


def _user_from_uid(uidb64: str) -> User | None:
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
        # A service account never signs in, so it never accepts an invitation.
        return User.objects.select_related("membership__customer").get(
            pk=pk, is_active=True, service_account__isnull=True
        )
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError, User.DoesNotExist):
        return None


@never_cache
@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """Set a first password through the invitation link, then sign in."""
    user = _user_from_uid(uidb64)
    valid = (
        user is not None
        and not user.has_usable_password()
        and invitation_token.check_token(user, token)
    )
    if not valid or user is None:
        return render(request, "accounts/invitation_invalid.html", status=400)
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Your password is set and you are signed in.")
        return redirect("home")
    ctx: dict[str, Any] = {"form": form, "invited_user": user}
    return render(request, "accounts/invitation_accept.html", ctx)


THROTTLE_SCOPE = "password-reset"


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset page, limited per client and per address, with the mail sent afterwards.

    Every valid request gets the same redirect to "Check your e-mail"; the address is looked up
    and mailed by a worker (``deletions.accounts.password_reset``), so neither the answer nor its
    timing says whether an account exists. Past the client's hourly limit the page says so (429);
    past the address's limit it answers as usual and sends nothing more this hour, so a stranger
    can neither flood someone's mailbox nor stop them from resetting (the links already sent
    still work).
    """

    template_name = "accounts/password_reset_form.html"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        address: str = form.cleaned_data["email"]
        if throttle.client_over_limit(
            THROTTLE_SCOPE, self.request, settings.PASSWORD_RESET_LIMIT_PER_IP
        ):
            return throttle.too_many(self.request, "accounts/password_reset_throttled.html", {})
        if not throttle.email_over_limit(
            THROTTLE_SCOPE, address, settings.PASSWORD_RESET_LIMIT_PER_EMAIL
        ):
            transaction.on_commit(lambda: send_password_reset_task.delay(address))
        return HttpResponseRedirect(self.get_success_url())


password_reset = PasswordResetView.as_view()
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="accounts/password_reset_done.html"
)
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="accounts/password_reset_confirm.html",
    success_url=reverse_lazy("password_reset_complete"),
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="accounts/password_reset_complete.html"
)
