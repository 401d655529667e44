"""Engine fixtures: an Extend simulator, a workspace pointing at it, approved requests, and
(for the live tests) real Celery worker and beat processes on a private broker (the processes
themselves are started by tests/live.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings as django_settings
from django.db import connection

from deletions.engine.config import EngineSettings
from deletions.models import DeletionRequest, Source, Workspace
from deletions.requests import transitions
from extend_simulator import Simulator
from tests.factories import CustomerFactory, customer_user
from tests.helpers import empty_simulator, request_for, simulated_runs, simulated_workspace
from tests.live import LiveEngine, RedisServer, point_celery_at, worker_environment

KEY = "sk_engine_test_key_0001"
CUSTOMER_REF = "cust_engine"

# Short timings so failures and retries happen within a test's patience.
FAST = {
    "ITEM_LEASE_SECONDS": 4.0,
    "RETRY_BACKOFF_BASE_SECONDS": 0.2,
    "RETRY_BACKOFF_CAP_SECONDS": 0.5,
    "MAX_DELETE_ATTEMPTS": 3,
    "NOT_FOUND_BURST_THRESHOLD": 5,
    "RUNNER_SECONDS": 4.0,
    "RUNNER_THREADS": 8,
    "EXTEND_READ_TIMEOUT_SECONDS": 2.0,
    "RECONCILE_INTERVAL_SECONDS": 1.0,
    "BREAKER_OPEN_SECONDS": 0.5,
    "BREAKER_OPEN_MAX_SECONDS": 1.0,
}


def run_until_settled(workspace: Workspace, cfg: EngineSettings, *, rounds: int = 40):
    """Call the runner (and the lease release) until the workspace has nothing due, as a worker
    would; returns the last runner's summary.

    404s that wait for proof (unconfirmed) are not due, but the next runner's end asks Extend
    again, as the reconciler would wake it: a few more rounds give a probe that could not
    conclude (a timeout on a busy machine) its retries.
    """
    from deletions.engine import claim, due, runner

    summary = None
    proof_rounds = 5
    for _ in range(rounds):
        claim.release_expired_leases()
        summary = runner.run_workspace(workspace.pk, cfg)
        if summary.stopped_because == "breaker_open":
            time.sleep(0.3)  # Extend is down: the breaker says when to try again
            continue
        if summary.stopped_because and summary.stopped_because != runner.ANOTHER_RUNNER:
            return summary
        if not due.has_due_work(workspace.pk) and due.next_due_in(workspace.pk) is None:
            if proof_rounds and _awaiting_proof(workspace):
                proof_rounds -= 1
                time.sleep(0.3)
                continue
            return summary
        time.sleep(min(due.next_due_in(workspace.pk) or 0.1, 1.0))
    return summary


def _awaiting_proof(workspace: Workspace) -> bool:
    from deletions.models import DeletionItem, FileErasure

    healthy = Workspace.objects.filter(pk=workspace.pk, health=Workspace.Health.ACTIVE).exists()
    return healthy and any(
        model.objects.filter(workspace_id=workspace.pk, status="unconfirmed").exists()
        for model in (DeletionItem, FileErasure)
    )


def background(target: Callable[..., object], *args: object) -> threading.Thread:
    """Start *target(*args)* in a thread that closes its own database connection when done
    (an open one would keep the test database from being dropped)."""

    def run() -> None:
        try:
            target(*args)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.fixture
def fast_settings(settings):
    for name, value in FAST.items():
        setattr(settings, name, value)
    return settings


@pytest.fixture
def engine_cfg(fast_settings) -> EngineSettings:
    return EngineSettings.current()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with empty_simulator(KEY) as simulator:
        yield simulator


@pytest.fixture
def sim_workspace(transactional_db, sim) -> Workspace:
    return simulated_workspace(sim, KEY)


@pytest.fixture
def engine_customer(transactional_db):
    return CustomerFactory(external_ref=CUSTOMER_REF)


@pytest.fixture
def requester(engine_customer):
    return customer_user(engine_customer, username="requester")


@pytest.fixture
def make_request(sim, sim_workspace, engine_customer, requester):
    """Create *count* runs at the simulator and in the inventory, and a request for them."""

    def make(count: int, *, approve: bool = True) -> DeletionRequest:
        ids = simulated_runs(sim, sim_workspace, engine_customer, count)
        req = request_for(engine_customer, requester, ids, reason="test")
        if approve:
            req = approve_and_start(req)
        return req

    return make


def approve_and_start(req: DeletionRequest) -> DeletionRequest:
    """Approve as the system would after enough approvers, then start (no hooks involved)."""
    DeletionRequest.objects.filter(pk=req.pk).update(status=DeletionRequest.Status.APPROVED)
    return transitions.start_request(req, actor=None, source=Source.SYSTEM)


def deletes_per_run(sim: Simulator) -> dict[str, int]:
    """How many DELETEs Extend carried out per run (answered or not)."""
    counts: dict[str, int] = {}
    for entry in sim.ledger(method="DELETE"):
        if entry.applied and entry.run_id:
            counts[entry.run_id] = counts.get(entry.run_id, 0) + 1
    return counts


def assert_every_delete_recorded(sim: Simulator, req: DeletionRequest) -> None:
    """RELIABILITY 20: every DELETE that reached Extend for *req*'s runs has its attempt record
    (the gate's outbox row is written before the call leaves)."""
    from collections import Counter

    from deletions.models import DeletionAttempt

    sent = Counter(e.run_id for e in sim.ledger(method="DELETE"))
    recorded = Counter(
        DeletionAttempt.objects.filter(item__request=req, kind="delete").values_list(
            "item__parse_run__run_id", flat=True
        )
    )
    runs = set(req.items.values_list("parse_run__run_id", flat=True))
    missing = {run: n for run, n in sent.items() if run in runs and recorded[run] < n}
    assert missing == {}, f"DELETEs without an attempt record: {missing}"


# --- Live processes (tests/live.py) ---


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer | None]:
    """A private Redis (None on the embedded default, which runs without one)."""
    if not django_settings.REDIS_URL:
        yield None
        return
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def private_redis(redis_server) -> str | None:
    return redis_server.url if redis_server else None


@pytest.fixture
def live_engine(fast_settings, private_redis, tmp_path, transactional_db) -> Iterator[LiveEngine]:
    """Point this process and new worker/beat processes at the same database and broker."""
    env = worker_environment(PORTAL_VAR_DIR=str(django_settings.VAR_DIR))
    env.update({k: str(v) for k, v in FAST.items()})
    if private_redis:
        import redis

        env["REDIS_URL"] = private_redis
        fast_settings.REDIS_URL = private_redis
        fast_settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": private_redis,
            }
        }
        redis.Redis.from_url(private_redis).flushall()
        point_celery_at(private_redis, {"visibility_timeout": 900})
    else:
        env.pop("REDIS_URL", None)
        # The embedded broker's store under PORTAL_VAR_DIR, which the processes share.
        point_celery_at(
            django_settings.CELERY_BROKER_URL, django_settings.CELERY_BROKER_TRANSPORT_OPTIONS
        )
        # Messages a previous test's workers left (restored at their shutdown) are not ours.
        from portal.celery import app

        app.control.purge()
    engine = LiveEngine(env, tmp_path)
    try:
        yield engine
    finally:
        engine.stop()
        point_celery_at("memory://localhost/", {})
