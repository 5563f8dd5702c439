"""Both embedded servers for one data dir, shared by its processes and reaped after a crash."""

from __future__ import annotations

import atexit
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import filelock

from brisk.embedded.postgres import DATABASE, PG_USER, _Postgres
from brisk.embedded.processes import HOST, START_TIMEOUT, _read_pid, _terminate, _wait_for_port
from brisk.embedded.server import _Server
from brisk.embedded.state import _current_owner, _owner_alive, _read_state, _Record, _write_state
from brisk.embedded.valkey import _Valkey

log = logging.getLogger(__name__)

# Long enough to wait out another process's first start, which includes initdb.
LOCK_TIMEOUT = 180.0
LOCK_FILE = "embedded.lock"


@dataclass(frozen=True)
class EmbeddedUrls:
    """Where the embedded servers listen."""

    database_url: str  # postgresql://postgres@127.0.0.1:PORT/brisk
    redis_url: str  # redis://127.0.0.1:PORT/0


class EmbeddedServices:
    """PostgreSQL and Valkey servers in one data dir, shared by the processes that use it.

    A server is stopped only by the object that started it. A server whose starter died
    without stopping it (SIGKILL) is found through a state file and stopped on the next start.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self._postgres = _Postgres(self.data_dir)
        self._valkey = _Valkey(self.data_dir)
        self._started: dict[str, tuple[_Server, _Record]] = {}
        self._urls: EmbeddedUrls | None = None
        self._owner = (0, 0.0)

    def start(self) -> EmbeddedUrls:
        """Start both servers, or reuse those of a live process on the same data dir."""
        if self._urls is not None:
            return self._urls
        began = time.monotonic()
        self._owner = _current_owner()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self._lock():
            state = _read_state(self.data_dir)
            try:
                pg = self._acquire(self._postgres, state)
                vk = self._acquire(self._valkey, state)
                for record in (pg, vk):
                    _wait_for_port(record.port, START_TIMEOUT)
            except BaseException:
                self._stop_started(state)
                raise
            finally:
                _write_state(self.data_dir, state)
        if self._started:
            # Only a backup: brisk serve calls stop() from its shutdown.
            atexit.register(self.stop)
        self._urls = EmbeddedUrls(
            database_url=f"postgresql://{PG_USER}@{HOST}:{pg.port}/{DATABASE}",
            redis_url=f"redis://{HOST}:{vk.port}/0",
        )
        log.info(
            "embedded postgres on %s:%d (%s) and valkey on %s:%d (%s) in %.2fs, data dir %s",
            HOST,
            pg.port,
            self._how(pg),
            HOST,
            vk.port,
            self._how(vk),
            time.monotonic() - began,
            self.data_dir,
        )
        return self._urls

    def stop(self) -> None:
        """Stop the servers this object started; leave others' running."""
        if self._urls is None:
            return
        atexit.unregister(self.stop)
        with self._lock():
            state = _read_state(self.data_dir)
            self._stop_started(state)
            _write_state(self.data_dir, state)
        self._urls = None

    def __enter__(self) -> EmbeddedUrls:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _acquire(self, server: _Server, state: dict[str, _Record]) -> _Record:
        """Reuse the server of a live owner, or stop leftovers and launch a new one."""
        record = state.get(server.name)
        if record and server.process(record.pid) is not None and _owner_alive(record):
            return record
        leftovers = {record.pid if record else None, _read_pid(server.pidfile)}
        for proc in filter(None, map(server.process, leftovers)):
            log.warning(
                "stopping orphaned %s (pid %d) whose owner is gone, data dir %s",
                server.name,
                proc.pid,
                self.data_dir,
            )
            _terminate(proc, server.stop_signal)
        server.clear_stale_pidfile()
        pid, port = server.launch()
        record = _Record(pid, port, *self._owner)
        state[server.name] = record
        self._started[server.name] = (server, record)
        return record

    def _stop_started(self, state: dict[str, _Record]) -> None:
        stopped = []
        for name, (server, record) in reversed(self._started.items()):
            try:
                server.stop(record.pid)
            except Exception:
                log.exception("could not stop embedded %s (pid %d)", name, record.pid)
            if state.get(name) == record:
                del state[name]
            stopped.append(f"{name} on port {record.port}")
        self._started.clear()
        log.info(
            "stopped embedded %s, data dir %s",
            " and ".join(stopped) or "nothing (the servers belong to another process)",
            self.data_dir,
        )

    def _how(self, record: _Record) -> str:
        mine = any(started is record for _, started in self._started.values())
        return "started" if mine else f"reused from pid {record.owner_pid}"

    def _lock(self) -> filelock.FileLock:
        return filelock.FileLock(self.data_dir / LOCK_FILE, timeout=LOCK_TIMEOUT)
