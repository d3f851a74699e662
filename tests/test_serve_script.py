"""bin/serve (production serving): gunicorn and the django-q2 cluster with the production
settings; /healthz answers 200 once the cluster beats; a gunicorn master killed outright takes
its workers with it (the port is free at once); a bin/serve killed outright is cleaned up by the
next start; TERM stops everything."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.test_run_script import free_port, wait_for

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")


def group_alive(pgid: int) -> bool:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def health(port: int) -> tuple[int, dict] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return None


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def production(tmp_path, audit_signer):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTEST_VERSION", "DATABASE_URL", "DEBUG", "DATABASE_OWNER_URL", "REDIS_URL"}
    }
    port = free_port()
    env.update(
        SECRET_KEY="serve-test-only-not-a-secret",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        AUDIT_SIGNING_KEY=str(audit_signer),
        AUDIT_CHECKPOINT_DIR=str(tmp_path / "checkpoints"),
        SERVE_PIDFILE=str(tmp_path / "serve.pids"),
        BIND=f"127.0.0.1:{port}",
        WEB_WORKERS="2",
        Q_WORKERS="1",
        PY=sys.executable,
        LOG_LEVEL="WARNING",
    )
    for step in (["migrate", "--noinput"], ["collectstatic", "--noinput"], ["setup_schedules"]):
        done = subprocess.run(
            [sys.executable, "manage.py", *step], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    return env, port, tmp_path


def serve(env, tmp_path, name: str) -> subprocess.Popen:
    return subprocess.Popen(
        ["bash", "bin/serve"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=(tmp_path / f"{name}.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def groups(tmp_path) -> list[int]:
    pidfile = tmp_path / "serve.pids"
    return [int(p) for p in pidfile.read_text().split()] if pidfile.exists() else []


def test_serve_runs_in_production_and_restarts_cleanly_after_kills(production):
    env, port, tmp_path = production
    started = []
    try:
        first = serve(env, tmp_path, "first")
        started.append(first)
        status, body = wait_for(lambda: (h := health(port)) and h[0] == 200 and h, 240, "healthz")
        assert body["status"] == "ok" and body["cluster"]["ok"] is True
        web, cluster = groups(tmp_path)

        # The gunicorn master killed outright: bin/serve ends its workers and the cluster.
        os.kill(web, signal.SIGKILL)
        assert first.wait(timeout=30) != 0
        assert port_free(port)
        assert not group_alive(web) and not group_alive(cluster)

        # bin/serve itself killed outright: its gunicorn and cluster live on, orphaned...
        second = serve(env, tmp_path, "second")
        started.append(second)
        wait_for(lambda: health(port), 60, "the second start")
        web, cluster = groups(tmp_path)
        os.kill(second.pid, signal.SIGKILL)
        second.wait(timeout=10)
        time.sleep(1)
        assert group_alive(web) and group_alive(cluster) and not port_free(port)
        # ...until the next start ends them and takes the port.
        third = serve(env, tmp_path, "third")
        started.append(third)
        wait_for(lambda: not group_alive(web) and not group_alive(cluster), 30, "the leftovers")
        wait_for(lambda: health(port), 60, "the third start")
        assert (
            "ending what an earlier bin/serve left running" in (tmp_path / "third.log").read_text()
        )

        # TERM: everything stops, the port is free, the pidfile is gone.
        web, cluster = groups(tmp_path)
        os.kill(third.pid, signal.SIGTERM)
        assert third.wait(timeout=60) == 0
        assert port_free(port) and not group_alive(web) and not group_alive(cluster)
        assert not (tmp_path / "serve.pids").exists()
    finally:
        for pgid in [*groups(tmp_path), *(p.pid for p in started)]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
