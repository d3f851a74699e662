"""Deciding from Slack (issue 19.5): a refused request decides nothing — a bad signature, an old
timestamp, a replay, an unlinked user, a stale hash — and 20 clicks at once decide once."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest
from django.test import Client
from slack_sdk.signature import SignatureVerifier

from approvals.fingerprint import ticket_shown_hash
from approvals.models import Ticket, TicketDecision, TicketStatus
from audit.actors import Actor
from audit.models import AuditEvent
from integrations.models import SlackMessage, SlackUserLink
from integrations.services import slack_installation_set, slack_user_link
from integrations.slack import link_url, slack_post, slack_refresh
from tenants.models import Role
from tests.conftest import TEST_ACTOR

SECRET = "slack-signing-secret-for-tests"
URL = "/integrations/slack/interactions/"


@pytest.fixture
def fake_slack(settings):
    """Slack's Web API, answering ok and recording each call."""
    calls = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            calls.append((self.path.rsplit("/", 1)[-1], body.decode()))
            answer = json.dumps({"ok": True, "ts": "1700000000.000100"}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.SLACK_API_URL = f"http://127.0.0.1:{server.server_address[1]}/api/"
    settings.SLACK_SIGNING_SECRET = SECRET
    yield calls
    server.shutdown()
    server.server_close()


@pytest.fixture
def slack(acme, make_member, fake_slack):
    """acme's workspace T1 posts to C1; paul (operator) linked his Slack user U-PAUL."""
    slack_installation_set(
        tenant=acme, actor=TEST_ACTOR, team_id="T1", channel_id="C1", bot_token="xoxb-test"
    )
    paul = make_member("paul", acme, Role.OPERATOR)
    slack_user_link(user=paul, actor=Actor.for_user(paul), team_id="T1", slack_user_id="U-PAUL")
    return {"paul": paul, "calls": fake_slack}


@pytest.fixture
def a3(acme, slack):
    from tests.approvals.factories import open_ticket

    return open_ticket(acme, "A3", title="Search +25%")


def _click(ticket, *, action="approve", user="U-PAUL", team="T1", shown=None, trigger="tr-1"):
    shown = ticket_shown_hash(ticket) if shown is None else shown
    return {
        "type": "block_actions",
        "team": {"id": team},
        "user": {"id": user},
        "trigger_id": trigger,
        "response_url": "https://hooks.slack.com/actions/T1/1/abc",
        "actions": [
            {
                "action_id": action,
                "value": f"{ticket.public_id}|{shown}",
            }
        ],
    }


def _post(client, payload, *, timestamp=None, secret=SECRET, signature=None, body=None):
    body = body if body is not None else urlencode({"payload": json.dumps(payload)})
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    if signature is None:
        signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    response = client.post(
        URL,
        data=body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=timestamp,
        HTTP_X_SLACK_SIGNATURE=signature,
    )
    return response, body, timestamp, signature


def _nothing_decided(ticket):
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert not TicketDecision.objects.filter(ticket=ticket).exists()
    assert not AuditEvent.objects.filter(action="ticket.decided").exists()


def test_a_linked_operator_approves_from_slack_through_the_same_service(client, a3, slack):
    started = time.monotonic()
    response, *_ = _post(client, _click(a3))

    assert time.monotonic() - started < 3.0  # acknowledged within Slack's three seconds
    assert response.status_code == 200 and response.json()["decided"] == a3.public_id
    a3.refresh_from_db()
    assert a3.status == TicketStatus.APPROVED
    decision = TicketDecision.objects.get(ticket=a3)
    assert (decision.user, decision.role) == (slack["paul"], "operator")
    assert AuditEvent.objects.get(action="ticket.decided").actor_label == "paul"


def test_a_bad_signature_is_refused_and_decides_nothing(client, a3):
    response, *_ = _post(client, _click(a3), secret="someone-elses-secret")

    assert response.status_code == 401 and response.json()["error"] == "bad_signature"
    _nothing_decided(a3)


def test_a_request_older_than_five_minutes_is_refused(client, a3):
    response, *_ = _post(client, _click(a3), timestamp=int(time.time()) - 6 * 60)

    assert response.status_code == 401 and response.json()["error"] == "stale_request"
    _nothing_decided(a3)


def test_a_replayed_request_is_refused(client, a3, slack):
    refused = _click(a3, shown="0000000000000000")  # first pass: refused as stale, nothing decided
    first, body, timestamp, signature = _post(client, refused)
    again, *_ = _post(client, None, body=body, timestamp=timestamp, signature=signature)

    assert first.status_code == 200 and first.json()["ok"] is False
    assert again.status_code == 409 and again.json()["error"] == "replayed"
    _nothing_decided(a3)


def test_an_unlinked_slack_user_gets_an_explanation_with_a_link_and_decides_nothing(client, a3):
    response, *_ = _post(client, _click(a3, user="U-STRANGER"))

    why = response.json()["why"]
    assert "not linked to a Human Touch login" in why
    assert "/integrations/slack/link/" in why
    _nothing_decided(a3)


def test_a_click_from_another_workspace_decides_nothing(client, a3):
    response, *_ = _post(client, _click(a3, team="T-OTHER"))

    assert "not connected to that ticket's tenant" in response.json()["why"]
    _nothing_decided(a3)


def test_a_stale_hash_is_refused_with_the_reason(client, a3):
    response, *_ = _post(client, _click(a3, shown="0123456789abcdef"))

    assert "changed since you saw it" in response.json()["why"]
    _nothing_decided(a3)


def test_a_linked_user_without_the_role_decides_nothing(client, acme, a3, make_member):
    alice = make_member("alice", acme, Role.PLANNER)
    slack_user_link(user=alice, actor=Actor.for_user(alice), team_id="T1", slack_user_id="U-ALICE")

    response, *_ = _post(client, _click(a3, user="U-ALICE"))

    assert "needs operator" in response.json()["why"]
    _nothing_decided(a3)


def test_reject_asks_for_a_reason_in_a_modal_then_rejects_with_it(client, a3, slack):
    response, *_ = _post(client, _click(a3, action="reject"))

    assert response.json() == {"ok": True, "asked": "reason"}
    method, body = slack["calls"][-1]
    assert method == "views.open"
    view = json.loads(body)["view"]
    view = json.loads(view) if isinstance(view, str) else view
    _nothing_decided(a3)

    submission = {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": "U-PAUL"},
        "view": {
            "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"],
            "state": {"values": {"reason": {"reason": {"value": "Too much before the sale."}}}},
        },
    }
    empty = json.loads(json.dumps(submission))
    empty["view"]["state"]["values"]["reason"]["reason"]["value"] = " "
    asked, *_ = _post(client, empty)
    assert asked.json()["errors"] == {"reason": "Say why you reject it."}

    done, *_ = _post(client, submission)

    assert done.status_code == 200
    a3.refresh_from_db()
    assert a3.status == TicketStatus.REJECTED
    assert TicketDecision.objects.get(ticket=a3).comment == "Too much before the sale."


