"""config/locks.py "Lock only the rows the order names": no query of the product locks the rows
it joins. A `select_for_update()` chained with `select_related()` names `of` — a joined tenant
row locked FOR UPDATE deadlocked a rollback against a ticket decision (issue 14)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = [
    "agents",
    "api",
    "approvals",
    "audit",
    "config",
    "integrations",
    "metrics",
    "notifications",
    "optimization",
    "plans",
    "tenants",
]


def chained_calls(node: ast.expr) -> list[ast.Call]:
    """The method calls of one chain, outermost first: qs.a().b().c() → [c(), b(), a()]."""
    calls = []
    while True:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            calls.append(node)
            node = node.func.value
        elif isinstance(node, ast.Attribute):
            node = node.value
        else:
            return calls


def joined_locks(tree: ast.AST) -> list[int]:
    """Lines of chains that lock with select_for_update() without `of` and also select_related."""
    seen, lines = set(), []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or id(node) in seen:
            continue
        calls = chained_calls(node)
        seen.update(id(call) for call in calls)
        names = {call.func.attr: call for call in calls}
        lock = names.get("select_for_update")
        joins = lock is not None and "select_related" in names
        if joins and not any(keyword.arg == "of" for keyword in lock.keywords):
            lines.append(lock.lineno)
    return lines


def test_no_lock_takes_the_rows_it_joins():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
        for line in joined_locks(ast.parse(path.read_text(), filename=str(path)))
    ]
    assert offenders == []


def test_the_check_finds_a_lock_that_joins():
    source = 'Ticket.objects.select_for_update().select_related("tenant").get(pk=1)'
    assert joined_locks(ast.parse(source)) == [1]
    assert joined_locks(ast.parse(source.replace("update()", 'update(of=("self",))'))) == []
