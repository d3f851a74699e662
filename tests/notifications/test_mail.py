"""E-mail of notifications: a burst is one e-mail per person, preferences, digests at 09:00 in
each person's time zone on business days, skipping what resolved meanwhile (issue 19.1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from approvals.services import ticket_decide
from approvals.types import Verdict
from audit.actors import Actor
from audit.models import AuditEvent
from config.errors import DomainError
from notifications.mail import digests_send_due, mail_send_due
from notifications.models import Notification, Preference
from notifications.services import preferences_set
from tests.notifications.conftest import told

TUESDAY_0700_UTC = datetime(2026, 11, 10, 7, 0, tzinfo=UTC)  # 08:00 in Berlin, 02:00 in New York


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(TUESDAY_0700_UTC, tick=False)
    return time_machine


def _mails_to(mailoutbox, address: str):
    return [m for m in mailoutbox if address in m.to]


def test_a_burst_of_200_tickets_is_one_email_per_person(
    acme, team, make_ticket, frozen, mailoutbox
):
    for n in range(200):
        make_ticket(acme, "A3", title=f"Spend guardrail breach {n}")
    told()

    assert mail_send_due() == 0  # still arriving: the burst is waited out
    frozen.shift(timedelta(seconds=61))
    assert mail_send_due() == 2

    assert [m.to for m in mailoutbox] == [["paul@acme.test"], ["pia@acme.test"]]
    assert mailoutbox[0].subject == "[Human Touch] 200 things for you"
    assert "… and 150 more" in mailoutbox[0].body
    assert "http://127.0.0.1:8000/tickets/" in mailoutbox[0].body
    assert mail_send_due() == 0  # sent once
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()


def test_a_steady_stream_still_goes_out_after_the_longest_wait(
    acme, team, make_ticket, frozen, mailoutbox
):
    for _minute in range(6):
        make_ticket(acme, "A3")
        told()
        frozen.shift(timedelta(seconds=50))
        mail_send_due()

    assert len(_mails_to(mailoutbox, "paul@acme.test")) == 1  # after 5 minutes, not never


def test_one_ticket_mail_names_it_with_its_summary_sla_and_link(
    acme, team, make_ticket, frozen, mailoutbox
):
    ticket = make_ticket(acme, "A3", summary="Search moves 25% of its daily budget.")
    told()
    frozen.shift(timedelta(minutes=2))
    mail_send_due()

    mail = _mails_to(mailoutbox, "paul@acme.test")[0]
    assert mail.subject.startswith(f"[Human Touch] {ticket.public_id} waits for you (operator)")
    assert "Search moves 25% of its daily budget." in mail.body
    assert "SLA: due" in mail.body
    assert f"http://127.0.0.1:8000/tickets/{ticket.public_id}/" in mail.body


def test_a_mail_held_back_skips_a_ticket_resolved_meanwhile(
    acme, team, make_ticket, frozen, mailoutbox
):
    ticket = make_ticket(acme, "A3")
    told()
    ticket_decide(ticket=ticket, actor=Actor.for_user(team["pia"]), verdict=Verdict.APPROVE)
    frozen.shift(timedelta(minutes=2))

    mail_send_due()

    assert _mails_to(mailoutbox, "paul@acme.test") == []
    assert Notification.objects.get(user=team["paul"]).mail_skipped == "resolved"


def test_off_tells_nothing_and_digest_waits_for_the_digest(
    acme, team, make_ticket, frozen, mailoutbox
):
    preferences_set(
        user=team["paul"], actor=Actor.for_user(team["paul"]), choices={"waiting": "off"}
    )
    preferences_set(
        user=team["pia"], actor=Actor.for_user(team["pia"]), choices={"waiting": "digest"}
    )
    make_ticket(acme, "A3")

    assert told() == {"pia": "waiting"}
    frozen.shift(timedelta(minutes=2))
    assert mail_send_due() == 0
    assert mailoutbox == []


def test_red_flags_can_not_be_turned_off_or_digested(acme, team):
    for delivery in ("off", "digest"):
        with pytest.raises(DomainError, match="Red flags are always sent at once"):
            preferences_set(
                user=team["paul"],
                actor=Actor.for_user(team["paul"]),
                choices={"red_flag": delivery, "waiting": "off"},
            )
    assert not Preference.objects.exists()  # the whole request was refused


def test_a_preference_change_is_audited_in_each_tenant_of_the_person(acme, team):
    preferences_set(
        user=team["paul"], actor=Actor.for_user(team["paul"]), choices={"sla": "digest"}
    )

    event = AuditEvent.objects.get(action="notification_preferences.set")
    assert event.actor_label == "paul"
    assert event.data == {"changes": {"sla": {"from": "immediate", "to": "digest"}}}


def test_red_flags_go_at_once_even_to_someone_who_digests_everything(
    acme, team, make_ticket, frozen, mailoutbox
):
    preferences_set(
        user=team["paul"],
        actor=Actor.for_user(team["paul"]),
        choices=dict.fromkeys(("waiting", "sla", "qc_alert"), "digest"),
    )
    make_ticket(acme, "A8", run_id="run-1")
    told()
    frozen.shift(timedelta(minutes=2))
    mail_send_due()

    assert _mails_to(mailoutbox, "paul@acme.test")[0].subject.startswith("[Human Touch] Red flag")


@pytest.fixture
def digesters(acme, team):
    """paul digests in Berlin (acme's zone), pia in New York (her own)."""
    for name, zone in [("paul", ""), ("pia", "America/New_York")]:
        preferences_set(
            user=team[name],
            actor=Actor.for_user(team[name]),
            choices={"waiting": "digest"},
            time_zone=zone,
        )
    return team


def test_digests_go_at_nine_in_each_persons_time_zone_once_a_day(
    acme, digesters, make_ticket, frozen, mailoutbox
):
    for _ in range(3):
        make_ticket(acme, "A3")
    told()

    assert digests_send_due() == 0  # 08:00 in Berlin
    frozen.move_to(datetime(2026, 11, 10, 8, 5, tzinfo=UTC), tick=False)  # 09:05 Berlin
    assert digests_send_due() == 1
    assert digests_send_due() == 0  # once a day
    frozen.move_to(datetime(2026, 11, 10, 14, 0, tzinfo=UTC), tick=False)  # 09:00 New York
    assert digests_send_due() == 1

    assert [m.to for m in mailoutbox] == [["paul@acme.test"], ["pia@acme.test"]]
    assert "Your digest for Tue 10 Nov: 3 item(s)" in mailoutbox[0].subject


def test_the_digest_skips_tickets_resolved_meanwhile(
    acme, digesters, make_ticket, frozen, mailoutbox
):
    kept = make_ticket(acme, "A3", title="Still waiting")
    gone = make_ticket(acme, "A3", title="Decided meanwhile")
    told()
    ticket_decide(
        ticket=gone, actor=Actor.for_user(digesters["pia"]), verdict=Verdict.REJECT, comment="No."
    )
    frozen.move_to(datetime(2026, 11, 10, 8, 5, tzinfo=UTC), tick=False)

    digests_send_due()

    body = _mails_to(mailoutbox, "paul@acme.test")[0].body
    assert kept.public_id in body and gone.public_id not in body


def test_no_digest_on_a_weekend_or_a_public_holiday(
    acme, digesters, make_ticket, frozen, mailoutbox
):
    make_ticket(acme, "A3")
    told()
    frozen.move_to(datetime(2026, 11, 14, 10, 0, tzinfo=UTC), tick=False)  # Saturday
    assert digests_send_due() == 0
    frozen.move_to(datetime(2026, 12, 25, 10, 0, tzinfo=UTC), tick=False)  # Christmas (DE)
    assert digests_send_due() == 0
    frozen.move_to(datetime(2026, 11, 16, 8, 30, tzinfo=UTC), tick=False)  # Monday 09:30
    assert digests_send_due() == 1


def test_a_burst_of_300_tickets_is_one_digest_per_person(
    acme, digesters, make_ticket, frozen, mailoutbox
):
    for _ in range(300):
        make_ticket(acme, "A3")
    told()
    frozen.move_to(datetime(2026, 11, 10, 14, 0, tzinfo=UTC), tick=False)

    assert digests_send_due() == 2
    assert len(_mails_to(mailoutbox, "paul@acme.test")) == 1
    assert len(_mails_to(mailoutbox, "pia@acme.test")) == 1
