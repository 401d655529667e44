"""Sending the portal's e-mails: each one is three templates (subject, text, HTML) in one call.

``templates/emails/<name>-subject.txt``, ``<name>-body.txt`` and ``<name>-body.html``. Links in
e-mails are absolute, built from ``settings.SITE_URL``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def absolute_url(path: str) -> str:
    """``SITE_URL`` + *path*, for links in e-mails."""
    return f"{settings.SITE_URL}{path}"


def send(
    name: str,
    to: Iterable[str],
    context: dict[str, Any],
    *,
    attachments: Iterable[tuple[str, str, str]] = (),
) -> int:
    """Render e-mail *name* with *context* and send it to every address in *to* (one message),
    with *attachments* as ``(file name, content, MIME type)``.

    Returns the number of messages sent (0 when there is nobody to send to).
    """
    recipients = sorted({addr for addr in to if addr})
    if not recipients:
        return 0
    ctx = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"emails/{name}-subject.txt", ctx).split())
    text = render_to_string(f"emails/{name}-body.txt", ctx)
    html = render_to_string(f"emails/{name}-body.html", ctx)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, recipients)
    message.attach_alternative(html, "text/html")
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    return message.send()
