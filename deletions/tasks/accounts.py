"""Account e-mails sent after the page has answered."""

from __future__ import annotations

from celery import shared_task

from deletions.accounts import password_reset


# A mail server that is briefly away (smtplib's errors are OSErrors) gets a few more tries.
@shared_task(
    name="deletions.send_password_reset",
    ignore_result=True,
    autoretry_for=(OSError,),
    max_retries=3,
    retry_backoff=True,
)
def send_password_reset_task(address: str) -> None:
    password_reset.send_links(address)
