"""Where and as whom to call Extend; the API key is never shown, only a hint of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from .regions import DEFAULT_API_VERSION


def key_hint(api_key: str) -> str:
    """Return a harmless hint of an API key (its last four characters) for display and logs."""
    return "…" + api_key[-4:] if len(api_key) > 8 else "…"


@dataclass(frozen=True)
class Credentials:
    """Where and as whom to call Extend.

    ``org_scoped`` keys must name a workspace; workspace-scoped keys may. When a workspace id is
    given it is always sent, so Extend can refuse a key/workspace mismatch instead of silently
    acting on the key's own workspace.
    """

    base_url: str
    api_key: str = field(repr=False)
    api_version: str = DEFAULT_API_VERSION
    workspace_id: str | None = None
    org_scoped: bool = False

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("api_key is empty")
        if self.org_scoped and not self.workspace_id:
            raise ValueError("an organisation-scoped key needs a workspace_id")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")

    def __repr__(self) -> str:
        return (
            f"Credentials(base_url={self.base_url!r}, api_key={key_hint(self.api_key)!r}, "
            f"api_version={self.api_version!r}, workspace_id={self.workspace_id!r}, "
            f"org_scoped={self.org_scoped!r})"
        )

    __str__ = __repr__
