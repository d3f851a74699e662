"""The authorization matrix (issue 20 item 4): every URL pattern of the product — dashboard,
portal, Django admin and agent API — asked by every role of the tenant whose objects the URL names
("own"), by every role of another tenant ("other"), by a platform superuser and by nobody, and the
set of those it serves compared with the set written here.

A URL pattern without an entry in MATRIX (or a Django admin model without one in ADMIN_MODELS)
fails the test: whoever adds a URL writes down who may use it.

"Served" is any answer that is not a refusal; a refusal is a 401, 403 or 404, or a redirect to a
login page. A 5xx fails at once. Every request runs in a savepoint that is rolled back, so a POST
one person is allowed to make does not change what the next one meets. A page served to a member of
another tenant (a tenant-free URL such as the dashboard, which shows that person's own tenant) must
not name acme's marked tickets, and a page served to acme's client must not name acme's internal
ticket.
"""

from __future__ import annotations

import copy
import datetime
import os
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from agents.models import AgentRun
from agents.services import agent_key_create
from audit.checkpoints import audit_checkpoint_all
from audit.models import AuditEvent
from integrations.services import webhook_endpoint_create
from optimization.models import ChangeSet, Recommendation, SeasonalChange
from plans.services import plan_version_import_approved
from tenants.models import Membership, Role, Tenant
from tenants.services import login_lockout_record, membership_set, user_ensure
from tests.approvals.factories import open_ticket
from tests.conftest import PASSWORD, TEST_ACTOR, bearer
from tests.plans.plan_samples import winter_plan

pytestmark = pytest.mark.django_db

INTERNAL_MARK = "AUTHZ-INTERNAL-7f3a"
CLIENT_MARK = "AUTHZ-CLIENT-9b2c"

# Who asks. Own-tenant roles are P O A L C; the same roles in another tenant are xP xO xA xL xC;
# "root" is a platform superuser with no membership, "anon" nobody.
ROLE_CODES = {
    "P": Role.PLANNER,
    "O": Role.OPERATOR,
    "A": Role.ADMIN,
    "L": Role.LEGAL,
    "C": Role.CLIENT,
}
OWN = tuple(ROLE_CODES)
OTHER = tuple(f"x{code}" for code in ROLE_CODES)
EVERYONE = ("anon", "root", *OWN, *OTHER)

INTERNAL = ("P", "O", "A", "L")
X_INTERNAL = ("xP", "xO", "xA", "xL")
MEMBERS = (*OWN, *OTHER)
SIGNED_IN = (*MEMBERS, "root")
BOTH = ("own", "other")  # agent keys of acme and of globex
PLANNERS = ("P",)
NOBODY: tuple[str, ...] = ()


def who(*groups) -> frozenset[str]:
    out: set[str] = set()
    for group in groups:
        out.update((group,) if isinstance(group, str) else group)
    return frozenset(out)


@dataclass(frozen=True)
class Rule:
    """Who is served `method` on the pattern, with which URL arguments (names of World fields or
    literals) and POST data."""

    allowed: frozenset[str]
    method: str = "get"
    kwargs: dict = field(default_factory=dict)
    data: dict | None = None
    api: bool = False


def R(allowed, method="get", data=None, **kwargs) -> Rule:  # noqa: N802 (a table's shorthand)
    return Rule(allowed=who(allowed), method=method, kwargs=kwargs, data=data)


def API(allowed, method="get", data=None, **kwargs) -> Rule:  # noqa: N802
    return Rule(allowed=who(allowed), method=method, kwargs=kwargs, data=data, api=True)


T = {"tenant_slug": "tenant"}  # the tenant of a /t/<slug>/ URL is acme
TRACK = {**T, "track": "track"}
VERSION = {**T, "number": "version"}
# Dashboard pages of a tenant: its internal people; the client has the portal.
INTERNAL_PAGE = who(INTERNAL)

