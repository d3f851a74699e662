"""Dependencies point one way (docs/rules.md "Shape of the code"): the import-linter contracts in
pyproject.toml hold for the code as it is, and break when someone adds a back-edge."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
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
    "ops",
    "notifications",
    "integrations",
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
        ("metrics/selectors.py", "from approvals.models import Ticket", "Metrics reads other apps"),
        ("metrics/report.py", "from optimization import views_queries", "Metrics reads other apps"),
        ("metrics/board.py", "import plans.services", "Metrics reads other apps"),
        ("config/sql.py", "from agents.models import QcResult", "Shared plumbing"),
        ("config/charts.py", "from optimization import drift_chart", "Shared plumbing"),
        ("plans/selectors.py", "from ops.management.commands import seed_demo", "No domain app"),
        ("metrics/views.py", "import ops.apps", "Domain apps are layered"),
        ("approvals/views.py", "import notifications.models", "No domain app imports notif"),
        ("agents/services/qc.py", "from integrations import slack", "No domain app imports notif"),
        ("notifications/fanout.py", "import integrations.webhooks", "Domain apps are layered"),
        ("integrations/slack.py", "from optimization import services", "read the domain apps"),
    ],
)
def test_a_back_edge_breaks_a_contract(copy_of_the_code, module, line, contract):
    path = copy_of_the_code / module
    path.write_text(path.read_text() + f"\n{line}\n")
    result = lint_imports(copy_of_the_code)
    assert result.returncode == 1
    assert contract in result.stdout
    assert "BROKEN" in result.stdout


def _metrics_contract() -> dict:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in contracts["contracts"] if c.get("source_modules") == ["metrics"]]
    return contract


def test_the_metrics_contract_names_every_apps_models_views_and_services():
    """A wildcard replaces only a whole module name, so the views modules are listed one by one:
    a new views_* module of any app must join the list."""
    forbidden = set(_metrics_contract()["forbidden_modules"])
    apps = [p for p in PACKAGES if p not in ("api", "config", "metrics", "ops")]
    for app in apps:
        modules = {f"{app}.{path.stem}" for path in (ROOT / app).glob("views*.py")}
        modules |= {f"{app}.views"} if (ROOT / app / "views").is_dir() else set()
        modules |= {f"{app}.{name}" for name in ("models", "services")}
        present = {m for m in modules if _exists(m)}
        assert present <= forbidden, f"not forbidden to metrics: {sorted(present - forbidden)}"


def _exists(module: str) -> bool:
    path = ROOT.joinpath(*module.split("."))
    return path.with_suffix(".py").exists() or path.is_dir()
