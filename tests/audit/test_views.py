"""The tenant audit page, its filters, HTMX paging and exports, and the per-resource trail."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.template import Context, Template

from audit.actors import Actor
from audit.chain import link_body, link_hash
from audit.models import AuditEvent
from audit.services import audit_event_append
from tenants.models import Role
from tests.conftest import PASSWORD


def log_url(slug="acme"):
    return f"/t/{slug}/audit/"


@pytest.fixture
def as_alice(client, alice):
    client.login(username="alice", password=PASSWORD)
    return client


@pytest.fixture
def varied_log(acme, alice):
    """A few events by different actors about different resources, at known times."""
    events = {}
    specs = [
        ("ticket.opened", ("ticket", "T-1"), Actor.service("sweep"), datetime(2026, 3, 1, 22, 30)),
        ("ticket.approved", ("ticket", "T-1"), Actor.for_user(alice), datetime(2026, 3, 1, 23, 30)),
        (
            "plan_version.submitted",
            ("planversion", "7"),
            Actor.for_user(alice),
            datetime(2026, 3, 3, 9),
        ),
    ]
    for action, resource, actor, when in specs:
        with time_machine.travel(when.replace(tzinfo=UTC), tick=False):
            events[action] = audit_event_append(
                tenant=acme, actor=actor, action=action, resource=resource, plan_version=7
            )
    return events


def table_actions(response) -> list[str]:
    html = response.content.decode()
    body = html.split('data-testid="audit-table"', 1)[1]
    return [part.split("</code>", 1)[0] for part in body.split("<td><code>")[1:]]


@pytest.mark.django_db
def test_a_planner_sees_the_tenants_events_newest_first_in_its_time_zone(as_alice, varied_log):
    response = as_alice.get(log_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Audit log · Acme Retail" in html
    actions = table_actions(response)
    assert actions[:3] == ["plan_version.submitted", "ticket.approved", "ticket.opened"]
    # 23:30 UTC on 1 March is 00:30 on 2 March in Berlin.
    assert "2 Mar 2026 00:30:00 CET" in html
    approved = varied_log["ticket.approved"]
    assert approved.hash[:10] in html
    assert '<span class="label">User</span>' in html
    assert 'href="/t/acme/audit/ticket/T-1/"' in html


@pytest.mark.django_db
def test_a_member_of_another_tenant_gets_404_on_its_log_trail_and_exports(client, acme, bob):
    client.login(username="bob", password=PASSWORD)
    for path in (
        log_url("acme"),
        "/t/acme/audit/ticket/T-1/",
        "/t/acme/audit/export.csv",
        "/t/acme/audit/export.jsonl",
    ):
        assert client.get(path).status_code == 404, path


@pytest.mark.django_db
def test_a_client_may_not_read_the_audit_log(client, acme, make_member):
    make_member("carol", acme, Role.CLIENT)
    client.login(username="carol", password=PASSWORD)
    assert client.get(log_url()).status_code == 403


@pytest.mark.django_db
def test_someone_logged_out_is_sent_to_log_in(client, acme):
    response = client.get(log_url())
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("actor=alice", ["plan_version.submitted", "ticket.approved"]),
        ("actor=sweep", ["ticket.opened"]),
        ("action=ticket.opened", ["ticket.opened"]),
        ("resource_type=planversion", ["plan_version.submitted"]),
        ("resource_type=ticket&resource_id=T-1", ["ticket.approved", "ticket.opened"]),
        ("date_from=2026-03-02&date_to=2026-03-02", ["ticket.approved"]),
        ("date_to=2026-03-01", ["ticket.opened"]),
        ("date_from=2026-03-03&date_to=2026-03-31", ["plan_version.submitted"]),
    ],
    ids=[
        "actor-by-name",
        "actor-service",
        "action",
        "resource-type",
        "resource-type-and-id",
        "one-day-in-berlin",
        "until-a-day",
        "from-a-day",
    ],
)
@pytest.mark.django_db
def test_filters_narrow_the_log(as_alice, varied_log, query, expected):
    assert table_actions(as_alice.get(f"{log_url()}?{query}")) == expected


@pytest.mark.django_db
def test_a_bad_filter_value_says_so_and_still_answers(as_alice, varied_log):
    response = as_alice.get(f"{log_url()}?date_from=yesterday&action=nope")
    assert response.status_code == 200
    html = response.content.decode()
    assert "From: Enter a valid date." in html
    assert "Action: Select a valid choice." in html


@pytest.mark.django_db
def test_another_tenants_actions_are_not_offered_as_filter_choices(as_alice, globex, acme):
    audit_event_append(
        tenant=globex, actor=Actor.system(), action="globex.only", resource=("x", "1")
    )
    assert "globex.only" not in as_alice.get(log_url()).content.decode()


@pytest.fixture
def long_log(acme):
    for i in range(60):
        audit_event_append(
            tenant=acme, actor=Actor.system(), action="bulk.noted", resource=("x", i)
        )
    return AuditEvent.objects.filter(tenant=acme).count()


@pytest.mark.django_db
def test_paging_works_with_plain_links_and_keeps_the_filters(as_alice, long_log):
    first = as_alice.get(f"{log_url()}?action=bulk.noted")
    html = first.content.decode()
    assert "60 events match these filters · page 1 of 2" in html
    assert 'href="?action=bulk.noted&amp;page=2"' in html
    assert 'hx-get="?action=bulk.noted&amp;page=2"' in html
    second = as_alice.get(f"{log_url()}?action=bulk.noted&page=2")
    assert len(table_actions(first)) == 50
    assert len(table_actions(second)) == 10


@pytest.mark.django_db
def test_an_htmx_request_gets_only_the_events_region(as_alice, long_log):
    response = as_alice.get(
        f"{log_url()}?page=2", headers={"HX-Request": "true", "HX-Target": "audit-events"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="audit-events"')
    assert "<html" not in html and "Show matching events" not in html
    assert len(table_actions(response)) == long_log - 50


@pytest.mark.django_db
def test_the_log_page_costs_a_fixed_number_of_queries(
    as_alice, long_log, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        assert as_alice.get(log_url()).status_code == 200


def streamed(response) -> str:
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode()


@pytest.mark.django_db
def test_csv_export_holds_the_filtered_events_in_chain_order(as_alice, varied_log):
    response = as_alice.get("/t/acme/audit/export.csv?resource_type=ticket")
    assert response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="audit-acme-' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(streamed(response))))
    assert [r["action"] for r in rows] == ["ticket.opened", "ticket.approved"]
    opened = varied_log["ticket.opened"]
    assert rows[0]["seq"] == str(opened.seq)
    assert rows[0]["created_at"] == "2026-03-01T22:30:00.000000+00:00"
    assert (rows[0]["actor_label"], rows[0]["hash"]) == ("sweep", opened.hash)


@pytest.mark.django_db
def test_csv_export_defuses_cells_a_spreadsheet_would_run(as_alice, acme):
    audit_event_append(
        tenant=acme, actor=Actor.service("=HYPERLINK(1)"), action="x.y", resource=("x", "1")
    )
    rows = list(csv.DictReader(io.StringIO(streamed(as_alice.get("/t/acme/audit/export.csv")))))
    assert rows[-1]["actor_label"] == "'=HYPERLINK(1)"


@pytest.mark.django_db
def test_json_lines_export_is_exact_enough_to_recompute_every_hash(as_alice, varied_log):
    lines = streamed(as_alice.get("/t/acme/audit/export.jsonl")).splitlines()
    events = [json.loads(line) for line in lines]
    assert (
        len(events) == AuditEvent.objects.filter(tenant=varied_log["ticket.opened"].tenant).count()
    )
    tenant_id = varied_log["ticket.opened"].tenant_id
    for event in events:
        body_fields = {
            k: event[k] for k in event if k not in ("seq", "created_at", "prev_hash", "hash")
        }
        body = link_body(tenant_id=tenant_id, **body_fields)
        assert event["hash"] == link_hash(
            prev_hash=event["prev_hash"],
            seq=event["seq"],
            created_at=event["created_at"],
            body=body,
        )


@pytest.mark.django_db
def test_the_trail_page_shows_only_that_resources_events(as_alice, varied_log):
    response = as_alice.get("/t/acme/audit/ticket/T-1/")
    html = response.content.decode()
    assert "<h1>Audit trail of ticket T-1 · Acme Retail</h1>" in html
    assert "ticket.approved" in html and "ticket.opened" in html
    assert "plan_version.submitted" not in html


@pytest.mark.django_db
def test_the_trail_tag_embeds_a_resources_trail_in_any_page(acme, varied_log):
    template = Template(
        '{% load audit_tags %}{% audit_trail tenant "planversion" 7 %}'
        "{% audit_trail tenant tenant_obj %}"
    )
    html = template.render(Context({"tenant": acme, "tenant_obj": acme}))
    assert "plan_version.submitted" in html and "ticket.opened" not in html
    assert 'href="/t/acme/audit/planversion/7/"' in html
    assert "tenant.created" in html  # the tenant instance names its own resource


@pytest.mark.django_db
def test_an_export_with_an_unreadable_filter_exports_nothing_and_says_why(as_alice, varied_log):
    response = as_alice.get("/t/acme/audit/export.jsonl?date_from=31.02.2026")
    assert response.status_code == 400
    assert "Nothing exported" in response.content.decode()
    assert "date_from: Enter a valid date." in response.content.decode()


@pytest.mark.parametrize(
    ("resource_type", "resource_id", "words", "url"),
    [
        ("planversion", "5", "Plan version 5", "/t/acme/plans/v/5/"),
        ("tenantpolicy", "1", "Tenant policy", "/t/acme/settings/policy/"),
        ("ticket", "A5-7KQ2M9XZ", "Ticket A5-7KQ2M9XZ", "/tickets/A5-7KQ2M9XZ/"),
        ("changeset", "cs-7f3a9c", "Change set cs-7f3a9c", "/t/acme/change-sets/cs-7f3a9c/"),
        ("agentrun", "run-93ab", "Agent run run-93ab", "/t/acme/runs/run-93ab/"),
        ("membership", "3", "Membership 3", ""),
        ("something", "x", "something x", ""),
    ],
)
def test_resources_read_in_words_and_link_their_object(resource_type, resource_id, words, url):
    from audit.resources import resource_name

    name = resource_name("acme", resource_type, resource_id)
    assert (name.words, name.url) == (words, url)


def test_the_actor_filter_matches_part_of_a_name(client, acme, alice, append_events):
    from audit.actors import Actor

    append_events(acme, 1, actor=Actor.for_user(alice))
    append_events(acme, 1, actor=Actor.service("optimizer"))
    client.force_login(alice)
    page = client.get(f"/t/{acme.slug}/audit/?actor=LIC").content.decode()
    assert "1 event match" in page


def test_an_inverted_date_range_says_so_and_matches_nothing(client, acme, alice, append_events):
    append_events(acme, 2)
    client.force_login(alice)
    page = client.get(f"/t/{acme.slug}/audit/?date_from=2026-12-01&date_to=2026-11-01").content
    text = page.decode()
    assert "The range is inverted: From (2026-12-01) is after To (2026-11-01)." in text
    assert "0 events" in text


def test_django_formats_times_with_their_zone():
    from datetime import UTC, datetime

    from django.utils import formats

    text = formats.date_format(datetime(2026, 12, 1, 15, 5, tzinfo=UTC), "DATETIME_FORMAT")
    assert text.endswith("UTC")
