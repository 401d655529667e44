"""`make audit` (run by `make test`): known vulnerabilities fail the build; only an unreachable
vulnerability service is a warning. Checked against pip-audit's output formats, replayed by a
stand-in for pip-audit (PIP_AUDIT=...)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

VULNERABLE = (
    "Name   Version ID                  Fix Versions\n"
    "------ ------- ------------------- ------------\n"
    "django 5.2.19  GHSA-xxxx-yyyy-zzzz 5.2.20\n",
    "Found 1 known vulnerability in 1 package\n",
    1,
)
NETWORK = (
    "",
    "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org', port=443): "
    "Max retries exceeded with url: /pypi/django/5.2.19/json\n",
    1,
)
CLEAN = ("No known vulnerabilities found\n", "", 0)
UNKNOWN_TO_SERVICE = (
    "Name   Skip Reason\n------ -----------\n"
    "django Dependency not found on PyPI and could not be audited: django (5.2.19)\n",
    "No known vulnerabilities found\n",
    0,
)
BAD_USAGE = ("", "pip-audit: error: unrecognized arguments: --frobnicate\n", 2)


def make_audit(tmp_path: Path, stdout: str, stderr: str, code: int):
    fake = tmp_path / "pip-audit"
    (tmp_path / "out").write_text(stdout)
    (tmp_path / "err").write_text(stderr)
    fake.write_text(f"#!/bin/sh\ncat {tmp_path}/out\ncat {tmp_path}/err >&2\nexit {code}\n")
    fake.chmod(0o755)
    return subprocess.run(
        ["make", "-s", "audit", f"PIP_AUDIT={fake}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(autouse=True)
def _needs_make():
    assert shutil.which("make"), "make is needed for this test"


def test_known_vulnerabilities_fail_the_build(tmp_path):
    result = make_audit(tmp_path, *VULNERABLE)
    assert result.returncode != 0
    assert "GHSA-xxxx-yyyy-zzzz" in result.stdout
    assert "known vulnerabilities" in result.stdout


def test_an_unreachable_service_is_a_warning_not_a_failure(tmp_path):
    result = make_audit(tmp_path, *NETWORK)
    assert result.returncode == 0
    assert "WARNING: pip-audit could not reach the vulnerability service" in result.stdout
    assert "NOT audited" in result.stdout


def test_a_clean_audit_passes_quietly(tmp_path):
    result = make_audit(tmp_path, *CLEAN)
    assert result.returncode == 0
    assert "No known vulnerabilities found" in result.stdout
    assert "WARNING" not in result.stdout


def test_packages_the_service_does_not_know_are_named_in_a_warning(tmp_path):
    result = make_audit(tmp_path, *UNKNOWN_TO_SERVICE)
    assert result.returncode == 0
    assert "WARNING: 1 dependencies could not be audited" in result.stdout


def test_any_other_pip_audit_error_fails_the_build(tmp_path):
    result = make_audit(tmp_path, *BAD_USAGE)
    assert result.returncode == 2
    assert "pip-audit exited with 2" in result.stdout
