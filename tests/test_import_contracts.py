"""Dependencies point one way (docs/rules.md "Shape of the code"): the import-linter contracts in
pyproject.toml hold for the code as it is, and break when someone adds a back-edge."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = [
    "tenants",
    "plans",
    "optimization",
    "agents",
    "approvals",
    "audit",
    "api",
    "config",
    "metrics",
]


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def copy_of_the_code(tmp_path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("plans/selectors.py", "from optimization import models", "Plans does not import"),
        ("approvals/services/open.py", "import plans.models", "Approvals imports no domain app"),
        ("audit/services.py", "from tenants import models", "audit log's core"),
        ("plans/selectors.py", "from plans import services", "Selectors do not import services"),
        ("config/errors.py", "import approvals.models", "Shared plumbing"),
        ("optimization/selectors.py", "import metrics.board", "No domain app imports metrics"),
    ],
)
def test_a_back_edge_breaks_a_contract(copy_of_the_code, module, line, contract):
    path = copy_of_the_code / module
    path.write_text(path.read_text() + f"\n{line}\n")
    result = lint_imports(copy_of_the_code)
    assert result.returncode == 1
    assert contract in result.stdout
    assert "BROKEN" in result.stdout
