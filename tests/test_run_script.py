"""bin/run (what `make run` ends with): the web server and the django-q2 cluster start together,
and one Ctrl-C — SIGINT to the whole foreground process group, as a terminal sends it — stops both,
leaving no process behind."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def processes_in_session(session_id: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # Field 6 is the session id; the command name (field 2) may contain spaces.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == session_id:
            pids.append(int(stat.parent.name))
    return pids


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.3)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def login_page_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def alive_in_session(session_id: int) -> list[int]:
    """The session's processes that are not zombies (orphans wait for init to reap them)."""
    alive = []
    for pid in processes_in_session(session_id):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                alive.append(pid)
    return alive


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")
def test_run_starts_web_and_cluster_again_after_a_kill_and_one_ctrl_c_stops_both(tmp_path):
    """A first bin/run is SIGKILLed with everything it started (a power cut, the OOM killer:
    nothing gets to clean up; issue 20.6); a second one on the same port starts cleanly, and one
    Ctrl-C stops it and all its processes."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTEST_VERSION", "DATABASE_URL"}}
    port = free_port()
    env.update(
        DEBUG="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'run.sqlite3'}",
        PY=sys.executable,
        HOST="127.0.0.1",
        PORT=str(port),
    )
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert migrate.returncode == 0, migrate.stderr

    def like_a_terminal_job():
        # A job started from a script inherits SIGINT ignored; a terminal's foreground job doesn't.
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    def start(log_path: Path) -> subprocess.Popen:
        with log_path.open("w") as log:
            return subprocess.Popen(
                ["bash", "bin/run"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=like_a_terminal_job,
            )

    killed_log, log_path = tmp_path / "killed.log", tmp_path / "run.log"
    runs = [start(killed_log)]
    try:
        wait_for(lambda: login_page_answers(port), 60, "the first web server")
        wait_for(lambda: "running." in killed_log.read_text(), 60, "the first cluster")
        for pid in processes_in_session(runs[0].pid):  # one by one, bin/run itself included
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        runs[0].wait(timeout=15)
        wait_for(lambda: not alive_in_session(runs[0].pid), 15, "the killed processes")
        assert not login_page_answers(port)

        run = start(log_path)
        runs.append(run)
        wait_for(lambda: login_page_answers(port), 60, "the web server")
        wait_for(lambda: "running." in log_path.read_text(), 60, "the django-q2 cluster")
        assert f"running at http://127.0.0.1:{port}/" in log_path.read_text()
        assert len(processes_in_session(run.pid)) >= 4  # bash, runserver ×2, cluster + workers

        os.killpg(run.pid, signal.SIGINT)
        assert run.wait(timeout=30) == 0
        wait_for(lambda: not processes_in_session(run.pid), 15, "every process to end")
    finally:
        for started in runs:
            if alive_in_session(started.pid):
                os.killpg(started.pid, signal.SIGKILL)
    output = log_path.read_text()
    assert "Error" not in output and "Traceback" not in output
    assert "has stopped." in output  # the cluster stopped its workers itself
    assert output.rstrip().endswith("Stopped.")
    assert not login_page_answers(port)


def readme_demo_logins() -> list[str]:
    """The users of the README's "Demo logins" table."""
    section = (ROOT / "README.md").read_text().split("## Demo logins", 1)[1].split("\n## ", 1)[0]
    return [
        line.split("|")[1].strip().strip("`")
        for line in section.splitlines()
        if line.startswith("| `")
    ]


def test_the_run_banner_matches_the_readme_and_the_demo_world(settings, tmp_path):
    from ops.banner import run_banner
    from tenants.demo import DEMO_PASSWORD, STAFF_USERS, USERS

    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    text = run_banner(url="http://127.0.0.1:8001")
    seeded = [username for username, _tenant, _role in USERS]
    assert readme_demo_logins() == seeded
    login_lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("    ")}
    for username, _tenant, role in USERS:
        assert f"{role.label.lower()} in " in login_lines[username], username
    assert "planner2" in login_lines
    assert DEMO_PASSWORD in text
    assert "running at http://127.0.0.1:8001/" in text
    # The demo has no superuser (README "Demo logins"): admin is acme's staff user, no more.
    assert "also superuser" not in text
    assert "The demo has no superuser" in text
    assert all("Django admin" in login_lines[name] for name in STAFF_USERS)
    assert f"one file per message in {tmp_path / 'mail'}/" in text


def test_bin_run_prints_the_banner_from_the_demo_world():
    script = (ROOT / "bin" / "run").read_text()
    assert "manage.py run_banner" in script
    assert "planner" not in script  # no hard-coded list of logins to drift
