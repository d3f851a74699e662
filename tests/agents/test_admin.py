"""Agent keys in the admin: listed and revocable, never added there or read back."""

import pytest

from agents.models import AgentKey
from agents.services import agent_key_authenticate
from audit.models import AuditEvent


@pytest.mark.django_db
def test_an_admin_revokes_a_key_and_the_revocation_is_audited_with_them(
    admin_client, admin_user, acme_key
):
    key, plain = acme_key
    response = admin_client.post(
        "/admin/agents/agentkey/",
        {"action": "revoke", "_selected_action": [key.pk]},
        follow=True,
    )
    assert "Revoked 1 key(s)" in response.content.decode()
    assert AgentKey.objects.get(pk=key.pk).revoked_at is not None
    assert agent_key_authenticate(plain) is None
    event = AuditEvent.objects.get(action="agent_key.revoked")
    assert (event.actor_type, event.actor_id) == ("user", str(admin_user.pk))


@pytest.mark.django_db
def test_the_admin_never_shows_the_key_hash_and_cannot_add_keys(admin_client, acme_key):
    key, _ = acme_key
    page = admin_client.get(f"/admin/agents/agentkey/{key.pk}/change/").content.decode()
    assert key.key_hash not in page
    assert admin_client.get("/admin/agents/agentkey/add/").status_code == 403
