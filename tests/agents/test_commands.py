"""manage.py agent_key_create: the key alone on the last line, only its hash stored."""

import hashlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from agents.models import AgentKey
from agents.services import agent_key_authenticate


@pytest.mark.django_db
def test_it_prints_the_key_alone_on_the_last_line_and_stores_only_its_hash(acme):
    out = StringIO()
    call_command("agent_key_create", "--tenant", "acme", "--name", "optimizer", stdout=out)
    plain = out.getvalue().rstrip("\n").splitlines()[-1]
    key = AgentKey.objects.get(tenant=acme, name="optimizer")
    assert plain == plain.strip() and " " not in plain
    assert plain.startswith(f"ht_{key.prefix}_")
    assert key.key_hash == hashlib.sha256(plain.split("_", 2)[2].encode()).hexdigest()
    assert agent_key_authenticate(plain).pk == key.pk


@pytest.mark.django_db
def test_an_unknown_tenant_is_a_clear_error_and_creates_nothing():
    with pytest.raises(CommandError, match="No tenant with slug 'nope'"):
        call_command("agent_key_create", "--tenant", "nope", "--name", "x")
    assert not AgentKey.objects.exists()


@pytest.mark.django_db
def test_a_name_too_long_is_a_clear_error_and_creates_nothing(acme):
    with pytest.raises(CommandError, match="at most 100 characters"):
        call_command("agent_key_create", "--tenant", "acme", "--name", "n" * 101)
    assert not AgentKey.objects.exists()
