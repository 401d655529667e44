"""An in-process Extend simulator on a free port, plus the clients that talk to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from extend_ai import Extend

from deletions.extend_client import Credentials, ExtendClient
from extend_simulator import Simulator

API_KEY = "sk_test_simulated_main_key_a1b2"
ORG_KEY = "sk_test_simulated_org_key_c3d4"
OTHER_KEY = "sk_test_simulated_other_key_e5f6"
MAIN_WS = "ws_simulated_main"
OTHER_WS = "ws_simulated_other"
NO_RETRIES = {"max_retries": 0}


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    """60 runs in the main workspace, 10 in another; limits high enough not to get in the way."""
    sim = Simulator(
        api_key=API_KEY,
        runs=60,
        org_api_key=ORG_KEY,
        other_workspace_api_key=OTHER_KEY,
        rate_limit=10_000,
    ).start()
    yield sim
    sim.stop()


@pytest.fixture
def client(simulator: Simulator) -> Iterator[ExtendClient]:
    """Our client with the main workspace's key."""
    with ExtendClient(Credentials(simulator.url, API_KEY), read_timeout=5) as extend:
        yield extend


@pytest.fixture
def sdk(simulator: Simulator) -> Extend:
    """Extend's official SDK pointed at the simulator."""
    return Extend(token=API_KEY, base_url=simulator.url, timeout=5)
