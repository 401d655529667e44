"""What the benchmarks share: a throw-away database, and writing results down."""

from __future__ import annotations

import datetime as dt
import os
import platform
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

RESULTS = Path(__file__).resolve().parent / "results"


def use_dedicated_database(name: str) -> str:
    """Point DATABASE_URL at a fresh database *name* (never real data); describe it.

    With a PostgreSQL ``DATABASE_URL`` the database is dropped and created on the same server;
    otherwise a new SQLite file in a temporary folder is used. Call before ``django.setup()``.
    """
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        parts = urlsplit(url)
        admin = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
        return f"PostgreSQL {parts.hostname}:{parts.port or 5432}/{name}"
    directory = tempfile.mkdtemp(prefix=f"{name}-")
    os.environ["PORTAL_VAR_DIR"] = directory
    os.environ["DATABASE_URL"] = f"sqlite:///{directory}/{name}.sqlite3"
    return f"SQLite {directory}/{name}.sqlite3"


def allow_local_simulator() -> None:
    """List the simulator's host (127.0.0.1, over http) for the outbound URL policy, for this
    process and the workers it starts. Call before ``django.setup()``."""
    os.environ.setdefault("OUTBOUND_ALLOWED_HOSTS", "127.0.0.1,localhost")


def machine() -> str:
    """A one-line description of where the figures were measured."""
    cores = os.cpu_count()
    return (
        f"{platform.node()} {platform.machine()}, {cores} cores, Python {platform.python_version()}"
    )


def write_result(stem: str, lines: list[str]) -> Path:
    """Write *lines* under ``bench/results/<stem>-<date>.txt`` with the date and machine."""
    RESULTS.mkdir(exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    path = RESULTS / f"{stem}-{now:%Y-%m-%d}.txt"
    header = [f"date: {now:%Y-%m-%d %H:%M:%S} UTC", f"machine: {machine()}"]
    path.write_text("\n".join([*header, *lines]) + "\n")
    return path
