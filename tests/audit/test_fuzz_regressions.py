"""Audit page URLs a fuzzer found that once became a 500 on PostgreSQL (NUL in the lookup)."""

import pytest


@pytest.mark.parametrize(
    "url",
    ["/t/acme/audit/ticket/%00/", "/t/acme/audit/%00/x/", "/t/acme/audit/plan/v1/%00/"],
    ids=["nul-resource-id", "nul-resource-type", "nul-in-nested-resource-id"],
)
@pytest.mark.django_db
def test_a_nul_in_a_resource_trail_url_is_404(client, alice, url):
    client.force_login(alice)
    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_a_trail_url_without_nul_still_opens(client, alice):
    client.force_login(alice)
    assert client.get("/t/acme/audit/plan/v1/x/").status_code == 200
