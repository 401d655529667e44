"""Building an Extend client for a workspace: the one place that decrypts its API key for calls.

Everything that talks to Extend on behalf of a workspace (the inventory sync, webhook follow-ups,
the deletion engine, connection tests) gets its client here, so the mapping from a ``Workspace``
row to ``Credentials`` is written once, and every call goes through the outbound URL policy
(:mod:`deletions.core.outbound`): the key is only ever sent to an address checked at connection
time.
"""

from __future__ import annotations

from deletions.core import outbound
from deletions.extend_client import Credentials, ExtendClient
from deletions.models import Workspace


def credentials_for(workspace: Workspace) -> Credentials:
    """The workspace's credentials; raises ValueError if it has no API key or is misconfigured."""
    return Credentials(
        base_url=workspace.base_url,
        api_key=workspace.reveal_api_key(),
        api_version=workspace.api_version,
        workspace_id=workspace.extend_workspace_id or None,
        org_scoped=workspace.key_scope == Workspace.KeyScope.ORGANIZATION,
    )


def client_for(
    workspace: Workspace,
    *,
    connect_timeout: float = 3.05,
    read_timeout: float = 15.0,
    pool_size: int = 10,
) -> ExtendClient:
    """A new client for *workspace*. Close it when done (it is a context manager).

    A destination the policy refuses raises ``extend_client.DestinationRefused`` from the call,
    before anything is sent.
    """
    return ExtendClient(
        credentials_for(workspace),
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        pool_size=pool_size,
        adapter_class=outbound.PolicyAdapter,
    )
