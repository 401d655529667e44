"""Shortcuts for the retention pages' tests: a page's text and messages, a narrowed active
policy (one approval) and one evaluated into its retention request."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from deletions.policies import evaluation
from tests.policies.conftest import NOW, active_policy, aged_runs


def text(response):
    return response.content.decode()


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def narrow_policy(customer, proposer, approvers, **values):
    """An active policy on runs older than 30 days whose file name contains "doc" (narrowed:
    one approval is enough)."""
    values.setdefault("older_than_days", 30)
    values.setdefault("file_name_contains", "doc")
    return active_policy(customer, proposer, approvers, **values)


def evaluated_policy(ws, customer, proposer, approvers, ages, **values):
    """Runs of *ages* days and a narrowed policy approved eight days before NOW (past its
    notice), evaluated at NOW: return the policy and its evaluation."""
    aged_runs(ws, customer, ages)
    with time_machine.travel(NOW - timedelta(days=8), tick=False):
        policy = narrow_policy(customer, proposer, approvers, **values)
    with time_machine.travel(NOW, tick=False):
        evaluated = evaluation.evaluate(policy).evaluation
    return policy, evaluated
