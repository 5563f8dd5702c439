"""What a change to someone's notifications makes stale: their unread count and dashboard."""

from __future__ import annotations

from brisk.cache import Key, KeySpace, viewer


def inbox_stale(keys: KeySpace, recipient_id: int | None) -> tuple[list[Key], list[str]]:
    """(keys, version names) to invalidate; nothing when no notification was written."""
    if recipient_id is None:
        return [], []
    return [keys.unread(recipient_id)], [viewer(recipient_id)]
