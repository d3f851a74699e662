"""Plan version numbers: one monotonic sequence per tenant, no duplicate, no gap."""

import threading

import pytest
from django.db import connection, transaction

from audit.actors import Actor
from plans.models import PlanVersion
from plans.services import PlanError, plan_version_create_draft, plan_version_create_draft_within
from tests.plans.plan_samples import branding_plan, event_plan, winter_plan

SEED = Actor.system("tests")
WRITERS = 8


def draft(tenant, track_key="always_on", kind="initial", payload=None, *, create=None):
    return (create or plan_version_create_draft)(
        tenant=tenant,
        track_key=track_key,
        kind=kind,
        payload=payload or winter_plan(),
        actor=SEED,
    )


@pytest.mark.django_db
def test_numbers_are_per_tenant_and_start_at_one(acme, globex):
    assert [draft(acme).number, draft(acme).number] == [1, 2]
    assert draft(globex).number == 1
    assert draft(acme, "branding", "track_draft", branding_plan()).number == 3


@pytest.mark.django_db
def test_a_rolled_back_draft_leaves_no_gap(acme):
    draft(acme)

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        # The draft as a step of a bigger transaction (a recommendation's, an import's).
        assert draft(acme, create=plan_version_create_draft_within).number == 2
        raise Abort
    with pytest.raises(PlanError):
        draft(acme, kind="revise")  # refused by the classifier: claims no number
    assert draft(acme).number == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_writers_get_distinct_numbers_without_gaps(acme):
    barrier = threading.Barrier(WRITERS)
    numbers, errors = [], []
    tracks = ["always_on", "branding", "event_black_friday", "engagement"]

    def write(index: int) -> None:
        try:
            track = tracks[index % len(tracks)]
            kind, payload = {
                "always_on": ("initial", winter_plan()),
                "branding": ("track_draft", branding_plan()),
                "event_black_friday": ("event_draft", event_plan()),
                "engagement": ("event_draft", event_plan("advent")),
            }[track]
            barrier.wait()
            for _ in range(3):
                numbers.append(draft(acme, track, kind, payload).number)
        except Exception as exc:  # collected: an assertion below reports it
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(numbers) == list(range(1, WRITERS * 3 + 1))
    stored = sorted(PlanVersion.objects.filter(tenant=acme).values_list("number", flat=True))
    assert stored == list(range(1, WRITERS * 3 + 1))
