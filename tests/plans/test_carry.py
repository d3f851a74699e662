"""The three-way merge that carries an outdated version forward (plans/carry.py), without the
database."""

from plans.carry import carry_forward
from plans.schema import canonical_payload
from tests.plans.plan_samples import changed, channel, winter_plan

BASE = canonical_payload(winter_plan())


def with_(change):
    return canonical_payload(changed(winter_plan(), change))


def test_a_change_only_the_carried_version_made_is_re_applied():
    carried = with_(lambda p: p.update(messaging="New words."))
    current = with_(lambda p: p["kpi_targets"].update(cpa=35))
    result = carry_forward(base=BASE, carried=carried, current=current)
    assert result.payload["messaging"] == "New words."
    assert result.payload["kpi_targets"]["cpa"] == current["kpi_targets"]["cpa"]
    assert result.collisions == []
    assert result.reapplied == ["messaging"]


def test_the_same_change_on_both_sides_is_no_collision():
    both = with_(lambda p: p.update(messaging="New words."))
    result = carry_forward(base=BASE, carried=both, current=both)
    assert result.payload == both
    assert result.collisions == []


def test_different_changes_to_one_unit_collide_and_the_current_value_stays():
    carried = with_(lambda p: p["kpi_targets"].update(cpa=30))
    current = with_(lambda p: p["kpi_targets"].update(cpa=35))
    result = carry_forward(base=BASE, carried=carried, current=current)
    assert result.payload["kpi_targets"]["cpa"] == current["kpi_targets"]["cpa"]
    assert [c["what"] for c in result.collisions] == ["CPA target"]
    assert result.collisions[0]["carried"] == carried["kpi_targets"]["cpa"]


def test_a_channel_moves_as_one_unit_and_an_added_channel_is_appended():
    video = {"channel": "video", "platform": "youtube", "budget": "1000.00", "flights": []}
    carried = with_(lambda p: p["channels"].append(video))
    current = with_(lambda p: channel(p, "search").update(budget=41000))
    result = carry_forward(base=BASE, carried=carried, current=current)
    assert [c["channel"] for c in result.payload["channels"]] == ["search", "social", "video"]
    assert channel(result.payload, "search")["budget"] == "41000.00"


def test_a_channel_the_carried_version_removed_and_the_current_one_changed_collides():
    carried = with_(lambda p: p["channels"].pop(1))
    current = with_(lambda p: channel(p, "social").update(budget=31000))
    result = carry_forward(base=BASE, carried=carried, current=current)
    assert channel(result.payload, "social")["budget"] == "31000.00"
    assert result.collisions[0]["what"] == "social budget and flights"
    assert result.collisions[0]["carried"] is None