# Every URL pattern of the product (the Django admin is in ADMIN_MODELS below): its route as the
# resolver spells it → the rules it must satisfy. Several rules for one pattern check several
# methods or objects.
MATRIX: dict[str, list[Rule]] = {
    # --- Accounts --------------------------------------------------------------------------------
    "accounts/login/": [R(EVERYONE)],
    # A logout ends on the login page, for everyone (so it reads as refused here).
    "accounts/logout/": [R(NOBODY, "post")],
    # --- Portal (clients) ------------------------------------------------------------------------
    "portal/": [R(("C", "xC"))],
    "portal/history/": [R(("C", "xC"))],
    "portal/items/<segment:public_id>/": [
        R("C", public_id="client_ticket"),
        R(NOBODY, public_id="internal_ticket"),
    ],
    "portal/items/<segment:public_id>/decide/": [
        R("C", "post", {"verdict": ""}, public_id="client_ticket"),
        R(NOBODY, "post", {"verdict": ""}, public_id="internal_ticket"),
    ],
    "portal/proofs/": [R(("C", "xC"))],
    "portal/proofs/verify_checkpoint.py": [R(("C", "xC"))],
    "portal/proofs/<slug:tenant>/checkpoint": [R("C", tenant="tenant")],
    # The first event (the tenant's creation) is nobody's decision: no proof for it, to anyone.
    "portal/proofs/<slug:tenant>/<int:seq>.json": [R(NOBODY, tenant="tenant", seq="proof_seq")],
    "portal/reports/": [R(("C", "xC"))],
    "portal/reports/<slug:tenant>/<segment:track>/": [R("C", tenant="tenant", track="track")],
    # --- Dashboard, tenant-free (each person's own tenants) --------------------------------------
    # A client is sent on to the portal, a platform superuser to every tenant's board (metrics/).
    "": [R((*INTERNAL, *X_INTERNAL, "C", "xC", "root"))],
    "switch-tenant/": [R(OWN, "post", {"tenant": "acme"})],  # only to a tenant of one's own
    "tickets/<segment:public_id>/": [
        R(INTERNAL, public_id="internal_ticket"),
        R((*INTERNAL, "C"), public_id="client_ticket"),  # the client is sent to the portal
    ],
    "tickets/<segment:public_id>/decide/": [
        R(INTERNAL, "post", {"verdict": ""}, public_id="internal_ticket"),
    ],
    "tickets/<segment:public_id>/comments/": [
        R(INTERNAL, "post", {"body": ""}, public_id="internal_ticket"),
    ],
    "tickets/<segment:public_id>/assign/": [
        R(INTERNAL, "post", {}, public_id="internal_ticket"),
    ],
    # The dashboard's people only: a client or a platform superuser (no internal membership) is
    # refused before any validation. With nothing ticked both answer "nothing chosen"; each
    # ticket ticked is checked as on its own page (tests/approvals/test_bulk.py).
    "bulk/": [
        R((*INTERNAL, *X_INTERNAL), "post", {}),
        R((*INTERNAL, *X_INTERNAL), "post", {"verdict": "approve"}),
    ],
    "bulk/decide/": [
        R((*INTERNAL, *X_INTERNAL), "post", {}),
        R((*INTERNAL, *X_INTERNAL), "post", {"verdict": "approve", "comment": "ok"}),
    ],
    # One's own notifications, preferences and absence: anyone logged in.
    "notifications/": [R(SIGNED_IN)],
    "notifications/bell/": [R(SIGNED_IN)],
    "notifications/read/": [R(SIGNED_IN, "post", {})],
    "notifications/preferences/": [R(SIGNED_IN)],
    "notifications/away/": [R(SIGNED_IN, "post", {})],
    # Following a ticket names one; with none it is a 404 to everyone.
    "notifications/watch/": [R(NOBODY, "post", {})],
    # The board across one's tenants: internal people (of any tenant) only.
    # Across the person's tenants; a platform superuser reads every tenant's.
    "metrics/": [R((*INTERNAL, *X_INTERNAL, "root"))],
    "metrics/<slug:key>.csv": [R((*INTERNAL, *X_INTERNAL, "root"), key="metric_key")],
    "exports/inbox.csv": [R((*INTERNAL, *X_INTERNAL))],
    # --- Slack: signed requests and one-time link tokens, not sessions ---------------------------
    # A link token that is no one's: the page says so to anyone logged in.
    "integrations/slack/link/<str:token>/": [R(SIGNED_IN, token="no-such-token")],
    "integrations/slack/interactions/": [R(NOBODY, "post", {})],
    # --- Tenant settings (admins) ----------------------------------------------------------------
    "t/<slug:tenant_slug>/settings/policy/": [R("A", **T)],
    "t/<slug:tenant_slug>/settings/lockouts/": [R("A", **T)],
    "t/<slug:tenant_slug>/settings/lockouts/<int:lockout_id>/lift/": [
        R("A", "post", {}, lockout_id="lockout", **T)
    ],
    "t/<slug:tenant_slug>/settings/webhooks/": [R("A", **T)],
    "t/<slug:tenant_slug>/settings/webhooks/<int:endpoint_id>/": [
        R("A", endpoint_id="endpoint", **T)
    ],
    "t/<slug:tenant_slug>/settings/webhooks/<int:endpoint_id>/do/": [
        R("A", "post", {}, endpoint_id="endpoint", **T)
    ],
    "t/<slug:tenant_slug>/settings/slack/": [R("A", **T)],
    # --- Audit log -------------------------------------------------------------------------------
    "t/<slug:tenant_slug>/audit/": [R(INTERNAL, **T)],
    "t/<slug:tenant_slug>/audit/export.csv": [R(INTERNAL, **T)],
    "t/<slug:tenant_slug>/audit/export.jsonl": [R(INTERNAL, **T)],
    # Checkpoints: the tenant's admins here, its clients in the portal.
    "t/<slug:tenant_slug>/audit/checkpoints/": [R("A", **T)],
    "t/<slug:tenant_slug>/audit/checkpoints/verify_checkpoint.py": [R("A", **T)],
    "t/<slug:tenant_slug>/audit/checkpoints/<int:size>.checkpoint": [
        R("A", size="checkpoint_size", **T)
    ],
    "t/<slug:tenant_slug>/audit/<segment:resource_type>/<subpath:resource_id>/": [
        R(INTERNAL, resource_type="ticket", resource_id="internal_ticket", **T)
    ],
    # --- Plans -----------------------------------------------------------------------------------
    "t/<slug:tenant_slug>/plans/": [R(INTERNAL, **T)],
    "t/<slug:tenant_slug>/plans/tracks/start/": [R(PLANNERS, **T)],
    "t/<slug:tenant_slug>/plans/tracks/<segment:track>/": [R(INTERNAL, **TRACK)],
    "t/<slug:tenant_slug>/plans/tracks/<segment:track>/new/": [R(PLANNERS, **TRACK)],
    "t/<slug:tenant_slug>/plans/tracks/<segment:track>/verdict/": [
        R(PLANNERS, "post", {}, **TRACK)
    ],
    "t/<slug:tenant_slug>/plans/v/<int:number>/": [R(INTERNAL, **VERSION)],
    "t/<slug:tenant_slug>/plans/v/<int:number>/edit/": [R(PLANNERS, **VERSION)],
    "t/<slug:tenant_slug>/plans/v/<int:number>/submit/": [R(PLANNERS, "post", {}, **VERSION)],
    "t/<slug:tenant_slug>/plans/v/<int:number>/withdraw/": [R(PLANNERS, "post", {}, **VERSION)],
    "t/<slug:tenant_slug>/plans/v/<int:number>/discard/": [R(PLANNERS, "post", {}, **VERSION)],
    "t/<slug:tenant_slug>/plans/v/<int:number>/envelope/": [R(PLANNERS, "post", {}, **VERSION)],
    "t/<slug:tenant_slug>/plans/compare/": [R(INTERNAL, **T)],
    "t/<slug:tenant_slug>/plans/v/<int:number>/carry-forward/": [
        R(PLANNERS, "post", {}, **VERSION)
    ],
    "t/<slug:tenant_slug>/onboarding/": [R(INTERNAL, **T)],
    "t/<slug:tenant_slug>/plans/tracks/<segment:track>/creative-themes/": [R(INTERNAL, **TRACK)],
    # --- Optimization ----------------------------------------------------------------------------
    "t/<slug:tenant_slug>/plans/tracks/<segment:track>/optimization/": [R(INTERNAL, **TRACK)],
    "t/<slug:tenant_slug>/plans/tracks/<segment:track>/optimization/export.csv": [
        R(INTERNAL, **TRACK)
    ],
    "t/<slug:tenant_slug>/plans/tracks/<segment:track>/manifest/": [R(INTERNAL, **TRACK)],
    "t/<slug:tenant_slug>/plans/tracks/<segment:track>/manifest/pause/": [
        R(("O", "A"), "post", {}, **TRACK)
    ],
    "t/<slug:tenant_slug>/plans/tracks/<segment:track>/manifest/resume/": [
        R(("O", "A"), "post", {}, **TRACK)
    ],
    "t/<slug:tenant_slug>/plans/tracks/<segment:track>/drift/": [R(INTERNAL, **TRACK)],
    "t/<slug:tenant_slug>/plans/tracks/<segment:track>/seasonality/": [R(INTERNAL, **TRACK)],
    "t/<slug:tenant_slug>/plans/tracks/<segment:track>/seasonality/<int:pk>/remove/": [
        R(PLANNERS, "post", {}, pk="seasonal", **TRACK)
    ],
    "t/<slug:tenant_slug>/change-sets/<subpath:change_set_id>/": [
        R(INTERNAL, change_set_id="change_set", **T)
    ],
    # --- Agent runs ------------------------------------------------------------------------------
    "t/<slug:tenant_slug>/runs/": [R(INTERNAL, **T)],
    "t/<slug:tenant_slug>/runs/export.csv": [R(INTERNAL, **T)],
    "t/<slug:tenant_slug>/runs/<subpath:run_id>/": [R(INTERNAL, run_id="run", **T)],
    # --- Metrics ---------------------------------------------------------------------------------
    "t/<slug:tenant_slug>/metrics/": [R(INTERNAL, **T)],
    "t/<slug:tenant_slug>/metrics/<slug:key>.csv": [R(INTERNAL, key="metric_key", **T)],
    "t/<slug:tenant_slug>/plans/tracks/<segment:track>/weekly/": [R(INTERNAL, **TRACK)],
    "t/<slug:tenant_slug>/plans/tracks/<segment:track>/weekly.csv": [R(INTERNAL, **TRACK)],
    # --- Agent API: "own" is acme's agent key, "other" globex's, "anon" no key ------------------
    # (roles do not apply: a key is its tenant's agent). Reading someone else's object is a 404.
    "api/v1/": [API(NOBODY)],  # a 404 naming the docs
    "api/v1/openapi.json": [API(("anon", "own", "other"))],
    "api/v1/docs": [API(("anon", "own", "other"))],
    "api/v1/^(?P<rest>.*)$": [API(NOBODY, rest="nothing-here")],
    "api/v1/<path:rest>": [API(NOBODY, rest="nothing/here")],
    "api/v1/whoami": [API(("own", "other"))],
    "api/v1/runs": [API(BOTH, "post", {})],
    "api/v1/runs/<run_id>": [API("own", run_id="run")],
    "api/v1/runs/<run_id>/gate": [API("own", "post", {"kind": "llm_call"}, run_id="run")],
    "api/v1/runs/<run_id>/spend": [
        API(
            "own", "post", {"input_tokens": 1, "output_tokens": 1, "cost_usd": "0.01"}, run_id="run"
        )
    ],
    "api/v1/runs/<run_id>/reservations/<reservation>/release": [
        # An unknown reservation is a 404 to its own tenant as well.
        API(NOBODY, "post", {}, run_id="run", reservation="r-1")
    ],
    "api/v1/runs/<run_id>/qc-results": [
        API("own", "post", {"subtask_id": "s1", "passed": True, "attempt": 1}, run_id="run")
    ],
    "api/v1/audit/events": [API(("own", "other"))],
    "api/v1/tickets": [API(BOTH, "post", {})],
    "api/v1/tickets/<public_id>": [API("own", public_id="internal_ticket")],
    "api/v1/tracks/<track>/current": [API("own", track="track")],
    # Track keys and plan numbers name objects within the key's own tenant: globex's key asking
    # for acme's event_authz asks about a track globex does not have, and is answered so (a 404 or
    # a refusal that says nothing of acme).
    "api/v1/tracks/<track>/drafts": [API(BOTH, "post", "draft_body", track="track")],
    "api/v1/plan-versions/<number>/submit": [API("own", "post", {}, number="version")],
    "api/v1/tracks/<track>/manifest": [API(BOTH, "put", {"entries": []}, track="track")],
    "api/v1/change-sets": [API(BOTH, "post", {})],
    "api/v1/change-sets/<change_set_id>": [API("own", change_set_id="change_set")],
    "api/v1/tracks/<track>/performance": [API(BOTH, "post", {"rows": []}, track="track")],
    "api/v1/recommendations": [API(BOTH, "post", {})],
    "api/v1/tracks/<track>/observations": [API(BOTH, "post", {}, track="track")],
    "api/v1/tracks/<track>/reconciliations": [API("own", track="track")],
    # What the live entities must still change to run the approved version (issue 16 item 5).
    "api/v1/tracks/<track>/alignment": [API("own", track="track")],
    # An empty body is refused (422) before the track is looked up, whoever asks.
    "api/v1/tracks/<track>/creative-themes": [API(BOTH, "post", {}, track="track")],
    "api/v1/platform-accounts": [API(BOTH, "post", {})],
    # An empty body is refused (422) before any account is looked up, whoever asks.
    "api/v1/platform-accounts/<account_id>/verified": [
        API(BOTH, "post", {}, account_id="no-such-account")
    ],
}

