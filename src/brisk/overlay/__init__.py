"""Per-viewer fields laid over cached, viewer-independent documents (ADR 0020).

Cached bodies say ``favorited: false`` and ``following: false`` and carry the ids those flags
are about (`document.py`); a signed-in viewer's favorites and follows are cached sets of ids
(`flags.py`), and their flags are set in the bytes without parsing them (`viewer.py`).
"""

from brisk.overlay.document import body_of, pack, unpack
from brisk.overlay.flags import ViewerFlags
from brisk.overlay.viewer import (
    Shape,
    as_seen_by,
    cached_under,
    lay_article,
    peek_as_seen_by,
    peek_document,
    shared_then_viewer,
)

__all__ = [
    "Shape",
    "ViewerFlags",
    "as_seen_by",
    "body_of",
    "cached_under",
    "lay_article",
    "pack",
    "peek_as_seen_by",
    "peek_document",
    "shared_then_viewer",
    "unpack",
]
