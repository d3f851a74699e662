import pytest
from django.urls import reverse

from tenants.models import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_the_metrics_page_of_an_empty_tenant_says_so_for_every_metric(client, acme, make_member):
    make_member("ada", acme, Role.ADMIN)
    client.login(username="ada", password=PASSWORD)
    page = client.get(reverse("metrics:tenant", args=[acme.slug])).content.decode()
    assert page.count("Nothing in this range or the one before.") >= 10
