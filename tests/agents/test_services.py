"""Agent keys: stored hashed, shown once, found by prefix, revocable."""

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from agents.models import AgentKey
from agents.services import agent_key_authenticate, agent_key_revoke
from audit.models import AuditEvent
from tests.conftest import TEST_ACTOR


@pytest.mark.django_db
def test_only_the_hash_of_the_secret_is_stored(acme_key):
    key, plain = acme_key
    secret = plain.split("_", 2)[2]
    stored = AgentKey.objects.get(pk=key.pk)
    assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {stored.key_hash, stored.prefix, stored.name}
    assert plain.startswith(f"ht_{stored.prefix}_")


@pytest.mark.django_db
def test_creating_a_key_is_audited_without_the_secret(acme_key):
    key, plain = acme_key
    event = AuditEvent.objects.get(action="agent_key.created", resource_id=str(key.pk))
    assert event.data == {"name": "optimizer", "prefix": key.prefix}
    assert plain.split("_", 2)[2] not in str(event.data)


@pytest.mark.django_db
def test_the_plain_key_authenticates_as_its_tenant(acme_key, acme):
    key, plain = acme_key
    found = agent_key_authenticate(plain)
    assert (found.pk, found.tenant) == (key.pk, acme)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda plain: plain[:-1] + ("A" if plain[-1] != "A" else "B"),
        lambda plain: plain.replace("ht_", "xx_", 1),
        lambda plain: plain.rsplit("_", 1)[0],
        lambda plain: "ht_000000000000_" + plain.split("_", 2)[2],
        lambda plain: "",
    ],
    ids=["wrong-secret", "wrong-scheme", "no-secret", "unknown-prefix", "empty"],
)
@pytest.mark.django_db
def test_a_wrong_key_authenticates_nobody(acme_key, mangle):
    assert agent_key_authenticate(mangle(acme_key[1])) is None


@pytest.mark.django_db
def test_a_revoked_key_no_longer_authenticates_and_revoking_is_audited_once(acme_key):
    key, plain = acme_key
    agent_key_revoke(key=key, actor=TEST_ACTOR)
    agent_key_revoke(key=key, actor=TEST_ACTOR)
    assert agent_key_authenticate(plain) is None
    assert AgentKey.objects.get(pk=key.pk).revoked_at is not None
    assert AuditEvent.objects.filter(action="agent_key.revoked").count() == 1


@pytest.mark.django_db
def test_last_used_is_touched_at_most_once_a_minute(acme_key):
    key, plain = acme_key
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        agent_key_authenticate(plain)
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        agent_key_authenticate(plain)
    assert AgentKey.objects.get(pk=key.pk).last_used_at == start
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        agent_key_authenticate(plain)
    assert AgentKey.objects.get(pk=key.pk).last_used_at == start + timedelta(minutes=2)


# --- The per-process key cache (issue 21.4) -----------------------------------------------------
@pytest.mark.django_db
def test_a_cached_key_is_authenticated_without_a_query(
    acme_key, acme, settings, django_assert_num_queries
):
    settings.AGENT_KEY_CACHE_SECONDS = 5
    key, plain = acme_key
    first = agent_key_authenticate(plain)
    with django_assert_num_queries(0):
        again = agent_key_authenticate(plain)
    assert (again.pk, again.tenant_id, again.tenant.slug) == (first.pk, acme.pk, acme.slug)
    again.tenant.name = "changed by a request"
    assert agent_key_authenticate(plain).tenant.name == acme.name  # nothing leaks across calls


@pytest.mark.django_db
def test_a_wrong_secret_is_never_answered_from_the_cache(acme_key, settings):
    settings.AGENT_KEY_CACHE_SECONDS = 5
    _key, plain = acme_key
    assert agent_key_authenticate(plain) is not None
    assert agent_key_authenticate(plain[:-2] + "xx") is None


@pytest.mark.django_db(transaction=True)
def test_revoking_forgets_the_key_at_once_in_the_revoking_process(acme_key, settings):
    settings.AGENT_KEY_CACHE_SECONDS = 60
    key, plain = acme_key
    assert agent_key_authenticate(plain) is not None
    agent_key_revoke(key=key, actor=TEST_ACTOR)
    assert agent_key_authenticate(plain) is None


@pytest.mark.django_db
def test_a_key_revoked_elsewhere_is_refused_within_the_documented_bound(
    acme_key, settings, monkeypatch
):
    """Another process revoked it (here: the row changed behind this process's back). It is
    still accepted inside AGENT_KEY_CACHE_SECONDS and refused once they have passed."""
    from agents.services import keys

    settings.AGENT_KEY_CACHE_SECONDS = 5
    key, plain = acme_key
    now = [1000.0]
    monkeypatch.setattr(keys, "_clock", lambda: now[0])
    assert agent_key_authenticate(plain) is not None
    AgentKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    now[0] += 4.9
    assert agent_key_authenticate(plain) is not None
    now[0] += 0.2
    assert agent_key_authenticate(plain) is None


@pytest.mark.django_db
def test_with_the_cache_off_every_call_asks_the_database(acme_key, settings):
    settings.AGENT_KEY_CACHE_SECONDS = 0
    key, plain = acme_key
    assert agent_key_authenticate(plain) is not None
    AgentKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    assert agent_key_authenticate(plain) is None
