"""The only writers of the execution manifest, the optimization log, performance rows, the
seasonality calendar and revise recommendations, split by job:

- `manifest`: the live manifest's sync from Execution agents; `launches`: the first launches a
  sync brings live, waiting for their A2; `themes`: creative themes and their A7;
- `change_sets`: submit (guardrails, A3/A2, blocked); `approval`: apply (compare-and-swap),
  reject, approve with an edit; `rollback`; `holds` (pause all spend / resume); `lapse`; and
  `_common`, what they share (values, the live-state comparison, a change set's transitions);
- `performance`: the performance ingest; `seasonal`: the calendar;
- `recommendations`: plan.revise.recommended; `scan`: the revise-trigger scan;
- `tickets`: what approvals calls when a ticket about a change set or a recommendation is decided.

Reads live in optimization/selectors.py and optimization/triggers.py; pure rules in
optimization/guardrails.py and optimization/proposals.py.
"""

from optimization.services._common import ChangeSetError, ChangeSetStale
from optimization.services.approval import (
    change_set_apply_within,
    change_set_approve_with_edit,
    change_set_approve_with_edit_within,
    change_set_reject_within,
)
from optimization.services.change_sets import (
    ChangeSetRequest,
    change_set_submit,
    change_set_submit_within,
)
from optimization.services.holds import track_hold_end, track_hold_start
from optimization.services.lapse import change_set_lapse, change_sets_lapse
from optimization.services.manifest import ManifestError, manifest_sync
from optimization.services.performance import (
    PerformanceError,
    performance_ingest,
    performance_ingest_within,
)
from optimization.services.recommendations import (
    RecommendationError,
    recommendation_dismiss_within,
    recommendation_draft_within,
    recommendation_open,
)
from optimization.services.rollback import (
    change_set_rollback,
    change_set_rollback_within,
    rollback_preview,
)
from optimization.services.scan import ScanResult, triggers_scan
from optimization.services.seasonal import (
    seasonal_change_remove,
    seasonal_change_remove_within,
    seasonal_change_set,
    seasonal_change_set_within,
)

__all__ = [
    "ChangeSetError",
    "ChangeSetRequest",
    "ChangeSetStale",
    "ManifestError",
    "PerformanceError",
    "RecommendationError",
    "ScanResult",
    "change_set_apply_within",
    "change_set_approve_with_edit",
    "change_set_approve_with_edit_within",
    "change_set_lapse",
    "change_set_reject_within",
    "change_set_rollback",
    "change_set_rollback_within",
    "change_set_submit",
    "change_set_submit_within",
    "change_sets_lapse",
    "manifest_sync",
    "performance_ingest",
    "performance_ingest_within",
    "recommendation_dismiss_within",
    "recommendation_draft_within",
    "recommendation_open",
    "rollback_preview",
    "seasonal_change_remove",
    "seasonal_change_remove_within",
    "seasonal_change_set",
    "seasonal_change_set_within",
    "track_hold_end",
    "track_hold_start",
    "triggers_scan",
]