# The Django admin, model by model: acme's admin (staff) reaches acme's rows and never globex's;
# the platform superuser reaches every row; no other member (nor globex's admin on acme's rows)
# gets in. Models of the platform itself (users, groups, the task queue, login records) are the
# superuser's alone. (model label → whether acme's admin reaches it)
ADMIN_MODELS: dict[str, bool] = {
    "auth.Group": False,
    "auth.User": False,
    "django_q.Schedule": False,
    "django_q.Success": False,
    "django_q.Failure": False,
    "django_q.OrmQ": False,
    "axes.AccessAttempt": False,
    "axes.AccessLog": False,
    "axes.AccessFailureLog": False,
    "tenants.Tenant": True,
    "tenants.Membership": True,
    "tenants.TenantPolicy": True,
    "agents.AgentKey": True,
    "approvals.Ticket": True,
    "approvals.TicketDecision": True,
    "approvals.TicketComment": True,
    "plans.MasterPlan": True,
    "plans.Track": True,
    "plans.PlanVersion": True,
    "optimization.ExecutionManifestEntry": True,
    "optimization.ChangeSet": True,
    "optimization.Recommendation": True,
    "optimization.PerformanceRow": True,
    "optimization.SeasonalChange": True,
    "optimization.PlatformAccount": True,
    "optimization.Reconciliation": True,
}
# The admin site's own pages: who gets past its login.
ADMIN_SITE_PAGES = {"": who("A", "xA", "root")}


