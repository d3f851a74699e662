"""The tenant policy page, the metrics page, login / logout and the tenant switcher."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from tenants.models import Role, TenantPolicy
from tests.conftest import PASSWORD
from tests.tenants.ceilings import LOOSER_VALUES, form_data

pytestmark = pytest.mark.django_db

ALL_ROLES = [r.value for r in Role]


@pytest.fixture
def as_member(client, acme, make_member):
    """as_member(role) logs the test client in as a member of acme with that role."""

    def login(role: str, tenant=acme):
        make_member(f"{role}-user", tenant, role)
        client.login(username=f"{role}-user", password=PASSWORD)
        return client

    return login


def policy_url(tenant):
    return reverse("tenant_policy", args=[tenant.slug])


# --- Permission matrix --------------------------------------------------------------------------
PAGES = {
    "policy": ("tenant_policy", {Role.ADMIN}),
    "metrics": ("metrics:tenant", {Role.PLANNER, Role.OPERATOR, Role.ADMIN, Role.LEGAL}),
    "runs": ("agents:runs", {Role.PLANNER, Role.OPERATOR, Role.ADMIN, Role.LEGAL}),
}
# What a member without an allowed role gets: 403, except on System Ops pages, which a client
# is not told exist.
REFUSED = {"runs": {Role.CLIENT: 404}}
MATRIX = [pytest.param(page, role, id=f"{page}-{role}") for page in PAGES for role in ALL_ROLES]


@pytest.mark.parametrize(("page", "role"), MATRIX)
def test_own_tenant_pages_answer_by_role(as_member, acme, page, role):
    route, allowed = PAGES[page]
    response = as_member(role).get(reverse(route, args=[acme.slug]))
    refused = REFUSED.get(page, {}).get(role, 403)
    assert response.status_code == (200 if role in allowed else refused)


@pytest.mark.parametrize(("page", "role"), MATRIX)
def test_another_tenants_pages_are_404_for_every_role(as_member, acme, globex, page, role):
    route, _ = PAGES[page]
    response = as_member(role, tenant=acme).get(reverse(route, args=[globex.slug]))
    assert response.status_code == 404


@pytest.mark.parametrize("page", PAGES)
def test_pages_send_an_anonymous_visitor_to_the_login(client, acme, page):
    route, _ = PAGES[page]
    response = client.get(reverse(route, args=[acme.slug]))
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_an_unknown_tenant_is_404_like_a_foreign_one(as_member):
    response = as_member(Role.ADMIN).get("/t/nosuch/settings/policy/")
    assert response.status_code == 404


# --- Policy page --------------------------------------------------------------------------------
def test_the_policy_page_shows_every_section_and_key_with_its_current_value(as_member, acme):
    page = as_member(Role.ADMIN).get(policy_url(acme)).content.decode()
    for section in [
        "approval_policy",
        "loop_policy",
        "cost_guard_policy",
        "qc_threshold_policy",
        "revise_triggers",
        "sla",
    ]:
        assert f'id="section-{section}"' in page
    for key in acme.policy.values():
        assert f'name="{key}"' in page
    assert 'name="tool_rounds_max" value="5"' in page
    assert "At most 5 (hard ceiling)" in page


@pytest.mark.parametrize(("key", "looser", "message"), LOOSER_VALUES)
def test_the_policy_page_refuses_a_looser_value_and_writes_nothing(
    as_member, acme, key, looser, message
):
    client = as_member(Role.ADMIN)
    before = acme.policy.values()
    versions = acme.policy.history.count()
    stricter = {"drift_window_days": 10}
    data = form_data(acme.policy, **{key: looser}, **stricter)
    response = client.post(policy_url(acme), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was saved." in page
    assert message in page
    # The stricter value sent with it is not saved either.
    assert TenantPolicy.objects.get(tenant=acme).values() == before
    assert acme.policy.history.count() == versions
    assert not AuditEvent.objects.filter(action="policy.updated").exists()


def test_saving_the_policy_page_changes_the_policy_and_shows_it_in_the_history(as_member, acme):
    client = as_member(Role.ADMIN)
    data = form_data(acme.policy, tool_rounds_max=3, sla_approval_days=3)
    response = client.post(policy_url(acme), data, follow=True)
    page = response.content.decode()
    assert "Policy saved: sla_approval_days, tool_rounds_max changed." in page
    policy = TenantPolicy.objects.get(tenant=acme)
    assert (policy.tool_rounds_max, policy.sla_approval_days) == (3, 3)
    event = AuditEvent.objects.get(action="policy.updated")
    assert event.actor_label == "admin-user"
    history = page[page.index("Change history") :]
    assert "admin-user" in history
    assert "<code>tool_rounds_max</code>: 5 → 3" in history
    assert "<code>sla_approval_days</code>: 2 → 3" in history


def test_saving_an_unchanged_policy_page_writes_nothing(as_member, acme):
    client = as_member(Role.ADMIN)
    response = client.post(policy_url(acme), form_data(acme.policy), follow=True)
    assert "Nothing changed." in response.content.decode()
    assert not AuditEvent.objects.filter(action="policy.updated").exists()


def test_a_non_admin_cannot_change_the_policy_by_posting(as_member, acme):
    response = as_member(Role.OPERATOR).post(
        policy_url(acme), form_data(acme.policy, tool_rounds_max=1)
    )
    assert response.status_code == 403
    assert TenantPolicy.objects.get(tenant=acme).tool_rounds_max == 5


def test_the_history_is_shown_in_the_tenants_time_zone(as_member, acme, time_machine):
    import datetime as dt

    time_machine.move_to(dt.datetime(2026, 11, 2, 8, 30, tzinfo=dt.UTC))
    client = as_member(Role.ADMIN)
    client.post(policy_url(acme), form_data(acme.policy, drift_window_days=20))
    page = client.get(policy_url(acme)).content.decode()
    assert "2 Nov 2026 09:30 CET" in page  # Europe/Berlin is UTC+1 in November


def test_admins_see_the_policy_link_and_others_do_not(as_member, acme, client):
    as_member(Role.ADMIN)
    assert (
        policy_url(acme) in client.get(reverse("metrics:tenant", args=[acme.slug])).content.decode()
    )
    as_member(Role.PLANNER)
    assert (
        policy_url(acme)
        not in client.get(reverse("metrics:tenant", args=[acme.slug])).content.decode()
    )


# --- Metrics and runs ---------------------------------------------------------------------------


def test_the_policy_page_names_keys_in_words_and_shows_fixed_values_as_fixed(as_member, acme):
    page = as_member(Role.ADMIN).get(policy_url(acme)).content.decode()
    assert 'Tool rounds per run <code class="key-hint">tool_rounds_max</code>' in page
    assert "Four eyes: nobody approves their own work" in page
    for key in ("on_exhaustion", "block_on_trip"):
        assert f'data-testid="fixed-{key}"' in page
        assert f'<input type="hidden" name="{key}"' in page
        assert f'<select name="{key}"' not in page and f'type="checkbox" name="{key}"' not in page
    assert "never retries alone" in page


def test_saving_the_policy_page_as_shown_changes_nothing_fixed(as_member, acme):
    client = as_member(Role.ADMIN)
    data = form_data(acme.policy, drift_window_days=20)
    response = client.post(policy_url(acme), data)
    assert response.status_code == 302
    policy = TenantPolicy.objects.get(tenant=acme)
    assert (policy.drift_window_days, policy.on_exhaustion, policy.block_on_trip) == (
        20,
        "red_flag_a8",
        True,
    )
