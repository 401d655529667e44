"""RELIABILITY 16: production settings pass `manage.py check --deploy`, refuse to start without
their secrets, and turn on secure cookies and HSTS. Each case runs Django in a subprocess, with
only the environment a production host would have."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

ROOT = Path(__file__).resolve().parents[2]
# The development signing key (settings derive it from the development secret key).
DEV_CERTIFICATE_KEY = base64.urlsafe_b64encode(
    hashlib.sha256(
        b"dev-only-insecure-secret-key-do-not-use-in-production:certificate-ed25519"
    ).digest()
).decode()


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "HOME", "LANG", "PYTHONPATH", "VIRTUAL_ENV")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PORTAL_VAR_DIR": str(tmp_path),
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "PSEUDONYMISATION_KEY": secrets.token_urlsafe(32),
            "CERTIFICATE_ED25519_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "ALLOWED_HOSTS": "portal.example.com",
        }
    )
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path)
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "variable",
    ["SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "PSEUDONYMISATION_KEY", "CERTIFICATE_ED25519_KEY"],
)
def test_without_a_required_secret_it_refuses_to_start_naming_the_variable(tmp_path, variable):
    env = production_env(tmp_path)
    del env[variable]

    result = run(["manage.py", "check"], env)

    assert result.returncode != 0
    assert f"{variable} is not set" in result.stderr


def test_the_development_secret_key_is_refused_in_production(tmp_path):
    env = production_env(
        tmp_path, SECRET_KEY="dev-only-insecure-secret-key-do-not-use-in-production"
    )
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "SECRET_KEY is the development key" in result.stderr


def test_a_certificate_key_that_is_not_an_ed25519_private_key_is_refused(tmp_path):
    secret = secrets.token_urlsafe(40)
    result = run(["manage.py", "check"], production_env(tmp_path, CERTIFICATE_ED25519_KEY=secret))
    assert result.returncode != 0
    assert "CERTIFICATE_ED25519_KEY is not an Ed25519 private key" in result.stderr
    assert secret not in result.stderr
    dev = production_env(tmp_path, CERTIFICATE_ED25519_KEY=DEV_CERTIFICATE_KEY)
    assert (
        "CERTIFICATE_ED25519_KEY is the development key" in run(["manage.py", "check"], dev).stderr
    )


def test_a_pem_certificate_key_on_one_line_is_accepted_and_the_legacy_hmac_key_is_optional(
    tmp_path,
):
    pem = (
        Ed25519PrivateKey.generate()
        .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        .decode()
    )
    env = production_env(tmp_path, CERTIFICATE_ED25519_KEY=pem.strip().replace("\n", "\\n"))
    env.pop("CERTIFICATE_SIGNING_KEY", None)
    result = run(["manage.py", "check"], env)
    assert result.returncode == 0, result.stderr


SHOW_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({name: getattr(settings, name) for name in (
    "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
    "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_CONTENT_TYPE_NOSNIFF", "X_FRAME_OPTIONS", "SECURE_PROXY_SSL_HEADER",
)}))
"""


def test_production_cookies_are_secure_and_hsts_is_on(tmp_path):
    result = run(["-c", SHOW_SETTINGS], production_env(tmp_path, BEHIND_TLS_PROXY="true"))
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)

    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


LOG_ONE_LINE = """
import logging, django
django.setup()
logging.getLogger("deletions.demo").warning("workspace %s paused", 7, extra={"workspace": 7})
"""


def test_log_format_json_writes_one_json_object_per_line(tmp_path):
    result = run(["-c", LOG_ONE_LINE], production_env(tmp_path, LOG_FORMAT="json"))

    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["level"] == "WARNING"
    assert line["logger"] == "deletions.demo"
    assert line["message"] == "workspace 7 paused"
    assert line["workspace"] == 7
    assert "time" in line


def test_an_unknown_log_format_is_refused(tmp_path):
    result = run(["manage.py", "check"], production_env(tmp_path, LOG_FORMAT="xml"))
    assert result.returncode != 0
    assert "LOG_FORMAT must be" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [("TRUSTED_PROXY_NETWORKS", "127.0.0.1/32,nginx"), ("TRUSTED_PROXY_COUNT", "-1")],
)
def test_a_wrong_trusted_proxy_setting_is_refused_naming_it(tmp_path, variable, value):
    result = run(["manage.py", "check"], production_env(tmp_path, **{variable: value}))
    assert result.returncode != 0
    assert variable in result.stderr
