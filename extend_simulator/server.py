"""The HTTP server and the ``Simulator`` object tests and commands use.

``ThreadingHTTPServer`` with HTTP/1.1 keep-alive: one thread per connection, so added latency on
one call never holds up another, and pooled client connections are reused as at Extend.

Usage from a test::

    with Simulator(api_key="sk_test_1234", runs=50) as sim:
        client = ExtendClient(Credentials(sim.url, "sk_test_1234"))
        ...
        assert sim.successful_deletes() == {run_id: 1}
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import control
from .app import SimulatorApp
from .config import SimulatorConfig
from .faults import FaultRule
from .ledger import LedgerEntry
from .runs import FileFilters, Run, RunFilters
from .webhooks import Delivery
from .wire import Request, Response

logger = logging.getLogger("extend_simulator")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, address: tuple[str, int], app: SimulatorApp) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.connections_accepted = 0
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
            self.connections_accepted += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_all_connections(self) -> None:
        """Cut idle keep-alive connections so clients cannot talk to a stopped simulator."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "extend-simulator/1.0"
    # Idle keep-alive connections are closed after this many seconds.
    timeout = 60
    # Headers and body go out in one write, without Nagle's delay (else ~40 ms per call).
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    server: _Server

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        request = Request(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=self.headers,
            body=body,
        )
        app = self.server.app
        try:
            if split.path.startswith("/_sim/"):
                response = control.handle_control(app, request)
            else:
                response = app.handle(request)
        except Exception:
            logger.exception("simulator failed on %s %s", self.command, split.path)
            response = Response(500, b'{"code":"INTERNAL_ERROR","message":"simulator bug"}')
        self._send(response)

    def _send(self, response: Response) -> None:
        if response.drop:
            # The work is done; the answer is lost: close without a byte, as a cut link would.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if response.delay_after:
            time.sleep(response.delay_after)
        try:
            self.send_response(response.status, HTTPStatus(response.status).phrase)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout was shorter than a slow answer).
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        # The request line only (no headers, so never a key), and only at debug level.
        logger.debug("%s - %s", self.address_string(), format % args)


