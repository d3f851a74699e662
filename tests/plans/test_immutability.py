"""Approved plan versions are immutable in the database itself (triggers, both engines): run this
file on SQLite and with DATABASE_URL on PostgreSQL."""

import pytest
from django.db import DatabaseError, connection, transaction

from audit.actors import Actor
from plans.models import PlanStatus, PlanVersion
from plans.services import plan_version_create_draft, plan_version_import_approved
from tests.plans.plan_samples import changed, search_up_12_pct, winter_plan

pytestmark = pytest.mark.django_db
SEED = Actor.system("tests")


@pytest.fixture
def approved(acme_v1):
    return acme_v1


@pytest.fixture
def superseded(acme, approved):
    plan_version_import_approved(
        tenant=acme,
        track_key="always_on",
        kind="revise",
        payload=changed(winter_plan(), search_up_12_pct),
        actor=SEED,
        approved_by="tests",
    )
    approved.refresh_from_db()
    assert approved.status == PlanStatus.SUPERSEDED
    return approved


def refused(**changes):
    def attempt(version):
        with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
            PlanVersion.objects.filter(pk=version.pk).update(**changes)

    return attempt


EDITS = [
    pytest.param({"payload": {"objective": "rewritten"}}, id="payload"),
    pytest.param({"payload_hash": "0" * 64}, id="payload_hash"),
    pytest.param({"number": 99}, id="number"),
    pytest.param({"kind": "replan"}, id="kind"),
    pytest.param({"approved_by": "someone else"}, id="approved_by"),
    pytest.param({"status": "draft"}, id="status back to draft"),
    pytest.param({"status": "rejected"}, id="status to rejected"),
    pytest.param({"status": "superseded", "payload": {"x": 1}}, id="supersede while editing"),
]


def stored(version) -> dict:
    """Every column of the version's row as the database holds it now."""
    return PlanVersion.objects.filter(pk=version.pk).values().get()


@pytest.mark.parametrize("changes", EDITS)
def test_the_database_refuses_to_edit_an_approved_version(approved, changes):
    before = stored(approved)
    refused(**changes)(approved)
    after = stored(approved)
    assert after == before
    assert (after["status"], after["payload"]["objective"]) == (PlanStatus.APPROVED, "purchases")


def test_the_database_refuses_to_move_the_version_to_another_track(acme, approved):
    branding = plan_version_create_draft(
        tenant=acme, track_key="branding", kind="track_draft", payload=winter_plan(), actor=SEED
    )
    refused(track_id=branding.track_id)(approved)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"status": "approved"}, id="back to approved"),
        pytest.param({"superseded_by": "rewritten"}, id="superseded_by"),
        pytest.param({"payload": {"objective": "x"}}, id="payload"),
    ],
)
def test_the_database_refuses_any_edit_of_a_superseded_version(superseded, changes):
    before = stored(superseded)
    refused(**changes)(superseded)
    assert stored(superseded) == before
    assert before["status"] == PlanStatus.SUPERSEDED


def test_approved_and_superseded_versions_cannot_be_deleted(approved, superseded):
    # Raw SQL: the database is the guard, not Django's on_delete=PROTECT.
    for version in (approved, superseded):
        with (
            pytest.raises(DatabaseError, match="kept for ever"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("DELETE FROM plans_planversion WHERE id = %s", [version.pk])
    assert PlanVersion.objects.count() == 2


def test_approved_to_superseded_is_the_one_change_allowed(approved):
    updated = PlanVersion.objects.filter(pk=approved.pk).update(
        status="superseded", superseded_by="tests"
    )
    assert updated == 1
    approved.refresh_from_db()
    assert approved.status == PlanStatus.SUPERSEDED


def test_drafts_stay_editable_and_deletable(acme, approved):
    draft = plan_version_create_draft(
        tenant=acme,
        track_key="always_on",
        kind="revise",
        payload=changed(winter_plan(), search_up_12_pct),
        actor=SEED,
    )
    assert PlanVersion.objects.filter(pk=draft.pk).update(reason="typo fixed") == 1
    assert PlanVersion.objects.filter(pk=draft.pk).delete()[0] == 1
