"""The seams between approvals and the apps that own ticket subjects are checked at start-up:
a missing piece fails `manage.py check`, naming it (approvals/checks.py, plans/live.py)."""

from __future__ import annotations

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from approvals import presentation, subjects
from plans import live


def _errors() -> dict[str, str]:
    return {message.id: message.msg for message in checks.run_checks() if message.is_serious()}


def test_the_installed_apps_pass_the_checks():
    assert _errors() == {}


def test_a_governed_kind_without_its_subject_fails_start_up_naming_it(monkeypatch):
    monkeypatch.delitem(subjects._subjects, "change_set")
    assert _errors()["approvals.E001"] == (
        "No TicketSubject registered for 'change_set', which tickets govern."
    )
    with pytest.raises(SystemCheckError, match="change_set"):
        call_command("check")


def test_a_subject_missing_a_method_fails_naming_the_method(monkeypatch):
    class Incomplete:
        kind = "agent_run"

        def exists(self, tenant, subject_id):
            return True

        def lock(self, ticket):
            pass

        def on_resolved(self, ticket, outcome, actor):
            pass

    monkeypatch.setitem(subjects._subjects, "agent_run", Incomplete())
    assert _errors()["approvals.E002"] == "The TicketSubject for 'agent_run' lacks authors()."


def test_a_subject_without_its_presentation_fails(monkeypatch):
    monkeypatch.delitem(presentation._presentations, "recommendation")
    assert _errors()["approvals.E003"] == (
        "No SubjectPresentation registered for 'recommendation'."
    )


def test_nothing_answering_for_runs_fails(monkeypatch):
    monkeypatch.setattr(subjects, "_run_standing", [])
    assert "approvals.E005" in _errors()


def test_nothing_reading_a_runs_change_sets_fails(monkeypatch):
    monkeypatch.setattr(presentation, "_run_change_sets", [])
    assert "approvals.E006" in _errors()


def test_plans_without_the_live_manifest_reader_fails(monkeypatch):
    monkeypatch.setattr(live, "_reader", None)
    assert "register_live_entries" in _errors()["plans.E001"]
