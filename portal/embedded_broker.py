"""The embedded default's Celery broker: Kombu's SQLAlchemy transport on a SQLite file of its own.

It replaces Kombu's filesystem transport, whose worker could read a message file its publisher
had not finished writing and die of the JSONDecodeError, stopping the whole `make run` stack.
Here a message is a row committed in one SQLite transaction: a process killed while writing one
leaves nothing a reader can see, and SQLite's locks let web, worker (and a prefork worker's
children) and beat publish and consume from several processes.

Kombu's transport needs three things done before the processes meet the file; :func:`prepare`
does them, idempotently, in every process that loads the settings:

- WAL mode, so a reader never waits for a writer. It belongs to the file and stays once set.
- Kombu's tables and the default queue's row, created in one locked transaction. Kombu creates
  them itself when it finds them missing, but processes meeting a fresh file race there and the
  losers' connections fail ("UNIQUE constraint failed: kombu_queue.name", "table kombu_queue
  already exists": seen with eight processes starting together).
- Handed-out messages deleted. Kombu only marks them ``visible = 0`` and never reads them again,
  so the table, and the scan each poll makes inside its write lock, would grow for ever.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

# Seconds a connection waits for another process's lock before "database is locked", as the
# Django SQLite database does (sqlite3's own default is 5).
LOCK_TIMEOUT_SECONDS = 30.0

_URL_PREFIX = "sqla+sqlite:///"

# Kombu 5.7's schema as SQLAlchemy creates it on SQLite (kombu/transport/sqlalchemy/models.py),
# so that Kombu finds its tables and creates none; tests/portal/test_embedded_broker.py compares
# it with what Kombu itself creates.
_KOMBU_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS kombu_queue (
        id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
        name VARCHAR(200),
        UNIQUE (name)
    )""",
    """CREATE TABLE IF NOT EXISTS kombu_message (
        id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
        visible BOOLEAN,
        timestamp DATETIME,
        payload TEXT NOT NULL,
        version SMALLINT NOT NULL,
        queue_id INTEGER,
        CONSTRAINT "FK_kombu_message_queue" FOREIGN KEY(queue_id) REFERENCES kombu_queue (id)
    )""",
    "CREATE INDEX IF NOT EXISTS ix_kombu_message_timestamp ON kombu_message (timestamp)",
    "CREATE INDEX IF NOT EXISTS ix_kombu_message_visible ON kombu_message (visible)",
    "CREATE INDEX IF NOT EXISTS ix_kombu_message_timestamp_id ON kombu_message (timestamp, id)",
)

# Kombu hands a message out by setting visible = 0 in the transaction that reads it; delete it
# there instead. SQLite does not count a trigger's changes in the UPDATE's row count, so Kombu's
# version check still sees the one row it updated.
_DELETE_HANDED_OUT = """CREATE TRIGGER IF NOT EXISTS kombu_message_delete_handed_out
    AFTER UPDATE OF visible ON kombu_message WHEN NEW.visible = 0
    BEGIN
        DELETE FROM kombu_message WHERE id = NEW.id;
    END"""


def url(path: Path) -> str:
    """The broker URL of the store at *path* (absolute, as Kombu needs)."""
    return _URL_PREFIX + str(path.resolve())


def path_from_url(broker_url: str) -> Path:
    """The store behind an embedded broker URL; ValueError for any other broker."""
    if not broker_url.startswith(_URL_PREFIX):
        raise ValueError(f"not an embedded broker URL: {broker_url!r}")
    return Path(broker_url.removeprefix(_URL_PREFIX))


# How long a consumer that found nothing (or holds all the tasks it may) waits before polling
# again. Kombu's default, a second, capped a worker at about one message a second once its
# prefetch limit was reached, so every wake-up and runner hand-over waited up to a second. The
# option cannot go through the transport options (Kombu passes them all to create_engine), so it
# is set on the transport class; only this transport is affected.
POLLING_INTERVAL_SECONDS = 0.1


def transport_options() -> dict[str, Any]:
    """Kombu's SQLAlchemy transport passes these to ``sqlalchemy.create_engine``."""
    # Imported here: only the embedded default needs SQLAlchemy, and it is slow to import.
    from kombu.transport.sqlalchemy import Transport
    from sqlalchemy.pool import NullPool

    Transport.polling_interval = POLLING_INTERVAL_SECONDS

    return {
        "connect_args": {"timeout": LOCK_TIMEOUT_SECONDS},
        # A new connection per transaction. Kombu keeps one engine per process, and a prefork
        # worker forks children from that process: a pooled SQLite connection inherited across
        # fork() must never be used, and NullPool keeps none.
        "poolclass": NullPool,
    }


def prepare(path: Path, queues: tuple[str, ...] = ("celery",)) -> None:
    """Make the store at *path* ready for Kombu: WAL mode, tables, trigger, *queues*' rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: the transaction below is ours, not the sqlite3 module's.
    with closing(sqlite3.connect(path, timeout=LOCK_TIMEOUT_SECONDS, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        # IMMEDIATE: processes preparing at the same moment take turns instead of racing.
        db.execute("BEGIN IMMEDIATE")
        for statement in (*_KOMBU_SCHEMA, _DELETE_HANDED_OUT):
            db.execute(statement)
        # Not INSERT OR IGNORE: with AUTOINCREMENT that writes (the id sequence advances) even
        # when the row exists, at every process start.
        db.executemany(
            "INSERT INTO kombu_queue (name) SELECT ?1"
            " WHERE NOT EXISTS (SELECT 1 FROM kombu_queue WHERE name = ?1)",
            [(q,) for q in queues],
        )
        # Failing before this, closing the connection rolls the whole preparation back.
        db.execute("COMMIT")


def queue_depth(path: Path, queue: str = "celery") -> int:
    """Messages waiting in *queue*; sqlite3.Error if the store cannot be read."""
    # mode=rw: a missing store is an error, not a new empty file.
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True, timeout=2)) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM kombu_message JOIN kombu_queue ON kombu_queue.id = queue_id"
            " WHERE kombu_queue.name = ? AND visible",
            (queue,),
        ).fetchone()
        return int(count)
