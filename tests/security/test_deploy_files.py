"""The production files in deploy/ and the Procfile agree with the settings and the README."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = (
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEYS",
    "PSEUDONYMISATION_KEY",
    "CERTIFICATE_ED25519_KEY",
)


def env_example() -> dict[str, str]:
    pairs = {}
    for line in (ROOT / "deploy" / "env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            pairs[name] = value
    return pairs


def test_the_env_example_sets_every_required_secret_and_production_mode():
    env = env_example()
    assert env["DEBUG"] == "false"
    for name in REQUIRED:
        assert name in env, f"{name} is missing from deploy/env.example"
    assert env["LOG_FORMAT"] == "json"
    assert env["BEHIND_TLS_PROXY"] == "true"


def test_every_portal_variable_in_the_env_example_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    gunicorn = {"GUNICORN_BIND", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS"}
    undocumented = [n for n in env_example() if n not in gunicorn and f"`{n}`" not in readme]
    assert not undocumented, f"not in README's configuration table: {undocumented}"


def test_the_procfile_and_systemd_units_start_web_worker_and_one_beat():
    procfile = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert set(procfile) == {"release", "web", "worker", "beat"}
    assert "migrate" in procfile["release"] and "collectstatic" in procfile["release"]
    assert "deploy/gunicorn.conf.py" in procfile["web"]
    units = {p.stem: p.read_text() for p in (ROOT / "deploy" / "systemd").glob("*.service")}
    assert set(units) == {"portal-web", "portal-worker", "portal-beat"}
    for text in units.values():
        assert "EnvironmentFile=/etc/portal/env" in text
    assert re.search(r"celery -A portal beat", units["portal-beat"])
    assert re.search(r"celery -A portal worker", units["portal-worker"])


def test_gunicorn_accepts_the_configuration(tmp_path):
    env = {**os.environ, "PORTAL_VAR_DIR": str(tmp_path), "WEB_CONCURRENCY": "2"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    result = subprocess.run(
        [
            str(gunicorn),
            "--check-config",
            "-c",
            "deploy/gunicorn.conf.py",
            "portal.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
