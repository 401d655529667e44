"""Password-reset e-mails, sent by a worker after the page has answered.

The page answers the same whatever the address (``deletions.views.accounts``); looking the
address up, making the token and talking to the mail server happen here, in a Celery task, so
not even the answer's timing tells whether an account exists.
"""

from __future__ import annotations

from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from deletions.core import emails


def send_links(address: str) -> int:
    """E-mail a reset link to each account at *address* that may reset; return how many.

    The same accounts as Django's own reset page: active, with a usable password (an invited
    user who has not accepted yet uses the invitation link instead).
    """
    sent = 0
    for user in PasswordResetForm().get_users(address):
        uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        path = reverse("password_reset_confirm", args=[uidb64, token])
        sent += emails.send(
            "password_reset", [user.email], {"user": user, "url": emails.absolute_url(path)}
        )
    return sent
