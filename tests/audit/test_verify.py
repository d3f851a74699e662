"""verify_audit: passes on an untouched log, names the first broken event after a tamper.

Tests that tamper are transactional: the tampering commits as the tables' owner
(tests/audit/tampering.py), who sees only committed rows."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.chain import BODY_FIELDS, GENESIS_HASH, link_body, link_hash
from audit.models import AuditEvent
from audit.verify import ROW_FIELDS, audit_chains_verify, chain_rows_check
from tests.audit.tampering import audit_triggers_lifted


def verify_command(*args) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("verify_audit", *args, stdout=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


@pytest.fixture
def chain(acme, append_events):
    """acme's chain with at least five events; returns them in seq order."""
    append_events(acme, 5)
    return list(AuditEvent.objects.filter(tenant=acme).order_by("seq"))


@pytest.mark.django_db
def test_an_untouched_log_verifies_and_counts_every_event(chain, globex, append_events):
    append_events(globex, 2)
    code, out = verify_command()
    assert code == 0
    assert out.strip() == f"ok: {AuditEvent.objects.count()} events"


@pytest.mark.django_db
def test_an_empty_log_verifies():
    assert verify_command() == (0, "ok: 0 events\n")


@pytest.mark.django_db(transaction=True)
def test_an_edited_row_is_named_with_its_tenant_seq_and_id(chain):
    victim = chain[2]
    with audit_triggers_lifted() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'forged' WHERE id = %s", [victim.pk])
    code, out = verify_command()
    assert code == 1
    assert out.strip() == (
        f"broken: tenant acme, event #{victim.seq} (id {victim.pk}): "
        "hash does not match the row's content (the row was edited)"
    )


@pytest.mark.django_db(transaction=True)
def test_editing_the_data_json_is_caught(chain):
    victim = chain[1]
    with audit_triggers_lifted() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET data = %s WHERE id = %s", ['{"n": 99}', victim.pk]
        )
    verdict = audit_chains_verify()
    assert (verdict.broken.seq, verdict.broken.event_id) == (victim.seq, victim.pk)


@pytest.mark.django_db(transaction=True)
def test_a_row_rehashed_to_hide_an_edit_breaks_the_next_link(chain):
    victim, following = chain[1], chain[2]
    body = {f: getattr(victim, f) for f in BODY_FIELDS}
    forged_hash = link_hash(
        prev_hash=victim.prev_hash,
        seq=victim.seq,
        created_at=victim.created_at,
        body=link_body(**{**body, "action": "forged"}),
    )
    with audit_triggers_lifted() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET action = 'forged', hash = %s WHERE id = %s",
            [forged_hash, victim.pk],
        )
    verdict = audit_chains_verify()
    assert (verdict.broken.seq, verdict.broken.event_id) == (following.seq, following.pk)
    assert "prev_hash does not match" in verdict.broken.problem


@pytest.mark.django_db(transaction=True)
def test_a_deleted_row_shows_as_a_gap_before_the_next_event(chain):
    victim, following = chain[2], chain[3]
    with audit_triggers_lifted() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [victim.pk])
    code, out = verify_command()
    assert code == 1
    assert f"event #{following.seq} (id {following.pk})" in out
    assert f"sequence gap: #{victim.seq} missing before it (deleted)" in out


@pytest.mark.django_db(transaction=True)
def test_deleting_the_newest_rows_is_caught_by_the_chain_head(chain):
    with audit_triggers_lifted() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [chain[-1].pk])
    code, out = verify_command()
    assert code == 1
    assert "tenant acme, chain head" in out
    assert f"ends at #{chain[-2].seq} but its head says #{chain[-1].seq}" in out


@pytest.mark.django_db(transaction=True)
def test_deleting_a_whole_chain_is_caught_by_its_head(chain):
    with audit_triggers_lifted() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")
    code, out = verify_command()
    assert code == 1
    assert "has no events (all deleted)" in out


@pytest.mark.django_db(transaction=True)
def test_only_the_first_broken_event_is_named(chain):
    with audit_triggers_lifted() as cursor:
        for victim in (chain[3], chain[1]):
            cursor.execute(
                "UPDATE audit_auditevent SET actor_label = 'x' WHERE id = %s", [victim.pk]
            )
    verdict = audit_chains_verify()
    assert verdict.broken.seq == chain[1].seq
    assert verdict.checked == chain[1].seq - 1


@pytest.mark.django_db(transaction=True)
def test_tenant_option_checks_only_that_tenants_chain(chain, globex, append_events):
    append_events(globex, 3)
    with audit_triggers_lifted() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'forged' WHERE id = %s", [chain[0].pk])
    code, out = verify_command("--tenant", "globex")
    assert code == 0
    assert out.strip() == f"ok: {AuditEvent.objects.filter(tenant=globex).count()} events"
    code, out = verify_command("--tenant", "acme")
    assert code == 1
    assert "tenant acme, event #1" in out


@pytest.mark.django_db
def test_an_unknown_tenant_is_a_clear_error():
    with pytest.raises(CommandError, match="No tenant with slug 'nope'"):
        call_command("verify_audit", "--tenant", "nope")


@pytest.mark.django_db
def test_the_pure_check_reads_plain_rows(chain):
    rows = list(AuditEvent.objects.order_by("tenant_id", "seq").values_list(*ROW_FIELDS))
    heads = {chain[0].tenant_id: (chain[-1].seq, chain[-1].hash)}
    assert chain_rows_check(rows, heads).checked == len(chain)
    swapped = [rows[1], rows[0], *rows[2:]]
    broken = chain_rows_check(swapped, heads).broken
    assert (broken.seq, broken.problem) == (2, "sequence gap: #1 missing before it (deleted)")
    assert chain_rows_check([], {}).ok
    assert chain_rows_check([], {chain[0].tenant_id: (0, GENESIS_HASH)}).ok