# --- Enumerating the URL patterns ---------------------------------------------------------------
def product_patterns() -> list[str]:
    """Every route outside the Django admin, as the resolver spells it."""
    routes: list[str] = []

    def walk(resolver, prefix: str) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                if prefix == "" and str(entry.pattern) == "admin/":
                    continue
                walk(entry, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                routes.append(prefix + str(entry.pattern))

    walk(get_resolver(), "")
    return routes


def test_every_url_pattern_and_admin_model_has_an_entry():
    routes = product_patterns()
    missing = sorted(set(routes) - set(MATRIX))
    stale = sorted(set(MATRIX) - set(routes))
    assert not missing, f"URL patterns without an entry in MATRIX: {missing}"
    assert not stale, f"MATRIX entries for URL patterns that no longer exist: {stale}"
    registered = {model._meta.label for model in admin.site._registry}
    assert registered == set(ADMIN_MODELS), (
        f"admin models without an entry: {sorted(registered - set(ADMIN_MODELS))}; "
        f"entries without a model: {sorted(set(ADMIN_MODELS) - registered)}"
    )


# --- The world ------------------------------------------------------------------------------------
@dataclass
class World:
    tenant: str
    track: str
    version: int
    internal_ticket: str
    client_ticket: str
    change_set: str
    run: str
    recommendation: int
    seasonal: int
    endpoint: int
    lockout: int
    checkpoint_size: int
    proof_seq: int
    metric_key: str
    users: dict
    keys: dict


def _world(settings) -> World:
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]  # an endpoint inside the network; never called
    settings.SLACK_SIGNING_SECRET = "authz-signing-secret"  # unsigned requests are refused
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    acme = Tenant.objects.get(slug="acme")
    globex = Tenant.objects.get(slug="globex")
    users = {}
    for code, role in ROLE_CODES.items():
        membership = Membership.objects.filter(tenant=acme, role=role).order_by("pk").first()
        users[code] = membership.user
        other = user_ensure(
            username=f"authz-globex-{role}", password=PASSWORD, is_staff=role == Role.ADMIN
        )
        membership_set(tenant=globex, user=other, role=role, actor=TEST_ACTOR)
        users[f"x{code}"] = other
    users["root"] = user_ensure(username="authz-root", password=PASSWORD, is_superuser=True)

    internal = open_ticket(acme, "A3", title=INTERNAL_MARK, change_set_id="cs-authz")
    client_visible = open_ticket(
        acme, "A5", title=CLIENT_MARK, plan_version=12, required_roles=["planner", "client"]
    )
    endpoint, _secret = webhook_endpoint_create(
        tenant=acme, actor=TEST_ACTOR, url="http://127.0.0.1:9/ht", events=["ticket.opened"]
    )
    lockout = login_lockout_record(
        username=users["P"].username, ip_address="203.0.113.9", kind="username", failures=5
    )
    audit_checkpoint_all(tenant=acme)
    from audit.checkpoints import checkpoints_of

    size = checkpoints_of(acme)[-1].size
    proof_seq = AuditEvent.objects.filter(tenant=acme, seq__lte=size).order_by("seq").first().seq
    # A track and a version number only acme has: globex's key asks for them in vain (plan
    # numbers and track keys are per tenant, so a name both have would be globex's own).
    only_acme = plan_version_import_approved(
        tenant=acme,
        track_key="event_authz",
        kind="event_draft",
        payload=winter_plan(),
        actor=TEST_ACTOR,
        approved_by="tests",
    )
    track = only_acme.track
    keys = {
        "own": bearer(agent_key_create(tenant=acme, name="authz-acme", actor=TEST_ACTOR)[1]),
        "other": bearer(agent_key_create(tenant=globex, name="authz-gx", actor=TEST_ACTOR)[1]),
        "anon": {},
    }

    def first(model, **filters):
        row = model.objects.filter(tenant=acme, **filters).order_by("pk").first()
        assert row is not None, f"the demo world has no {model.__name__} of acme"
        return row

    return World(
        tenant=acme.slug,
        track=track.key,
        version=only_acme.number,
        internal_ticket=internal.public_id,
        client_ticket=client_visible.public_id,
        change_set=first(ChangeSet).change_set_id,
        run=first(AgentRun).run_id,
        recommendation=Recommendation.objects.create(
            tenant=acme,
            track=track,
            signal="agent",
            subject_key="authz",
            path="revise",
            reason="authz",
            source="tests",
        ).pk,
        seasonal=SeasonalChange.objects.create(
            tenant=acme,
            track=track,
            channel="search",
            starts_on=datetime.date(2030, 1, 1),
            ends_on=datetime.date(2030, 1, 7),
            budget=Decimal("100"),
            created_by="tests",
        ).pk,
        endpoint=endpoint.pk,
        lockout=lockout.pk,
        checkpoint_size=size,
        proof_seq=proof_seq,
        metric_key="time-to-approve",
        users=users,
        keys=keys,
    )


