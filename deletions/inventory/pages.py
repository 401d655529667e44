"""Fetching the pages of ``GET /parse_runs`` for the sync: each call in a GET slot of the
workspace's organisation (a 429 pushes back every GET caller of it), transient errors retried,
and for a full sync a thread that fetches a few pages ahead of what the sync has stored."""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Generator

from django.db import connection

from deletions.extend_client import ExtendClient, ParseRunPage, RateLimited, Transient
from deletions.models import Workspace
from deletions.workspaces import ratelimit

# A full sync fetches at most this many pages ahead of what it has stored, and stores up to
# this many in one transaction: memory stays bounded, the database keeps up with the limit.
MAX_BATCH = 10
# Transient errors on one page are retried this many times before the sync fails (resumable).
MAX_PAGE_RETRIES = 4

_END = object()


def page_batches(
    fetcher: PageFetcher, token: str | None, out_of_time: Callable[[], bool], *, ahead: bool
) -> Generator[list[ParseRunPage], None, None]:
    """Pages from *token* on, in lists; ends early (without a last page) when out of time.

    With *ahead*, a thread fetches up to ``MAX_BATCH`` pages ahead and each list holds every
    page that has arrived; without, one page is fetched per list, only when asked for (an
    incremental sync must not fetch a page it will not use).
    """
    if not ahead:
        while True:
            page = fetcher.fetch(token, out_of_time)
            if page is None:
                return
            yield [page]
            if not page.next_page_token:
                return
            token = page.next_page_token
    arrived: queue.Queue[object] = queue.Queue(maxsize=MAX_BATCH)
    stop = threading.Event()

    def give(item: object) -> bool:
        while not stop.is_set():
            try:
                arrived.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce(token: str | None) -> None:
        try:
            while not stop.is_set():
                page = fetcher.fetch(token, lambda: stop.is_set() or out_of_time())
                if page is None or not give(page) or not page.next_page_token:
                    break
                token = page.next_page_token
        except BaseException as error:  # handed to the consumer, which raises it
            give(error)
            return
        finally:
            # The limiter may have used this thread's own database connection (embedded
            # default) or loaded the workspace's organisation: close it with the thread.
            connection.close()
        give(_END)

    producer = threading.Thread(target=produce, args=(token,), name="sync-prefetch", daemon=True)
    producer.start()
    try:
        while True:
            items = [arrived.get()]
            while len(items) < MAX_BATCH:
                try:
                    items.append(arrived.get_nowait())
                except queue.Empty:
                    break
            pages = [item for item in items if isinstance(item, ParseRunPage)]
            if pages:
                yield pages
            for item in items:
                if isinstance(item, BaseException):
                    raise item
                if item is _END:
                    return
    finally:
        stop.set()
        producer.join(timeout=60)


class PageFetcher:
    """Fetches one page at a time, each call in a GET slot of the workspace's organisation.

    Runs in the prefetch thread: its only database use is the limiter's (on the embedded
    default). A 429 pushes back every GET caller of the organisation, this one included.
    """

    def __init__(
        self,
        client: ExtendClient,
        workspace: Workspace,
        page_size: int,
        sleep: Callable[[float], None],
    ) -> None:
        self.client = client
        self.workspace = workspace
        self.page_size = page_size
        self.sleep = sleep

    def fetch(self, token: str | None, out_of_time: Callable[[], bool]) -> ParseRunPage | None:
        """The page at *token*, retrying 429s and transient errors; None when out of time."""
        retries = 0
        while True:
            if not self._take_slot(out_of_time):
                return None
            try:
                return fetch_page(self.client, token, self.page_size)
            except RateLimited as error:
                ratelimit.block_for(self.workspace, ratelimit.GET, max(error.retry_after, 1.0))
            except Transient:
                retries += 1
                if retries > MAX_PAGE_RETRIES:
                    raise
                self.sleep(min(2.0**retries, 30.0))

    def _take_slot(self, out_of_time: Callable[[], bool]) -> bool:
        """Wait for the organisation's next GET slot; False if the sync ends first."""
        # No deadline of its own: a sync waits as long as Extend and the other callers make
        # it, and stops waiting when it is stopped or out of time.
        return ratelimit.acquire_for(
            self.workspace, ratelimit.GET, deadline=math.inf, cancelled=out_of_time
        )


def fetch_page(client: ExtendClient, token: str | None, page_size: int) -> ParseRunPage:
    page: ParseRunPage = next(iter(client.list_parse_runs(page_size=page_size, page_token=token)))
    return page
