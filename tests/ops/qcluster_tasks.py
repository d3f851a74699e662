"""A task for the two-cluster test (tests/ops/test_clusters.py), run by real qcluster processes:
the real SLA sweep, then a linger during which the test kills the cluster running it."""

import os
import time

from approvals.tasks import sweep_sla


def sweep_then_linger() -> str:
    result = sweep_sla()
    with open(os.environ["HT_QTEST_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{os.getpid()}\n")
    time.sleep(float(os.environ.get("HT_QTEST_LINGER", "15")))
    return result
