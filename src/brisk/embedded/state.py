"""The state file: which process started each server, and whether that process still lives."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

STATE_FILE = "embedded.json"


@dataclass(frozen=True)
class _Record:
    """A running server as kept in the state file, with the process that started it."""

    pid: int
    port: int
    owner_pid: int
    owner_started: float


def _current_owner() -> tuple[int, float]:
    me = psutil.Process()
    return me.pid, float(me.create_time())


def _owner_alive(record: _Record) -> bool:
    try:
        owner = psutil.Process(record.owner_pid)
        # The start time tells the owner from an unrelated process that was given its pid.
        same = abs(owner.create_time() - record.owner_started) < 1.0
        return bool(same and owner.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _read_state(data_dir: Path) -> dict[str, _Record]:
    try:
        raw = json.loads((data_dir / STATE_FILE).read_text())
        return {name: _Record(**fields) for name, fields in raw.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        # No usable state: the pid files still lead start() to any leftover servers.
        return {}


def _write_state(data_dir: Path, state: dict[str, _Record]) -> None:
    path = data_dir / STATE_FILE
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps({name: asdict(rec) for name, rec in state.items()}))
    partial.replace(path)
