"""django-q2 on Redis with two real cluster processes (README "Deployment"): every schedule runs
once per period though both clusters' schedulers look, and a cluster killed in the middle of a
task leaves its effect done once — no second escalation, no second mail — when the surviving
cluster runs the schedules again."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from io import StringIO
from pathlib import Path

import pytest
import redis
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_q.models import Failure, Schedule, Success

from audit.models import AuditEvent
from tenants.models import Role
from tests.approvals.factories import open_ticket
from tests.conftest import REDIS_TEST_URL

ROOT = Path(__file__).resolve().parents[2]
LINGER = "tests.ops.qcluster_tasks.sweep_then_linger"


def database_url() -> str:
    db = connection.settings_dict  # the test database, as the suite's role
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    where = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return f"postgres://{db['USER']}{password}@{where}"


def start_cluster(env: dict, output: Path) -> subprocess.Popen:
    # A session (process group) of its own, so a kill reaches its workers too.
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=output.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    failures = list(Failure.objects.values_list("func", "result"))
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}; failed tasks: {failures}")


def stop(cluster: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(cluster.pid, signal.SIGKILL)
    cluster.wait(timeout=30)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_two_redis_clusters_run_each_schedule_once_and_a_kill_mid_task_duplicates_nothing(
    acme, make_member, tmp_path, settings, audit_signer
):
    admin = make_member("adam", acme, Role.ADMIN, email="adam@acme.test")
    assert admin.email
    import time_machine

    with time_machine.travel(timezone.now() - timezone.timedelta(days=10), tick=False):
        overdue = open_ticket(acme, "A1", title="Approve v7 for always_on")
    call_command("setup_schedules", stdout=StringIO())
    Schedule.objects.create(
        name="test.sweep_then_linger",
        func=LINGER,
        schedule_type=Schedule.MINUTES,
        minutes=1,
    )
    Schedule.objects.update(next_run=timezone.now())
    real = sorted(set(Schedule.objects.exclude(func=LINGER).values_list("func", flat=True)))
    name = f"htq{uuid.uuid4().hex[:10]}"
    log = tmp_path / "runs.log"
    log.touch()
    (tmp_path / "mail").mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTEST_VERSION", "DATABASE_OWNER_URL", "PYTEST_CURRENT_TEST"}
    }
    env.update(
        DATABASE_URL=database_url(),
        REDIS_URL=REDIS_TEST_URL,
        Q_NAME=name,
        Q_WORKERS="2",
        DEBUG="1",
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(tmp_path / "mail"),
        AUDIT_SIGNING_KEY=str(audit_signer),
        AUDIT_CHECKPOINT_DIR=settings.AUDIT_CHECKPOINT_DIR,
        AUDIT_CHECKPOINT_ORIGIN=settings.AUDIT_CHECKPOINT_ORIGIN,
        HT_QTEST_LOG=str(log),
        HT_QTEST_LINGER="15",
        LOG_LEVEL="WARNING",
    )
    clusters = [start_cluster(env, tmp_path / f"cluster-{n}.log") for n in (1, 2)]
    started = time.monotonic()
    try:
        # Period 1: both schedulers tick (every 30 s); each schedule is taken once.
        linger_pids = wait_for(lambda: log.read_text().split(), 60, "the lingering task")
        assert len(linger_pids) == 1
        wait_for(
            lambda: set(Success.objects.values_list("func", flat=True)) >= set(real),
            60,
            "every real schedule to run",
        )
        time.sleep(max(0.0, started + 36 - time.monotonic()))  # both schedulers have ticked
        runs = {f: Success.objects.filter(func=f).count() for f in real}
        assert runs == dict.fromkeys(real, 1)
        assert log.read_text().split() == linger_pids

        # Kill the cluster running the lingering task, in the middle of it.
        victim = next(c for c in clusters if os.getpgid(int(linger_pids[0])) == c.pid)
        stop(victim)
        survivor = next(c for c in clusters if c is not victim)

        # Period 2, on the survivor alone: everything runs again; the effects stay single.
        Schedule.objects.update(next_run=timezone.now())
        wait_for(lambda: len(log.read_text().split()) == 2, 60, "the survivor's linger")
        wait_for(
            lambda: all(Success.objects.filter(func=f).count() == 2 for f in real),
            60,
            "the second period",
        )
        assert os.getpgid(int(log.read_text().split()[1])) == survivor.pid
        wait_for(
            lambda: Success.objects.filter(func=LINGER).exists(), 60, "the survivor's linger to end"
        )
    finally:
        for cluster in clusters:
            stop(cluster)
        client = redis.Redis.from_url(REDIS_TEST_URL)
        for key in client.scan_iter(f"django_q:{name}*"):
            client.delete(key)

    escalations = AuditEvent.objects.filter(
        action="ticket.escalated", resource_id=overdue.public_id
    )
    assert escalations.count() == 1
    mails = [p.read_text() for p in (tmp_path / "mail").iterdir()]
    assert sum(text.count("\nSubject: ") + text.startswith("Subject: ") for text in mails) == 1
    assert Success.objects.filter(func=LINGER).count() == 1  # the killed run never finished