# --- Asking ---------------------------------------------------------------------------------------
LOGIN_PAGES = ("/accounts/login/", "/admin/login/")


def url_of(route: str, kwargs: dict, world: World) -> str:
    def value(name: str):
        literal = kwargs[name]
        return getattr(world, literal) if hasattr(world, literal) else literal

    if route == "api/v1/^(?P<rest>.*)$":
        return "/api/v1/" + str(value("rest"))
    out = route
    for part in route.split("<")[1:]:
        spec = part.split(">", 1)[0]
        name = spec.split(":")[-1]
        out = out.replace(f"<{spec}>", str(value(name)), 1)
    return "/" + out


def outcome(response) -> str:
    """served or refused; a server error fails the test at once."""
    status = response.status_code
    assert status < 500, f"{status} from {response.request['PATH_INFO']}"
    if status == 405:
        return "wrong method"
    if status in (401, 403, 404):
        return "refused"
    if status in (301, 302) and response["Location"].startswith(LOGIN_PAGES):
        return "refused"
    if status == 302 and response["Location"] == reverse("admin:index"):
        # The admin's answer to a row outside one's reach, the same as to a row that does not
        # exist ("… doesn't exist. Perhaps it was deleted?").
        return "refused"
    return "served"


def ask(client: Client, method: str, url: str, data, headers: dict):
    """One request in a savepoint that is rolled back afterwards. The savepoint counts as the test
    case's own (as the test's transaction does), so the durable entry points may open theirs."""
    savepoint = transaction.atomic()
    savepoint._from_testcase = True
    cookies = copy.deepcopy(client.cookies)  # a logout must not log the next request out
    with savepoint:
        if method == "get":
            response = client.get(url, **headers)
        elif method == "put":
            response = client.put(url, data, content_type="application/json", **headers)
        elif headers:  # the API takes JSON
            response = client.post(url, data or {}, content_type="application/json", **headers)
        else:
            response = client.post(url, data or {})
        transaction.set_rollback(True)
    client.cookies = cookies
    return response


