"""Real processes the tests start and wait for: Celery worker and beat processes sharing the
test database (``LiveEngine``), a private redis-server, and polling until something happened.
tests/engine/conftest.py makes fixtures of them; tests/portal/ starts them on its own broker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def wait_until(predicate: Callable[[], object], timeout: float = 30.0, every: float = 0.2):
    """Poll *predicate* until it is truthy; fail the test with its last value otherwise."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(every)
        value = predicate()
    assert value, f"condition not met within {timeout} s"
    return value


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server process of our own on a spare port, nothing on disk (like production's
    worst case): tests may flush it, kill it and start it again empty."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import redis

        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        wait_until(lambda: _pings(client), timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def restart(self) -> None:
        """Kill it and start it again, empty: every queued message and countdown is lost."""
        self.stop()
        self.start()


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


def database_url() -> str:
    """The test database, as a DATABASE_URL for the processes the tests start."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        return (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    return f"sqlite:///{db['NAME']}"


def worker_environment(**extra: str) -> dict[str, str]:
    """This process's environment for a worker or beat process, on the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["DATABASE_URL"] = database_url()
    env.update(extra)
    return env


class LiveEngine:
    """Real `celery worker` and `celery beat` processes sharing the test database."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env = env
        self.tmp = tmp
        self.workers: list[subprocess.Popen[bytes]] = []
        self.beat: subprocess.Popen[bytes] | None = None

    def _spawn(self, args: list[str], log_name: str) -> subprocess.Popen[bytes]:
        log = (self.tmp / log_name).open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_worker(self, concurrency: int = 2) -> subprocess.Popen[bytes]:
        n = len(self.workers)
        proc = self._spawn(
            [
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"w{n}@%h",
            ],
            f"worker{n}.log",
        )
        self.workers.append(proc)
        return proc

    def start_beat(self) -> None:
        self.beat = self._spawn(
            ["beat", "--loglevel", "INFO", "--schedule", str(self.tmp / "beat-schedule")],
            "beat.log",
        )

    def kill_worker(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL the worker and its children, mid-whatever."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.tmp.glob("*.log"))

    def stop(self) -> None:
        for proc in [*self.workers, *([self.beat] if self.beat else [])]:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in [*self.workers, *([self.beat] if self.beat else [])]:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def point_celery_at(url: str, transport_options: dict) -> None:
    """Make this process's Celery app publish to *url* from now on."""
    from kombu import pools

    from portal.celery import app

    app.conf.broker_url = url
    app.conf.broker_transport_options = transport_options
    # Kombu keeps connection and producer pools per broker URL, globally: drop them all.
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
