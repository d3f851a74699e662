"""The bell, /notifications/, marking read, the settings page, follow and mute from a ticket
page, and the admins' webhook and Slack pages."""

from __future__ import annotations

from django.urls import reverse

from integrations.models import WebhookEndpoint
from notifications.models import Notification, Preference, Watch
from tests.notifications.conftest import told


def test_the_bell_counts_unread_and_the_list_marks_them_read(client, acme, team, make_ticket):
    make_ticket(acme, "A3", title="Search +25%")
    make_ticket(acme, "A8", run_id="run-3")
    told()
    client.force_login(team["paul"])

    header = client.get(reverse("dashboard")).content.decode()
    assert 'hx-get="/notifications/bell/"' in header and 'href="/notifications/"' in header
    bell = client.get(reverse("notifications:bell")).content.decode()
    assert 'data-count="2"' in bell and ">2<" in bell
    page = client.get(reverse("notifications:list")).content.decode()
    assert "2 unread" in page and "Search +25%" in page and "Red flag" in page

    client.post(reverse("notifications:read"))

    assert not Notification.objects.filter(user=team["paul"], read_at__isnull=True).exists()
    assert 'data-count="0"' in client.get(reverse("notifications:bell")).content.decode()


def test_nobody_reads_or_marks_someone_elses_notifications(client, acme, team, make_ticket):
    make_ticket(acme, "A3")
    told()
    theirs = Notification.objects.get(user=team["paul"])
    client.force_login(team["alice"])

    assert "Spend guardrail" not in client.get(reverse("notifications:list")).content.decode()
    client.post(reverse("notifications:read"), {"id": theirs.pk})
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_settings_page_saves_choices_and_refuses_red_flags_off(client, team):
    client.force_login(team["paul"])
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert "Always at once" in page and 'name="kind_red_flag"' not in page

    client.post(
        reverse("notifications:preferences"),
        {"kind_waiting": "digest", "time_zone": "America/New_York"},
    )
    refused = client.post(reverse("notifications:preferences"), {"kind_red_flag": "off"})

    assert Preference.objects.get(user=team["paul"]).delivery == "digest"
    assert (
        refused.status_code == 422
        and "Red flags are always sent at once" in refused.content.decode()
    )


CHRISTMAS = {"tenant": "acme", "away_from": "2026-12-21", "away_until": "2027-01-04"}


def test_away_days_and_a_stand_in_are_set_on_the_settings_page(client, acme, team):
    from tenants.models import Membership

    client.force_login(team["paul"])
    client.post(
        reverse("notifications:away"),
        {
            "tenant": "acme",
            "away_from": "2026-12-21",
            "away_until": "2027-01-04",
            "stand_in": "pia",
        },
    )

    membership = Membership.objects.get(user=team["paul"], tenant=acme)
    assert (str(membership.away_from), membership.stand_in) == ("2026-12-21", team["pia"])
    refused = client.post(
        reverse("notifications:away"),
        {
            "tenant": "acme",
            "away_from": "2026-12-21",
            "away_until": "2027-01-04",
            "stand_in": "alice",
        },
        follow=True,
    )
    assert "is not a operator of Acme Retail" in refused.content.decode()


def test_follow_and_mute_from_the_ticket_page(client, acme, team, make_ticket):
    ticket = make_ticket(acme, "A3", run_id="run-5")
    client.force_login(team["lena"])
    page = client.get(reverse("ticket", kwargs={"public_id": ticket.public_id})).content.decode()
    assert "Follow ticket" in page and "Mute run" in page

    client.post(
        reverse("notifications:watch"),
        {"tenant": "acme", "target_type": "run", "target_id": "run-5", "mode": "mute"},
    )

    assert Watch.objects.get(user=team["lena"]).mode == "mute"


def test_only_admins_see_the_webhook_and_slack_pages(client, acme, team):
    client.force_login(team["paul"])
    assert client.get(reverse("integrations:webhooks", args=["acme"])).status_code == 403
    assert client.get(reverse("integrations:slack", args=["acme"])).status_code == 403


def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(client, acme, team, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1:9"]
    client.force_login(team["olga"])

    done = client.post(
        reverse("integrations:webhooks", args=["acme"]),
        {"url": "http://127.0.0.1:9/hooks", "events": ["ticket.opened", "ticket.decided"]},
        follow=True,
    ).content.decode()
    endpoint = WebhookEndpoint.objects.get()
    again = client.get(reverse("integrations:webhook", args=["acme", endpoint.pk])).content.decode()

    assert endpoint.secret in done and "copy it now" in done
    assert endpoint.secret not in again
    refused = client.post(
        reverse("integrations:webhooks", args=["acme"]),
        {"url": "http://10.0.0.1/hooks", "events": ["ticket.opened"]},
    )
    assert refused.status_code == 422 and "a private address" in refused.content.decode()
    assert WebhookEndpoint.objects.count() == 1


def test_a_client_reads_theirs_in_the_portals_frame_with_a_link_to_the_portal(
    client, acme, team, make_ticket
):
    ticket = make_ticket(acme, "A4", client_visible=True, title="Grant Meta access")
    told()
    client.force_login(team["carol"])

    page = client.get(reverse("notifications:list")).content.decode()

    assert "client portal" in page and "Waiting for your approval: Grant Meta access" in page
    assert f'href="/portal/items/{ticket.public_id}/"' in page
    assert 'href="/t/acme/plans/"' not in page  # no staff navigation
