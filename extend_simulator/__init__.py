"""A faithful local stand-in for Extend's parse-run and file API, with faults, ledger, webhooks.

Start it in-process (``Simulator(...).start()``), with ``python -m extend_simulator`` or with
``python manage.py extend_simulator``.

What lives here: the runs and their files (``runs``: a run, its file and their wire objects;
``seeding``: the deterministic seeded runs and files; ``store``: lookups, deletions, listing), the
API (``app``: state and the pipeline every call goes through; ``parse_runs`` and ``files``: the
endpoints; ``wire``: requests, responses, error answers; ``tokens``, ``ratelimit``, ``faults``,
``ledger``), ``webhooks``, and the HTTP ``server`` with its ``/_sim/`` ``control`` surface,
configured by ``config`` and ``cli``.

What it may import: the standard library only, nothing of ``deletions`` or ``portal``: it stands
in for Extend, so it must not share the portal's code.
"""

from .config import OrganisationSpec, SimulatorConfig, WorkspaceSpec
from .faults import FaultRule, FaultScope, Latency
from .ledger import LedgerEntry
from .server import Simulator
from .webhooks import Delivery, build_event, send_event, sign, signed_headers

__all__ = [
    "Delivery",
    "FaultRule",
    "FaultScope",
    "Latency",
    "LedgerEntry",
    "OrganisationSpec",
    "Simulator",
    "SimulatorConfig",
    "WorkspaceSpec",
    "build_event",
    "send_event",
    "sign",
    "signed_headers",
]
