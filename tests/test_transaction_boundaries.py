"""Where transactions start (config/transactions.py): every service a page, an API endpoint, a
task or a command calls is a durable transaction of its own; the helpers those services share
run only inside a caller's transaction, and no view, endpoint, task or command reaches one
outside it."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from django.db import transaction

from approvals.models import TicketStatus
from approvals.services import ticket_cancel_within
from audit.actors import Actor
from config.transactions import OutsideTransaction, is_helper, within_transaction
from tests.approvals.factories import open_ticket

ROOT = Path(__file__).resolve().parent.parent
APPS = ["tenants", "plans", "optimization", "agents", "approvals"]
SERVICE_PACKAGES = [f"{app}.services" for app in APPS] + [
    "approvals.sweep",
    "metrics.services",
    "api.idempotency",
]

# Services that are not one transaction, and why.
NOT_ONE_TRANSACTION = {
    # Loops over units of work, each its own transaction: one bad unit never stops the rest.
    "optimization.services.scan.triggers_scan",
    "optimization.services.lapse.change_sets_lapse",
    "approvals.sweep.ticket_sla_sweep",
    "metrics.services.weekly_reports_send",
    # The gate's allowed step is one statement in autocommit on PostgreSQL; its refusals (and
    # every step on SQLite) open their own durable transaction inside.
    "agents.services.gate.run_gate",
    # Reads, or a single UPDATE of a key's last use.
    "agents.services.keys.agent_key_authenticate",
    "agents.services.runs.run_get",
    "approvals.services.open.ticket_sla_due_at",
    "optimization.services.rollback.rollback_preview",
    "plans.services.submit.ticket_preview",
    "api.idempotency.request_hash",
    "metrics.services.planner_emails",
}


def _modules(package: str):
    module = importlib.import_module(package)
    yield module
    for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
        yield importlib.import_module(f"{package}.{info.name}")


def _defined_in(module) -> dict[str, object]:
    """The public functions a module defines (not those it imports)."""
    return {
        name: obj
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and inspect.isfunction(obj)
        and inspect.unwrap(obj).__module__ == module.__name__
    }


def _service_functions():
    """What each services package offers: its `__all__`, or the functions its module defines."""
    for package in SERVICE_PACKAGES:
        module = importlib.import_module(package)
        offered = (
            {name: getattr(module, name) for name in module.__all__}
            if hasattr(module, "__all__")
            else _defined_in(module)
        )
        for name, obj in offered.items():
            if inspect.isfunction(obj):
                yield f"{inspect.unwrap(obj).__module__}.{name}", obj


def _helper_names() -> set[str]:
    """Every function marked @within_transaction in the services, private modules included."""
    return {
        name
        for package in SERVICE_PACKAGES
        for module in _modules(package)
        for name, obj in _defined_in(module).items()
        if is_helper(obj)
    }


ENTRY_POINTS = [
    pytest.param(function, id=name)
    for name, function in _service_functions()
    if not is_helper(function) and name not in NOT_ONE_TRANSACTION
]


@pytest.mark.django_db
@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_an_entry_point_refuses_to_run_inside_another_transaction(entry_point):
    # Durable: Django refuses the block before the service reads its arguments.
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        entry_point()


def test_every_exception_above_is_a_service_that_exists():
    assert {name for name, _function in _service_functions()} >= NOT_ONE_TRANSACTION


@pytest.mark.django_db
def test_a_helper_called_outside_a_transaction_refuses_and_writes_nothing(acme):
    ticket = open_ticket(acme, "A4")

    with pytest.raises(OutsideTransaction, match="ticket_cancel_within"):
        ticket_cancel_within(ticket=ticket, actor=Actor.system("tests"), reason="withdrawn")

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN


@pytest.mark.django_db
def test_a_helper_runs_inside_its_callers_transaction(acme):
    ticket = open_ticket(acme, "A4")

    with transaction.atomic():
        ticket_cancel_within(ticket=ticket, actor=Actor.system("tests"), reason="withdrawn")

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CANCELLED


def test_a_helper_is_marked_so_the_checks_below_find_it():
    @within_transaction
    def step():
        return "done"

    assert is_helper(step) and not is_helper(open_ticket)
    assert step.__name__ == "step"


# --- Views, API endpoints, tasks and commands reach only entry points --------------------------
# Django admin runs a change form's save and a delete page in its own transaction: there the
# admin calls the helpers. The agent API's idempotent writes run their `work` inside
# api.idempotency.idempotent's transaction.
ADMIN_METHODS_IN_A_TRANSACTION = {"save_model", "delete_model"}


def _callers() -> list[Path]:
    files = []
    for app in [*APPS, "audit", "metrics", "ops", "api", "config"]:
        base = ROOT / app
        files += sorted(base.glob("views*.py"))
        files += [base / name for name in ("api.py", "tasks.py", "admin.py", "urls.py")]
        files += sorted(base.glob("management/commands/*.py"))
    return [path for path in files if path.exists()]


def _idempotent_work(function: ast.AST) -> set[str]:
    """The names of the functions `function` passes as `work=` to idempotent(...)."""
    names = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "idempotent":
            names |= {
                keyword.value.id
                for keyword in node.keywords
                if keyword.arg == "work" and isinstance(keyword.value, ast.Name)
            }
    return names


def _helper_uses(tree: ast.Module, helpers: set[str], *, admin: bool):
    """(line, name) of each reference to a helper outside the places allowed above."""

    def visit(node: ast.AST, allowed: bool, work: set[str]):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            allowed = allowed or node.name in work
            allowed = allowed or (admin and node.name in ADMIN_METHODS_IN_A_TRANSACTION)
            work = work | _idempotent_work(node)
        name = (
            node.id
            if isinstance(node, ast.Name)
            else node.attr
            if isinstance(node, ast.Attribute)
            else None
        )
        if name in helpers and not allowed:
            yield node.lineno, name
        if isinstance(node, ast.ImportFrom):
            return  # an import alone calls nothing; its uses are checked where they are
        for child in ast.iter_child_nodes(node):
            yield from visit(child, allowed, work)

    yield from visit(tree, False, set())


def test_views_api_endpoints_tasks_and_commands_call_only_entry_points():
    helpers = _helper_names()
    assert {"ticket_decide_within", "change_set_submit_within"} <= helpers
    found = []
    for path in _callers():
        tree = ast.parse(path.read_text())
        for line, name in _helper_uses(tree, helpers, admin=path.name == "admin.py"):
            found.append(f"{path.relative_to(ROOT)}:{line} {name}")
    assert found == []


def test_the_check_finds_a_view_that_calls_a_helper():
    helpers = _helper_names()
    view = ast.parse(
        "from approvals.services import ticket_decide_within\n"
        "def decide(request, ticket):\n"
        "    ticket_decide_within(ticket=ticket, actor=None, verdict='approve')\n"
    )
    endpoint = ast.parse(
        "def create(request, body):\n"
        "    def work():\n"
        "        return change_set_submit_within(tenant=None, request=body, actor=None)\n"
        "    return idempotent(tenant=None, scope='x', key='k', request={}, work=work)\n"
    )
    admin_action = ast.parse(
        "class Admin:\n"
        "    def delete_queryset(self, request, queryset):\n"
        "        membership_remove_within(membership=None, actor=None)\n"
    )

    assert list(_helper_uses(view, helpers, admin=False)) == [(3, "ticket_decide_within")]
    assert list(_helper_uses(endpoint, helpers, admin=False)) == []
    assert list(_helper_uses(admin_action, helpers, admin=True)) == [
        (3, "membership_remove_within")
    ]