def client_of(world: World, code: str) -> Client:
    client = Client()
    if code != "anon":
        client.force_login(world.users[code])
    return client


def assert_no_leak(code: str, response, url: str) -> None:
    if not response.get("Content-Type", "").startswith(("text/", "application/json")):
        return
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    body = raw.decode(errors="replace")
    if code.startswith("x"):
        assert INTERNAL_MARK not in body and CLIENT_MARK not in body, (code, url)
    if code == "C":
        assert INTERNAL_MARK not in body, (code, url)


@pytest.mark.postgres
def test_every_url_serves_exactly_the_people_of_its_entry(settings):
    world = _world(settings)
    clients = {code: client_of(world, code) for code in EVERYONE}
    wrong = []
    for route in product_patterns():
        for rule in MATRIX.get(route, []):
            url = url_of(route, rule.kwargs, world)
            askers = ("anon", "own", "other") if rule.api else EVERYONE
            served = set()
            data = (
                {"draft_body": {"kind": "revise", "payload": winter_plan()}}.get(
                    rule.data, rule.data
                )
                if isinstance(rule.data, str)
                else rule.data
            )
            for code in askers:
                if rule.api:
                    response = ask(Client(), rule.method, url, data, world.keys[code])
                else:
                    response = ask(clients[code], rule.method, url, data, {})
                answer = outcome(response)
                if answer == "wrong method":
                    wrong.append(
                        f"{rule.method.upper()} {url}: 405, the entry names the wrong method"
                    )
                if answer == "served":
                    served.add(code)
                    assert_no_leak(code, response, url)
            if served != set(rule.allowed):
                wrong.append(
                    f"{rule.method.upper()} {url}: served {sorted(served)}, "
                    f"entry says {sorted(rule.allowed)}"
                )
    assert not wrong, "\n".join(wrong)


