"""Start the whole portal on its embedded default, with demo data: `make run`.

Runs migrations and the demo seed, then starts the Extend simulator, the web server, a Celery
worker and Celery beat, fills the inventory by syncing from the simulator, prints where to go
and how to sign in, and stops everything it started on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
WEB_PORT = int(os.environ.get("PORT", "8000"))
SIM_PORT = int(os.environ.get("SIMULATOR_PORT", "8025"))
SIM_URL = f"http://127.0.0.1:{SIM_PORT}"
# Where the portal keeps its files (portal/settings.py reads the same variable); beat's
# schedule goes there too, so PORTAL_VAR_DIR alone decides where `make run` writes.
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", str(ROOT / "var")))

# The data subject whose documents the demo holds (the public form's reference to try).
DEMO_SUBJECT = "patient-4711"
# The metadata key the portal finds a subject's runs by (settings.GDPR_SUBJECT_METADATA_KEY).
SUBJECT_KEY = os.environ.get("GDPR_SUBJECT_METADATA_KEY", "subject_ref")
# Must match deletions/management/commands/seed_demo.py.
DEMO_API_KEY = "sk_demo_workspace_key_0001"
DEMO_WEBHOOK_SECRET = "wss_demo_signing_secret_0001"
DEMO_PASSWORD = "demo-portal-2026"


def manage(*args: str) -> list[str]:
    return [PYTHON, str(ROOT / "manage.py"), *args]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(
        f"Nothing is listening on port {port} after {timeout:.0f} s; see the log above."
    )


def post_json(url: str, body: dict[str, object]) -> Any:
    """POST *body* to the local simulator's control endpoint; return its JSON answer."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def fill_inventory() -> None:
    """The demo inventory comes from Extend (the simulator), as in production: a full sync of
    the workspace, then a few new uploads announced by signed webhooks."""
    subprocess.run(manage("sync_parse_runs", "--workspace", "Demo workspace"), check=True, cwd=ROOT)
    token = subprocess.run(
        manage("shell", "-c", "from deletions.models import Workspace as W; "
               "print(W.objects.get(name='Demo workspace').webhook_token)"),
        check=True, cwd=ROOT, capture_output=True, text=True,
    ).stdout.split()[-1]  # fmt: skip
    webhook_url = f"http://127.0.0.1:{WEB_PORT}/webhooks/extend/{token}/"
    new_runs: list[dict[str, object]] = [
        {"customer": "cust_acme", "file_name": f"new-upload-{n}.pdf"} for n in range(1, 4)
    ]
    # Documents of one data subject, tagged with their reference as a customer would tag them:
    # the public erasure form finds them (README, "A tour").
    new_runs += [
        {"customer": "cust_acme", "file_name": name, "metadata": {SUBJECT_KEY: DEMO_SUBJECT}}
        for name in ("Patient intake form.pdf", "Insurance card.png", "Referral letter.docx")
    ]
    added = post_json(f"{SIM_URL}/_sim/runs", {"runs": new_runs})
    for run in added["runs"]:
        post_json(
            f"{SIM_URL}/_sim/webhooks/send",
            {"url": webhook_url, "event_type": "parse_run.processed", "run_id": run["id"]},
        )


def main() -> None:
    os.environ.setdefault("SITE_URL", f"http://127.0.0.1:{WEB_PORT}")
    # The simulator listens on 127.0.0.1 over http: the outbound URL policy lets it through by
    # name only (docs/deployment.md, "Outbound URL policy").
    os.environ.setdefault("OUTBOUND_ALLOWED_HOSTS", "127.0.0.1,localhost")
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(manage("migrate", "--verbosity", "0"), check=True, cwd=ROOT)
    subprocess.run(manage("seed_demo", "--extend-url", SIM_URL), check=True, cwd=ROOT)

    processes: list[subprocess.Popen[bytes]] = []

    def start(cmd: list[str]) -> None:
        # A session of its own, so stopping it stops its children (runserver's reloader too).
        processes.append(subprocess.Popen(cmd, cwd=ROOT, start_new_session=True))

    def stop(*_: object) -> None:
        for proc in processes:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in processes:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        raise SystemExit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    start(
        manage(
            "extend_simulator",
            "--port", str(SIM_PORT),
            "--seed-runs", "300",
            "--api-key", DEMO_API_KEY,
            "--webhook-secret", DEMO_WEBHOOK_SECRET,
            "--customers", "cust_acme,cust_globex,cust_initech",
            "--customer-key", "customer_id",
            "--latency-ms", "80",
        )
    )  # fmt: skip
    wait_for_port(SIM_PORT)
    start(manage("runserver", f"127.0.0.1:{WEB_PORT}"))
    celery = [PYTHON, "-m", "celery", "-A", "portal"]
    start([*celery, "worker", "--loglevel", "INFO", "--concurrency", "4", "--pool", "threads"])
    start([*celery, "beat", "--loglevel", "INFO", "--schedule", str(VAR_DIR / "beat-schedule")])
    wait_for_port(WEB_PORT)
    fill_inventory()

    print(
        f"""
  ───────────────────────────────────────────────────────────────
   The deletion portal is running.

   Open            http://127.0.0.1:{WEB_PORT}/
   Django admin    http://127.0.0.1:{WEB_PORT}/admin/
   Extend (sim.)   {SIM_URL}   (ledger: {SIM_URL}/_sim/ledger)
   Erasure form    http://127.0.0.1:{WEB_PORT}/erasure/acme/
                   (Acme's public form: try the reference {DEMO_SUBJECT};
                    e-mails are printed in this terminal)

   Sign in with password  {DEMO_PASSWORD}  as:
     alice     customer admin of Acme Health
     bob       member of Globex Legal
     approver  operator staff, approver
     admin     operator staff, administrator
     viewer    operator staff, read-only

   Ctrl-C stops everything.
  ───────────────────────────────────────────────────────────────
""",
        flush=True,
    )
    while True:
        for proc in processes:
            if proc.poll() is not None:
                print(f"A process exited ({proc.args!r}); stopping the rest.", file=sys.stderr)
                stop()
        time.sleep(1)


if __name__ == "__main__":
    main()
