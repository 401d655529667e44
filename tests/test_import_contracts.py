"""The import contracts in ``pyproject.toml`` hold, and each kind of them fails when broken.

Each breaking case copies the portal's packages to a temporary directory, adds one import (some
inside a function, where a cycle used to hide) and runs ``lint-imports`` on the copy, limited to
the contract that must catch it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("deletions", "extend_simulator", "portal")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(project: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    args = [str(LINT_IMPORTS), "--no-cache", "--no-logo"]
    for contract in contracts:
        args += ["--contract", contract]
    return subprocess.run(
        [*args, str(project / "pyproject.toml")],
        cwd=project,
        env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_of_the_project(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=lambda _dir, names: [
                n for n in names if not (n.endswith(".py") or (Path(_dir) / n).is_dir())
            ],
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_contracts_are_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


FUNCTION_LEVEL = "\n\ndef _reach_up() -> None:\n    {}\n"

# (contract, file to change, import added, at the top or inside a function)
BREAKS = [
    # A cycle between packages: requests imports the fence, the fence now imports requests.
    ("acyclic", "deletions/workspaces/fence.py", "from deletions.requests import holds", True),
    # A cycle between the modules of one package.
    ("acyclic", "deletions/engine/due.py", "from deletions.engine import runner", False),
    # The domain reaching up to the task layer, as holds and the sync once did.
    ("layers", "deletions/requests/holds.py", "from deletions.tasks import engine", True),
    ("domain", "deletions/inventory/sync.py", "from deletions.tasks import inventory", True),
    ("domain", "deletions/gdpr/deadlines.py", "from deletions.forms import gdpr", False),
    # A helper of core that knows a model.
    ("layers", "deletions/core/crypto.py", "from deletions.models import Workspace", False),
    # The models calling a domain function, as the API's token model once did (roles).
    ("models", "deletions/models/tokens.py", "from deletions.accounts import roles", True),
    ("extend-client", "deletions/extend_client/regions.py", "import django.conf", False),
    ("simulator", "extend_simulator/config.py", "from deletions.core import errors", True),
    ("pages-and-api", "deletions/views/health.py", "from deletions.api import errors", False),
]


@pytest.mark.parametrize(
    ("contract", "path", "line", "in_function"),
    BREAKS,
    ids=[f"{c}:{p.split('/', 1)[1]}" for c, p, _l, _f in BREAKS],
)
def test_a_contract_fails_when_broken(
    tmp_path: Path, contract: str, path: str, line: str, in_function: bool
) -> None:
    project = copy_of_the_project(tmp_path)
    assert lint_imports(project, contract).returncode == 0

    module = project / path
    addition = FUNCTION_LEVEL.format(line) if in_function else f"\n{line}  # noqa\n"
    module.write_text(module.read_text() + addition)

    result = lint_imports(project, contract)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout
    assert "1 broken" in result.stdout
