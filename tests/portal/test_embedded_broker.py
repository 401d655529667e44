"""The embedded default's broker (portal/embedded_broker.py): Kombu's SQLAlchemy transport on a
SQLite file. A message is committed whole or not at all, so no process killed while writing one
leaves anything a worker could choke on (the filesystem transport's worker died of such a file)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from kombu import Connection

from deletions.engine import health as engine_health
from portal import embedded_broker
from tests.live import ROOT, LiveEngine, point_celery_at, wait_until, worker_environment


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "broker.sqlite3"
    embedded_broker.prepare(path)
    return path


def _kombu_objects(path: Path) -> dict[str, str]:
    """Kombu's tables and indexes in the store at *path*, by name, their SQL in one line each."""
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute(
            "SELECT name, sql FROM sqlite_master"
            " WHERE type IN ('table', 'index') AND sql IS NOT NULL AND name LIKE '%kombu%'"
        ).fetchall()
    return {name: " ".join(sql.split()) for name, sql in rows}


def _rows(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT count(*) FROM kombu_message").fetchone()[0])


def _integrity(path: Path) -> str:
    with closing(sqlite3.connect(path)) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def test_the_prepared_store_has_the_tables_kombu_itself_creates(tmp_path, store):
    made_by_kombu = tmp_path / "kombu.sqlite3"
    with Connection(
        embedded_broker.url(made_by_kombu), transport_options=embedded_broker.transport_options()
    ) as conn:
        conn.SimpleQueue("celery").close()

    assert _kombu_objects(store) == _kombu_objects(made_by_kombu)
    with closing(sqlite3.connect(store)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_message_handed_out_is_deleted_and_the_others_wait(store):
    with Connection(
        embedded_broker.url(store), transport_options=embedded_broker.transport_options()
    ) as conn:
        queue = conn.SimpleQueue("celery")
        for n in range(3):
            queue.put({"n": n})
        message = queue.get(timeout=5)
        message.ack()
        queue.close()

    assert message.payload == {"n": 0}
    assert _rows(store) == 2
    assert embedded_broker.queue_depth(store) == 2
    # Every process prepares the store when it starts: that keeps what is queued.
    embedded_broker.prepare(store)
    assert embedded_broker.queue_depth(store) == 2


def test_the_engine_health_counts_the_messages_waiting_in_the_embedded_broker(settings, store):
    settings.REDIS_URL = ""
    settings.CELERY_BROKER_URL = embedded_broker.url(store)
    with Connection(
        settings.CELERY_BROKER_URL, transport_options=embedded_broker.transport_options()
    ) as conn:
        queue = conn.SimpleQueue("celery")
        for n in range(4):
            queue.put({"n": n})
        queue.close()

    assert engine_health.queue_depth() == 4
    settings.CELERY_BROKER_URL = embedded_broker.url(store.with_name("missing.sqlite3"))
    assert engine_health.queue_depth() is None


# --- Real processes on the embedded broker, whatever broker the test run itself uses ---


@pytest.fixture
def embedded_engine(transactional_db, tmp_path):
    """Worker and beat processes (and this one) on an embedded broker of their own, sharing the
    test database; the reconciler every second, so beat publishes all along."""
    var = tmp_path / "var"
    store = var / "broker.sqlite3"
    env = worker_environment(
        PORTAL_VAR_DIR=str(var),
        DJANGO_SETTINGS_MODULE="portal.settings",
        RECONCILE_INTERVAL_SECONDS="1",
    )
    env.pop("REDIS_URL", None)
    embedded_broker.prepare(store)
    point_celery_at(embedded_broker.url(store), embedded_broker.transport_options())
    engine = LiveEngine(env, tmp_path)
    try:
        yield engine, store
    finally:
        engine.stop()
        point_celery_at("memory://localhost/", {})


# A web process's part: publish wake-ups (for a request that does not exist: the worker looks,
# finds nothing and is done), and say so after each one the broker has accepted.
PUBLISHER = """
import django
django.setup()
from deletions.tasks.engine import start_request_task
for n in range(100_000):
    start_request_task.delay(0)
    print(n, flush=True)
"""

# Writes a message that is not JSON (as a half-written file was) and is killed before it commits.
HALF_WRITER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute(
    "INSERT INTO kombu_message (visible, payload, version, queue_id)"
    " SELECT 1, '{\\"body\\": \\"eyJhcmdzIjog', 1, id FROM kombu_queue WHERE name = 'celery'"
)
print("written", flush=True)
time.sleep(600)
"""


def _python(engine: LiveEngine, code: str, *args: str, name: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=engine.env,
        stdout=subprocess.PIPE,
        stderr=(engine.tmp / f"{name}.log").open("ab"),
    )


def _worker_log(engine: LiveEngine) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(engine.tmp.glob("worker*.log")))


def _started_requests_run(engine: LiveEngine) -> int:
    log = _worker_log(engine)
    return sum(
        1 for line in log.splitlines() if "deletions.start_request[" in line and "succeeded" in line
    )


@pytest.mark.worker
@pytest.mark.slow
def test_publishers_killed_mid_publish_lose_at_most_the_message_they_were_writing(
    embedded_engine,
):
    engine, store = embedded_engine
    worker = engine.start_worker(concurrency=2)
    engine.start_beat()
    publishers = [_python(engine, PUBLISHER, name=f"publisher{n}") for n in range(3)]

    # Each is killed somewhere in a publish, after a different number of them.
    published = 0
    for publisher, before_kill in zip(publishers, (10, 25, 40), strict=True):
        assert publisher.stdout is not None
        for _ in range(before_kill):
            assert publisher.stdout.readline(), engine.logs()
        publisher.send_signal(signal.SIGKILL)
        published += before_kill + len(publisher.stdout.read().split())
        publisher.wait(timeout=10)

    wait_until(
        lambda: (
            embedded_broker.queue_depth(store) == 0 and _started_requests_run(engine) >= published
        ),
        timeout=90,
    )
    # A publish killed after its commit but before saying so is the only message beyond those.
    assert published <= _started_requests_run(engine) <= published + len(publishers)
    assert worker.poll() is None, engine.logs()
    assert "database is locked" not in engine.logs()
    assert "reconciler:" in _worker_log(engine)  # beat's messages went through too
    assert _integrity(store) == "ok"


@pytest.mark.worker
@pytest.mark.slow
def test_a_message_half_written_by_a_killed_process_never_reaches_the_worker(embedded_engine):
    from deletions.tasks.engine import start_request_task

    engine, store = embedded_engine
    worker = engine.start_worker(concurrency=2)
    writer = _python(engine, HALF_WRITER, str(store), name="half-writer")
    assert writer.stdout is not None
    assert writer.stdout.readline() == b"written\n", engine.logs()
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=10)

    start_request_task.delay(0)  # as the web process would, after the kill

    wait_until(lambda: _started_requests_run(engine) == 1, timeout=60)
    assert worker.poll() is None, engine.logs()
    assert "Traceback" not in _worker_log(engine)
    assert _rows(store) == 0
    assert _integrity(store) == "ok"
