"""The simulator's configuration: organisations, workspaces, keys, limits and seeded data."""

from __future__ import annotations

from dataclasses import dataclass, field

from .faults import FaultRule

DEFAULT_API_VERSION = "2026-02-09"
DEFAULT_CUSTOMERS = ("acme-corp", "globex", "initech", "umbrella-health", "stark-logistics")
DEFAULT_WEBHOOK_SECRET = "wss_simulator_signing_secret"  # noqa: S105 (a test fixture)


@dataclass
class WorkspaceSpec:
    """One Extend workspace: its seeded runs and the workspace-scoped keys that reach it."""

    id: str
    runs: int = 0
    api_keys: tuple[str, ...] = ()
    customers: tuple[str, ...] = DEFAULT_CUSTOMERS
    # Admins can set a lower per-workspace limit; None means only the organisation's applies.
    get_rate: float | None = None
    write_rate: float | None = None


@dataclass
class OrganisationSpec:
    """One Extend organisation: its workspaces, organisation-scoped keys and rate limits."""

    id: str
    workspaces: list[WorkspaceSpec]
    api_keys: tuple[str, ...] = ()
    get_rate: float = 10.0
    write_rate: float = 10.0
    # Bucket sizes; None means one second's worth of the rate.
    get_burst: float | None = None
    write_burst: float | None = None


@dataclass
class SimulatorConfig:
    """Everything the simulator needs to start. Build one with ``SimulatorConfig.single``."""

    organisations: list[OrganisationSpec]
    seed: int = 0
    host: str = "127.0.0.1"
    port: int = 0
    api_versions: tuple[str, ...] = (DEFAULT_API_VERSION,)
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    customer_metadata_key: str = "customer_ref"
    # Share of seeded runs created without any metadata (so without a customer reference).
    untagged_rate: float = 0.02
    # Seeded runs are spread over this many days before ``history_end`` (Unix seconds).
    history_days: float = 365.0
    history_end: float = 1_769_904_000.0  # 2026-02-01T00:00:00Z
    # Off (0) by default: each seeded run has a file of its own. N >= 2: in every N consecutive
    # seeded runs, the last ``shared_file_runs`` of them process one file (see ``seeding``).
    shared_file_every: int = 0
    shared_file_runs: int = 2
    faults: list[FaultRule] = field(default_factory=list)
    default_page_size: int = 25
    max_page_size: int = 100
    retry_after_minimum: int = 1
    # Signed URLs (webhook payloads, ``responseType=url`` outputs) stay valid this long.
    signed_url_ttl: float = 3600.0
    max_ledger_entries: int = 2_000_000

    @classmethod
    def single(
        cls,
        *,
        api_key: str,
        runs: int = 100,
        customers: tuple[str, ...] = DEFAULT_CUSTOMERS,
        workspace_id: str = "ws_simulated_main",
        organisation_id: str = "org_simulated",
        org_api_key: str | None = None,
        other_workspace_id: str = "ws_simulated_other",
        other_workspace_runs: int = 10,
        other_workspace_api_key: str | None = None,
        rate_limit: float = 10.0,
        write_rate_limit: float | None = None,
        burst: float | None = None,
        **options: object,
    ) -> SimulatorConfig:
        """One organisation whose main workspace is reached by ``api_key``.

        A second workspace of the same organisation holds a few runs of its own, so a run in
        "another workspace" exists to be refused. ``org_api_key`` adds an organisation key.
        """
        workspaces = [WorkspaceSpec(workspace_id, runs, (api_key,), customers)]
        if other_workspace_runs or other_workspace_api_key:
            other_keys = (other_workspace_api_key,) if other_workspace_api_key else ()
            workspaces.append(
                WorkspaceSpec(other_workspace_id, other_workspace_runs, other_keys, customers)
            )
        organisation = OrganisationSpec(
            id=organisation_id,
            workspaces=workspaces,
            api_keys=(org_api_key,) if org_api_key else (),
            get_rate=rate_limit,
            write_rate=rate_limit if write_rate_limit is None else write_rate_limit,
            get_burst=burst,
            write_burst=burst,
        )
        return cls(organisations=[organisation], **options)  # type: ignore[arg-type]

    def validate(self) -> None:
        """Raise ValueError for a configuration that cannot work."""
        seen_keys: set[str] = set()
        seen_workspaces: set[str] = set()
        for org in self.organisations:
            for key in org.api_keys + tuple(k for ws in org.workspaces for k in ws.api_keys):
                if key in seen_keys:
                    raise ValueError("an API key is configured twice")
                seen_keys.add(key)
            for ws in org.workspaces:
                if ws.id in seen_workspaces:
                    raise ValueError(f"workspace {ws.id} is configured twice")
                seen_workspaces.add(ws.id)
                if ws.runs < 0 or ws.runs > 100_000_000:
                    raise ValueError("runs per workspace must be between 0 and 100,000,000")
            if org.get_rate <= 0 or org.write_rate <= 0:
                raise ValueError("rate limits must be positive")
        if not self.webhook_secret:
            raise ValueError("webhook_secret is empty")
        if self.shared_file_every and not 2 <= self.shared_file_runs <= self.shared_file_every:
            raise ValueError("shared_file_runs must be between 2 and shared_file_every")
        if self.shared_file_every < 0 or self.shared_file_every == 1:
            raise ValueError("shared_file_every must be 0 (off) or at least 2")
        if not 1 <= self.default_page_size <= self.max_page_size:
            raise ValueError("default_page_size must be between 1 and max_page_size")
