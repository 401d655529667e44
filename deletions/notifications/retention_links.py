"""Where the customer's retention pages are, for the links in the policies' e-mails.

The paths are kept here, and only here: the pages (``customer:policies``, ``customer:policy``,
``customer:exempt``) are built beside these e-mails, and each function becomes a ``reverse()``
of its name once both are in one tree.
"""

from __future__ import annotations

from urllib.parse import urlencode

from deletions.core import emails

POLICIES_PATH = "/retention/"  # customer:policies
POLICY_PATH = "/retention/{pk}/"  # customer:policy
EXEMPT_PATH = "/retention/exempt/"  # customer:exempt, ?run=<run_id>&policy=<pk>


def policies_url() -> str:
    """The customer's policies, with their last evaluations."""
    return emails.absolute_url(POLICIES_PATH)


def policy_url(policy_id: int) -> str:
    """A policy's page: its rule, state, preview and evaluations."""
    return emails.absolute_url(POLICY_PATH.format(pk=policy_id))


def exempt_url(policy_id: int, run_id: str = "") -> str:
    """Where a customer admin exempts *run_id* (or, without one, picks runs to exempt) from the
    customer's policies, the policy named as the one whose notice led there."""
    query = {"run": run_id, "policy": policy_id} if run_id else {"policy": policy_id}
    return emails.absolute_url(f"{EXEMPT_PATH}?{urlencode(query)}")
