"""Per-viewer fields laid over cached, viewer-independent responses.

Cached bodies say ``favorited: false`` and ``following: false``; for a signed-in viewer one small
query (two index probes per item, `repository.py`) says which are true, and the body is
rewritten for them only (`viewer.py`). `shared_then_viewer` is the one way a service reads a
cached shared body and hands each viewer their own.
"""

from brisk.overlay.viewer import (
    cached_under,
    overlay_articles,
    overlay_authors,
    overlay_profile,
    shared_then_viewer,
)

__all__ = [
    "cached_under",
    "overlay_articles",
    "overlay_authors",
    "overlay_profile",
    "shared_then_viewer",
]
