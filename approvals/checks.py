"""Start-up checks of the seams between approvals and the apps that own ticket subjects
(approvals/subjects.py, approvals/presentation.py): a missing piece fails `manage.py check` — and
so runserver, migrate and the cluster — naming what is missing, instead of a silent None later."""

from __future__ import annotations

import inspect

from django.core import checks

from approvals.events import LifecycleListener, registered_lifecycle_listeners
from approvals.presentation import (
    SubjectPresentation,
    registered_presentations,
    run_change_sets_registered,
)
from approvals.subjects import (
    TicketSubject,
    registered_subjects,
    run_standing_registered,
)
from approvals.types import SUBJECT_RULES, SubjectKind, governed_subject_kinds


def _missing_methods(obj, protocol) -> list[str]:
    wanted = [
        name
        for name, member in vars(protocol).items()
        if inspect.isfunction(member) and not name.startswith("_")
    ]
    return [name for name in wanted if not callable(getattr(obj, name, None))]


def _named_kinds() -> set[str]:
    """Every subject kind a ticket type may name, but tickets about tickets (approvals' own)."""
    kinds = {kind for rules in SUBJECT_RULES.values() for kind in rules}
    return kinds - {SubjectKind.TICKET}


@checks.register()
def subjects_are_complete(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    # Long on purpose: one system check walking every registered subject kind and each hook it must
    # have, with the message for each missing one.
    errors = []
    subjects = registered_subjects()
    presentations = registered_presentations()
    for kind in sorted(str(kind) for kind in _named_kinds()):
        subject = subjects.get(kind)
        if subject is None:
            governs = kind in governed_subject_kinds()
            errors.append(
                checks.Error(
                    f"No TicketSubject registered for {kind!r}"
                    + (", which tickets govern." if governs else "."),
                    hint="Register one in the owning app's AppConfig.ready() "
                    "(approvals.subjects.register_subject).",
                    id="approvals.E001",
                )
            )
            continue
        for name in _missing_methods(subject, TicketSubject):
            errors.append(
                checks.Error(
                    f"The TicketSubject for {kind!r} lacks {name}().",
                    id="approvals.E002",
                )
            )
        presentation = presentations.get(kind)
        if presentation is None:
            errors.append(
                checks.Error(
                    f"No SubjectPresentation registered for {kind!r}.",
                    hint="Register one beside its TicketSubject "
                    "(approvals.presentation.register_presentation).",
                    id="approvals.E003",
                )
            )
            continue
        for name in _missing_methods(presentation, SubjectPresentation):
            errors.append(
                checks.Error(
                    f"The SubjectPresentation for {kind!r} lacks {name}().",
                    id="approvals.E004",
                )
            )
    if not run_standing_registered():
        errors.append(
            checks.Error(
                "Nothing answers whether an agent run may act (approvals.subjects.RunStanding).",
                hint="The agents app registers it with register_run_standing().",
                id="approvals.E005",
            )
        )
    if not run_change_sets_registered():
        errors.append(
            checks.Error(
                "Nothing reads the change sets of a run (approvals.presentation).",
                hint="The optimization app registers it with register_run_change_sets().",
                id="approvals.E006",
            )
        )
    for listener in registered_lifecycle_listeners():
        for name in _missing_methods(listener, LifecycleListener):
            errors.append(
                checks.Error(
                    f"The lifecycle listener {type(listener).__name__} lacks {name}().",
                    id="approvals.E008",
                )
            )
    if not registered_lifecycle_listeners():
        errors.append(
            checks.Error(
                "Nothing hears what happens to tickets (approvals.events): nobody would be told "
                "that a ticket waits for them.",
                hint="The notifications app registers its outbox with "
                "register_lifecycle_listener().",
                id="approvals.E007",
            )
        )
    return errors
