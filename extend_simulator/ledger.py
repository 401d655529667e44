"""The record of every Extend call the simulator received: what Extend itself would have seen.

Keys are never stored: only their last four characters, enough to tell test keys apart.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any


def key_last4(api_key: str | None) -> str | None:
    """The last four characters of a key: the only part of it the simulator ever records."""
    if not api_key:
        return None
    return api_key[-4:]


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One API call and how it was answered."""

    seq: int
    time: float  # Unix seconds when the request arrived
    monotonic: float
    method: str
    path: str
    query: str
    key_last4: str | None
    workspace_header: str | None
    version_header: str | None
    org_id: str | None
    workspace_id: str | None  # the workspace the call resolved to
    category: str  # "GET" or "WRITE"
    status: int | None  # None when the connection was cut without an answer
    request_id: str
    resource: str | None  # "parse_runs" or "files"; None for a call to no known route
    run_id: str | None
    file_id: str | None
    fault: str | None  # which injected fault shaped the answer, if any
    applied: bool  # for DELETE: the run or file was deleted (even if the answer was then lost)
    duration_ms: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


class Ledger:
    """Thread-safe, append-only (until reset) list of calls, plus per-run and per-file deletes."""

    def __init__(self, max_entries: int = 2_000_000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[LedgerEntry] = deque(maxlen=max_entries)
        self._seq = 0
        self._deletes: Counter[str] = Counter()
        self._file_deletes: Counter[str] = Counter()

    def next_seq(self) -> int:
        """Reserve the next sequence number (calls are numbered in arrival order)."""
        with self._lock:
            self._seq += 1
            return self._seq

    def record(self, entry: LedgerEntry) -> None:
        """Append a finished call."""
        with self._lock:
            self._entries.append(entry)
            if entry.method == "DELETE" and entry.applied:
                if entry.run_id is not None:
                    self._deletes[entry.run_id] += 1
                if entry.file_id is not None:
                    self._file_deletes[entry.file_id] += 1

    def reset(self) -> None:
        """Forget every call and delete count (the runs stay deleted)."""
        with self._lock:
            self._entries.clear()
            self._deletes.clear()
            self._file_deletes.clear()

    def entries(
        self,
        *,
        since: float | None = None,
        method: str | None = None,
        status: int | None = None,
        path_prefix: str | None = None,
        run_id: str | None = None,
        workspace_id: str | None = None,
        key_last4: str | None = None,
        limit: int | None = None,
        resource: str | None = None,
        file_id: str | None = None,
    ) -> list[LedgerEntry]:
        """Recorded calls matching every given filter, oldest first.

        ``resource`` is ``"parse_runs"`` or ``"files"``: ``entries(method="DELETE",
        resource="files", file_id=...)`` are the delete calls one file received.
        """
        with self._lock:
            snapshot = list(self._entries)
        selected = [
            entry
            for entry in snapshot
            if (since is None or entry.time >= since)
            and (method is None or entry.method == method.upper())
            and (status is None or entry.status == status)
            and (path_prefix is None or entry.path.startswith(path_prefix))
            and (run_id is None or entry.run_id == run_id)
            and (resource is None or entry.resource == resource)
            and (file_id is None or entry.file_id == file_id)
            and (workspace_id is None or entry.workspace_id == workspace_id)
            and (key_last4 is None or entry.key_last4 == key_last4)
        ]
        return selected[-limit:] if limit else selected

    def successful_deletes(self) -> dict[str, int]:
        """How many DELETE calls actually deleted each run id (each should be 1)."""
        with self._lock:
            return dict(self._deletes)

    def successful_file_deletes(self) -> dict[str, int]:
        """How many DELETE calls actually deleted each file id (each should be 1)."""
        with self._lock:
            return dict(self._file_deletes)

    def summary(self) -> dict[str, Any]:
        """Counts by method and status, duplicate deletes and peak rates per org and category."""
        with self._lock:
            snapshot = list(self._entries)
            deletes = dict(self._deletes)
            file_deletes = dict(self._file_deletes)
        by_status: Counter[str] = Counter(f"{e.method} {e.status}" for e in snapshot)
        peaks: dict[str, float] = {}
        accepted_peaks: dict[str, float] = {}
        for org_id, category in {(e.org_id, e.category) for e in snapshot if e.org_id}:
            calls = [e for e in snapshot if e.org_id == org_id and e.category == category]
            name = f"{org_id}/{category}"
            peaks[name] = max_in_window((e.monotonic for e in calls), 1.0)
            accepted_peaks[name] = max_in_window(
                (e.monotonic for e in calls if e.status != 429), 1.0
            )
        return {
            "calls": len(snapshot),
            "by_method_status": dict(by_status),
            "deleted_runs": len(deletes),
            "runs_deleted_more_than_once": sorted(r for r, n in deletes.items() if n > 1),
            "deleted_files": len(file_deletes),
            "files_deleted_more_than_once": sorted(f for f, n in file_deletes.items() if n > 1),
            "peak_calls_per_second": peaks,
            "peak_accepted_calls_per_second": accepted_peaks,
        }


def max_in_window(times: Iterable[float], window: float) -> float:
    """The most events in any window of ``window`` seconds (a sliding window, not buckets)."""
    ordered = sorted(times)
    best = 0
    start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return float(best)
