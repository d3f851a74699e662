"""Tenant inputs a fuzzer found that once became a 500 on PostgreSQL (NUL in a slug lookup)."""

import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_switching_to_a_tenant_slug_with_nul_is_404_and_keeps_the_tenant(client, alice, acme):
    client.force_login(alice)
    client.post(reverse("tenant_switch"), {"tenant": "acme", "next": "/"})
    response = client.post(reverse("tenant_switch"), {"tenant": "ac\x00me", "next": "/"})
    assert response.status_code == 404
    assert client.session["tenant_id"] == acme.pk
