"""Templates never compare a status, type, kind, verdict, role or action with a quoted string:
what a status means lives in one place, as a model property or a view's context value
(`version.can_submit`, `ticket.is_loop_limit`, `can_reject`), compared with the TextChoices
enums. A template that spells `{% if t.type == "A8" %}` breaks silently when the value is renamed.
(No database.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {".venv", "node_modules", "test-artifacts", ".git"}

# The names that carry an enum's value: a bare variable or an object's attribute, singular or
# plural (`verdicts`), seen through any filters (`t.type|lower`).
ENUM_NAME = r"(?:[\w.]*\.)?(?:status|type|kind|verdict|role|action)(?:es|s)?"
SUBJECT = rf"\b{ENUM_NAME}(?:\|[\w:\"']+)*"
QUOTED = r"(?:\"[^\"]*\"|'[^']*')"
COMPARISONS = [
    re.compile(rf"{SUBJECT}\s*(?:==|!=|<=|>=|<|>)\s*{QUOTED}"),
    re.compile(rf"{QUOTED}\s*(?:==|!=|<=|>=|<|>)\s*{SUBJECT}"),
    re.compile(rf"{QUOTED}\s+(?:not\s+)?in\s+{SUBJECT}"),
    re.compile(rf"{SUBJECT}\s+(?:not\s+)?in\s+{QUOTED}"),
]
CONDITION_TAG = re.compile(r"{%-?\s*(?:if|elif)\s(.*?)-?%}", re.DOTALL)


def string_comparisons(source: str) -> list[str]:
    """The conditions in `source` that compare an enum-carrying name with a quoted string."""
    return [
        condition.strip()
        for condition in CONDITION_TAG.findall(source)
        if any(pattern.search(condition) for pattern in COMPARISONS)
    ]


def template_files() -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob("*.html")
        if not SKIPPED_DIRS & set(path.relative_to(ROOT).parts)
        and "templates" in path.relative_to(ROOT).parts
    )


@pytest.mark.parametrize(
    "source",
    [
        '{% if t.type == "A8" %}',
        "{% elif a.verdict == 'approve' %}",
        '{% if version.status != "draft" and x %}',
        '{% if can_plan and version.status == "pending_approval" %}',
        '{% if "reject" in verdicts %}',
        '{% if "A8" == ticket.type %}',
        '{% if t.type|lower == "a8" %}',
        '{% if current_membership.role == "admin" %}',
        '{% if r.action == "launch" %}',
        '{% if version.kind in "revise replan" %}',
        '{% if status == "open" %}',
        '{%- if b.status == "added" -%}',
    ],
)
def test_the_scan_catches_a_string_comparison_of_an_enum_value(source):
    assert string_comparisons(source) != []


@pytest.mark.parametrize(
    "source",
    [
        "{% if version.can_submit %}",
        "{% if t.is_loop_limit %}",
        '{% if nav == "plans" %}',
        "{% if field.widget_type == 'checkbox' %}",
        "{% if v.number == selected %}",
        "{% if value == kind %}",
        '{{ t.status|status_class }} {% url "ticket" t.public_id %}',
    ],
)
def test_the_scan_leaves_other_comparisons_alone(source):
    assert string_comparisons(source) == []


def test_the_scan_reads_every_template():
    names = {path.relative_to(ROOT).as_posix() for path in template_files()}
    assert "templates/base.html" in names
    assert "approvals/templates/approvals/ticket.html" in names
    assert "plans/templates/plans/version.html" in names


@pytest.mark.parametrize(
    "path", template_files(), ids=lambda path: path.relative_to(ROOT).as_posix()
)
def test_no_template_compares_a_status_type_or_kind_with_a_string(path):
    assert string_comparisons(path.read_text(encoding="utf-8")) == []
