"""Testing a workspace's connection: one real, rate-limited call to Extend with its stored key.

What of the answer is kept and shown is only a short token (the HTTP status, Extend's error
code, its request id) and never free text: the call may have reached anything the workspace's
URL names, and whatever answered must not be able to put its words on a staff page or in an
API answer. Each test is audited (who, and the outcome).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from deletions import audit, extend_client
from deletions.models import Source, Workspace
from deletions.workspaces import ratelimit
from deletions.workspaces.extend_connection import client_for

if TYPE_CHECKING:
    from deletions.audit import Actor

# A connection test waits at most this long for a slot of the organisation's GET limit.
SLOT_WAIT_SECONDS = 5.0

_TOKEN = re.compile(r"[A-Za-z0-9_.:-]{1,100}")


def _token(value: str | None) -> str | None:
    return value if value and _TOKEN.fullmatch(value) else None


@dataclass
class ConnectionResult:
    ok: bool
    summary: str
    status: int | None = None
    code: str | None = None
    request_id: str | None = None
    runs_seen: int = 0


def _refused(exc: extend_client.ExtendError, summary: str) -> ConnectionResult:
    return ConnectionResult(
        ok=False,
        summary=summary,
        status=exc.status,
        code=_token(exc.code),
        request_id=_token(exc.request_id),
    )


def check_connection(ws: Workspace) -> ConnectionResult:
    """A real call to Extend with the workspace's stored credentials: the first page of runs."""
    if not ws.has_api_key:
        return ConnectionResult(ok=False, summary="No API key is stored for this workspace.")
    try:
        client = client_for(ws, connect_timeout=3.05, read_timeout=10.0)
    except ValueError as exc:
        return ConnectionResult(ok=False, summary=f"The workspace is misconfigured: {exc}")
    try:
        with client:
            # A GET like any other: it waits its turn in the organisation's limit (briefly:
            # someone is waiting for the answer), and a 429 pushes back every GET caller.
            deadline = time.monotonic() + SLOT_WAIT_SECONDS
            if not ratelimit.acquire_for(ws, ratelimit.GET, deadline=deadline):
                return ConnectionResult(
                    ok=False,
                    summary="Not tested: Extend's rate limit for this organisation's reads is in "
                    "use (or Extend asked to wait after a 429). Try again in a moment.",
                )
            page = next(client.list_parse_runs(page_size=1))
    except extend_client.RateLimited as exc:
        ratelimit.block_for(ws, ratelimit.GET, max(exc.retry_after, 1.0))
        return _refused(
            exc,
            "Extend answered 429 (rate limited): every read of this organisation now "
            f"waits {exc.retry_after:g} s. Try again after that.",
        )
    except extend_client.DestinationRefused as exc:
        # Our own words (the outbound URL policy's reason): nothing was sent.
        return ConnectionResult(ok=False, summary=f"Nothing was sent: {exc.message}")
    except extend_client.ExtendError as exc:
        return _refused(exc, f"Extend refused the call: {type(exc).__name__}.")
    return ConnectionResult(
        ok=True,
        summary="Extend accepted the credentials and listed parse runs.",
        status=200,
        request_id=_token(page.request_id),
        runs_seen=len(page.runs),
    )


def check_and_record(ws: Workspace, *, actor: Actor, source: Source | str) -> ConnectionResult:
    """:func:`check_connection`, audited with its outcome (never the answer's text)."""
    result = check_connection(ws)
    audit.record(
        "workspace.connection_tested",
        obj=ws,
        actor=actor,
        source=source,
        detail={"ok": result.ok, "status": result.status, "code": result.code},
    )
    return result
