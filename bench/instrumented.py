"""The portal's Celery app with counters, for the throughput benchmark only.

``celery -A bench.instrumented worker`` runs the real worker and engine, and counts, per worker
process, the SQL statements it sends and the CPU time its threads spend, in total and inside the
gate (the dispatch fence's lock and unlock and :func:`deletions.engine.gate.check`). Each process
writes its counts to ``$BENCH_COUNTS_DIR/<pid>.json`` when it shuts down.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from celery.signals import worker_process_init, worker_process_shutdown

from portal.celery import app as app

_lock = threading.Lock()
_local = threading.local()
counts: dict[str, float] = {"queries": 0, "gate_queries": 0, "gate_cpu": 0.0}


def _count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
    with _lock:
        counts["queries"] += 1
        if getattr(_local, "in_gate", False):
            counts["gate_queries"] += 1
    return execute(sql, params, many, context)


@contextmanager
def _in_gate() -> Iterator[None]:
    _local.in_gate, started = True, time.thread_time()
    try:
        yield
    finally:
        _local.in_gate = False
        with _lock:
            counts["gate_cpu"] += time.thread_time() - started


@worker_process_init.connect
def _instrument(**_: object) -> None:
    from django.db.backends.signals import connection_created

    from deletions.engine import gate
    from deletions.workspaces import fence

    def install(sender: object, connection: Any, **kwargs: object) -> None:
        if _count not in connection.execute_wrappers:
            connection.execute_wrappers.append(_count)

    connection_created.connect(install, weak=False)
    check, sending = gate.check, fence.sending

    def timed_check(item: Any) -> Any:
        with _in_gate():
            return check(item)

    @contextmanager
    def timed_sending(workspace_id: int) -> Iterator[None]:
        # The fence's lock and unlock belong to the gate; what happens inside does not.
        with _in_gate():
            inner = sending(workspace_id)
            inner.__enter__()
        try:
            yield
        finally:
            with _in_gate():
                inner.__exit__(None, None, None)

    gate.check = timed_check
    fence.sending = timed_sending


@worker_process_shutdown.connect
def _report(**_: object) -> None:
    folder = os.environ.get("BENCH_COUNTS_DIR")
    counts["cpu"] = time.process_time()
    if folder:
        Path(folder, f"{os.getpid()}.json").write_text(json.dumps(counts))
