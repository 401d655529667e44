"""Accounts tests start with empty throttle counters and catch the mail handed to the worker."""

from __future__ import annotations

import pytest

from deletions.tasks import accounts as account_tasks


@pytest.fixture(autouse=True)
def _fresh_throttle(fresh_throttle):
    """Every sign-in and reset starts from zero attempts counted."""


@pytest.fixture
def reset_mail_queue(monkeypatch):
    """The addresses handed to the worker for a reset e-mail, in order (instead of a broker)."""
    queued: list[str] = []
    monkeypatch.setattr(account_tasks.send_password_reset_task, "delay", queued.append)
    return queued
