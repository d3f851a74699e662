"""The only writers of tracks, plan versions and the master envelope, split by job.

Lifecycle (docs/rules.md "Plans, tracks and versions"): a draft vN+1 is created from the track's
current version (by a planner, an agent through the API or a revise recommendation), edited while
it is a draft, given a proposed new master envelope if it needs one, or discarded for good
(`drafts`); submitted (`submit`: A1 for a first plan, A5 for a revise/replan, plus A7 compliance —
plans/approvers.py decides), and approved once every ticket about it is approved (`transitions`:
in one transaction vN is superseded, vN+1 becomes the track's current version, a proposed master
envelope replaces the old one and the remaining delta against the live manifest is recorded).
Approving a version outdates the other drafts and pending versions built on the same parent;
`carry` re-applies an outdated version's changes onto the current version as a new draft.
Reject, request changes and withdraw end or return the draft; `tickets` is what approvals calls
when a ticket about a version is decided; `envelope` sets up the master envelope. Every write is
audited with the version's number and takes its locks in the order config/locks.py gives.

Reads live in plans/selectors.py, pure rules in plans/approvers.py, plans/envelope.py,
plans/classify.py and plans/diff.py.
"""

from plans.errors import PlanError, PlanStateError
from plans.services.carry import plan_version_carry_forward, plan_version_carry_forward_within
from plans.services.drafts import (
    plan_version_counter_lock,
    plan_version_create_draft,
    plan_version_create_draft_within,
    plan_version_discard,
    plan_version_edit,
    plan_version_import_approved,
    plan_version_propose_envelope,
    track_ensure,
)
from plans.services.envelope import master_plan_set
from plans.services.submit import plan_version_submit, ticket_preview
from plans.services.transitions import (
    plan_version_approve_within,
    plan_version_reject_within,
    plan_version_request_changes_within,
    plan_version_withdraw,
    subject_closure_lock,
)

__all__ = [
    "PlanError",
    "PlanStateError",
    "master_plan_set",
    "plan_version_approve_within",
    "plan_version_carry_forward",
    "plan_version_carry_forward_within",
    "plan_version_counter_lock",
    "plan_version_create_draft",
    "plan_version_create_draft_within",
    "plan_version_discard",
    "plan_version_edit",
    "plan_version_import_approved",
    "plan_version_propose_envelope",
    "plan_version_reject_within",
    "plan_version_request_changes_within",
    "plan_version_submit",
    "plan_version_withdraw",
    "subject_closure_lock",
    "ticket_preview",
    "track_ensure",
]
