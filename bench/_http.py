"""The HTTP benches' server and load: gunicorn serving the project against the bench database,
and a load generator of threads with http.client connections.

    with _http.gunicorn(workers=2) as server:
        ping = _http.drive(server, clients=16, seconds=20, work=_http.ping_work)

The server is `gunicorn config.wsgi` with the production settings (DEBUG off, the bench's
DATABASE_URL, ALLOWED_HOSTS=127.0.0.1, no HTTPS redirect: loopback has no TLS) and one thing
more, for the baseline only: bench/_served_settings.py points ROOT_URLCONF at
bench/_served_urls.py, which adds a trivial JSON view (POST /bench/ping) in front of the
project's URLs. Nothing of it reaches the product.

gunicorn's default (sync) workers, as production runs them, answer `Connection: close`, so each
request opens a new loopback connection (http.client reconnects by itself); a worker class
that keeps connections alive would reuse them. Both the API and the baseline are served alike.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

# The benches' in-process Django client builds the middleware too: whitenoise would warn there
# that collectstatic never ran (the API serves no static file).
warnings.filterwarnings("ignore", message="No directory at", module="django.core.handlers.base")

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PING = "/bench/ping"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_average() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


@dataclass
class Server:
    port: int
    pid: int

    def worker_pids(self) -> list[int]:
        """gunicorn's workers (for a profiler): the children of its master."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []


@contextmanager
def gunicorn(*, workers: int = 2):
    """Serve the project on a free loopback port until the block ends."""
    port = free_port()
    environment = {
        **os.environ,  # DATABASE_URL: the bench's own database (bench/_setup.py set it)
        "DJANGO_SETTINGS_MODULE": "_served_settings",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join([str(BENCH), str(ROOT)]),
    }
    handle, log_name = tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")
    log = os.fdopen(handle, "w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            f"--workers={workers}",
            f"--bind=127.0.0.1:{port}",
            f"--chdir={ROOT}",
            "--backlog=2048",
            "--log-level=warning",
        ],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_until_up(port, process, Path(log_name))
        yield Server(port=port, pid=process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        os.unlink(log_name)


def _wait_until_up(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited ({process.returncode}):\n{log.read_text()}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("POST", PING, body=b"{}", headers=JSON)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer on port {port}:\n{log.read_text()}")


# --- The load ----------------------------------------------------------------------------------
JSON = {"Content-Type": "application/json"}


@dataclass
class Figures:
    """What one label (a kind of request) measured: latencies in ms and the statuses."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(int(len(ordered) * share), len(ordered) - 1)] if ordered else 0.0


@dataclass
class Load:
    seconds: float
    figures: dict[str, Figures]
    errors: Counter

    def count(self, *labels: str) -> int:
        return sum(len(self.figures[label].latencies) for label in labels if label in self.figures)

    def rate(self, *labels: str) -> float:
        return self.count(*labels) / self.seconds


class Client:
    """One client's connection (each thread its own). `send` records the request's latency
    under `label`, and answers (status, JSON body)."""

    def __init__(self, port: int, figures: dict[str, Figures], errors: Counter):
        self.port = port
        self.figures = figures
        self.errors = errors
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def send(self, label: str, path: str, body: dict, headers: dict | None = None):
        data = json.dumps(body).encode()
        for attempt in range(2):
            started = time.perf_counter()
            try:
                self.connection.request(
                    "POST", path, body=data, headers={**JSON, **(headers or {})}
                )
                response = self.connection.getresponse()
                payload = response.read()
            except (http.client.HTTPException, OSError) as exc:
                # A connection the server closed between two requests: once more on a new one.
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    self.errors[type(exc).__name__] += 1
                    return None, None
                continue
            elapsed = (time.perf_counter() - started) * 1000
            figures = self.figures[label]
            figures.latencies.append(elapsed)
            figures.statuses[response.status] += 1
            try:
                return response.status, json.loads(payload) if payload else None
            except ValueError:
                return response.status, None
        return None, None


def drive(
    server: Server,
    *,
    clients: int,
    seconds: float,
    work: Callable[[Client, int, Callable[[], bool]], None],
    warm_up: float = 1.0,
) -> Load:
    """Run `work(client, number, running)` in `clients` threads for `seconds` (after a warm-up
    whose requests are not counted); `work` loops while `running()`."""
    results: list[tuple[dict[str, Figures], Counter]] = []
    barrier = threading.Barrier(clients + 1)
    state = {"counting": False, "stop": False}

    def body(number: int) -> None:
        figures: dict[str, Figures] = defaultdict(Figures)
        errors: Counter = Counter()
        client = Client(server.port, defaultdict(Figures), errors)
        results.append((figures, errors))
        barrier.wait()
        counting = False

        def running() -> bool:
            nonlocal counting
            if state["counting"] and not counting:
                # Warm-up over: from now on this client's requests count.
                counting = True
                client.figures = figures
            return not state["stop"]

        work(client, number, running)

    threads = [threading.Thread(target=body, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    time.sleep(warm_up)
    state["counting"] = True
    started = time.perf_counter()
    time.sleep(seconds)
    state["stop"] = True
    elapsed = time.perf_counter() - started
    for thread in threads:
        thread.join(timeout=120)
    merged: dict[str, Figures] = defaultdict(Figures)
    errors: Counter = Counter()
    for figures, client_errors in results:
        errors.update(client_errors)
        for label, measured in figures.items():
            merged[label].latencies.extend(measured.latencies)
            merged[label].statuses.update(measured.statuses)
    return Load(seconds=elapsed, figures=dict(merged), errors=errors)


def ping_work(client: Client, _number: int, running: Callable[[], bool]) -> None:
    """The baseline's client: POST a small JSON body to the trivial view, again and again."""
    while running():
        client.send("ping", PING, {"kind": "step"})


def describe(load: Load, label: str) -> str:
    figures = load.figures.get(label, Figures())
    statuses = ", ".join(f"{status}: {n:,}" for status, n in sorted(figures.statuses.items()))
    return (
        f"{load.rate(label):7.1f}/s  p50 {figures.percentile(0.5):6.1f} ms  "
        f"p99 {figures.percentile(0.99):6.1f} ms  ({len(figures.latencies):,} requests; {statuses})"
    )