# --- The Django admin -----------------------------------------------------------------------------
def _acme_row(model_admin, acme):
    """A row of acme's for a tenant-scoped admin, any row for a platform one (None if none)."""
    rows = model_admin.model._default_manager.order_by("pk")
    path = getattr(model_admin, "tenant_field", None)
    if path is None:
        return rows.first()
    return rows.filter(**{path or "pk": acme if path else acme.pk}).first()


def test_the_admin_site_has_no_page_outside_its_models():
    """The admin's own pages (index, login, …) are Django's; a new one needs an entry here."""
    own_pages = {str(p.pattern) for p in admin.site.get_urls() if isinstance(p, URLPattern)}
    assert own_pages == {
        "",
        "login/",
        "logout/",
        "password_change/",
        "password_change/done/",
        "autocomplete/",
        "jsi18n/",
        "r/<path:content_type_id>/<path:object_id>/",
        "(?P<url>.*)$",
    } | {p for p in own_pages if p.startswith("^(?P<app_label>")}


@pytest.mark.postgres
def test_every_admin_page_serves_exactly_the_people_of_its_entry(settings):
    world = _world(settings)
    acme = Tenant.objects.get(slug=world.tenant)
    clients = {code: client_of(world, code) for code in EVERYONE}
    wrong = []

    def check(url: str, allowed: frozenset[str]) -> None:
        served = set()
        for code in EVERYONE:
            response = ask(clients[code], "get", url, None, {})
            if outcome(response) == "served":
                served.add(code)
                assert_no_leak(code, response, url)
        if served != set(allowed):
            wrong.append(f"GET {url}: served {sorted(served)}, entry says {sorted(allowed)}")

    check(reverse("admin:index"), ADMIN_SITE_PAGES[""])
    for model, model_admin in admin.site._registry.items():
        scoped = ADMIN_MODELS[model._meta.label]
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        # The list: acme's admin and globex's (each their own rows), the platform; no one else.
        check(reverse(f"{info}_changelist"), who("A", "xA", "root") if scoped else who("root"))
        row = _acme_row(model_admin, acme)
        if row is not None:
            # acme's row: acme's admin and the platform; globex's admin is turned away.
            check(
                reverse(f"{info}_change", args=[row.pk]),
                who("A", "root") if scoped else who("root"),
            )
    assert not wrong, "\n".join(wrong)
