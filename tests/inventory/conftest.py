"""An Extend simulator and a workspace pointed at it, with customers its runs are tagged with."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from extend_simulator import Simulator
from tests.factories import CustomerFactory, WorkspaceFactory

API_KEY = "sk_test_inventory_key_9f8e"
# The simulator tags runs with these references (Zipf-like shares, the first the most).
SIM_CUSTOMERS = ("acme-corp", "globex", "initech")


def start_simulator(runs: int = 60, **options) -> Simulator:
    options.setdefault("rate_limit", 10_000)
    return Simulator(
        api_key=API_KEY,
        runs=runs,
        customers=SIM_CUSTOMERS,
        customer_metadata_key="customer_id",
        **options,
    ).start()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """60 seeded runs in the main workspace; limits out of the way."""
    simulator = start_simulator()
    yield simulator
    simulator.stop()


@pytest.fixture
def sim_workspace(db, sim: Simulator):
    """A workspace reaching the simulator, syncing as fast as the tests want."""
    workspace = WorkspaceFactory(name="Simulated", base_url=sim.url, api_key=API_KEY)
    workspace.get_rate_limit = 1000
    workspace.set_webhook_secret(sim.webhook_secret)
    workspace.save()
    return workspace


@pytest.fixture
def acme(db):
    """Known to the portal: runs tagged acme-corp are hers. (initech is not known.)"""
    return CustomerFactory(name="Acme", external_ref="acme-corp", slug="acme")


@pytest.fixture
def globex(db):
    return CustomerFactory(name="Globex", external_ref="globex", slug="globex")


def no_sleep(seconds: float) -> None:
    """Tests never wait: pacing and back-off are checked through what was asked."""
