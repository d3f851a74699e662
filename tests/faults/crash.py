"""Runs one django-q2 task function in a process of its own and freezes it at a chosen point of
its work, for tests/faults/test_worker_kills.py to SIGKILL it there — as a worker dies when the
machine loses power or the OOM killer picks it.

    python -m tests.faults.crash TASK SQL_PREFIX K MARKER

Before the K-th SQL statement that starts with SQL_PREFIX (an INSERT into one table: the unit of
work's transaction is open and half written) it writes its pid to MARKER and sleeps. Nothing in
the product knows about it: the point is chosen from outside, through Django's execute wrapper.
HT_FAULT_NOW (ISO time) runs the task on the test's frozen clock; HT_FAULT_SETTINGS (JSON)
overrides settings the test changed in its own process (a webhook receiver's host)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path


def main() -> int:
    task, prefix, k, marker = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import time_machine
    from django.conf import settings
    from django.db import connection
    from django.utils.module_loading import import_string

    for name, value in json.loads(os.environ.get("HT_FAULT_SETTINGS", "{}")).items():
        setattr(settings, name, value)
    seen = 0

    def freeze_at_kth(execute, sql, params, many, context):
        nonlocal seen
        if sql.lstrip().startswith(prefix):
            seen += 1
            if seen == k:
                marker.write_text(str(os.getpid()))
                time.sleep(600)  # the test kills us here
        return execute(sql, params, many, context)

    now = os.environ.get("HT_FAULT_NOW")
    clock = time_machine.travel(datetime.fromisoformat(now), tick=False) if now else None
    with clock or contextlib.nullcontext(), connection.execute_wrapper(freeze_at_kth):
        print(import_string(task)())
    print(f"finished without reaching statement {k} (saw {seen})", file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main())
