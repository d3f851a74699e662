"""The live execution state a plan version is compared with (its "remaining delta").

The manifest belongs to optimization, which builds on plans; plans never imports it. Optimization
registers its readers here in its AppConfig.ready(), so the arrow points optimization → plans; a
system check (plans.E001) fails at start-up when either is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core import checks

LiveEntriesReader = Callable[[Any], list[dict]]  # (track) -> manifest entries as dicts

VersionEntriesReader = Callable[[Any], list[dict]]  # (version) -> entries implementing it

VersionApprovedHook = Callable[[Any, Any], None]  # (version, actor), in the approval's transaction

_reader: LiveEntriesReader | None = None
_version_reader: VersionEntriesReader | None = None
_approved_hook: VersionApprovedHook | None = None


def register_live_entries(reader: LiveEntriesReader) -> None:
    global _reader
    _reader = reader


def live_entries(track) -> list[dict]:
    """The track's live manifest entries (platform, entity_id, channel, plan_version, state)."""
    if _reader is None:
        raise LookupError("No live manifest reader registered (optimization registers it).")
    return _reader(track)


def register_version_entries(reader: VersionEntriesReader) -> None:
    global _version_reader
    _version_reader = reader


def version_entries(version) -> list[dict]:
    """The live manifest entries that implement `version` (platform, entity_id, channel,
    plan_version, state, track), for the version page to list and link."""
    if _version_reader is None:
        raise LookupError("No version entries reader registered (optimization registers it).")
    return _version_reader(version)


def register_version_approved(hook: VersionApprovedHook) -> None:
    global _approved_hook
    _approved_hook = hook


def version_approved(version, actor) -> None:
    """Tell Execution that `version` was approved (inside the approval's transaction): its
    remaining delta becomes alignment work (optimization/services/alignment.py)."""
    if _approved_hook is None:
        raise LookupError("No version-approved hook registered (optimization registers it).")
    _approved_hook(version, actor)


@checks.register()
def live_readers_are_registered(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    missing = [
        name
        for name, reader in (
            ("register_live_entries", _reader),
            ("register_version_entries", _version_reader),
            ("register_version_approved", _approved_hook),
        )
        if reader is None
    ]
    return [
        checks.Error(
            f"Nothing registered through plans.live.{name}: plans can't compare versions with "
            "the live manifest.",
            hint="The optimization app registers it in its AppConfig.ready().",
            id="plans.E001",
        )
        for name in missing
    ]
