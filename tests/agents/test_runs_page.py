import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_the_runs_page_says_what_it_will_show_until_runs_exist(client, acme, alice):
    client.login(username="alice", password=PASSWORD)
    page = client.get(reverse("agents:runs", args=[acme.slug])).content.decode()
    assert "<h1>Agent runs · Acme Retail</h1>" in page
    assert "No agent runs are recorded yet." in page
    assert 'aria-current="page">Runs' in page
