"""The users of bench/load.py (run by locust in a process of its own; nothing here imports Django).

Each user is one agent of its own track (bench/load.py made them and wrote them to LOAD_SPEC):
it opens runs and asks the gate before their steps, sends change sets that move its track's
entities 2 % up and back down (always within the guardrails), reads its track, reads the
dashboard as the tenant's planner, and approves its share of open A3s as the tenant's operator
(the ticket page's htmx post of the Approve button).
"""

from __future__ import annotations

import itertools
import json
import os
from collections import Counter
from decimal import Decimal

from locust import HttpUser, constant, events, task

SPEC = json.loads(open(os.environ["LOAD_SPEC"]).read())  # noqa: SIM115
AGENTS = itertools.count()
CENT = Decimal("0.01")
# Every success locust saw, by kind, including those that finished while the run was stopping
# (its printed table stops counting at the end of --run-time): written out when locust quits.
SUCCESSES: Counter = Counter()


@events.request.add_listener
def _count(name, exception=None, **_kwargs):
    if exception is None:
        SUCCESSES[name] += 1


@events.quitting.add_listener
def _write(**_kwargs):
    with open(os.environ["LOAD_SUCCESSES"], "w") as out:
        json.dump(SUCCESSES, out)


class Agent(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.me = SPEC["agents"][next(AGENTS) % len(SPEC["agents"])]
        self.auth = {"Authorization": f"Bearer {self.me['key']}"}
        self.live = {e: Decimal(b) for e, b in self.me["entities"].items()}
        self.start = dict(self.live)
        self.sent = 0
        self.runs = 0
        self.tickets = list(self.me["tickets"])

    @task(3)
    def run_and_gate(self):
        self.runs += 1
        run_id = f"run-{self.me['number']}-{self.runs}"
        body = {
            "run_id": run_id,
            "main_task_id": "weekly-report",
            "agent": "load-agent",
            "model": "gpt-5-mini",
            "estimated_cost_usd": "1.00",
        }
        with self.client.post(
            "/api/v1/runs", json=body, headers=self.auth, name="run", catch_response=True
        ) as answer:
            if answer.status_code != 201:
                answer.failure(f"{answer.status_code}")
                return
        for _ in range(3):
            self.client.post(
                f"/api/v1/runs/{run_id}/gate", json={"kind": "step"}, headers=self.auth, name="gate"
            )

    @task(2)
    def change_set(self):
        channel = self.me["channels"][self.sent % len(self.me["channels"])]
        up = (self.sent // len(self.me["channels"])) % 2 == 0
        items = []
        for entity in self.me["by_channel"][channel]:
            move = (self.start[entity] * Decimal("0.02")).quantize(CENT)
            after = self.live[entity] + (move if up else -move)
            items.append(
                {
                    "entity_id": entity,
                    "field": "daily_budget",
                    "before": str(self.live[entity]),
                    "after": str(after),
                }
            )
        self.sent += 1
        body = {
            "change_set_id": f"cs-{self.me['number']}-{self.sent:06d}",
            "track": self.me["track"],
            "agent": "load-agent",
            "reason": "Shift budget towards the better CPA.",
            "items": items,
        }
        with self.client.post(
            "/api/v1/change-sets",
            json=body,
            headers=self.auth,
            name="change set",
            catch_response=True,
        ) as answer:
            if answer.status_code == 201 and answer.json().get("status") == "applied":
                for item in items:
                    self.live[item["entity_id"]] = Decimal(item["after"])
            else:
                answer.failure(f"{answer.status_code} {answer.text[:200]}")

    @task(2)
    def track_read(self):
        self.client.get(
            f"/api/v1/tracks/{self.me['track']}/current", headers=self.auth, name="track read"
        )

    @task(2)
    def dashboard(self):
        with self.client.get(
            "/",
            cookies={"sessionid": SPEC["session"]},
            name="dashboard",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            if answer.status_code != 200:  # a redirect to the login page is no dashboard
                answer.failure(f"{answer.status_code}")

    @task(1)
    def decision(self):
        if not self.tickets:
            return  # its share is decided: nothing more to approve
        public_id = self.tickets.pop(0)
        with self.client.post(
            f"/tickets/{public_id}/decide/",
            data={"verdict": "approve", "comment": ""},
            cookies={"sessionid": SPEC["operator_session"], "csrftoken": SPEC["csrf"]},
            headers={"X-CSRFToken": SPEC["csrf"], "HX-Request": "true"},
            name="decision",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            if answer.status_code != 200 or "approved" not in answer.text.lower():
                answer.failure(f"{answer.status_code} {answer.text[:200]}")
