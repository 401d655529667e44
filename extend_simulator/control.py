"""The simulator's own control surface under ``/_sim/`` (no Extend auth; loopback only).

==========================  ==================================================================
``GET  /_sim/health``        ``{"ok": true}``
``GET  /_sim/state``         organisations, workspaces, key hints, run counts, limits, faults
``GET  /_sim/faults``        the active fault rules
``POST /_sim/faults``        replace them: one rule object, or ``{"rules": [...]}``; ``{}`` clears;
                             ``?mode=add`` adds instead of replacing
``DELETE /_sim/faults``      clear every rule
``GET  /_sim/ledger``        calls, filtered by ``since`` (Unix s), ``method``, ``status``,
                             ``path_prefix``, ``resource`` (parse_runs|files), ``run_id``,
                             ``file_id``, ``workspace_id``, ``key_last4``, ``limit``
``GET  /_sim/ledger/summary`` counts, duplicate deletes, peak calls per second per org/category
``GET  /_sim/deletes``       successful deletes per run id and per file id
``POST /_sim/reset-ledger``  forget recorded calls (deleted runs and files stay deleted)
``POST /_sim/runs``          add runs: ``{"workspace_id"?, "count"?, "runs"?: [{...}]}``; a run's
                             ``file_id`` shares a live file, names a new one, or is null
``GET  /_sim/files``         ``{"files": {file id: [ids of live runs using it]}}`` of a workspace
                             (``workspace_id``), deleted files included
``POST /_sim/rate-limits``   ``{"organisation_id"?, "workspace_id"?, "get_rate"?, "write_rate"?,
                             "get_burst"?, "write_burst"?}``; ``{"reset": true}`` refills buckets
``POST /_sim/webhooks/send`` ``{"url", "event_type"?, "run_id"?, "duplicates"?, "signed_url"?,
                             "timestamp"?, "tamper"?, "payload"?, "event_id"?}``
``GET  /_sim/signed/<token>`` a signed-URL payload (webhook ``signed_data_url``, ``outputUrl``)
==========================  ==================================================================
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from .app import SimulatorApp
from .faults import FaultRule
from .ledger import key_last4
from .runs import Run, RunFilters
from .webhooks import Delivery, build_event, send_event
from .wire import Request, Response, json_body


def default_workspace(app: SimulatorApp, workspace_id: str | None = None) -> int:
    """Number of ``workspace_id``, or of the first configured workspace."""
    if workspace_id is None:
        return 0
    data = app.store.by_id.get(workspace_id)
    if data is None:
        raise ValueError(f"unknown workspace {workspace_id!r}")
    return data.number


def add_runs(
    app: SimulatorApp,
    *,
    workspace_id: str | None = None,
    count: int = 0,
    runs: Sequence[Mapping[str, Any]] = (),
) -> list[Run]:
    """Add ``count`` default runs plus one run per spec in ``runs`` (newest of the workspace)."""
    workspace = default_workspace(app, workspace_id)
    specs = [dict(spec) for spec in runs] + [{} for _ in range(max(0, count))]
    now = time.time()
    added = []
    with app.lock:
        for spec in specs:
            added.append(app.store.add_run(workspace, spec, now))
    return added


def runs_by_file(app: SimulatorApp, workspace_id: str | None = None) -> dict[str, list[str]]:
    """Ids of the live runs using each file of a workspace, newest run first.

    A file whose runs are all deleted is absent; a deleted file still used by runs is present.
    """
    workspace = default_workspace(app, workspace_id)
    users: dict[str, list[str]] = {}
    with app.lock:
        size = max(app.store.workspaces[workspace].total, 1)
        runs, _ = app.store.page(workspace, RunFilters(), None, size)
    for run in runs:
        if run.file is not None:
            users.setdefault(run.file.id, []).append(run.id)
    return users


def parse_faults(data: Any) -> list[FaultRule]:
    """Rules from a control-endpoint body: one rule object, ``{"rules": [...]}`` or ``{}``."""
    if not isinstance(data, Mapping):
        raise ValueError("faults must be a JSON object")
    if "rules" in data:
        rules = data["rules"]
        if not isinstance(rules, list):
            raise ValueError("rules must be a list")
        return [FaultRule.from_dict(rule) for rule in rules]
    return [FaultRule.from_dict(data)] if data else []


def set_rate_limit(
    app: SimulatorApp,
    *,
    organisation_id: str | None = None,
    workspace_id: str | None = None,
    get_rate: float | None = None,
    write_rate: float | None = None,
    get_burst: float | None = None,
    write_burst: float | None = None,
) -> None:
    """Change an organisation's limits (default: the first one), or a workspace's own limits."""
    if workspace_id is not None:
        if workspace_id not in app.store.by_id:
            raise ValueError(f"unknown workspace {workspace_id!r}")
        scope = f"ws:{workspace_id}"
    else:
        org_id = organisation_id or app.config.organisations[0].id
        if org_id not in {org.id for org in app.config.organisations}:
            raise ValueError(f"unknown organisation {org_id!r}")
        scope = f"org:{org_id}"
    if get_rate is not None:
        app.limiter.configure(scope, "GET", get_rate, get_burst)
    if write_rate is not None:
        app.limiter.configure(scope, "WRITE", write_rate, write_burst)


def send_webhook(
    app: SimulatorApp,
    url: str,
    *,
    event_type: str = "parse_run.processed",
    run_id: str | None = None,
    workspace_id: str | None = None,
    payload: Mapping[str, Any] | None = None,
    duplicates: int = 0,
    signed_url: bool = False,
    timestamp: int | None = None,
    tamper: bool = False,
    event_id: str | None = None,
    secret: str | None = None,
    timeout: float = 30.0,
) -> list[Delivery]:
    """Sign and POST one event (and ``duplicates`` re-deliveries of it) to ``url``.

    Without ``payload``, a parse-run event carries the ``parse_run_status`` of ``run_id`` or of
    the newest run whose status fits the event (PROCESSED or FAILED). ``signed_url`` sends a
    ``signed_data_url`` payload instead and serves the full one at ``/_sim/signed/...``.
    """
    if payload is None:
        run = _run_for_event(app, event_type, run_id, workspace_id)
        if run is not None:
            full: dict[str, Any] = run.status_payload()
        else:
            full = {"object": "unknown_object", "id": run_id or "obj_simulated"}
    else:
        full = dict(payload)
    body = full
    if signed_url:
        token = app.signed.put(full)
        body = {
            "object": "signed_data_url",
            "id": str(full.get("id", "")),
            "data": f"{app.base_url}/_sim/signed/{token}",
        }
        if full.get("metadata") is not None:
            body["metadata"] = full["metadata"]
    event = build_event(event_type, body, event_id)
    return send_event(
        url,
        event,
        secret or app.config.webhook_secret,
        timestamp=timestamp,
        duplicates=duplicates,
        tamper=tamper,
        timeout=timeout,
    )


def _run_for_event(
    app: SimulatorApp, event_type: str, run_id: str | None, workspace_id: str | None
) -> Run | None:
    with app.lock:
        if run_id is not None:
            found = app.store.resolve(run_id)
            if found is None:
                raise ValueError(f"unknown run {run_id!r}")
            return app.store.run(*found)
        if not event_type.startswith("parse_run."):
            return None
        workspace = default_workspace(app, workspace_id)
        wanted = "FAILED" if event_type == "parse_run.failed" else "PROCESSED"
        runs, _ = app.store.page(workspace, RunFilters(status=wanted), None, 1)
        if not runs:
            runs, _ = app.store.page(workspace, RunFilters(), None, 1)
        return runs[0] if runs else None


def state(app: SimulatorApp) -> dict[str, Any]:
    """A description of the simulator, safe to show (keys appear as their last 4 characters)."""
    organisations = []
    with app.lock:
        for org in app.config.organisations:
            workspaces = []
            for ws in org.workspaces:
                data = app.store.by_id[ws.id]
                workspaces.append(
                    {
                        "id": ws.id,
                        "seeded_runs": data.seeded,
                        "added_runs": len(data.added),
                        "live_runs": app.store.live_count(data.number),
                        "deleted_files": app.store.deleted_file_count(data.number),
                        "customers": list(data.customers),
                        "api_keys": [key_last4(key) for key in ws.api_keys],
                    }
                )
            organisations.append(
                {
                    "id": org.id,
                    "api_keys": [key_last4(key) for key in org.api_keys],
                    "workspaces": workspaces,
                }
            )
    return {
        "url": app.base_url,
        "seed": app.config.seed,
        "api_versions": list(app.config.api_versions),
        "customer_metadata_key": app.config.customer_metadata_key,
        "organisations": organisations,
        "rate_limits": app.limiter.limits(),
        "faults": app.faults.rules(),
    }


def handle_control(app: SimulatorApp, request: Request) -> Response:
    """Answer a ``/_sim/...`` request."""
    try:
        return _route(app, request)
    except (ValueError, TypeError, KeyError) as error:
        return _json({"error": str(error)}, 400)


def _route(app: SimulatorApp, request: Request) -> Response:
    path, method = request.path, request.method
    if path == "/_sim/health":
        return _json({"ok": True})
    if path == "/_sim/state" and method == "GET":
        return _json(state(app))
    if path == "/_sim/faults":
        if method == "GET":
            return _json({"rules": app.faults.rules()})
        if method == "DELETE":
            app.faults.set_rules([])
            return _json({"rules": []})
        if method == "POST":
            rules = parse_faults(_body(request))
            if request.param("mode") == "add":
                for rule in rules:
                    app.faults.add_rule(rule)
            else:
                app.faults.set_rules(rules)
            return _json({"rules": app.faults.rules()})
    if path == "/_sim/ledger" and method == "GET":
        entries = app.ledger.entries(
            since=_float(request.param("since")),
            method=request.param("method"),
            status=_int(request.param("status")),
            path_prefix=request.param("path_prefix"),
            run_id=request.param("run_id"),
            workspace_id=request.param("workspace_id"),
            key_last4=request.param("key_last4"),
            limit=_int(request.param("limit")),
            resource=request.param("resource"),
            file_id=request.param("file_id"),
        )
        return _json({"count": len(entries), "entries": [e.to_dict() for e in entries]})
    if path == "/_sim/ledger/summary" and method == "GET":
        return _json(app.ledger.summary())
    if path == "/_sim/deletes" and method == "GET":
        return _json(
            {
                "successful_deletes": app.ledger.successful_deletes(),
                "successful_file_deletes": app.ledger.successful_file_deletes(),
            }
        )
    if path == "/_sim/reset-ledger" and method == "POST":
        app.ledger.reset()
        return _json({"ok": True})
    if path == "/_sim/runs" and method == "POST":
        body = _body(request)
        added = add_runs(
            app,
            workspace_id=body.get("workspace_id"),
            count=int(body.get("count", 0)),
            runs=body.get("runs") or (),
        )
        return _json({"runs": [run.summary() for run in added]}, 201)
    if path == "/_sim/files" and method == "GET":
        return _json({"files": runs_by_file(app, request.param("workspace_id"))})
    if path == "/_sim/rate-limits" and method == "POST":
        body = _body(request)
        if body.pop("reset", False):
            app.limiter.reset()
        set_rate_limit(app, **body)
        return _json({"rate_limits": app.limiter.limits()})
    if path == "/_sim/webhooks/send" and method == "POST":
        body = _body(request)
        url = body.pop("url")
        deliveries = send_webhook(app, url, **body)
        return _json({"deliveries": [delivery.to_dict() for delivery in deliveries]})
    if path.startswith("/_sim/signed/") and method == "GET":
        found, payload = app.signed.get(path.removeprefix("/_sim/signed/"))
        if not found:
            return _json({"error": "The signed URL is invalid or has expired."}, 403)
        return _json(payload)
    return _json({"error": f"no control endpoint {method} {path}"}, 404)


def _body(request: Request) -> dict[str, Any]:
    if not request.body:
        return {}
    data = json.loads(request.body)
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def _json(data: Any, status: int = 200) -> Response:
    return Response(status, json_body(data))


def _float(value: str | None) -> float | None:
    return None if value is None else float(value)


def _int(value: str | None) -> int | None:
    return None if value is None else int(value)
