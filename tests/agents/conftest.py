import pytest

from agents.services import agent_key_create
from tests.conftest import TEST_ACTOR


@pytest.fixture
def acme_key(acme):
    """(AgentKey, plain key) for an acme agent."""
    return agent_key_create(tenant=acme, name="optimizer", actor=TEST_ACTOR)


@pytest.fixture
def globex_key(globex):
    return agent_key_create(tenant=globex, name="reporter", actor=TEST_ACTOR)
