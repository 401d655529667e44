"""A faithful local stand-in for Extend's parse-run API, with faults, a ledger and webhooks.

No Django imports: start it in-process (``Simulator(...).start()``), with
``python -m extend_simulator`` or with ``python manage.py extend_simulator``.
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
