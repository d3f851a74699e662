"""The live execution state a plan version is compared with (its "remaining delta").

The manifest belongs to optimization, which builds on plans; plans never imports it. Optimization
registers its reader here in its AppConfig.ready(), so the arrow points optimization → plans.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

LiveEntriesReader = Callable[[Any], list[dict]]  # (track) -> manifest entries as dicts

VersionEntriesReader = Callable[[Any], list[dict]]  # (version) -> entries implementing it

_reader: LiveEntriesReader | None = None
_version_reader: VersionEntriesReader | None = None


def register_live_entries(reader: LiveEntriesReader) -> None:
    global _reader
    _reader = reader


def live_entries(track) -> list[dict]:
    """The track's live manifest entries (platform, entity_id, channel, plan_version, state)."""
    return _reader(track) if _reader is not None else []


def register_version_entries(reader: VersionEntriesReader) -> None:
    global _version_reader
    _version_reader = reader


def version_entries(version) -> list[dict]:
    """The live manifest entries that implement `version` (platform, entity_id, channel,
    plan_version, state, track), for the version page to list and link."""
    return _version_reader(version) if _version_reader is not None else []
