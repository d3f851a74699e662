"""The metrics' alignment card (issue 16 item 5): tracks still to align with an approved version,
from the selector the dashboard's panel reads (optimization/alignment.py)."""

from __future__ import annotations

from metrics import charts, selectors
from metrics.selectors import Scope
from metrics.tables import Options, Table


def alignment(scope: Scope, options: Options) -> Table:
    """Tracks whose live entities must still move to an approved version now, overdue first
    (the dashboard's panel reads the same selector)."""
    rows, bars = [], []
    work = selectors.open_alignments(scope)
    for found in work:
        label = (
            found.track.key
            if len(scope.tenant_ids) == 1
            else (f"{found.track.tenant.name} · {found.track.key}")
        )
        state = "overdue" if found.overdue else "on time"
        rows.append((label, f"v{found.version}", found.to_align, found.due_at, state))
        bars.append(charts.BarInput(label, found.to_align))
    overdue = sum(1 for found in work if found.overdue)
    headline = (
        f"{len(work)} track{'s' if len(work) != 1 else ''} to align, {overdue} overdue"
        if work
        else "Every track runs its approved version."
    )
    return Table(rows, bars, headline=headline, words={"overdue": overdue})