class Simulator:
    """A running (or ready to run) Extend simulator.

    Pass a ``SimulatorConfig``, or the keyword arguments of ``SimulatorConfig.single`` (at least
    ``api_key``). ``start()`` serves from a background thread; ``url`` is where.
    """

    def __init__(self, config: SimulatorConfig | None = None, **options: Any) -> None:
        if config is None:
            config = SimulatorConfig.single(**options)
        elif options:
            raise TypeError("pass either a config or keyword options, not both")
        self.config = config
        self.app = SimulatorApp(config)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Simulator:
        """Listen on the configured host and port (0: a free one) and serve in a thread."""
        server = self._bind()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (for the command line)."""
        server = self._bind()
        try:
            server.serve_forever(poll_interval=0.25)
        finally:
            server.close_all_connections()
            server.server_close()

    def _bind(self) -> _Server:
        if self._server is not None:
            raise RuntimeError("the simulator is already started")
        server = _Server((self.config.host, self.config.port), self.app)
        self._server = server
        host, port = server.server_address[:2]
        self.app.base_url = f"http://{_url_host(str(host))}:{port}"
        return server

    def stop(self) -> None:
        """Stop serving and cut every open connection."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_all_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (use it as the workspace's base URL)."""
        if not self.app.base_url:
            raise RuntimeError("the simulator is not started")
        return self.app.base_url

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted so far (keep-alive reuse keeps this low)."""
        return self._server.connections_accepted if self._server is not None else 0

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self.url.rsplit(":", 1)[1])

    # -- faults ---------------------------------------------------------------------------------

    def set_faults(self, *rules: FaultRule | Mapping[str, Any]) -> None:
        """Replace the active fault rules (no arguments: no faults)."""
        self.app.faults.set_rules([_rule(rule) for rule in rules])

    def add_fault(self, rule: FaultRule | Mapping[str, Any]) -> None:
        """Add one fault rule to the active ones."""
        self.app.faults.add_rule(_rule(rule))

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.app.faults.set_rules([])

    def faults(self) -> list[dict[str, Any]]:
        """The active fault rules, JSON-ready."""
        return self.app.faults.rules()

    # -- ledger ---------------------------------------------------------------------------------

    def ledger(self, **filters: Any) -> list[LedgerEntry]:
        """Recorded calls (filters as ``Ledger.entries``: since, method, status, run_id, ...)."""
        return self.app.ledger.entries(**filters)

    def ledger_summary(self) -> dict[str, Any]:
        """Counts by method and status, duplicate deletes and peak rates."""
        return self.app.ledger.summary()

    def successful_deletes(self) -> dict[str, int]:
        """How many DELETE calls actually deleted each run id."""
        return self.app.ledger.successful_deletes()

    def successful_file_deletes(self) -> dict[str, int]:
        """How many DELETE calls actually deleted each file id."""
        return self.app.ledger.successful_file_deletes()

    def reset_ledger(self) -> None:
        """Forget recorded calls and delete counts."""
        self.app.ledger.reset()

    # -- data -----------------------------------------------------------------------------------

    def workspace_ids(self) -> list[str]:
        """Every workspace id, the main one first."""
        return [data.id for data in self.app.store.workspaces]

    def run_ids(
        self, workspace_id: str | None = None, *, limit: int | None = None, **filters: str
    ) -> list[str]:
        """Ids of live runs, newest first, without going through the API (no rate limit)."""
        return [run["id"] for run in self.runs(workspace_id, limit=limit, **filters)]

    def runs(
        self, workspace_id: str | None = None, *, limit: int | None = None, **filters: str
    ) -> list[dict[str, Any]]:
        """Live runs as ``get_run`` shows them, newest first; filters as ``RunFilters``."""
        number = control.default_workspace(self.app, workspace_id)
        wanted = limit if limit is not None else self.app.store.workspaces[number].total
        with self.app.lock:
            runs, _ = self.app.store.page(number, RunFilters(**filters), None, max(wanted, 1))
        return [self._describe(run) for run in runs[:wanted]]

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """The summary of a live run plus its internal ``_source``/``_sourceId``, or None."""
        with self.app.lock:
            found = self.app.store.locate(run_id)
            if found is None:
                return None
            run = self.app.store.run(*found)
        return self._describe(run)

    def _describe(self, run: Run) -> dict[str, Any]:
        summary = run.summary()
        summary["_source"] = run.source
        summary["_sourceId"] = run.source_id
        summary["_workspaceId"] = self.app.store.workspaces[run.workspace].id
        return summary

    def is_deleted(self, run_id: str) -> bool:
        """Whether a run that existed has been deleted."""
        with self.app.lock:
            found = self.app.store.resolve(run_id)
            return found is not None and self.app.store.is_deleted(*found)

    def file_ids(self, workspace_id: str | None = None, *, limit: int | None = None) -> list[str]:
        """Ids of live files, newest first, without going through the API."""
        number = control.default_workspace(self.app, workspace_id)
        wanted = limit if limit is not None else self.app.store.workspaces[number].total
        with self.app.lock:
            files, _ = self.app.store.file_page(number, FileFilters(), None, max(wanted, 1))
        return [file.id for file in files[:wanted]]

    def get_file(self, file_id: str) -> dict[str, Any] | None:
        """The summary of a live file (as ``GET /files`` lists it), or None."""
        with self.app.lock:
            found = self.app.store.locate_file(file_id)
            file = self.app.store.file(*found) if found is not None else None
        return file.summary() if file is not None else None

    def is_file_deleted(self, file_id: str) -> bool:
        """Whether a file that existed has been deleted."""
        with self.app.lock:
            found = self.app.store.resolve_file(file_id)
            return found is not None and self.app.store.is_file_deleted(*found)

    def runs_by_file(self, workspace_id: str | None = None) -> dict[str, list[str]]:
        """Ids of the live runs using each file, newest first (see ``control.runs_by_file``)."""
        return control.runs_by_file(self.app, workspace_id)

    def shared_files(self, workspace_id: str | None = None) -> dict[str, list[str]]:
        """The files used by more than one live run, with those runs' ids."""
        return {
            file_id: runs
            for file_id, runs in self.runs_by_file(workspace_id).items()
            if len(runs) > 1
        }

    def add_runs(
        self,
        *,
        workspace_id: str | None = None,
        count: int = 0,
        runs: Sequence[Mapping[str, Any]] = (),
    ) -> list[dict[str, Any]]:
        """Add runs (see ``RunStore.add_run`` for the spec fields, ``file_id`` among them).

        Returns their summaries.
        """
        added = control.add_runs(self.app, workspace_id=workspace_id, count=count, runs=runs)
        return [run.summary() for run in added]

    def page_token(self, workspace_id: str | None = None, *, before: int, **filters: str) -> str:
        """The token of the page starting below index ``before`` (jump to the last pages)."""
        number = control.default_workspace(self.app, workspace_id)
        return self.app.tokens.encode(number, before, RunFilters(**filters))

    # -- limits and webhooks ---------------------------------------------------------------------

    def set_rate_limit(self, **limits: Any) -> None:
        """Change limits at run time (see ``control.set_rate_limit``)."""
        control.set_rate_limit(self.app, **limits)

    def reset_rate_limits(self) -> None:
        """Refill every bucket."""
        self.app.limiter.reset()

    @property
    def webhook_secret(self) -> str:
        """The signing secret webhooks are signed with."""
        return self.config.webhook_secret

    def send_webhook(self, url: str, **options: Any) -> list[Delivery]:
        """Send a signed event to ``url`` (see ``control.send_webhook`` for the options)."""
        return control.send_webhook(self.app, url, **options)


def _rule(rule: FaultRule | Mapping[str, Any]) -> FaultRule:
    return rule if isinstance(rule, FaultRule) else FaultRule.from_dict(rule)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
