"""The plan pages' presentation helpers: statuses, paths and channel changes as labels with
words, and what Execution still has to do in words (money, percentages and times are
config/formatting.py's, tested in tests/test_formatting.py)."""

from decimal import Decimal

import pytest

from plans.templatetags.plans_ui import (
    channel_change_label,
    dash,
    manifest_action,
    path_label,
    payload_total,
    status_label,
)


def test_statuses_and_paths_are_labels_with_words():
    assert status_label("pending_approval") == (
        '<span class="label label-warn" data-status="pending_approval">Pending approval</span>'
    )
    assert status_label("draft", "Draft") == '<span class="label" data-status="draft">Draft</span>'
    assert path_label("replan") == '<span class="label label-warn" data-path="replan">replan</span>'


@pytest.mark.parametrize(
    ("status", "html"),
    [
        pytest.param("added", ' <span class="label label-ok">new</span>', id="new-channel"),
        pytest.param("removed", ' <span class="label label-danger">removed</span>', id="removed"),
        pytest.param("kept", "", id="kept-says-nothing"),
    ],
)
def test_a_channel_that_joins_or_leaves_the_plan_says_so(status, html):
    assert channel_change_label(status) == html


@pytest.mark.parametrize(
    ("action", "words"),
    [
        pytest.param("launch", "launch (no live entity yet)", id="launch"),
        pytest.param("pause", "pause", id="pause"),
        pytest.param("set_daily_budget", "set daily budget", id="set-daily-budget"),
    ],
)
def test_what_execution_still_has_to_do_reads_as_words(action, words):
    assert manifest_action(action) == words


def test_lists_are_joined_and_empty_values_are_a_dash():
    assert dash(["AT", "DE"]) == "AT, DE"
    assert dash([]) == "—"
    assert dash("purchases") == "purchases"


def test_a_payload_total_sums_the_channel_budgets_as_decimals():
    payload = {"channels": [{"budget": "40000.10"}, {"budget": 0.2}, {"budget": None}]}
    assert payload_total(payload) == Decimal("40000.30")
    assert payload_total(None) == Decimal("0")
