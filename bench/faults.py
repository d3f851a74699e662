"""PostgreSQL restarted under API load (issue 20.6, full form; `make faults` runs it):

    .venv/bin/python bench/faults.py --pg-restart [--agents 4] [--before 4] [--after 6]

Never the shared server: the script starts a PostgreSQL of its own (initdb in a temporary
directory, a free loopback port; as the `postgres` user when run as root, which initdb refuses),
migrates its database there (bench/_setup.py), serves the project with gunicorn (2 workers,
production settings, bench/_http.py) and sends change sets through the API from `--agents`
threads (bench/_agents.py: each one always applies). After `--before` seconds it restarts the
server with `pg_ctl restart -m immediate` (a crash: no clean shutdown) and keeps sending for
`--after` seconds more. Then, with the server back:

- every change set answered 2xx is in the database;
- every other answer failed cleanly: a JSON `{"error", "detail"}` (503 `unavailable` while the
  database is down, config/api.py), and none of those change sets was written;
- the first request sent after the server came back succeeded;
- `verify_audit`'s chain check is clean.

It prints the counts and exits 1 if any of those does not hold. Not in `make bench-quick` (a
server of its own takes a while to set up; CI keeps to the shared one).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import _setup

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--pg-restart", action="store_true", help="run the PostgreSQL restart")
parser.add_argument("--agents", type=int, default=4, help="concurrent agents (clients)")
parser.add_argument("--before", type=float, default=4, help="seconds of load before the restart")
parser.add_argument("--after", type=float, default=6, help="seconds of load after it")
ARGS = _setup.arguments(parser, quick={"agents": 2, "before": 2, "after": 3})
if not ARGS.pg_restart:
    sys.exit("bench/faults.py: say which fault: --pg-restart")


@dataclass
class Sent:
    agent: int
    change_set_id: str
    started: float
    status: int | None
    body: object


def as_postgres() -> list[str]:
    """initdb and pg_ctl refuse root: run them as the postgres user then."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@contextmanager
def private_postgres():
    """A PostgreSQL server of this run's own; yields (url, restart)."""
    folder = Path(tempfile.mkdtemp(prefix="ht-faults-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
    data, log, port = folder / "data", folder / "server.log", _setup_free_port()
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"

    def ctl(*command: str) -> None:
        subprocess.run(
            [*as_postgres(), "pg_ctl", "-D", str(data), "-l", str(log), *command],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    subprocess.run(
        [*as_postgres(), "initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    ctl("-o", options, "-w", "start")
    try:
        yield (
            f"postgres://postgres@127.0.0.1:{port}/postgres",
            lambda: ctl("-o", options, "-m", "immediate", "-w", "restart"),
        )
    finally:
        subprocess.run(
            [*as_postgres(), "pg_ctl", "-D", str(data), "-m", "immediate", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(folder, ignore_errors=True)


def _setup_free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(port: int, path: str, body: dict, authorization: str) -> tuple[int | None, object]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "POST",
            path,
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": authorization},
        )
        response = connection.getresponse()
        payload = response.read()
    except (http.client.HTTPException, OSError) as exc:
        return None, type(exc).__name__
    finally:
        connection.close()
    try:
        return response.status, json.loads(payload) if payload else None
    except ValueError:
        return response.status, payload[:200]


def load(port: int, agents, stop: threading.Event, sent: list[Sent]) -> list[threading.Thread]:
    def agent_loop(agent) -> None:
        while not stop.is_set():
            change_set = agent.next_change_set()
            started = time.monotonic()
            status, body = post(port, "/api/v1/change-sets", change_set, agent.authorization)
            sent.append(Sent(agent.number, change_set["change_set_id"], started, status, body))
            if status is not None and 200 <= status < 300:
                agent.applied(change_set)
            elif status is None or status >= 500:
                time.sleep(0.05)  # the database is down: don't spin

    threads = [threading.Thread(target=agent_loop, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    return threads


def clean_failure(item: Sent) -> bool:
    body = item.body
    return (
        item.status is not None
        and item.status >= 400
        and isinstance(body, dict)
        and {"error", "detail"} <= set(body)
    )


# Long on purpose: one fault run told as a story — server, world, load, restart, then the books.
def main() -> int:
    with private_postgres() as (server_url, restart):
        os.environ["DATABASE_URL"] = server_url
        os.environ["BENCH_DATABASE_BASE"] = "faults"
        os.environ["API_RATE_LIMIT"] = "1000000/60s"  # the restart is under test, not the limit
        _setup.django_on_bench_db("pg_restart", fresh=True)
        import _http
        from _agents import make_agents

        from audit.verify import audit_chains_verify
        from optimization.models import ChangeSet

        agents = make_agents(argparse.Namespace(agents=ARGS.agents, tenants=2))
        sent: list[Sent] = []
        stop = threading.Event()
        with _http.gunicorn(workers=2) as served:
            threads = load(served.port, agents, stop, sent)
            time.sleep(ARGS.before)
            down = time.monotonic()
            restart()
            up = time.monotonic()
            time.sleep(ARGS.after)
            stop.set()
            for thread in threads:
                thread.join()

        from django.db import close_old_connections

        close_old_connections()  # this process's connection died with the restart
        ok = [s for s in sent if s.status is not None and 200 <= s.status < 300]
        failed = [s for s in sent if s not in ok]
        written = set(
            ChangeSet.objects.filter(change_set_id__in=[s.change_set_id for s in sent]).values_list(
                "change_set_id", flat=True
            )
        )
        lost = [s.change_set_id for s in ok if s.change_set_id not in written]
        unclean = [s for s in failed if not clean_failure(s)]
        phantom = [s.change_set_id for s in failed if s.change_set_id in written]
        after = sorted((s for s in sent if s.started >= up), key=lambda s: s.started)
        first_after = after[0] if after else None
        verdict = audit_chains_verify()

    print(
        f"\nPostgreSQL restarted (-m immediate) under load: {ARGS.agents} agents, "
        f"{ARGS.before:g} s before, {ARGS.after:g} s after; restart took {up - down:.2f} s"
    )
    print(
        f"requests: {len(sent)}; 2xx: {len(ok)}; failed: {len(failed)} "
        f"({dict(Counter(s.status for s in failed))})"
    )
    print(f"2xx change sets in the database: {len(ok) - len(lost)} of {len(ok)}")
    print(
        f"failures that were clean {{error, detail}}: {len(failed) - len(unclean)} of "
        f"{len(failed)}; failed change sets written anyway: {len(phantom)}"
    )
    status = first_after.status if first_after else "none sent"
    print(
        f"first request after recovery: {status}; "
        f"2xx after recovery: {sum(s in ok for s in after)} of {len(after)}"
    )
    print(f"audit chains: {'clean' if verdict.ok else verdict}")
    problems = []
    if lost:
        problems.append(f"2xx but not in the database: {lost[:5]}")
    if unclean:
        problems.append(f"unclean failures: {[(s.status, s.body) for s in unclean[:5]]}")
    if phantom:
        problems.append(f"failed but written: {phantom[:5]}")
    if first_after is None or first_after not in ok:
        problems.append(f"the first request after recovery did not succeed: {first_after}")
    if not verdict.ok:
        problems.append("the audit chain does not verify")
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
