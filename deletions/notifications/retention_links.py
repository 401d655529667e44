"""Where the customer's retention pages are, for the links in the policies' e-mails (absolute,
as every e-mail's links are)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse

from deletions.core import emails


def policies_url() -> str:
    """The customer's policies, with their last evaluations and last month's summary."""
    return emails.absolute_url(reverse("customer:policies"))


def policy_url(policy_id: int) -> str:
    """A policy's page: its rule, state, preview and evaluations."""
    return emails.absolute_url(reverse("customer:policy", args=[policy_id]))


def exempt_url(policy_id: int, run_id: str = "") -> str:
    """Where a customer admin exempts *run_id* (or, without one, picks runs to exempt) from the
    customer's policies, the policy named as the one whose notice led there."""
    query = {"run": run_id, "policy": policy_id} if run_id else {"policy": policy_id}
    return emails.absolute_url(f"{reverse('customer:exempt')}?{urlencode(query)}")
