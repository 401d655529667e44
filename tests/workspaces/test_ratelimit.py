"""The shared rate limiter: however many callers ask at once, the slots it grants never put more
than the limit into any one-second window.

Grants are counted at the moment the limiter gave them, on its own clock (the one every process
shares), not when the calling thread next ran: on a loaded machine a thread can sleep tens of
milliseconds between the grant and its next instruction, which measures the scheduler, not the
limiter. The room between a grant and the call's arrival at Extend is ``SAFETY_FACTOR``'s."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from deletions.workspaces import ratelimit
from tests.helpers import at_once

pytestmark = pytest.mark.django_db(transaction=True)


def _peak(times: list[float]) -> int:
    """The most grants in any sliding window of one second."""
    times = sorted(times)
    peak, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


@pytest.mark.parametrize("limit", [3, 4, 8, 10, 50])
def test_no_one_second_window_holds_more_than_the_limit_whatever_the_callers(limit):
    key = f"test-window-{uuid.uuid4().hex}"
    granted: list[float] = []
    lock = threading.Lock()
    end = time.monotonic() + 2.5

    def caller() -> None:
        while time.monotonic() < end:
            grant = ratelimit.granted_slot(key, limit, deadline=end)
            if grant is not None:
                with lock:
                    granted.append(grant.slot)

    assert at_once(*[caller] * 12) == [None] * 12

    assert granted, "no slot was granted"
    assert _peak(granted) <= limit


def test_a_slot_taken_late_never_lets_the_next_caller_in_early():
    key = f"test-late-{uuid.uuid4().hex}"
    interval = ratelimit.interval_for(10)
    assert ratelimit.reserve(key, 10).granted
    time.sleep(interval * 1.5)  # the next slot came and nobody took it
    assert ratelimit.reserve(key, 10).granted
    # The late taker's slot starts from now: the next one is a whole interval away.
    later = ratelimit.reserve(key, 10)
    assert not later.granted and later.wait > interval * 0.9