def test_a_waiting_ticket_is_posted_with_buttons_and_updated_once_decided(a3, slack):
    assert slack_post(a3.pk) is True
    method, body = slack["calls"][-1]
    assert method == "chat.postMessage" and "approve" in body and ticket_shown_hash(a3) in body
    message = SlackMessage.objects.get(ticket=a3)
    assert message.ts == "1700000000.000100"
    assert slack_post(a3.pk) is False  # once

    from approvals.services import ticket_decide

    ticket_decide(ticket=a3, actor=Actor.for_user(slack["paul"]), verdict="approve")
    assert slack_refresh(a3.pk) is True
    method, body = slack["calls"][-1]
    assert method == "chat.update"
    assert '"action_id": "approve"' not in body and "Approved by paul" in body


def test_a_person_links_their_slack_user_themselves_once(client, acme, make_member, slack):
    alice = make_member("alice", acme, Role.PLANNER)
    link = link_url("T1", "U-ALICE").split("http://127.0.0.1:8000", 1)[1]
    client.force_login(alice)

    page = client.get(link).content.decode()
    assert "Link Slack user U-ALICE to alice" in page
    client.post(link)

    assert SlackUserLink.objects.get(slack_user_id="U-ALICE").user == alice
    assert AuditEvent.objects.filter(action="slack_user.linked", actor_label="alice").exists()
    assert client.get(link.replace(link.split("/")[-2], "forged-token")).status_code == 400


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_clicks_on_one_message_decide_once(acme, make_member, fake_slack):
    from tests.approvals.factories import open_ticket

    slack_installation_set(
        tenant=acme, actor=TEST_ACTOR, team_id="T1", channel_id="C1", bot_token="xoxb-test"
    )
    for n in range(20):
        person = make_member(f"op{n}", acme, Role.OPERATOR)
        slack_user_link(user=person, actor=TEST_ACTOR, team_id="T1", slack_user_id=f"U{n}")
    ticket = open_ticket(acme, "A3")
    start = threading.Barrier(20)
    answers = []

    def click(n):
        client = Client()
        start.wait()
        response, *_ = _post(client, _click(ticket, user=f"U{n}", trigger=f"tr-{n}"))
        answers.append(response.status_code)

    threads = [threading.Thread(target=click, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    from django.db import connection

    connection.close()
    assert answers == [200] * 20
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.APPROVED
    assert TicketDecision.objects.filter(ticket=ticket).count() == 1
    decided = AuditEvent.objects.filter(action="ticket.decided", resource_id=ticket.public_id)
    assert decided.count() == 1
